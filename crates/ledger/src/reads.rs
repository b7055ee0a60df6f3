//! Reads: balance, history, usage; the expiry sweeper and the audit.

use creditkit_api::{
    Balance, BalanceState, Op, Page, Transaction, TransactionKind, Usage, UsageFilter, UsageGroup,
    UsageRow,
};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Conn;
use crate::{
    to_u64, Call, Dialect, Ledger, LedgerError, Principal, Result, WalletRow, MAX_PAGE_LIMIT,
};

impl Ledger {
    // ---------------------------------------------------------------- reads

    /// Balance, held and available credits, low-balance state and the last activity.
    /// Settles the wallet first, so expired credits and timed-out holds never show.
    pub async fn balance(&self, p: &Principal, wallet_id: Option<&str>) -> Result<Balance> {
        let call = self.authorise(p, Op::Read)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let now = self.now_ms();
        // Most reads change nothing: answered by a reader unless something is due.
        {
            let mut read = self.pool.begin().await?;
            let (w, due) = self
                .fetch_wallet_and_due(&mut read, &wallet_id, now)
                .await?;
            if !due {
                let b = self.balance_in(&mut read, &w).await?;
                read.commit().await?;
                return Ok(b);
            }
        }
        let (mut tx, mut w, _) = self.begin_wallet(&call, &wallet_id, now).await?;
        self.save_wallet(&mut tx, &mut w).await?; // what it used, before it is read
        let b = self.balance_in(&mut tx, &w).await?;
        self.finish(call, tx, &mut w, Ok(b), &[]).await
    }

    pub(crate) async fn balance_in(&self, conn: &mut Conn, w: &WalletRow) -> Result<Balance> {
        // What the wallet used is kept on its row (`audit` checks it against the entries).
        let (low, critical, used): (i64, i64, i64) = sqlx::query_as(
            "SELECT s.low_threshold_mc, s.critical_threshold_mc, w.used_mc \
             FROM wallets w JOIN workspaces s ON s.id = w.workspace_id WHERE w.id = $1",
        )
        .bind(&w.id)
        .fetch_one(&mut *conn)
        .await?;
        let last = sqlx::query(&format!("{ENTRY_SELECT} WHERE wallet_id = $1 AND balance_delta_mc <> 0 ORDER BY seq DESC LIMIT 1"))
            .bind(&w.id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| transaction_from_row(&r))
            .transpose()?;
        let available = to_u64(w.balance_mc - w.held_mc);
        let (debt,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(amount_mc - repaid_mc), 0) AS BIGINT) FROM debts WHERE wallet_id = $1",
        )
        .bind(&w.id)
        .fetch_one(&mut *conn)
        .await?;
        Ok(Balance {
            wallet_id: w.id.clone(),
            kind: w.kind,
            balance_millicredits: to_u64(w.balance_mc),
            held_millicredits: to_u64(w.held_mc),
            available_millicredits: available,
            state: BalanceState::of(available, to_u64(low), to_u64(critical)),
            low_threshold_millicredits: to_u64(low),
            critical_threshold_millicredits: to_u64(critical),
            lifetime_used_millicredits: to_u64(used),
            last_transaction: last,
            plan_id: w.plan_id.clone(),
            debt_millicredits: to_u64(debt),
        })
    }

    /// Ledger entries, newest first, optionally of one kind; pass `next_cursor` back.
    pub async fn transactions(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        kind: Option<TransactionKind>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<Transaction>> {
        let all = UsageFilter::default();
        self.transactions_filtered(p, wallet_id, kind, &all, cursor, limit)
            .await
    }

    /// [`Ledger::transactions`] of one member, action or month. Without `read_team` a
    /// caller sees its own member's entries and those of no member (credits added,
    /// expiries), never another member's.
    pub async fn transactions_filtered(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        kind: Option<TransactionKind>,
        filter: &UsageFilter,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<Transaction>> {
        p.require(Op::Read)?;
        let (member, own_only) = self.member_scope(p, filter).await?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let limit = limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(LedgerError::Invalid {
                path: Some("limit".into()),
                message: format!("limit must be 1 to {MAX_PAGE_LIMIT}"),
            });
        }
        let before = match cursor {
            None => i64::MAX,
            Some(c) => c
                .strip_prefix('s')
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| LedgerError::Invalid {
                    path: Some("cursor".into()),
                    message: format!("`{c}` is not a cursor from this API"),
                })?,
        };
        let sql = format!(
            "{ENTRY_SELECT} WHERE wallet_id = $1 AND seq < $2 AND ($3 = '' OR kind = $3) \
             AND ($5 = '' OR member_id = $5 OR ($8 = 1 AND member_id IS NULL)) \
             AND ($6 = '' OR action = $6) AND ($7 = '' OR month = $7) ORDER BY seq DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(&wallet_id)
            .bind(before)
            .bind(kind.map_or("", TransactionKind::as_str))
            .bind(i64::from(limit) + 1)
            .bind(member.unwrap_or(""))
            .bind(filter.action.as_deref().unwrap_or(""))
            .bind(filter.month.as_deref().unwrap_or(""))
            .bind(i64::from(own_only))
            .fetch_all(&self.pool)
            .await?;
        let mut items = rows
            .iter()
            .map(transaction_from_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|t| format!("s{}", t.seq))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Credits used, grouped by action, project, member or month (`YYYY-MM`).
    pub async fn usage(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        group_by: UsageGroup,
    ) -> Result<Usage> {
        self.usage_filtered(p, wallet_id, group_by, &UsageFilter::default())
            .await
    }

    /// [`Ledger::usage`] of one member, action or month (a month broken down by action
    /// or member). Without `read_team`, only the caller's own member's charges.
    pub async fn usage_filtered(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        group_by: UsageGroup,
        filter: &UsageFilter,
    ) -> Result<Usage> {
        p.require(Op::Read)?;
        let (member, _) = self.member_scope(p, filter).await?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let column = match group_by {
            UsageGroup::Action => "action",
            UsageGroup::Project => "project",
            UsageGroup::Member => "member_id",
            UsageGroup::Month => "month",
        };
        let sql = format!(
            "SELECT COALESCE({column}, ''), CAST(COALESCE(SUM(-balance_delta_mc), 0) AS BIGINT), COUNT(DISTINCT hold_id) \
             FROM entries WHERE wallet_id = $1 AND kind IN ('charge', 'refund') \
             AND ($2 = '' OR member_id = $2) AND ($3 = '' OR action = $3) AND ($4 = '' OR month = $4) \
             GROUP BY COALESCE({column}, '') ORDER BY 2 DESC, 1"
        );
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(&sql)
            .bind(&wallet_id)
            .bind(member.unwrap_or(""))
            .bind(filter.action.as_deref().unwrap_or(""))
            .bind(filter.month.as_deref().unwrap_or(""))
            .fetch_all(&self.pool)
            .await?;
        let rows: Vec<UsageRow> = rows
            .into_iter()
            .map(|(key, used, n)| UsageRow {
                key,
                used_millicredits: to_u64(used),
                charges: to_u64(n),
            })
            .collect();
        let total = rows.iter().map(|r| r.used_millicredits).sum();
        Ok(Usage {
            wallet_id,
            group_by,
            rows,
            total_millicredits: total,
        })
    }

    /// Settles every wallet with a hold or grant past due (a background task calls
    /// this); returns how many wallets changed.
    pub async fn sweep(&self) -> Result<usize> {
        let now = self.now_ms();
        let due: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM wallets w WHERE EXISTS (SELECT 1 FROM holds h WHERE h.wallet_id = w.id AND h.status = 'active' AND h.expires_at_ms <= $1) \
             OR EXISTS (SELECT 1 FROM grants g WHERE g.wallet_id = w.id AND g.expires_at_ms IS NOT NULL AND g.expires_at_ms <= $1 AND g.remaining_mc > g.held_mc) \
             LIMIT 1000",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut changed = 0;
        for (wallet_id,) in due {
            let call = Call::upkeep();
            let (tx, mut w, settled) = self.begin_wallet(&call, &wallet_id, now).await?;
            changed += usize::from(settled);
            self.finish(call, tx, &mut w, Ok(()), &[]).await?;
        }
        self.prune_events(now).await?;
        self.prune_records(now).await?;
        // Sessions a day past their end are no use to anyone (a revoked or expired one
        // is refused whether its row is there or not).
        self.write_one(
            Call::upkeep(),
            sqlx::query("DELETE FROM sessions WHERE expires_at_ms < $1")
                .bind(now - 24 * 3600 * 1000),
        )
        .await?;
        Ok(changed)
    }

    /// Writes a consistent snapshot of the database to `path` while writes go on
    /// (SQLite's `VACUUM INTO` on a reader: WAL keeps the writer going). The file must
    /// not exist yet. On PostgreSQL, use `pg_dump` (or the server's own backups).
    pub async fn backup(&self, path: &std::path::Path) -> Result<u64> {
        if self.dialect != Dialect::Sqlite {
            return Err(LedgerError::Config(
                "creditkit backup is for the embedded SQLite database; back PostgreSQL up with pg_dump".into(),
            ));
        }
        if path.exists() {
            return Err(LedgerError::Config(format!(
                "{} exists; a backup never overwrites a file",
                path.display()
            )));
        }
        let target = path
            .to_str()
            .ok_or_else(|| LedgerError::Config("the backup path must be UTF-8".into()))?;
        // A reader, made able to write the copy, then closed rather than returned.
        let mut conn = Conn::Lite(Box::new(self.pool.detached()?));
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&mut conn)
            .await?;
        drop(conn);
        Ok(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0))
    }

    /// Rows per table that grows with traffic (the bench reports storage per charge).
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::new();
        for table in ["entries", "holds", "quotes", "idempotency", "outbox"] {
            let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.pool)
                .await?;
            out.push((table, n));
        }
        Ok(out)
    }
}

impl Ledger {
    /// What one conversation's turns have cost so far in this workspace: counted from
    /// their holds, whichever session or page confirmed them. Without `read_team`, the
    /// caller's own turns only.
    pub async fn conversation(
        &self,
        p: &Principal,
        conversation_id: &str,
    ) -> Result<creditkit_api::ConversationUsage> {
        p.require(Op::Read)?;
        let own = (!p.may(Op::ReadTeam)).then(|| p.member_id.clone().unwrap_or_default());
        let (turns, charged, held): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), \
             CAST(COALESCE(SUM(CASE WHEN h.status = 'captured' THEN h.captured_mc ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN h.status = 'active' THEN h.amount_mc ELSE 0 END), 0) AS BIGINT) \
             FROM holds h JOIN wallets w ON w.id = h.wallet_id \
             WHERE h.conversation = $1 AND w.workspace_id = $2 AND ($3 = '' OR h.member_id = $3)",
        )
        .bind(conversation_id)
        .bind(&p.workspace_id)
        .bind(own.as_deref().map_or("", |m| if m.is_empty() { "\u{0}" } else { m }))
        .fetch_one(&self.pool)
        .await?;
        Ok(creditkit_api::ConversationUsage {
            conversation_id: conversation_id.to_string(),
            turns: to_u64(turns),
            charged_millicredits: to_u64(charged),
            held_millicredits: to_u64(held),
        })
    }

    /// Whose entries a read may show: the member `filter` names, or, for a caller
    /// without `read_team`, its own member only (`true`: entries of no member too).
    /// Naming another member without `read_team` is refused; naming someone who is not
    /// a member of this workspace (now or before) is not found.
    async fn member_scope<'a>(
        &self,
        p: &'a Principal,
        filter: &'a UsageFilter,
    ) -> Result<(Option<&'a str>, bool)> {
        if let Some(id) = filter.member_id.as_deref() {
            let known: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM members WHERE id = $1 AND workspace_id = $2")
                    .bind(id)
                    .bind(&p.workspace_id)
                    .fetch_optional(&self.pool)
                    .await?;
            if known.is_none() {
                return Err(LedgerError::NotFound(format!("member `{id}`")));
            }
        }
        if p.may(Op::ReadTeam) {
            return Ok((filter.member_id.as_deref(), false));
        }
        let own = p.member_id.as_deref();
        match filter.member_id.as_deref() {
            Some(other) if Some(other) != own => Err(LedgerError::Forbidden(
                "only owners and admins see another member's usage".into(),
            )),
            // A session always names its member; a caller with neither sees no one's.
            _ => Ok((Some(own.unwrap_or("\u{0}")), true)),
        }
    }
}

const ENTRY_SELECT: &str =
"SELECT seq, kind, balance_delta_mc, held_delta_mc, grant_id, hold_id, member_id, action, project, note, created_at_ms, earnings_delta_mc FROM entries";

pub(crate) fn transaction_from_row(r: &AnyRow) -> Result<Transaction> {
    let kind: String = r.try_get(1)?;
    Ok(Transaction {
        seq: r.try_get(0)?,
        kind: TransactionKind::parse(&kind)
            .ok_or_else(|| LedgerError::Corrupt(format!("entry kind `{kind}`")))?,
        delta_millicredits: r.try_get(2)?,
        held_delta_millicredits: r.try_get(3)?,
        grant_id: r.try_get(4)?,
        hold_id: r.try_get(5)?,
        member_id: r.try_get(6)?,
        action: r.try_get(7)?,
        project: r.try_get(8)?,
        note: r.try_get(9)?,
        created_at_ms: r.try_get(10)?,
        earnings_delta_millicredits: r.try_get(11)?,
    })
}
