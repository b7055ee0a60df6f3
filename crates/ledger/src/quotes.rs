//! Quotes: a request priced with the workspace's current card, kept for the hold that
//! confirms it (`holds.rs`).

use creditkit_api::{Op, Quote, QuoteRequest};
use creditkit_pricing::{estimate, shortfall, Card, Estimate, Millicredits};

use crate::stream::{clamp_output, stream_price};
use crate::*;

impl Ledger {
    /// Prices a request with the workspace's current card and keeps the quote for
    /// [`Config::quote_ttl_ms`]. Says whether a hold would be refused, and what covers it.
    pub async fn quote(&self, p: &Principal, req: &QuoteRequest) -> Result<Quote> {
        p.require(Op::Quote)?;
        let wallet_id = self.resolve_wallet(p, req.wallet_id.as_deref()).await?;
        if req.project.as_ref().is_some_and(|s| s.len() > 200) {
            return Err(LedgerError::Invalid {
                path: Some("project".into()),
                message: "project is limited to 200 characters".into(),
            });
        }
        let card = self.card(&p.workspace_id).await?;
        let mut request = count_text(&card, &req.request)?;
        self.fill_agent_usage(p, &wallet_id, &mut request).await?;
        let est = estimate(&card, &request).map_err(LedgerError::Estimate)?;
        let max = to_i64(est.max_millicredits)?;
        // A streamed turn reserves its first chunk; the maximum is what is confirmed.
        let first = match req.stream {
            None => None,
            Some(s) => {
                let tokens = clamp_output(&card, &request, s.first_output_tokens)?;
                Some((
                    tokens,
                    to_i64(stream_price(&card, &request, tokens)?)?.min(max),
                ))
            }
        };
        let now = self.now_ms();
        let id = new_id("quo");
        let expires_at_ms = now + self.config.quote_ttl_ms;
        let action = request.items.first().map(|i| i.action.clone());
        let mut tx = self.writer.begin().await?;
        // A quote moves no credits: it locks the wallet (on PostgreSQL, its row) only
        // when something is due to settle, so quotes never queue the hot wallet's holds
        // and captures. What it says is available is checked again, locked, by the hold.
        let (mut w, due) = self.fetch_wallet_and_due(&mut tx, &wallet_id, now).await?;
        if due {
            w = self.lock_wallet(&mut tx, &wallet_id).await?;
            self.settle(&mut tx, &mut w, now).await?;
        }
        sqlx::query(
            "INSERT INTO quotes (id, workspace_id, wallet_id, card_hash, request_json, estimate_json, max_mc, member_id, action, project, expires_at_ms, created_at_ms, stream_first_tokens, hold_mc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(&p.workspace_id)
        .bind(&wallet_id)
        .bind(card.hash())
        .bind(serde_json::to_string(&request).unwrap_or_default())
        .bind(serde_json::to_string(&est).unwrap_or_default())
        .bind(max)
        .bind(&p.member_id)
        .bind(&action)
        .bind(&req.project)
        .bind(expires_at_ms)
        .bind(now)
        .bind(first.map(|f| f.0 as i64))
        .bind(first.map(|f| f.1))
        .execute(&mut *tx)
        .await?;
        // Say now whether a cap would refuse the hold (the hold checks again, locked).
        let reserve = first.map_or(max, |f| f.1);
        let cap = match self
            .check_caps(
                &mut tx,
                &w,
                p.member_id.as_deref(),
                req.project.as_deref(),
                reserve,
                now,
            )
            .await
        {
            Err(LedgerError::CapExceeded(cap)) => Some(*cap),
            other => {
                other?;
                None
            }
        };
        tx.commit().await?;
        let available = to_u64(w.balance_mc - w.held_mc);
        let mut quote = quote_view(
            &card,
            id,
            wallet_id,
            est,
            expires_at_ms,
            available,
            first.map(|f| to_u64(f.1)),
        );
        quote.cap = cap;
        Ok(quote)
    }

    /// A quote given earlier (the operator's backend reads what the user confirmed),
    /// with what is available now.
    pub async fn get_quote(&self, p: &Principal, quote_id: &str) -> Result<Quote> {
        p.require(Op::Read)?;
        let row: Option<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT wallet_id, card_hash, estimate_json, expires_at_ms, hold_mc FROM quotes WHERE id = $1 AND workspace_id = $2",
        )
        .bind(quote_id)
        .bind(&p.workspace_id)
        .fetch_optional(&self.pool)
        .await?;
        let not_found = || LedgerError::NotFound(format!("quote `{quote_id}`"));
        let (wallet_id, card_hash, json, expires_at_ms, first) = row.ok_or_else(not_found)?;
        self.resolve_wallet(p, Some(&wallet_id))
            .await
            .map_err(|_| not_found())?;
        let est: Estimate = serde_json::from_str(&json)
            .map_err(|e| LedgerError::Corrupt(format!("quote estimate: {e}")))?;
        let card = self.card_by_hash(&card_hash).await?;
        let (balance, held): (i64, i64) =
            sqlx::query_as("SELECT balance_mc, held_mc FROM wallets WHERE id = $1")
                .bind(&wallet_id)
                .fetch_one(&self.pool)
                .await?;
        let available = to_u64(balance - held);
        Ok(quote_view(
            &card,
            quote_id.to_string(),
            wallet_id,
            est,
            expires_at_ms,
            available,
            first.map(to_u64),
        ))
    }
}

fn quote_view(
    card: &Card,
    id: String,
    wallet_id: String,
    est: Estimate,
    expires_at_ms: i64,
    available: u64,
    stream_first: Option<u64>,
) -> Quote {
    let hold = stream_first.unwrap_or(est.max_millicredits);
    let short = shortfall(card, Millicredits(available), Millicredits(hold));
    Quote {
        id,
        wallet_id,
        hold_millicredits: hold,
        streaming: stream_first.is_some(),
        estimate: est,
        expires_at_ms,
        available_millicredits: available,
        would_exceed: short.is_some(),
        shortfall: short,
        cap: None,
    }
}
