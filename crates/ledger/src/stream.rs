//! Streamed turns: a hold opened for the input and a first chunk of output, grown chunk by
//! chunk while the model streams, never past what the user confirmed.

use std::sync::Arc;

use creditkit_api::{ExtendRequest, Hold, HoldStatus, Op};
use creditkit_pricing::{estimate, shortfall, Card, Millicredits, Request};

use crate::db::later;
use crate::error::fmt_mc;
use crate::holds::{not_active, HoldWrite};
use crate::{to_i64, to_u64, Entry, Ledger, LedgerError, Principal, Result};

/// Output tokens for a streamed turn, within its model's bound.
pub(crate) fn clamp_output(card: &Card, request: &Request, tokens: u64) -> Result<u64> {
    let item = match request.items.as_slice() {
        [item] => item,
        _ => {
            return Err(LedgerError::invalid_at(
                "stream",
                "only a single chat turn streams",
            ))
        }
    };
    let model = creditkit_pricing::chat_model(card, item).ok_or_else(|| {
        LedgerError::invalid_at("stream", "only a chat turn (a model's message) streams")
    })?;
    Ok(tokens.min(
        model
            .max_output_tokens
            .unwrap_or(creditkit_pricing::limits::MAX_TOKENS),
    ))
}

/// What a streamed turn costs with `output_tokens` out: the same estimator, exact.
pub(crate) fn stream_price(card: &Card, request: &Request, output_tokens: u64) -> Result<u64> {
    let mut r = request.clone();
    if let Some(item) = r.items.first_mut() {
        item.params.insert(
            "output_tokens".to_string(),
            creditkit_pricing::ParamValue::Count(output_tokens),
        );
    }
    Ok(estimate(card, &r)
        .map_err(LedgerError::Estimate)?
        .max_millicredits)
}

impl Ledger {
    /// A streamed turn's next reservation priced with its quote's card: the tokens to
    /// reserve (within the model's output limit) and those generated so far, and what
    /// each costs.
    async fn stream_prices(
        &self,
        quote_id: &str,
        req: &ExtendRequest,
    ) -> Result<(Arc<Card>, u64, u64, i64, i64)> {
        let (card_hash, request_json): (String, String) =
            sqlx::query_as("SELECT card_hash, request_json FROM quotes WHERE id = $1")
                .bind(quote_id)
                .fetch_one(&self.pool)
                .await?;
        let card = self.card_by_hash(&card_hash).await?;
        let request: Request = serde_json::from_str(&request_json)
            .map_err(|e| LedgerError::Corrupt(format!("quote request: {e}")))?;
        let reserve_tokens = clamp_output(&card, &request, req.reserve_output_tokens)?;
        let generated_tokens = req.generated_output_tokens.min(reserve_tokens);
        let reserve_price = to_i64(stream_price(&card, &request, reserve_tokens)?)?;
        let generated_price = to_i64(stream_price(&card, &request, generated_tokens)?)?;
        Ok((
            card,
            reserve_tokens,
            generated_tokens,
            reserve_price,
            generated_price,
        ))
    }

    /// Grows a streamed turn's hold as the model streams: records the tokens generated
    /// so far and reserves up to `reserve_output_tokens`, priced by the quote's card.
    /// Never past the maximum the user confirmed; refused (and nothing reserved) when a
    /// cap or the balance cannot cover the next chunk — the stream pauses, and may
    /// continue after a top-up. The backend's, once per chunk, idempotent per key.
    pub async fn extend(
        &self,
        p: &Principal,
        hold_id: &str,
        req: &ExtendRequest,
        key: &str,
    ) -> Result<Hold> {
        let call = self.authorise_keyed(p, Op::Settle, key)?;
        if req.reserve_output_tokens < req.generated_output_tokens {
            return Err(LedgerError::invalid_at(
                "reserve_output_tokens",
                "reserve at least the tokens already generated",
            ));
        }
        let call = call.body("extend", &(hold_id, req));
        let (wallet_id, quote_id) = self.hold_wallet(p, hold_id).await?;
        let (card, reserve_tokens, generated_tokens, reserve_price, generated_price) =
            self.stream_prices(&quote_id, req).await?;
        let now = self.now_ms();
        let (mut tx, mut w, hold) = match self
            .begin_hold_write(&call, &wallet_id, hold_id, now)
            .await?
        {
            HoldWrite::Replayed(done) => return done,
            HoldWrite::Fresh(tx, w, hold, _) => (tx, w, hold),
        };
        let Some(stream) = hold.stream.clone() else {
            return Err(LedgerError::invalid(format!(
                "hold `{hold_id}` is not a streamed turn (quote it with `stream`)"
            )));
        };
        if hold.status != HoldStatus::Active {
            return self.keep(call, tx, &mut w, not_active(&hold)).await;
        }
        if to_u64(reserve_price) > stream.confirmed_max_millicredits {
            return Err(LedgerError::BeyondConfirmedMaximum(format!(
                "{} output tokens would cost {} credits, past the {} credits confirmed for this turn",
                reserve_tokens,
                fmt_mc(to_u64(reserve_price)),
                fmt_mc(stream.confirmed_max_millicredits)
            )));
        }
        let current = to_i64(hold.amount_millicredits)?;
        let add = (reserve_price - current).max(0);
        if add > 0 {
            let meta: (Option<String>, Option<String>) =
                sqlx::query_as("SELECT member_id, project FROM holds WHERE id = $1")
                    .bind(hold_id)
                    .fetch_one(&mut *tx)
                    .await?;
            self.check_caps(&mut tx, &w, meta.0.as_deref(), meta.1.as_deref(), add, now)
                .await?;
            let available = w.balance_mc - w.held_mc;
            if add > available {
                let short = shortfall(
                    &card,
                    Millicredits(to_u64(available)),
                    Millicredits(to_u64(add)),
                    w.plan_id.as_deref(),
                )
                .ok_or_else(|| LedgerError::Corrupt("shortfall without a gap".into()))?;
                return Err(LedgerError::Insufficient(Box::new(short)));
            }
            self.allocate(&mut tx, &w, hold_id, add, now).await?;
            self.entry(
                &mut tx,
                &wallet_id,
                now,
                Entry {
                    kind: "hold",
                    held_delta_mc: add,
                    hold_id: Some(hold_id),
                    member_id: meta.0.as_deref(),
                    note: Some("streamed turn: next chunk"),
                    ..Entry::default()
                },
            )
            .await?;
            w.held_mc += add;
        }
        // Only forward: a late or repeated chunk never shrinks what was recorded.
        later(&mut tx, sqlx::query(
            "UPDATE holds SET amount_mc = $1, reserved_tokens = $2, \
             generated_tokens = CASE WHEN generated_tokens > $3 THEN generated_tokens ELSE $3 END, \
             generated_mc = CASE WHEN generated_mc > $4 THEN generated_mc ELSE $4 END WHERE id = $5",
        )
        .bind(current + add)
        .bind(reserve_tokens.max(stream.reserved_output_tokens) as i64)
        .bind(generated_tokens as i64)
        .bind(generated_price)
        .bind(hold_id)
        )
        .await?;
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(self.hold_in(&mut tx, hold_id).await?);
        self.finish(call, tx, &mut w, result, &[]).await
    }
}
