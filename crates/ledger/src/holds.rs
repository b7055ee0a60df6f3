//! The money path after the quote (`quotes.rs`): hold → capture or release, and refunds.

use creditkit_api::admin::EventType;
use creditkit_api::{CaptureRequest, Hold, HoldRequest, HoldStatus, HoldStream, Op};
use creditkit_pricing::{estimate, shortfall, Estimate, Millicredits, Request};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::*;

/// The columns [`hold_from_row`] reads, in its order (a macro, for `concat!`).
macro_rules! hold_columns {
    () => {
        "id, quote_id, wallet_id, amount_mc, status, captured_mc, expires_at_ms, created_at_ms, confirmed_max_mc, reserved_tokens, generated_tokens, generated_mc"
    };
}

impl Ledger {
    // ---------------------------------------------------------------- hold, capture, release

    /// Confirms a quote: reserves its maximum, drawing on the soonest-expiring grants
    /// first. Refused with the shortfall when not enough is available; the refusal is
    /// remembered under the idempotency key, so a retry stays refused.
    pub async fn hold(&self, p: &Principal, req: &HoldRequest, key: &str) -> Result<Hold> {
        p.require(Op::Hold)?;
        check_key(key)?;
        let hash = payload_hash("hold", &req.quote_id);
        // The quote, and the card the workspace prices with now (for a shortfall's offer).
        let q = sqlx::query("SELECT q.wallet_id, q.max_mc, q.expires_at_ms, q.member_id, q.action, q.project, q.hold_mc, q.stream_first_tokens, s.card_hash FROM quotes q JOIN workspaces s ON s.id = q.workspace_id WHERE q.id = $1 AND q.workspace_id = $2")
            .bind(&req.quote_id)
            .bind(&p.workspace_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("quote `{}`", req.quote_id)))?;
        let wallet_id: String = q.try_get(0)?;
        self.resolve_wallet(p, Some(&wallet_id)).await?;
        let max: i64 = q.try_get(1)?;
        let quote_expires: i64 = q.try_get(2)?;
        let member: Option<String> = p.member_id.clone().or(q.try_get(3)?);
        let action: Option<String> = q.try_get(4)?;
        let project: Option<String> = q.try_get(5)?;
        // What the hold reserves now: the maximum, or a streamed turn's first chunk.
        let reserve: i64 = q.try_get::<Option<i64>, _>(6)?.unwrap_or(max);
        let stream_tokens: Option<i64> = q.try_get(7)?;
        // Read through the pool before the transaction: on SQLite the transaction holds
        // the only connection.
        let card = self.card_by_hash(&q.try_get::<String, _>(8)?).await?;
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Hold>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        if quote_expires <= now {
            return Err(LedgerError::QuoteExpired(req.quote_id.clone()));
        }
        // Whether the quote is confirmed already, and the wallet's active holds.
        let (existing, active): (Option<String>, i64) = sqlx::query_as(
            "SELECT (SELECT id FROM holds WHERE quote_id = $1), (SELECT COUNT(*) FROM holds WHERE wallet_id = $2 AND status = 'active')",
        )
        .bind(&req.quote_id)
        .bind(&wallet_id)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(h) = existing {
            return Err(LedgerError::Invalid {
                path: Some("quote_id".into()),
                message: format!(
                    "quote `{}` was already confirmed by hold `{h}`",
                    req.quote_id
                ),
            });
        }
        if active >= self.config.max_active_holds {
            return Err(LedgerError::invalid(format!(
                "wallet has {active} active holds; the limit is {}",
                self.config.max_active_holds
            )));
        }
        // A cap that would be passed refuses the hold, remembered like a shortfall.
        match self
            .check_caps(
                &mut tx,
                &w,
                member.as_deref(),
                project.as_deref(),
                reserve,
                now,
            )
            .await
        {
            Err(e @ LedgerError::CapExceeded(_)) => {
                self.save_wallet(&mut tx, &mut w).await?;
                return self
                    .finish(tx, &p.workspace_id, key, &hash, Err(e), &[])
                    .await;
            }
            other => other?,
        }
        let available = w.balance_mc - w.held_mc;
        if reserve > available {
            let short = shortfall(
                &card,
                Millicredits(to_u64(available)),
                Millicredits(to_u64(reserve)),
            )
            .ok_or_else(|| LedgerError::Corrupt("shortfall without a gap".into()))?;
            let result: Result<Hold> = Err(LedgerError::Insufficient(Box::new(short)));
            self.save_wallet(&mut tx, &mut w).await?;
            return self
                .finish(tx, &p.workspace_id, key, &hash, result, &[])
                .await;
        }
        let hold_id = new_id("hld");
        let expires_at_ms = now + self.config.hold_ttl_ms;
        sqlx::query(
            "INSERT INTO holds (id, quote_id, wallet_id, amount_mc, status, member_id, action, project, expires_at_ms, created_at_ms, confirmed_max_mc, reserved_tokens, generated_tokens, generated_mc) \
             VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(&hold_id)
        .bind(&req.quote_id)
        .bind(&wallet_id)
        .bind(reserve)
        .bind(&member)
        .bind(&action)
        .bind(&project)
        .bind(expires_at_ms)
        .bind(now)
        .bind(stream_tokens.map(|_| max))
        .bind(stream_tokens)
        .bind(stream_tokens.map(|_| 0i64))
        .execute(&mut *tx)
        .await?;
        self.allocate(&mut tx, &mut w, &hold_id, Allocated::None, reserve, now)
            .await?;
        self.entry(
            &mut tx,
            &wallet_id,
            now,
            Entry {
                kind: "hold",
                held_delta_mc: reserve,
                hold_id: Some(&hold_id),
                member_id: member.as_deref(),
                action: action.as_deref(),
                project: project.as_deref(),
                ..Entry::default()
            },
        )
        .await?;
        w.held_mc += reserve;
        self.save_wallet(&mut tx, &mut w).await?;
        // As written above (what `hold_in` would read back).
        let hold = Hold {
            id: hold_id.clone(),
            quote_id: req.quote_id.clone(),
            wallet_id: wallet_id.clone(),
            amount_millicredits: to_u64(reserve),
            status: HoldStatus::Active,
            captured_millicredits: None,
            expires_at_ms,
            created_at_ms: now,
            stream: stream_tokens.map(|tokens| HoldStream {
                confirmed_max_millicredits: to_u64(max),
                reserved_output_tokens: to_u64(tokens),
                generated_output_tokens: 0,
                generated_millicredits: 0,
            }),
        };
        let data = serde_json::json!({ "hold": hold, "member_id": member, "action": action, "project": project });
        self.emit(&mut tx, &p.workspace_id, EventType::HoldCreated, data, now)
            .await?;
        let result = Ok(hold);
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    /// Reserves `amount` for a hold from the wallet's grants, soonest-expiring first
    /// (never-expiring last), then oldest; a grant it already draws on grows.
    pub(crate) async fn allocate(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        hold_id: &str,
        before: Allocated,
        amount: i64,
        now: i64,
    ) -> Result<()> {
        let grants: Vec<(String, i64)> = sqlx::query_as(
            "SELECT id, remaining_mc - held_mc FROM grants WHERE wallet_id = $1 AND remaining_mc > held_mc \
             AND (expires_at_ms IS NULL OR expires_at_ms > $2) \
             ORDER BY CASE WHEN expires_at_ms IS NULL THEN 1 ELSE 0 END, expires_at_ms, seq",
        )
        .bind(&w.id)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
        let existing = match before {
            Allocated::None => 0,
            Allocated::Some => {
                let (n,): (i64,) =
                    sqlx::query_as("SELECT COUNT(*) FROM hold_allocations WHERE hold_id = $1")
                        .bind(hold_id)
                        .fetch_one(&mut **tx)
                        .await?;
                n
            }
        };
        let mut need = amount;
        for (i, (grant_id, free)) in grants.iter().enumerate() {
            if need == 0 {
                break;
            }
            let position = existing + i as i64;
            if position >= self.config.max_grants_per_hold as i64 {
                return Err(LedgerError::invalid(format!(
                    "a hold may draw on at most {} grants",
                    self.config.max_grants_per_hold
                )));
            }
            let take = need.min(*free);
            sqlx::query("UPDATE grants SET held_mc = held_mc + $1 WHERE id = $2")
                .bind(take)
                .bind(grant_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query(
                "INSERT INTO hold_allocations (hold_id, grant_id, position, amount_mc) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (hold_id, grant_id) DO UPDATE SET amount_mc = hold_allocations.amount_mc + excluded.amount_mc",
            )
            .bind(hold_id)
            .bind(grant_id)
            .bind(position)
            .bind(take)
            .execute(&mut **tx)
            .await?;
            need -= take;
        }
        if need > 0 {
            return Err(LedgerError::Corrupt(format!(
                "wallet {} balance {} is not backed by its grants",
                w.id, w.balance_mc
            )));
        }
        Ok(())
    }

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
        p.require(Op::Settle)?;
        check_key(key)?;
        let hash = payload_hash("capture", &(hold_id, req));
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
        let mut priced = None;
        let amount = match (req.amount_millicredits, &req.actual) {
            (Some(a), None) => to_i64(a)?,
            (None, Some(actual)) => {
                // The quote's own card version, whatever the workspace uses now.
                let card = self.card_by_hash(&card_hash).await?;
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
                let quoted: Estimate = serde_json::from_str(&quote_json)
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
        if priced.is_none() {
            // What the add-ons are paid from: the quote's estimate (quotes never change).
            priced = Some(
                serde_json::from_str(&quote_json)
                    .map_err(|e| LedgerError::Corrupt(format!("quote estimate: {e}")))?,
            );
        }
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Hold>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        let hold = self.hold_in(&mut tx, hold_id).await?;
        if hold.status != HoldStatus::Active {
            return Err(self.refuse_inactive(tx, &mut w, &hold).await);
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
                held,
                amount,
                &quote_id,
                &request_json,
                priced.as_ref(),
                now,
            )
            .await?;
        let result = Ok(captured);
        let mut changed = vec![wallet_id.as_str()];
        changed.extend(payees.iter().map(String::as_str));
        self.finish(tx, &p.workspace_id, key, &hash, result, &changed)
            .await
    }

    /// Charges `amount` of a hold of `held` (the rest returns to the wallet), from the
    /// grants it was allocated: the charge entries, the creator's add-ons, the agent's
    /// message count, the event. Returns the settled hold and the payee wallets credited.
    #[allow(clippy::too_many_arguments)] // one settlement's facts
    pub(crate) async fn charge_hold(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        hold_id: &str,
        held: i64,
        amount: i64,
        quote_id: &str,
        request_json: &str,
        priced: Option<&creditkit_pricing::Estimate>,
        now: i64,
    ) -> Result<(Hold, Vec<String>)> {
        // The hold and who it is for, in one read: the settled hold is this one captured.
        let row = sqlx::query(concat!(
            "SELECT ",
            hold_columns!(),
            ", member_id, action, project FROM holds WHERE id = $1"
        ))
        .bind(hold_id)
        .fetch_one(&mut **tx)
        .await?;
        let hold = hold_from_row(&row)?;
        let meta: (Option<String>, Option<String>, Option<String>) =
            (row.try_get(12)?, row.try_get(13)?, row.try_get(14)?);
        // With each grant's expiry: only a released part of an expired grant is left to
        // expire after this (`settle` expired every other part when the write began).
        let allocations: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT a.grant_id, a.amount_mc, g.expires_at_ms FROM hold_allocations a JOIN grants g ON g.id = a.grant_id WHERE a.hold_id = $1 ORDER BY a.position",
        )
        .bind(hold_id)
        .fetch_all(&mut **tx)
        .await?;
        let mut expired_part_released = false;
        self.entry(
            tx,
            &w.id.clone(),
            now,
            Entry {
                kind: "release",
                held_delta_mc: -held,
                hold_id: Some(hold_id),
                note: Some("captured"),
                ..Entry::default()
            },
        )
        .await?;
        let mut left = amount;
        for (grant_id, allocated, expires_at_ms) in &allocations {
            let take = left.min(*allocated);
            expired_part_released |= take < *allocated && expires_at_ms.is_some_and(|t| t <= now);
            sqlx::query("UPDATE grants SET held_mc = held_mc - $1, remaining_mc = remaining_mc - $2 WHERE id = $3")
                .bind(allocated)
                .bind(take)
                .bind(grant_id)
                .execute(&mut **tx)
                .await?;
            if take > 0 {
                self.entry(
                    tx,
                    &w.id.clone(),
                    now,
                    Entry {
                        kind: "charge",
                        balance_delta_mc: -take,
                        grant_id: Some(grant_id),
                        hold_id: Some(hold_id),
                        member_id: meta.0.as_deref(),
                        action: meta.1.as_deref(),
                        project: meta.2.as_deref(),
                        ..Entry::default()
                    },
                )
                .await?;
            }
            left -= take;
        }
        debug_assert_eq!(left, 0, "allocations cover the hold");
        sqlx::query("UPDATE holds SET status = 'captured', captured_mc = $1 WHERE id = $2")
            .bind(amount)
            .bind(hold_id)
            .execute(&mut **tx)
            .await?;
        let payees = self
            .accrue_earnings(tx, quote_id, priced, hold_id, amount, now)
            .await?;
        let quoted: Request = serde_json::from_str(request_json)
            .map_err(|e| LedgerError::Corrupt(format!("quote request: {e}")))?;
        self.record_agent_usage(tx, &w.id.clone(), meta.0.as_deref(), &quoted)
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
        p.require(Op::Refund)?;
        check_key(key)?;
        let hash = payload_hash("refund", &hold_id);
        let (wallet_id, _) = self.hold_wallet(p, hold_id).await?;
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Hold>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        let hold = self.hold_in(&mut tx, hold_id).await?;
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
            sqlx::query("UPDATE grants SET remaining_mc = remaining_mc + $1 WHERE id = $2")
                .bind(amount)
                .bind(grant_id)
                .execute(&mut *tx)
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
        }
        sqlx::query("UPDATE holds SET status = 'refunded' WHERE id = $1")
            .bind(hold_id)
            .execute(&mut *tx)
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
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    /// Returns a hold in full: the operation failed or was cancelled; nothing is charged.
    pub async fn release(&self, p: &Principal, hold_id: &str, key: &str) -> Result<Hold> {
        p.require(Op::Settle)?;
        check_key(key)?;
        let hash = payload_hash("release", &hold_id);
        let (wallet_id, _) = self.hold_wallet(p, hold_id).await?;
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Hold>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        let hold = self.hold_in(&mut tx, hold_id).await?;
        if hold.status != HoldStatus::Active {
            let status = hold.status.as_str().to_string();
            self.save_wallet(&mut tx, &mut w).await?;
            tx.commit().await?;
            return Err(LedgerError::HoldNotActive {
                id: hold_id.to_string(),
                status,
            });
        }
        self.release_hold(&mut tx, &mut w, hold_id, HoldStatus::Released, now)
            .await?;
        self.expire_grants(&mut tx, &mut w, now).await?;
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(self.hold_in(&mut tx, hold_id).await?);
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    pub(crate) async fn release_hold(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        hold_id: &str,
        status: HoldStatus,
        now: i64,
    ) -> Result<()> {
        let (amount,): (i64,) = sqlx::query_as("SELECT amount_mc FROM holds WHERE id = $1")
            .bind(hold_id)
            .fetch_one(&mut **tx)
            .await?;
        let allocations: Vec<(String, i64)> =
            sqlx::query_as("SELECT grant_id, amount_mc FROM hold_allocations WHERE hold_id = $1")
                .bind(hold_id)
                .fetch_all(&mut **tx)
                .await?;
        for (grant_id, allocated) in &allocations {
            sqlx::query("UPDATE grants SET held_mc = held_mc - $1 WHERE id = $2")
                .bind(allocated)
                .bind(grant_id)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("UPDATE holds SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(hold_id)
            .execute(&mut **tx)
            .await?;
        let note = if status == HoldStatus::Expired {
            "timed out"
        } else {
            "released"
        };
        self.entry(
            tx,
            &w.id.clone(),
            now,
            Entry {
                kind: "release",
                held_delta_mc: -amount,
                hold_id: Some(hold_id),
                note: Some(note),
                ..Entry::default()
            },
        )
        .await?;
        w.held_mc -= amount;
        let data = serde_json::json!({
            "hold_id": hold_id, "wallet_id": w.id, "released_millicredits": amount, "reason": note,
        });
        self.emit(
            tx,
            &w.workspace_id.clone(),
            EventType::HoldReleased,
            data,
            now,
        )
        .await?;
        Ok(())
    }

    /// The wallet and quote of a hold the principal may see.
    pub(crate) async fn hold_wallet(
        &self,
        p: &Principal,
        hold_id: &str,
    ) -> Result<(String, String)> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT h.wallet_id, h.quote_id FROM holds h JOIN wallets w ON w.id = h.wallet_id WHERE h.id = $1 AND w.workspace_id = $2",
        )
        .bind(hold_id)
        .bind(&p.workspace_id)
        .fetch_optional(&self.pool)
        .await?;
        let (wallet, quote) = row.ok_or_else(|| hold_not_found(hold_id))?;
        self.resolve_wallet(p, Some(&wallet))
            .await
            .map_err(|_| hold_not_found(hold_id))?;
        Ok((wallet, quote))
    }

    pub async fn get_hold(&self, p: &Principal, hold_id: &str) -> Result<Hold> {
        p.require(Op::Read)?;
        self.hold_wallet(p, hold_id).await?;
        hold_from_row(
            &sqlx::query(concat!(
                "SELECT ",
                hold_columns!(),
                " FROM holds WHERE id = $1"
            ))
            .bind(hold_id)
            .fetch_one(&self.pool)
            .await?,
        )
    }

    /// Refuses a write to a hold that is no longer active, keeping what settling did on
    /// the way (a hold that timed out is expired and its credits released).
    pub(crate) async fn refuse_inactive(
        &self,
        mut tx: Tx,
        w: &mut WalletRow,
        hold: &Hold,
    ) -> LedgerError {
        if let Err(e) = self.save_wallet(&mut tx, w).await {
            return e;
        }
        if let Err(e) = tx.commit().await {
            return e;
        }
        LedgerError::HoldNotActive {
            id: hold.id.clone(),
            status: hold.status.as_str().to_string(),
        }
    }

    pub(crate) async fn hold_in(&self, tx: &mut Tx, hold_id: &str) -> Result<Hold> {
        let row = sqlx::query(concat!(
            "SELECT ",
            hold_columns!(),
            " FROM holds WHERE id = $1"
        ))
        .bind(hold_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("hold `{hold_id}`")))?;
        hold_from_row(&row)
    }
}

/// Another workspace's hold, or a wallet the caller may not see, reads as none.
fn hold_not_found(hold_id: &str) -> LedgerError {
    LedgerError::NotFound(format!("hold `{hold_id}`"))
}

pub(crate) fn hold_from_row(r: &AnyRow) -> Result<Hold> {
    let status: String = r.try_get(4)?;
    let captured: Option<i64> = r.try_get(5)?;
    Ok(Hold {
        id: r.try_get(0)?,
        quote_id: r.try_get(1)?,
        wallet_id: r.try_get(2)?,
        amount_millicredits: to_u64(r.try_get(3)?),
        status: HoldStatus::parse(&status)
            .ok_or_else(|| LedgerError::Corrupt(format!("hold status `{status}`")))?,
        captured_millicredits: captured.map(to_u64),
        expires_at_ms: r.try_get(6)?,
        created_at_ms: r.try_get(7)?,
        stream: match r.try_get::<Option<i64>, _>(8)? {
            None => None,
            Some(max) => Some(HoldStream {
                confirmed_max_millicredits: to_u64(max),
                reserved_output_tokens: to_u64(r.try_get::<Option<i64>, _>(9)?.unwrap_or(0)),
                generated_output_tokens: to_u64(r.try_get::<Option<i64>, _>(10)?.unwrap_or(0)),
                generated_millicredits: to_u64(r.try_get::<Option<i64>, _>(11)?.unwrap_or(0)),
            }),
        },
    })
}

/// Whether a hold being allocated may already draw on grants (a new one does not: no
/// statement is spent counting its allocations).
pub(crate) enum Allocated {
    None,
    Some,
}
