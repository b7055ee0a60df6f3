//! The money path after the quote (`quotes.rs`): hold, then release (`capture.rs`
//! captures and refunds).

use creditkit_api::admin::EventType;
use creditkit_api::{Hold, HoldRequest, HoldStatus, HoldStream, Op};
use creditkit_pricing::{estimate, shortfall, Millicredits};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::later;
use crate::signed::QuoteClaims;
use crate::{
    new_id, to_i64, to_u64, Begun, Call, Entry, Ledger, LedgerError, Principal, Result, Tx,
    WalletRow,
};

/// The columns [`hold_from_row`] reads, in its order (a macro, for `concat!`).
macro_rules! hold_columns {
    () => {
        "id, quote_id, wallet_id, amount_mc, status, captured_mc, expires_at_ms, created_at_ms, confirmed_max_mc, reserved_tokens, generated_tokens, generated_mc, member_id"
    };
}

impl Ledger {
    // ---------------------------------------------------------------- hold, capture, release

    /// Confirms a quote: reserves its maximum, drawing on the soonest-expiring grants
    /// first. Refused with the shortfall when not enough is available; the refusal is
    /// remembered under the idempotency key, so a retry stays refused.
    pub async fn hold(&self, p: &Principal, req: &HoldRequest, key: &str) -> Result<Hold> {
        let call = self.authorise_keyed(p, Op::Hold, key)?;
        let call = call.body("hold", &req.quote_id);
        let c = self.confirming(p, &req.quote_id).await?;
        let now = self.now_ms();
        // With the key's record, under the lock: whether the quote is confirmed already,
        // the wallet's active holds, and whether it has caps at all (most have none:
        // then no caps are read under the lock).
        const ALSO: &str = ", (SELECT id FROM holds WHERE quote_id = $5), \
             (SELECT COUNT(*) FROM holds WHERE wallet_id = $3 AND status = 'active'), \
             (SELECT COUNT(*) FROM caps WHERE wallet_id = $3)";
        let (mut tx, mut w, row, settled) = match self
            .begin_on_also::<Hold>(&call, &c.q.wallet_id, now, Some((ALSO, c.quote_id)))
            .await?
        {
            (Begun::Replayed(done), _) => return done,
            (Begun::Fresh(tx, w), Some((row, settled))) => (tx, w, row, settled),
            (Begun::Fresh(..), None) => {
                return Err(LedgerError::Corrupt("a hold's write read nothing".into()))
            }
        };
        if c.q.expires_at_ms <= now {
            return Err(LedgerError::QuoteExpired(req.quote_id.clone()));
        }
        if let Some(h) = row.try_get::<Option<String>, _>(3)? {
            return Err(LedgerError::Invalid {
                path: Some("quote_id".into()),
                message: format!("quote `{}` was already confirmed by hold `{h}`", c.quote_id),
            });
        }
        let active: i64 = if settled {
            // Settling timed some holds out: count again.
            sqlx::query_as::<_, (i64,)>(
                "SELECT COUNT(*) FROM holds WHERE wallet_id = $1 AND status = 'active'",
            )
            .bind(&w.id)
            .fetch_one(&mut *tx)
            .await?
            .0
        } else {
            row.try_get(4)?
        };
        if active >= self.config.max_active_holds {
            return Err(LedgerError::invalid(format!(
                "wallet has {active} active holds; the limit is {}",
                self.config.max_active_holds
            )));
        }
        let has_caps = row.try_get::<i64, _>(5)? > 0;
        let result = match self.refusal(&mut tx, &w, &c, has_caps, now).await? {
            Some(refused) => Err(refused),
            None => Ok(self.write_hold(&mut tx, &mut w, p, &c, now).await?),
        };
        self.finish(call, tx, &mut w, result, &[]).await
    }

    /// A quote about to be confirmed: its signature and workspace checked, its wallet
    /// one the caller may use, its estimate priced again with the card it was priced
    /// with (the engine is pure: the same card and request price the same). Read
    /// through the pool, before the write: on PostgreSQL the write holds a connection.
    async fn confirming<'q>(&self, p: &Principal, quote_id: &'q str) -> Result<Confirming<'q>> {
        let (short_id, q) = self
            .quote_key
            .open(quote_id)
            .filter(|(_, q)| q.workspace_id == p.workspace_id)
            .ok_or_else(|| LedgerError::NotFound(format!("quote `{quote_id}`")))?;
        self.resolve_wallet(p, Some(&q.wallet_id)).await?;
        let card = self.card_by_hash(&q.card_hash).await?;
        let quoted = estimate(&card, &q.request).map_err(LedgerError::Estimate)?;
        // What is reserved is the maximum priced again here, never only what the quote
        // claims; a quote whose claim disagrees is not confirmed.
        let max = to_i64(quoted.max_millicredits)?;
        if max != q.max_mc {
            return Err(LedgerError::QuoteExpired(quote_id.to_string()));
        }
        Ok(Confirming {
            quote_id: short_id,
            member: p.member_id.clone().or(q.member_id.clone()),
            action: q.request.items.first().map(|i| i.action.clone()),
            // What the hold reserves now: the maximum, or a streamed turn's first chunk.
            reserve: q.hold_mc.map_or(max, |first| first.min(max)),
            max,
            card,
            quoted,
            q,
        })
    }

    /// Why the hold is refused and remembered so: a cap it would pass, or a shortfall
    /// (with the offer, priced with the quote's own card).
    async fn refusal(
        &self,
        tx: &mut Tx,
        w: &WalletRow,
        c: &Confirming<'_>,
        has_caps: bool,
        now: i64,
    ) -> Result<Option<LedgerError>> {
        if has_caps {
            let (member, project) = (c.member.as_deref(), c.q.project.as_deref());
            match self
                .check_caps(tx, w, member, project, c.reserve, now)
                .await
            {
                Err(e @ LedgerError::CapExceeded(_)) => return Ok(Some(e)),
                other => other?,
            }
        }
        let available = w.balance_mc - w.held_mc;
        if c.reserve <= available {
            return Ok(None);
        }
        let short = shortfall(
            &c.card,
            Millicredits(to_u64(available)),
            Millicredits(to_u64(c.reserve)),
            w.plan_id.as_deref(),
        )
        .ok_or_else(|| LedgerError::Corrupt("shortfall without a gap".into()))?;
        Ok(Some(LedgerError::Insufficient(Box::new(short))))
    }

    /// The hold's rows: the quote, the hold, its allocations, the entry, the event.
    async fn write_hold(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        p: &Principal,
        c: &Confirming<'_>,
        now: i64,
    ) -> Result<Hold> {
        let (quote_id, q, quoted, reserve, max) = (c.quote_id, &c.q, &c.quoted, c.reserve, c.max);
        let (member, action, project) = (&c.member, &c.action, &q.project);
        let wallet_id = w.id.clone();
        let stream_tokens = q.stream_first_tokens;
        // The grants it draws on, read before its writes: on PostgreSQL the writes that
        // follow then go to the database together (`db/postgres.rs`).
        let free = self.free_grants(tx, w, now).await?;
        self.insert_quote(tx, quote_id, q, quoted).await?;
        let hold_id = new_id("hld");
        let expires_at_ms = now + self.config.hold_ttl_ms;
        later(tx, sqlx::query(
            "INSERT INTO holds (id, quote_id, wallet_id, amount_mc, status, member_id, action, project, expires_at_ms, created_at_ms, confirmed_max_mc, reserved_tokens, generated_tokens, generated_mc, conversation) \
             VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)",
        )
        .bind(&hold_id)
        .bind(quote_id)
        .bind(&wallet_id)
        .bind(reserve)
        .bind(member)
        .bind(action)
        .bind(project)
        .bind(expires_at_ms)
        .bind(now)
        .bind(stream_tokens.map(|_| max))
        .bind(stream_tokens)
        .bind(stream_tokens.map(|_| 0i64))
        .bind(&q.conversation)
        )
        .await?;
        self.hold_agent_messages(tx, p, member.as_deref(), &hold_id, &q.request, quote_id)
            .await?;
        self.allocate_from(tx, w, &hold_id, &free, 0, reserve)
            .await?;
        self.entry(
            tx,
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
        self.save_wallet(tx, w).await?;
        // As written above (what `hold_in` would read back).
        let hold = Hold {
            id: hold_id.clone(),
            quote_id: quote_id.to_string(),
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
            member_id: member.clone(),
        };
        let data = serde_json::json!({ "hold": hold, "member_id": member, "action": action, "project": project });
        self.emit(tx, &p.workspace_id, EventType::HoldCreated, data, now)
            .await?;
        Ok(hold)
    }

    /// Reserves `amount` more for a hold that may already draw on grants (a streamed
    /// turn's next chunk): [`Ledger::allocate_from`] the wallet's free grants.
    pub(crate) async fn allocate(
        &self,
        tx: &mut Tx,
        w: &WalletRow,
        hold_id: &str,
        amount: i64,
        now: i64,
    ) -> Result<()> {
        let free = self.free_grants(tx, w, now).await?;
        let (existing,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM hold_allocations WHERE hold_id = $1")
                .bind(hold_id)
                .fetch_one(&mut **tx)
                .await?;
        self.allocate_from(tx, w, hold_id, &free, existing, amount)
            .await
    }

    /// A wallet's grants with credits not held, in the order holds draw on them:
    /// soonest-expiring first (never-expiring last), then oldest.
    pub(crate) async fn free_grants(
        &self,
        tx: &mut Tx,
        w: &WalletRow,
        now: i64,
    ) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, remaining_mc - held_mc FROM grants WHERE wallet_id = $1 AND remaining_mc > held_mc \
             AND (expires_at_ms IS NULL OR expires_at_ms > $2) \
             ORDER BY CASE WHEN expires_at_ms IS NULL THEN 1 ELSE 0 END, expires_at_ms, seq",
        )
        .bind(&w.id)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?)
    }

    /// Reserves `amount` for a hold from `grants` (as [`Ledger::free_grants`] read them,
    /// in this transaction), in their order; a grant the hold already draws on grows.
    /// `existing`: how many grants it draws on already. Writes only (`later`).
    pub(crate) async fn allocate_from(
        &self,
        tx: &mut Tx,
        w: &WalletRow,
        hold_id: &str,
        grants: &[(String, i64)],
        existing: i64,
        amount: i64,
    ) -> Result<()> {
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
            later(
                tx,
                sqlx::query("UPDATE grants SET held_mc = held_mc + $1 WHERE id = $2")
                    .bind(take)
                    .bind(grant_id),
            )
            .await?;
            later(
                tx,
                sqlx::query(
                    "INSERT INTO hold_allocations (hold_id, grant_id, position, amount_mc) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (hold_id, grant_id) DO UPDATE SET amount_mc = hold_allocations.amount_mc + excluded.amount_mc",
                )
                .bind(hold_id)
                .bind(grant_id)
                .bind(position)
                .bind(take),
            )
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

    /// Returns a hold in full: the operation failed or was cancelled; nothing is charged.
    pub async fn release(&self, p: &Principal, hold_id: &str, key: &str) -> Result<Hold> {
        let call = self.authorise_keyed(p, Op::Settle, key)?;
        let call = call.body("release", &hold_id);
        let (wallet_id, _) = self.hold_wallet(p, hold_id).await?;
        let now = self.now_ms();
        let (mut tx, mut w, hold) = match self
            .begin_hold_write(&call, &wallet_id, hold_id, now)
            .await?
        {
            HoldWrite::Replayed(done) => return done,
            HoldWrite::Fresh(tx, w, hold, _) => (tx, w, hold),
        };
        if hold.status != HoldStatus::Active {
            return self.keep(call, tx, &mut w, not_active(&hold)).await;
        }
        self.release_hold(&mut tx, &mut w, hold_id, HoldStatus::Released, now)
            .await?;
        self.expire_grants(&mut tx, &mut w, now).await?;
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(self.hold_in(&mut tx, hold_id).await?);
        self.finish(call, tx, &mut w, result, &[]).await
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
            later(
                tx,
                sqlx::query("UPDATE grants SET held_mc = held_mc - $1 WHERE id = $2")
                    .bind(allocated)
                    .bind(grant_id),
            )
            .await?;
        }
        later(
            tx,
            sqlx::query("UPDATE holds SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(hold_id),
        )
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

    /// Begins an idempotent write on an existing hold ([`Ledger::begin_on_also`]): its
    /// wallet locked and settled, and the hold as it stands under that lock (read with
    /// the key's record, in one statement; again if settling changed it).
    pub(crate) async fn begin_hold_write(
        &self,
        call: &Call,
        wallet_id: &str,
        hold_id: &str,
        now: i64,
    ) -> Result<HoldWrite> {
        const ALSO: &str = concat!(
            ", ",
            hold_columns!(),
            ", member_id, action, project FROM (SELECT 1 AS one) o LEFT JOIN holds ON holds.id = $5"
        );
        match self
            .begin_on_also::<Hold>(call, wallet_id, now, Some((ALSO, hold_id)))
            .await?
        {
            (Begun::Replayed(done), _) => Ok(HoldWrite::Replayed(done)),
            (Begun::Fresh(tx, w), Some((row, false))) => {
                if row.try_get::<Option<String>, _>(3)?.is_none() {
                    return Err(hold_not_found(hold_id));
                }
                let hold = hold_from_row_at(&row, 3)?;
                let owner = (row.try_get(16)?, row.try_get(17)?, row.try_get(18)?);
                Ok(HoldWrite::Fresh(tx, w, hold, owner))
            }
            (Begun::Fresh(mut tx, w), _) => {
                let (hold, owner) = self.hold_with_owner_in(&mut tx, hold_id).await?;
                Ok(HoldWrite::Fresh(tx, w, hold, owner))
            }
        }
    }

    /// A hold and who it is for (member, action, project), in one statement.
    pub(crate) async fn hold_with_owner_in(
        &self,
        tx: &mut Tx,
        hold_id: &str,
    ) -> Result<(Hold, HoldOwner)> {
        let row = sqlx::query(concat!(
            "SELECT ",
            hold_columns!(),
            ", member_id, action, project FROM holds WHERE id = $1"
        ))
        .bind(hold_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| hold_not_found(hold_id))?;
        let owner = (row.try_get(13)?, row.try_get(14)?, row.try_get(15)?);
        Ok((hold_from_row(&row)?, owner))
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

/// A hold that is no longer active cannot be settled again.
pub(crate) fn not_active(hold: &Hold) -> LedgerError {
    LedgerError::HoldNotActive {
        id: hold.id.clone(),
        status: hold.status.as_str().to_string(),
    }
}

/// Another workspace's hold, or a wallet the caller may not see, reads as none.
pub(crate) fn hold_not_found(hold_id: &str) -> LedgerError {
    LedgerError::NotFound(format!("hold `{hold_id}`"))
}

/// How a write on an existing hold starts (see [`Ledger::begin_hold_write`]).
#[allow(clippy::large_enum_variant)] // returned once and taken apart at once: boxing buys nothing
pub(crate) enum HoldWrite {
    /// The key ran before: its recorded answer.
    Replayed(Result<Hold>),
    /// A new call: its transaction, the wallet locked and settled, the hold read with
    /// who it is for.
    Fresh(Tx, WalletRow, Hold, HoldOwner),
}

/// A quote on its way to a hold (see [`Ledger::confirming`]).
struct Confirming<'q> {
    /// The quote's short id (what its row and the hold are written with).
    quote_id: &'q str,
    q: QuoteClaims,
    /// The card it was priced with, and its estimate priced again.
    card: std::sync::Arc<creditkit_pricing::Card>,
    quoted: creditkit_pricing::Estimate,
    max: i64,
    reserve: i64,
    member: Option<String>,
    action: Option<String>,
}

/// Who a hold is for: (member, action, project).
pub(crate) type HoldOwner = (Option<String>, Option<String>, Option<String>);

pub(crate) fn hold_from_row(r: &AnyRow) -> Result<Hold> {
    hold_from_row_at(r, 0)
}

/// A hold from `hold_columns!()` read from column `at` on.
pub(crate) fn hold_from_row_at(r: &AnyRow, at: usize) -> Result<Hold> {
    let status: String = r.try_get(at + 4)?;
    let captured: Option<i64> = r.try_get(at + 5)?;
    let optional = |i: usize| r.try_get::<Option<i64>, _>(at + i);
    Ok(Hold {
        id: r.try_get(at)?,
        quote_id: r.try_get(at + 1)?,
        wallet_id: r.try_get(at + 2)?,
        amount_millicredits: to_u64(r.try_get(at + 3)?),
        status: HoldStatus::parse(&status)
            .ok_or_else(|| LedgerError::Corrupt(format!("hold status `{status}`")))?,
        captured_millicredits: captured.map(to_u64),
        expires_at_ms: r.try_get(at + 6)?,
        created_at_ms: r.try_get(at + 7)?,
        stream: match optional(8)? {
            None => None,
            Some(max) => Some(HoldStream {
                confirmed_max_millicredits: to_u64(max),
                reserved_output_tokens: to_u64(optional(9)?.unwrap_or(0)),
                generated_output_tokens: to_u64(optional(10)?.unwrap_or(0)),
                generated_millicredits: to_u64(optional(11)?.unwrap_or(0)),
            }),
        },
        member_id: r.try_get(at + 12)?,
    })
}
