//! A wallet inside a write: lock, settle (expiry, plan cycles, timed-out holds),
//! grants and entries (the idempotency record that answers retries: `idempotency.rs`).

use creditkit_api::admin::EventType;
use creditkit_api::{HoldStatus, WalletKind};
use creditkit_pricing::{Card, Renewal, MILLI_PER_CREDIT};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{later, Conn};
use crate::time::{add_months, cycle_index, month_key};
use crate::{new_id, to_i64, HashMap, Ledger, LedgerError, Principal, Result, Tx};

/// A wallet row, locked for the duration of a transaction.
#[derive(Clone, Debug)]
pub(crate) struct WalletRow {
    pub(crate) id: String,
    pub(crate) workspace_id: String,
    pub(crate) kind: WalletKind,
    pub(crate) plan_id: Option<String>,
    pub(crate) plan_credits_mc: Option<i64>,
    pub(crate) cycle_anchor_ms: Option<i64>,
    pub(crate) cycle_index: Option<i64>,
    pub(crate) balance_mc: i64,
    pub(crate) held_mc: i64,
    /// The workspace's low-balance thresholds, and the available amount last reported
    /// (at lock time, then at each save): a save that crosses a threshold downwards
    /// emits `balance.low`, `.critical` or `.empty` once.
    pub(crate) low_mc: i64,
    pub(crate) critical_mc: i64,
    pub(crate) reported_available_mc: i64,
    /// The auto top-up rule's threshold while it is armed (`topups.rs`): a save that
    /// takes the available credits from at or above it to below decides a top-up.
    pub(crate) topup_below_mc: Option<i64>,
    /// Charged minus refunded since the row was read: the next save adds it to
    /// `used_mc` in the same statement that writes the balance.
    pub(crate) used_delta_mc: i64,
    /// The columns a save writes, as the database has them (read, or last saved): a
    /// save that would change none of them writes nothing.
    stored: Stored,
}

/// What [`Ledger::save_wallet`] writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Stored {
    balance_mc: i64,
    held_mc: i64,
    plan_id: Option<String>,
    plan_credits_mc: Option<i64>,
    cycle_anchor_ms: Option<i64>,
    cycle_index: Option<i64>,
    topup_below_mc: Option<i64>,
}

impl WalletRow {
    /// The row as read: what it holds is what is stored.
    fn read_back(mut self) -> WalletRow {
        self.stored = self.to_store();
        self
    }

    fn to_store(&self) -> Stored {
        Stored {
            balance_mc: self.balance_mc,
            held_mc: self.held_mc,
            plan_id: self.plan_id.clone(),
            plan_credits_mc: self.plan_credits_mc,
            cycle_anchor_ms: self.cycle_anchor_ms,
            cycle_index: self.cycle_index,
            topup_below_mc: self.topup_below_mc,
        }
    }
}

/// An entry to write.
#[derive(Default)]
pub(crate) struct Entry<'a> {
    pub(crate) kind: &'a str,
    pub(crate) balance_delta_mc: i64,
    pub(crate) held_delta_mc: i64,
    pub(crate) grant_id: Option<&'a str>,
    pub(crate) hold_id: Option<&'a str>,
    pub(crate) member_id: Option<&'a str>,
    pub(crate) action: Option<&'a str>,
    pub(crate) project: Option<&'a str>,
    pub(crate) note: Option<&'a str>,
    pub(crate) earnings_delta_mc: i64,
    pub(crate) platform_share_mc: i64,
    pub(crate) available_at_ms: Option<i64>,
}

impl Ledger {
    // ---------------------------------------------------------------- wallets

    pub(crate) async fn lock_wallet(&self, tx: &mut Tx, wallet_id: &str) -> Result<WalletRow> {
        self.fetch_wallet(tx, wallet_id, true).await
    }

    /// A wallet's row; `lock`: held until commit (`FOR NO KEY UPDATE` on PostgreSQL).
    pub(crate) async fn fetch_wallet(
        &self,
        conn: &mut Conn,
        wallet_id: &str,
        lock: bool,
    ) -> Result<WalletRow> {
        let sql = format!(
            concat!("SELECT ", wallet_columns!(), " ", wallet_from!(), "{}"),
            if lock { self.dialect.for_update() } else { "" }
        );
        let row = sqlx::query(&sql)
            .bind(wallet_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("wallet `{wallet_id}`")))?;
        wallet_from_row(&row)
    }

    /// A wallet's row, unlocked, and whether `settle` would change anything at `now`,
    /// in one statement (the first read of a quote or a balance).
    pub(crate) async fn fetch_wallet_and_due(
        &self,
        conn: &mut Conn,
        wallet_id: &str,
        now: i64,
    ) -> Result<(WalletRow, bool)> {
        let row = sqlx::query(concat!(
            "SELECT ",
            wallet_columns!(),
            ", ",
            due_count!("w.id", "$2"),
            " ",
            wallet_from!()
        ))
        .bind(wallet_id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("wallet `{wallet_id}`")))?;
        let w = wallet_from_row(&row)?;
        let due = cycle_due(&w, now) || row.try_get::<i64, _>(WALLET_COLUMNS)? > 0;
        Ok((w, due))
    }

    /// Whether `settle` would change anything at `now`: a hold timed out, a grant
    /// expired, or a new billing cycle began.
    pub(crate) async fn settle_due(
        &self,
        conn: &mut Conn,
        w: &WalletRow,
        now: i64,
    ) -> Result<bool> {
        if cycle_due(w, now) {
            return Ok(true);
        }
        let (due,): (i64,) = sqlx::query_as(concat!("SELECT ", due_count!("$1", "$2")))
            .bind(&w.id)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
        Ok(due > 0)
    }

    pub(crate) async fn save_wallet(&self, tx: &mut Tx, w: &mut WalletRow) -> Result<()> {
        let now = w.to_store();
        if now == w.stored && w.used_delta_mc == 0 {
            return Ok(()); // nothing to write, and nothing to report
        }
        if w.balance_mc < 0 || w.held_mc < 0 || w.held_mc > w.balance_mc {
            return Err(LedgerError::Corrupt(format!(
                "wallet {} would hold balance {} held {}",
                w.id, w.balance_mc, w.held_mc
            )));
        }
        // Before the new available amount is reported: the crossing is from the last one.
        self.topup_on_crossing(tx, w).await?;
        let now = w.to_store();
        later(tx, sqlx::query(
            "UPDATE wallets SET balance_mc = $1, held_mc = $2, plan_id = $3, plan_credits_mc = $4, cycle_anchor_ms = $5, cycle_index = $6, \
             used_mc = used_mc + $8, topup_below_mc = $9 WHERE id = $7",
        )
        .bind(w.balance_mc)
        .bind(w.held_mc)
        .bind(&w.plan_id)
        .bind(w.plan_credits_mc)
        .bind(w.cycle_anchor_ms)
        .bind(w.cycle_index)
        .bind(&w.id)
        .bind(w.used_delta_mc)
        .bind(w.topup_below_mc)
        )
        .await?;
        w.used_delta_mc = 0;
        w.stored = now;
        self.report_balance_state(tx, w).await
    }

    /// The wallet a call acts on: `wallet_id` if the principal may use it, else the
    /// session's wallet, else the workspace's shared one. Another workspace's wallet,
    /// another member's personal wallet, or any other wallet than the one a session is
    /// bound to, is "not found".
    pub(crate) async fn resolve_wallet(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<String> {
        let not_found = |id: &str| LedgerError::NotFound(format!("wallet `{id}`"));
        if let Some(bound) = &p.wallet_id {
            return match wallet_id {
                Some(id) if id != bound => Err(not_found(id)),
                _ => Ok(bound.clone()),
            };
        }
        let Some(id) = wallet_id else {
            let (id,): (String,) = sqlx::query_as(
                "SELECT id FROM wallets WHERE workspace_id = $1 AND kind = 'workspace' ORDER BY id LIMIT 1",
            )
            .bind(&p.workspace_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("workspace `{}`", p.workspace_id)))?;
            return Ok(id);
        };
        let known = self.lock_owners().get(id).cloned();
        let owner = match known {
            Some(o) => o,
            None => {
                let row: Option<(String, String, Option<String>)> = sqlx::query_as(
                    "SELECT workspace_id, kind, owner_member_id FROM wallets WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                let Some((workspace_id, kind, member_id)) = row else {
                    return Err(not_found(id));
                };
                let o = WalletOwner {
                    workspace_id,
                    personal: kind == WalletKind::Personal.as_str(),
                    member_id,
                };
                let mut owners = self.lock_owners();
                if owners.len() >= WALLET_OWNERS_KEPT {
                    owners.clear();
                }
                owners.insert(id.to_string(), o.clone());
                o
            }
        };
        if owner.workspace_id != p.workspace_id
            || (owner.personal && p.member_id.is_some() && owner.member_id != p.member_id)
        {
            return Err(not_found(id));
        }
        Ok(id.to_string())
    }

    fn lock_owners(&self) -> std::sync::MutexGuard<'_, HashMap<String, WalletOwner>> {
        self.wallet_owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) async fn entry(
        &self,
        tx: &mut Tx,
        wallet_id: &str,
        now: i64,
        e: Entry<'_>,
    ) -> Result<()> {
        self.entries(tx, wallet_id, now, &[e]).await
    }

    /// Inserts `entries` of one wallet in one statement, in their order.
    pub(crate) async fn entries(
        &self,
        tx: &mut Tx,
        wallet_id: &str,
        now: i64,
        entries: &[Entry<'_>],
    ) -> Result<()> {
        const COLUMNS: usize = 15;
        let mut sql = String::from(
            "INSERT INTO entries (wallet_id, kind, balance_delta_mc, held_delta_mc, grant_id, hold_id, member_id, action, project, note, month, created_at_ms, \
             earnings_delta_mc, platform_share_mc, available_at_ms) VALUES ",
        );
        for row in 0..entries.len() {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for column in 0..COLUMNS {
                if column > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", row * COLUMNS + column + 1));
            }
            sql.push(')');
        }
        let month = month_key(now);
        let mut query = sqlx::query(&sql);
        for e in entries {
            query = query
                .bind(wallet_id)
                .bind(e.kind)
                .bind(e.balance_delta_mc)
                .bind(e.held_delta_mc)
                .bind(e.grant_id)
                .bind(e.hold_id)
                .bind(e.member_id)
                .bind(e.action)
                .bind(e.project)
                .bind(e.note)
                .bind(month.clone())
                .bind(now)
                .bind(e.earnings_delta_mc)
                .bind(e.platform_share_mc)
                .bind(e.available_at_ms);
        }
        later(tx, query).await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // one grant row's columns; a struct would only rename them
    pub(crate) async fn insert_grant(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        source: &str,
        reference: Option<&str>,
        amount_mc: i64,
        expires_at_ms: Option<i64>,
        now: i64,
    ) -> Result<String> {
        let id = new_id("grt");
        // Per-wallet insertion order, so "oldest first" is exact even within one millisecond.
        let (seq,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) FROM grants WHERE wallet_id = $1",
        )
        .bind(&w.id)
        .fetch_one(&mut **tx)
        .await?;
        later(tx, sqlx::query("INSERT INTO grants (id, wallet_id, seq, source, ref, amount_mc, remaining_mc, held_mc, expires_at_ms, created_at_ms) VALUES ($1, $2, $8, $3, $4, $5, $5, 0, $6, $7)")
            .bind(&id)
            .bind(&w.id)
            .bind(source)
            .bind(reference)
            .bind(amount_mc)
            .bind(expires_at_ms)
            .bind(now)
            .bind(seq)
            )
            .await?;
        let note = format!(
            "{source}{}",
            reference.map(|r| format!(" {r}")).unwrap_or_default()
        );
        self.entry(
            tx,
            &w.id.clone(),
            now,
            Entry {
                kind: "grant",
                balance_delta_mc: amount_mc,
                grant_id: Some(&id),
                note: Some(&note),
                ..Entry::default()
            },
        )
        .await?;
        w.balance_mc = w
            .balance_mc
            .checked_add(amount_mc)
            .ok_or_else(|| LedgerError::invalid("balance would overflow"))?;
        let data = serde_json::json!({
            "wallet_id": w.id, "grant_id": id, "source": source, "ref": reference,
            "amount_millicredits": amount_mc, "expires_at_ms": expires_at_ms,
        });
        self.emit(tx, &w.workspace_id, EventType::GrantAdded, data, now)
            .await?;
        Ok(id)
    }

    /// Brings a wallet up to `now`: times out due holds, starts a new plan cycle (the
    /// old allowance expires, no rollover), and expires grants past their date. Runs
    /// inside every wallet transaction, so a read never shows stale credits.
    pub(crate) async fn settle(&self, tx: &mut Tx, w: &mut WalletRow, now: i64) -> Result<bool> {
        // Most writes find nothing due: one statement says so.
        if !self.settle_due(tx, w, now).await? {
            return Ok(false);
        }
        self.settle_what_is_due(tx, w, now).await
    }

    /// `settle`, once something was found due.
    pub(crate) async fn settle_what_is_due(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        now: i64,
    ) -> Result<bool> {
        let mut changed = false;
        let due: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM holds WHERE wallet_id = $1 AND status = 'active' AND expires_at_ms <= $2 ORDER BY id")
                .bind(&w.id)
                .bind(now)
                .fetch_all(&mut **tx)
                .await?;
        for (hold_id,) in due {
            // A streamed turn abandoned midway is charged what it generated as of its
            // last extension; any other hold that times out is released in full.
            let streamed: (Option<i64>, i64, String, String) = sqlx::query_as(
                "SELECT h.generated_mc, h.amount_mc, h.quote_id, q.request_json FROM holds h JOIN quotes q ON q.id = h.quote_id WHERE h.id = $1",
            )
            .bind(&hold_id)
            .fetch_one(&mut **tx)
            .await?;
            match streamed {
                (Some(generated), held, quote_id, request) if generated > 0 => {
                    self.charge_hold(
                        tx,
                        w,
                        &hold_id,
                        None,
                        held,
                        generated.min(held),
                        &quote_id,
                        &request,
                        None,
                        now,
                    )
                    .await?;
                }
                _ => {
                    self.release_hold(tx, w, &hold_id, HoldStatus::Expired, now)
                        .await?;
                }
            }
            changed = true;
        }
        if let (Some(plan_id), Some(anchor), Some(idx), Some(credits)) = (
            w.plan_id.clone(),
            w.cycle_anchor_ms,
            w.cycle_index,
            w.plan_credits_mc,
        ) {
            let current = cycle_index(anchor, now);
            if current > idx {
                // Expire first so the new allowance does not mix with the old one.
                self.expire_grants(tx, w, now).await?;
                let expires = add_months(anchor, current + 1);
                self.insert_grant(tx, w, "plan", Some(&plan_id), credits, Some(expires), now)
                    .await?;
                w.cycle_index = Some(current);
                changed = true;
            }
        }
        changed |= self.expire_grants(tx, w, now).await?;
        if changed {
            self.save_wallet(tx, w).await?;
        }
        Ok(changed)
    }

    /// Expires the unheld part of every grant past its date. A held part expires when
    /// its hold is released, so expiry never takes credits a confirmed action reserved.
    pub(crate) async fn expire_grants(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        now: i64,
    ) -> Result<bool> {
        let due: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT id, remaining_mc, held_mc FROM grants WHERE wallet_id = $1 AND expires_at_ms IS NOT NULL AND expires_at_ms <= $2 AND remaining_mc > held_mc ORDER BY id",
        )
        .bind(&w.id)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
        let changed = !due.is_empty();
        for (grant_id, remaining, held) in due {
            let amount = remaining - held;
            later(
                tx,
                sqlx::query("UPDATE grants SET remaining_mc = remaining_mc - $1 WHERE id = $2")
                    .bind(amount)
                    .bind(&grant_id),
            )
            .await?;
            self.entry(
                tx,
                &w.id.clone(),
                now,
                Entry {
                    kind: "expiry",
                    balance_delta_mc: -amount,
                    grant_id: Some(&grant_id),
                    ..Entry::default()
                },
            )
            .await?;
            w.balance_mc -= amount;
            let data = serde_json::json!({
                "wallet_id": w.id, "grant_id": grant_id, "expired_millicredits": amount,
            });
            self.emit(tx, &w.workspace_id, EventType::GrantExpired, data, now)
                .await?;
        }
        Ok(changed)
    }

    pub(crate) async fn apply_plan(
        &self,
        tx: &mut Tx,
        card: &Card,
        w: &mut WalletRow,
        plan_id: &str,
        now: i64,
    ) -> Result<()> {
        let plan = card.plan(plan_id).ok_or_else(|| {
            let known: Vec<_> = card.plans.iter().map(|p| p.id.as_str()).collect();
            LedgerError::Invalid {
                path: Some("plan_id".into()),
                message: format!(
                    "unknown plan `{plan_id}` (card `{}` has: {})",
                    card.id,
                    known.join(", ")
                ),
            }
        })?;
        let credits = to_i64(plan.credits.saturating_mul(MILLI_PER_CREDIT))?;
        match plan.renewal {
            Renewal::Monthly => {
                // The old allowance ends now: no rollover between plans either.
                later(tx, sqlx::query("UPDATE grants SET expires_at_ms = $1 WHERE wallet_id = $2 AND source = 'plan' AND (expires_at_ms IS NULL OR expires_at_ms > $1)")
                    .bind(now)
                    .bind(&w.id)
                    )
                    .await?;
                self.expire_grants(tx, w, now).await?;
                w.plan_id = Some(plan.id.clone());
                w.plan_credits_mc = Some(credits);
                w.cycle_anchor_ms = Some(now);
                w.cycle_index = Some(0);
                self.insert_grant(
                    tx,
                    w,
                    "plan",
                    Some(&plan.id),
                    credits,
                    Some(add_months(now, 1)),
                    now,
                )
                .await?;
            }
            Renewal::Once => {
                let given: Option<(String,)> = sqlx::query_as(
                    "SELECT id FROM grants WHERE wallet_id = $1 AND source = 'free' AND ref = $2",
                )
                .bind(&w.id)
                .bind(&plan.id)
                .fetch_optional(&mut **tx)
                .await?;
                if given.is_some() {
                    return Err(LedgerError::invalid(format!(
                        "the one-time `{}` grant was already given to this wallet",
                        plan.id
                    )));
                }
                self.insert_grant(tx, w, "free", Some(&plan.id), credits, None, now)
                    .await?;
            }
        }
        Ok(())
    }
}

/// What `wallet_from_row` reads, in its order (12 columns).
macro_rules! wallet_columns {
    () => {
        "w.id, w.workspace_id, w.kind, w.owner_member_id, w.plan_id, w.plan_credits_mc, \
         w.cycle_anchor_ms, w.cycle_index, w.balance_mc, w.held_mc, \
         s.low_threshold_mc, s.critical_threshold_mc, w.topup_below_mc"
    };
}
pub(crate) use wallet_columns;

/// How many columns [`wallet_columns!`] reads: a statement's own columns after it start here.
pub(crate) const WALLET_COLUMNS: usize = 13;

/// The wallet `$1` with its workspace's thresholds.
macro_rules! wallet_from {
    () => {
        "FROM wallets w JOIN workspaces s ON s.id = w.workspace_id WHERE w.id = $1"
    };
}
pub(crate) use wallet_from;

/// How many holds have timed out and grants expired in a wallet at a time (SQL
/// parameters for both), as one expression.
macro_rules! due_count {
    ($wallet:literal, $now:literal) => {
        concat!(
            "(SELECT COUNT(*) FROM holds WHERE wallet_id = ",
            $wallet,
            " AND status = 'active' AND expires_at_ms <= ",
            $now,
            ") \
             + (SELECT COUNT(*) FROM grants WHERE wallet_id = ",
            $wallet,
            " AND expires_at_ms IS NOT NULL AND expires_at_ms <= ",
            $now,
            " AND remaining_mc > held_mc)"
        )
    };
}
pub(crate) use due_count;

/// Whether a wallet's plan began a new cycle since it was last settled.
pub(crate) fn cycle_due(w: &WalletRow, now: i64) -> bool {
    match (w.cycle_anchor_ms, w.cycle_index) {
        (Some(anchor), Some(idx)) => {
            w.plan_id.is_some() && w.plan_credits_mc.is_some() && cycle_index(anchor, now) > idx
        }
        _ => false,
    }
}

pub(crate) fn wallet_from_row(r: &AnyRow) -> Result<WalletRow> {
    let kind: String = r.try_get(2)?;
    Ok(WalletRow {
        id: r.try_get(0)?,
        workspace_id: r.try_get(1)?,
        kind: WalletKind::parse(&kind)
            .ok_or_else(|| LedgerError::Corrupt(format!("wallet kind `{kind}`")))?,
        plan_id: r.try_get(4)?,
        plan_credits_mc: r.try_get(5)?,
        cycle_anchor_ms: r.try_get(6)?,
        cycle_index: r.try_get(7)?,
        balance_mc: r.try_get(8)?,
        held_mc: r.try_get(9)?,
        low_mc: r.try_get(10)?,
        critical_mc: r.try_get(11)?,
        topup_below_mc: r.try_get(12)?,
        reported_available_mc: r.try_get::<i64, _>(8)? - r.try_get::<i64, _>(9)?,
        used_delta_mc: 0,
        stored: Stored::default(),
    }
    .read_back())
}

/// Whose a wallet is: set when it is created and never changed, so a process keeps it
/// (up to [`WALLET_OWNERS_KEPT`] wallets) instead of reading it on every call.
#[derive(Clone, Debug)]
pub(crate) struct WalletOwner {
    workspace_id: String,
    personal: bool,
    member_id: Option<String>,
}

const WALLET_OWNERS_KEPT: usize = 100_000;
