//! Spending caps per member, per project and per wallet, each with a period (day, week,
//! month, or the plan cycle). A hold (or a streaming hold's extension) that would pass
//! any cap is refused, naming the cap, what is left and when it resets, and nothing is
//! reserved. Caps count what is held as well as what was charged, and are checked under
//! the wallet's lock, so concurrent holds cannot pass a cap together.

use creditkit_api::{Cap, CapPeriod, CapScope, NewCap, Op};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Conn;
use crate::time::{cycle_bounds, day_bounds, month_bounds, week_bounds};
use crate::{new_id, to_i64, to_u64, Ledger, LedgerError, Principal, Result, WalletRow};

fn scope_text(s: CapScope) -> &'static str {
    match s {
        CapScope::Wallet => "wallet",
        CapScope::Member => "member",
        CapScope::Project => "project",
    }
}

fn period_text(p: CapPeriod) -> &'static str {
    match p {
        CapPeriod::Day => "day",
        CapPeriod::Week => "week",
        CapPeriod::Month => "month",
        CapPeriod::Cycle => "cycle",
    }
}

fn parse_scope(s: &str) -> Result<CapScope> {
    Ok(match s {
        "wallet" => CapScope::Wallet,
        "member" => CapScope::Member,
        "project" => CapScope::Project,
        _ => return Err(LedgerError::Corrupt(format!("cap scope `{s}`"))),
    })
}

fn parse_period(s: &str) -> Result<CapPeriod> {
    Ok(match s {
        "day" => CapPeriod::Day,
        "week" => CapPeriod::Week,
        "month" => CapPeriod::Month,
        "cycle" => CapPeriod::Cycle,
        _ => return Err(LedgerError::Corrupt(format!("cap period `{s}`"))),
    })
}

/// A cap as stored: (id, wallet, scope, subject, limit, period).
struct CapRow {
    id: String,
    wallet_id: String,
    scope: CapScope,
    subject: Option<String>,
    limit_mc: i64,
    period: CapPeriod,
}

const CAP_SELECT: &str = "SELECT id, wallet_id, scope, subject, limit_mc, period FROM caps";

/// Caps one wallet may have: enough for every member and project a team names, and a
/// bound on what each hold checks (a cap is counted under the wallet's lock).
pub const MAX_CAPS_PER_WALLET: i64 = 50;

fn cap_from_row(r: &AnyRow) -> Result<CapRow> {
    Ok(CapRow {
        id: r.try_get(0)?,
        wallet_id: r.try_get(1)?,
        scope: parse_scope(&r.try_get::<String, _>(2)?)?,
        subject: r.try_get(3)?,
        limit_mc: r.try_get(4)?,
        period: parse_period(&r.try_get::<String, _>(5)?)?,
    })
}

/// How much say a caller has over caps: the operator over the backend (its API key) over
/// an owner over an admin. A cap records its setter's; only as much removes it, so an
/// admin cannot lift a limit the owner or the operator put on them.
fn authority(p: &Principal) -> i64 {
    use creditkit_api::Actor;
    match p.actor {
        Actor::Operator => 3,
        Actor::ApiKey => 2,
        Actor::Owner => 1,
        Actor::Admin | Actor::Member | Actor::Viewer => 0,
    }
}

impl Ledger {
    /// Sets a cap on a wallet's spending (by everyone, one member, or one project).
    pub async fn create_cap(&self, p: &Principal, req: &NewCap) -> Result<Cap> {
        let call = self.authorise(p, Op::SetCaps)?;
        let wallet_id = self.resolve_wallet(p, req.wallet_id.as_deref()).await?;
        if req.limit_millicredits == 0 {
            return Err(LedgerError::invalid_at(
                "limit_millicredits",
                "a cap must allow something; remove it to allow nothing else",
            ));
        }
        let limit = to_i64(req.limit_millicredits)?;
        let subject = match (req.scope, req.subject.as_deref()) {
            (CapScope::Wallet, None) => None,
            (CapScope::Wallet, Some(_)) => {
                return Err(LedgerError::invalid_at(
                    "subject",
                    "a wallet cap has no subject",
                ))
            }
            (CapScope::Member, Some(id)) => {
                self.member(p, id).await?;
                Some(id.to_string())
            }
            (CapScope::Project, Some(name)) if !name.is_empty() && name.len() <= 200 => {
                Some(name.to_string())
            }
            (CapScope::Member | CapScope::Project, _) => {
                return Err(LedgerError::invalid_at(
                    "subject",
                    "name the member (its id) or the project (1 to 200 characters)",
                ))
            }
        };
        let id = new_id("cap");
        // Counted and written under the wallet's lock: two at once cannot pass the bound.
        let (mut tx, mut w, _) = self.begin_wallet(&call, &wallet_id, self.now_ms()).await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM caps WHERE wallet_id = $1")
            .bind(&wallet_id)
            .fetch_one(&mut *tx)
            .await?;
        if count >= MAX_CAPS_PER_WALLET {
            return Err(LedgerError::invalid_at(
                "wallet_id",
                format!("a wallet has at most {MAX_CAPS_PER_WALLET} caps; remove one first"),
            ));
        }
        sqlx::query("INSERT INTO caps (id, workspace_id, wallet_id, scope, subject, limit_mc, period, created_at_ms, set_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&id)
            .bind(&p.workspace_id)
            .bind(&wallet_id)
            .bind(scope_text(req.scope))
            .bind(&subject)
            .bind(limit)
            .bind(period_text(req.period))
            .bind(self.now_ms())
            .bind(authority(p))
            .execute(&mut *tx)
            .await?;
        self.finish(call, tx, &mut w, Ok(()), &[]).await?;
        self.caps(p, Some(&wallet_id))
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| LedgerError::Corrupt(format!("cap {id} not stored")))
    }

    /// Removes a cap, if the caller has as much say as whoever set it.
    pub async fn delete_cap(&self, p: &Principal, cap_id: &str) -> Result<()> {
        let call = self.authorise(p, Op::SetCaps)?;
        let mut tx = self.begin(&call).await?;
        let set_by: Option<(i64,)> =
            sqlx::query_as("SELECT set_by FROM caps WHERE id = $1 AND workspace_id = $2")
                .bind(cap_id)
                .bind(&p.workspace_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((set_by,)) = set_by else {
            return Err(LedgerError::NotFound(format!("cap `{cap_id}`")));
        };
        if set_by > authority(p) {
            let who = match set_by {
                3 => "the operator",
                2 => "the application's backend",
                _ => "an owner",
            };
            return Err(LedgerError::Forbidden(format!(
                "cap `{cap_id}` was set by {who}; only they (or above) remove it"
            )));
        }
        sqlx::query("DELETE FROM caps WHERE id = $1")
            .bind(cap_id)
            .execute(&mut *tx)
            .await?;
        self.commit(call, tx, &[]).await?;
        Ok(())
    }

    /// A wallet's caps, each with what was spent and held in its current period: read
    /// from a snapshot of the readers, never through the writer (a read must not slow
    /// every tenant's writes).
    pub async fn caps(&self, p: &Principal, wallet_id: Option<&str>) -> Result<Vec<Cap>> {
        p.require(Op::Read)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let now = self.now_ms();
        let mut conn = self.pool.begin().await?;
        let w = self.fetch_wallet(&mut conn, &wallet_id, false).await?;
        let rows = sqlx::query(&format!(
            "{CAP_SELECT} WHERE wallet_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(&wallet_id)
        .fetch_all(&mut conn)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let cap = cap_from_row(r)?;
            out.push(self.cap_now(&mut conn, &w, &cap, now).await?);
        }
        Ok(out)
    }

    /// Refuses `add_mc` more for a member's or project's action on this wallet when it
    /// would pass a cap. Runs under the wallet's lock, in the write's transaction.
    pub(crate) async fn check_caps(
        &self,
        tx: &mut Conn,
        w: &WalletRow,
        member_id: Option<&str>,
        project: Option<&str>,
        add_mc: i64,
        now: i64,
    ) -> Result<()> {
        // Only the caps that apply to this action are read and counted.
        let rows = sqlx::query(&format!(
            "{CAP_SELECT} WHERE wallet_id = $1 AND (scope = 'wallet' \
             OR (scope = 'member' AND subject = $2) OR (scope = 'project' AND subject = $3)) \
             ORDER BY created_at_ms, id"
        ))
        .bind(&w.id)
        .bind(member_id.unwrap_or(""))
        .bind(project.unwrap_or(""))
        .fetch_all(&mut *tx)
        .await?;
        for r in &rows {
            let cap = cap_from_row(r)?;
            let now_cap = self.cap_now(tx, w, &cap, now).await?;
            if to_u64(add_mc) > now_cap.left_millicredits {
                return Err(LedgerError::CapExceeded(Box::new(now_cap)));
            }
        }
        Ok(())
    }

    /// A cap with its current period and what counts against it.
    async fn cap_now(&self, tx: &mut Conn, w: &WalletRow, cap: &CapRow, now: i64) -> Result<Cap> {
        let (start, end) = match cap.period {
            CapPeriod::Day => day_bounds(now),
            CapPeriod::Week => week_bounds(now),
            CapPeriod::Month => month_bounds(now),
            CapPeriod::Cycle => match w.cycle_anchor_ms {
                Some(anchor) => cycle_bounds(anchor, now),
                None => month_bounds(now),
            },
        };
        let (member, project) = match cap.scope {
            CapScope::Wallet => ("", ""),
            CapScope::Member => (cap.subject.as_deref().unwrap_or(""), ""),
            CapScope::Project => ("", cap.subject.as_deref().unwrap_or("")),
        };
        let (spent,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(-balance_delta_mc), 0) AS BIGINT) FROM entries \
             WHERE wallet_id = $1 AND kind IN ('charge', 'refund') AND created_at_ms >= $2 \
             AND ($3 = '' OR member_id = $3) AND ($4 = '' OR project = $4)",
        )
        .bind(&cap.wallet_id)
        .bind(start)
        .bind(member)
        .bind(project)
        .fetch_one(&mut *tx)
        .await?;
        let (reserved,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(amount_mc), 0) AS BIGINT) FROM holds \
             WHERE wallet_id = $1 AND status = 'active' AND ($2 = '' OR member_id = $2) AND ($3 = '' OR project = $3)",
        )
        .bind(&cap.wallet_id)
        .bind(member)
        .bind(project)
        .fetch_one(&mut *tx)
        .await?;
        let (spent, reserved) = (spent.max(0), reserved.max(0));
        Ok(Cap {
            id: cap.id.clone(),
            wallet_id: cap.wallet_id.clone(),
            scope: cap.scope,
            subject: cap.subject.clone(),
            limit_millicredits: to_u64(cap.limit_mc),
            period: cap.period,
            period_start_ms: start,
            resets_at_ms: end,
            spent_millicredits: to_u64(spent),
            reserved_millicredits: to_u64(reserved),
            left_millicredits: to_u64((cap.limit_mc - spent - reserved).max(0)),
        })
    }
}
