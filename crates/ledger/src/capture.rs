//! Settling a hold: capture (what a completed operation used, never above the hold) and
//! refund (a capture given back to the grants it drew from), with the creator's add-ons.

use creditkit_api::admin::EventType;
use creditkit_api::{CaptureRequest, Hold, HoldStatus, Op};
use creditkit_pricing::{estimate, Estimate, Request};

use crate::db::later;
use crate::holds::{hold_not_found, not_active, HoldOwner, HoldWrite};
use crate::{
    count_text, to_i64, to_u64, Entry, Ledger, LedgerError, Principal, Result, Tx, WalletRow,
};

impl Ledger {
    /// Charges a completed operation: the actual amount (given, or priced from the
    /// actual request with the quote's own card), which must not exceed the hold. The
    /// rest of the hold returns to the wallet.
    pub async fn capture(
        &self,
        p: &Principal,
        hold_id: &str,
        req: &CaptureRequest,
        key: &str,
    ) -> Result<Hold> {
        let call = self.authorise_keyed(p, Op::Settle, key)?;
        let call = call.body("capture", &(hold_id, req));
        let row: Option<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT h.wallet_id, h.quote_id, q.card_hash, q.estimate_json, q.request_json FROM holds h JOIN wallets w ON w.id = h.wallet_id JOIN quotes q ON q.id = h.quote_id WHERE h.id = $1 AND w.workspace_id = $2",
        )
        .bind(hold_id)
        .bind(&p.workspace_id)
        .fetch_optional(&self.pool)
        .await?;
        let (wallet_id, quote_id, card_hash, quote_json, request_json) =
            row.ok_or_else(|| hold_not_found(hold_id))?;
        self.resolve_wallet(p, Some(&wallet_id))
            .await
            .map_err(|_| hold_not_found(hold_id))?;
        let (amount, priced) = self.capture_amount(req, &card_hash, &quote_json).await?;
        let now = self.now_ms();
        let (mut tx, mut w, hold, owner) = match self
            .begin_hold_write(&call, &wallet_id, hold_id, now)
            .await?
        {
            HoldWrite::Replayed(done) => return done,
            HoldWrite::Fresh(tx, w, hold, owner) => (tx, w, hold, owner),
        };
        if hold.status != HoldStatus::Active {
            return self.keep(call, tx, &mut w, not_active(&hold)).await;
        }
        let held = to_i64(hold.amount_millicredits)?;
        if amount > held {
            return Err(LedgerError::CaptureExceedsHold {
                amount: to_u64(amount),
                held: to_u64(held),
            });
        }
        let (captured, payees) = self
            .charge_hold(
                &mut tx,
                &mut w,
                hold_id,
                Some((hold, owner)),
                held,
                amount,
                &quote_id,
                &request_json,
                Some(&priced),
                now,
            )
            .await?;
        let payees: Vec<&str> = payees.iter().map(String::as_str).collect();
        self.finish(call, tx, &mut w, Ok(captured), &payees).await
    }

    /// What a capture charges, and the estimate the add-ons are paid from: the amount
    /// given, or the actual request priced with the quote's own card version, or the
    /// quote itself when it was exact.
    async fn capture_amount(
        &self,
        req: &CaptureRequest,
        card_hash: &str,
        quote_json: &str,
    ) -> Result<(i64, Estimate)> {
        let mut priced = None;
        let amount = match (req.amount_millicredits, &req.actual) {
            (Some(a), None) => to_i64(a)?,
            (None, Some(actual)) => {
                // The quote's own card version, whatever the workspace uses now.
                let card = self.card_by_hash(card_hash).await?;
                let actual = count_text(&card, actual)?;
                let est = estimate(&card, &actual).map_err(LedgerError::Estimate)?;
                if !est.exact {
                    return Err(LedgerError::invalid_at(
                        "actual",
                        format!(
                            "the actual request must price exactly, but it prices at {}",
                            est.display()
                        ),
                    ));
                }
                let amount = to_i64(est.max_millicredits)?;
                priced = Some(est);
                amount
            }
            (None, None) => {
                let quoted: Estimate = serde_json::from_str(quote_json)
                    .map_err(|e| LedgerError::Corrupt(format!("quote estimate: {e}")))?;
                if !quoted.exact {
                    return Err(LedgerError::AmountRequired(format!(
                        "this hold's quote was a range ({}): send the actual request as `actual` or the amount used as `amount_millicredits`",
                        quoted.display()
                    )));
                }
                let amount = to_i64(quoted.max_millicredits)?;
                priced = Some(quoted);
                amount
            }
            (Some(_), Some(_)) => {
                return Err(LedgerError::invalid(
                    "give one of `amount_millicredits` or `actual`, not both",
                ));
            }
        };
        let priced = match priced {
            Some(priced) => priced,
            // What the add-ons are paid from: the quote's estimate (quotes never change).
            None => serde_json::from_str(quote_json)
                .map_err(|e| LedgerError::Corrupt(format!("quote estimate: {e}")))?,
        };
        Ok((amount, priced))
    }

    /// Charges `amount` of a hold of `held` (the rest returns to the wallet), from the
    /// grants it was allocated: the charge entries, the creator's add-ons, the agent's
    /// message count, the event. Returns the settled hold and the payee wallets credited.
    /// `read`: the hold and its owner, if the caller read them inside this transaction.
    /// The hold released and a charge per grant it takes `amount` from, in allocation
    /// order; whether a released part of an already-expired grant is left to expire.
    #[allow(clippy::too_many_arguments)] // one settlement's facts
    async fn charge_allocations(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        hold_id: &str,
        held: i64,
        amount: i64,
        meta: &HoldOwner,
        now: i64,
    ) -> Result<bool> {
        // With each grant's expiry: only a released part of an expired grant is left to
        // expire after this (`settle` expired every other part when the write began).
        let allocations: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT a.grant_id, a.amount_mc, g.expires_at_ms FROM hold_allocations a JOIN grants g ON g.id = a.grant_id WHERE a.hold_id = $1 ORDER BY a.position",
        )
        .bind(hold_id)
        .fetch_all(&mut **tx)
        .await?;
        let mut expired_part_released = false;
        // The hold released, then a charge per grant it takes from: one statement.
        let mut entries = vec![Entry {
            kind: "release",
            held_delta_mc: -held,
            hold_id: Some(hold_id),
            note: Some("captured"),
            ..Entry::default()
        }];
        let mut left = amount;
        for (grant_id, allocated, expires_at_ms) in &allocations {
            let take = left.min(*allocated);
            expired_part_released |= take < *allocated && expires_at_ms.is_some_and(|t| t <= now);
            later(tx, sqlx::query("UPDATE grants SET held_mc = held_mc - $1, remaining_mc = remaining_mc - $2 WHERE id = $3")
                .bind(allocated)
                .bind(take)
                .bind(grant_id)
                )
                .await?;
            if take > 0 {
                entries.push(Entry {
                    kind: "charge",
                    balance_delta_mc: -take,
                    grant_id: Some(grant_id),
                    hold_id: Some(hold_id),
                    member_id: meta.0.as_deref(),
                    action: meta.1.as_deref(),
                    project: meta.2.as_deref(),
                    ..Entry::default()
                });
                w.used_delta_mc += take;
            }
            left -= take;
        }
        self.entries(tx, &w.id.clone(), now, &entries).await?;
        debug_assert_eq!(left, 0, "allocations cover the hold");
        Ok(expired_part_released)
    }

    #[allow(clippy::too_many_arguments)] // one settlement's facts
    pub(crate) async fn charge_hold(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        hold_id: &str,
        read: Option<(Hold, HoldOwner)>,
        held: i64,
        amount: i64,
        quote_id: &str,
        request_json: &str,
        priced: Option<&creditkit_pricing::Estimate>,
        now: i64,
    ) -> Result<(Hold, Vec<String>)> {
        // The hold and who it is for (as the caller read them under this lock, or read
        // now): the settled hold is this one captured.
        let (hold, meta) = match read {
            Some(read) => read,
            None => self.hold_with_owner_in(tx, hold_id).await?,
        };
        let expired_part_released = self
            .charge_allocations(tx, w, hold_id, held, amount, &meta, now)
            .await?;
        later(
            tx,
            sqlx::query("UPDATE holds SET status = 'captured', captured_mc = $1 WHERE id = $2")
                .bind(amount)
                .bind(hold_id),
        )
        .await?;
        let payees = self
            .accrue_earnings(tx, quote_id, priced, hold_id, amount, now)
            .await?;
        let quoted: Request = serde_json::from_str(request_json)
            .map_err(|e| LedgerError::Corrupt(format!("quote request: {e}")))?;
        self.record_agent_usage(tx, &w.workspace_id.clone(), meta.0.as_deref(), &quoted)
            .await?;
        w.held_mc -= held;
        w.balance_mc -= amount;
        if expired_part_released {
            self.expire_grants(tx, w, now).await?;
        }
        self.save_wallet(tx, w).await?;
        let captured = Hold {
            status: HoldStatus::Captured,
            captured_millicredits: Some(to_u64(amount)),
            ..hold
        };
        let data = serde_json::json!({
            "hold": captured, "charged_millicredits": amount, "member_id": meta.0, "action": meta.1, "project": meta.2,
        });
        self.emit(
            tx,
            &w.workspace_id.clone(),
            EventType::ChargeCaptured,
            data,
            now,
        )
        .await?;
        Ok((captured, payees))
    }

    /// Credits each agent's payee with its publisher add-on from a capture, less the
    /// platform's share, pending until it settles. Returns the wallets credited.
    pub(crate) async fn accrue_earnings(
        &self,
        tx: &mut Tx,
        quote_id: &str,
        priced: Option<&creditkit_pricing::Estimate>,
        hold_id: &str,
        captured: i64,
        now: i64,
    ) -> Result<Vec<String>> {
        let stored;
        let est = match priced {
            Some(e) => e,
            None => {
                let (json,): (String,) =
                    sqlx::query_as("SELECT estimate_json FROM quotes WHERE id = $1")
                        .bind(quote_id)
                        .fetch_one(&mut **tx)
                        .await?;
                stored = serde_json::from_str::<creditkit_pricing::Estimate>(&json)
                    .map_err(|e| LedgerError::Corrupt(format!("quote estimate: {e}")))?;
                &stored
            }
        };
        let mut by_agent: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
        for line in est
            .lines
            .iter()
            .filter(|l| l.kind == creditkit_pricing::LineKind::PublisherAddon)
        {
            if let Some(agent) = &line.agent {
                *by_agent.entry(agent).or_default() += line.max_millicredits as i64;
            }
        }
        let mut left = captured; // never pay out more add-on than was charged
        let mut credited = Vec::new();
        for (agent, gross) in by_agent {
            let gross = gross.min(left);
            left -= gross;
            if gross <= 0 {
                continue;
            }
            let payee: Option<(String,)> =
                sqlx::query_as("SELECT wallet_id FROM agent_payees WHERE agent_id = $1")
                    .bind(agent)
                    .fetch_optional(&mut **tx)
                    .await?;
            let Some((wallet,)) = payee else { continue }; // no creator registered: the platform keeps it
            let share = (gross * self.config.platform_share_percent as i64 + 50) / 100;
            let note = format!("publisher add-on for {agent}");
            self.entry(
                tx,
                &wallet,
                now,
                Entry {
                    kind: "earning",
                    earnings_delta_mc: gross - share,
                    platform_share_mc: share,
                    available_at_ms: Some(now + self.config.earnings_settle_ms),
                    hold_id: Some(hold_id),
                    action: Some(agent),
                    note: Some(&note),
                    ..Entry::default()
                },
            )
            .await?;
            credited.push(wallet);
        }
        Ok(credited)
    }

    /// Refunds a captured charge to the very grants it was drawn from (credits of a
    /// grant that has since expired expire again, as unspent ones would have).
    /// Creator earnings are not clawed back. The operator's backend only.
    pub async fn refund(&self, p: &Principal, hold_id: &str, key: &str) -> Result<Hold> {
        let call = self.authorise_keyed(p, Op::Refund, key)?;
        let call = call.body("refund", &hold_id);
        let (wallet_id, _) = self.hold_wallet(p, hold_id).await?;
        let now = self.now_ms();
        let (mut tx, mut w, hold) = match self
            .begin_hold_write(&call, &wallet_id, hold_id, now)
            .await?
        {
            HoldWrite::Replayed(done) => return done,
            HoldWrite::Fresh(tx, w, hold, _) => (tx, w, hold),
        };
        if hold.status != HoldStatus::Captured {
            return Err(LedgerError::HoldNotActive {
                id: hold_id.to_string(),
                status: format!("{}, not captured", hold.status.as_str()),
            });
        }
        // (grant_id, balance_delta_mc, member_id, action, project)
        type ChargeRow = (
            Option<String>,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let charges: Vec<ChargeRow> = sqlx::query_as(
            "SELECT grant_id, balance_delta_mc, member_id, action, project FROM entries WHERE hold_id = $1 AND kind = 'charge' ORDER BY seq",
        )
        .bind(hold_id)
        .fetch_all(&mut *tx)
        .await?;
        for (grant_id, delta, member, action, project) in &charges {
            let Some(grant_id) = grant_id else { continue };
            let amount = -delta;
            later(
                &mut tx,
                sqlx::query("UPDATE grants SET remaining_mc = remaining_mc + $1 WHERE id = $2")
                    .bind(amount)
                    .bind(grant_id),
            )
            .await?;
            self.entry(
                &mut tx,
                &wallet_id,
                now,
                Entry {
                    kind: "refund",
                    balance_delta_mc: amount,
                    grant_id: Some(grant_id),
                    hold_id: Some(hold_id),
                    member_id: member.as_deref(),
                    action: action.as_deref(),
                    project: project.as_deref(),
                    ..Entry::default()
                },
            )
            .await?;
            w.balance_mc += amount;
            w.used_delta_mc -= amount;
        }
        later(
            &mut tx,
            sqlx::query("UPDATE holds SET status = 'refunded' WHERE id = $1").bind(hold_id),
        )
        .await?;
        let refunded: i64 = charges.iter().map(|c| -c.1).sum();
        let data = serde_json::json!({ "hold_id": hold_id, "wallet_id": wallet_id, "refunded_millicredits": refunded });
        self.emit(
            &mut tx,
            &p.workspace_id,
            EventType::ChargeRefunded,
            data,
            now,
        )
        .await?;
        self.expire_grants(&mut tx, &mut w, now).await?;
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(self.hold_in(&mut tx, hold_id).await?);
        self.finish(call, tx, &mut w, result, &[]).await
    }
}
