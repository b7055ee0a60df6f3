//! Creators' earnings from publisher add-ons (seed 004): payees and payouts.

use creditkit_api::admin::EventType;
use creditkit_api::{Op, WalletKind};

use crate::db::Conn;
use crate::{error, new_id, to_i64, to_u64, Begun, Entry, Ledger, LedgerError, Principal, Result};

impl Ledger {
    /// Names the organization wallet that receives an agent's publisher add-ons,
    /// wherever the agent is used: the operator's call (it knows which creator made the
    /// agent), on the creator's workspace (`p`), whose wallet it must be. Naming another
    /// reassigns the agent; nothing earned before moves.
    pub async fn set_payee(&self, p: &Principal, agent_id: &str, wallet_id: &str) -> Result<()> {
        let call = self.authorise(p, Op::AssignPayee)?;
        if agent_id.is_empty() || agent_id.len() > 64 {
            return Err(LedgerError::Invalid {
                path: Some("agent_id".into()),
                message: "agent id must be 1 to 64 characters".into(),
            });
        }
        let wallet_id = self.resolve_wallet(p, Some(wallet_id)).await?;
        let (kind,): (String,) = sqlx::query_as("SELECT kind FROM wallets WHERE id = $1")
            .bind(&wallet_id)
            .fetch_one(&self.pool)
            .await?;
        if kind != WalletKind::Organization.as_str() {
            return Err(LedgerError::Invalid {
                path: Some("wallet_id".into()),
                message: "earnings go to an organization wallet".into(),
            });
        }
        let mut tx = self.begin(&call).await?;
        sqlx::query(
            "INSERT INTO agent_payees (agent_id, workspace_id, wallet_id) VALUES ($1, $2, $3) \
             ON CONFLICT (agent_id) DO UPDATE SET workspace_id = $2, wallet_id = $3",
        )
        .bind(agent_id)
        .bind(&p.workspace_id)
        .bind(&wallet_id)
        .execute(&mut *tx)
        .await?;
        self.commit(call, tx, &[]).await
    }

    /// A creator's earnings: available, pending (< 24 h), paid out, platform share.
    pub async fn earnings(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<creditkit_api::Earnings> {
        p.require(Op::Read)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let mut conn = self.pool.begin().await?;
        self.earnings_on(&mut conn, &wallet_id, self.now_ms()).await
    }

    async fn earnings_on(
        &self,
        conn: &mut Conn,
        wallet_id: &str,
        now: i64,
    ) -> Result<creditkit_api::Earnings> {
        let (available, pending, paid, share): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN kind = 'payout' OR available_at_ms <= $2 THEN earnings_delta_mc ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN kind = 'earning' AND available_at_ms > $2 THEN earnings_delta_mc ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN kind = 'payout' THEN -earnings_delta_mc ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(platform_share_mc), 0) AS BIGINT) \
             FROM entries WHERE wallet_id = $1 AND kind IN ('earning', 'payout')",
        )
        .bind(wallet_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        let min = self.config.minimum_payout_millicredits;
        Ok(creditkit_api::Earnings {
            wallet_id: wallet_id.to_string(),
            available_millicredits: to_u64(available),
            pending_millicredits: to_u64(pending),
            paid_out_millicredits: to_u64(paid),
            platform_share_millicredits: to_u64(share),
            minimum_payout_millicredits: min,
            payout_available: to_u64(available) >= min,
        })
    }

    /// Requests a payout of settled earnings (at least the minimum). Admins only.
    pub async fn payout(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        amount: u64,
        key: &str,
    ) -> Result<creditkit_api::Earnings> {
        let call = self.authorise_keyed(p, Op::Payout, key)?;
        let amount_i = to_i64(amount)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let call = call.body("payout", &(&wallet_id, amount));
        let card = self.card(&p.workspace_id).await?;
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_on::<creditkit_api::Earnings>(&call, &wallet_id, now)
            .await?
        {
            Begun::Replayed(done) => return done,
            Begun::Fresh(tx, w) => (tx, w),
        };
        let before = self.earnings_on(&mut tx, &wallet_id, now).await?;
        if amount < self.config.minimum_payout_millicredits {
            return Err(LedgerError::Invalid {
                path: Some("amount_millicredits".into()),
                message: format!(
                    "the minimum payout is {} credits",
                    error::fmt_mc(self.config.minimum_payout_millicredits)
                ),
            });
        }
        if amount > before.available_millicredits {
            return Err(LedgerError::Invalid {
                path: Some("amount_millicredits".into()),
                message: format!(
                    "{} credits are available for payout, not {}",
                    error::fmt_mc(before.available_millicredits),
                    error::fmt_mc(amount)
                ),
            });
        }
        self.entry(
            &mut tx,
            &wallet_id,
            now,
            Entry {
                kind: "payout",
                earnings_delta_mc: -amount_i,
                note: Some("payout requested"),
                ..Entry::default()
            },
        )
        .await?;
        // The payout the operator approves (`payouts.rs`), worth the card's credit value.
        let money =
            creditkit_pricing::credits_to_money(&card, creditkit_pricing::Millicredits(amount));
        let payout_id = new_id("po");
        sqlx::query("INSERT INTO payouts (id, workspace_id, wallet_id, amount_mc, amount_minor, currency, status, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 'requested', $7)")
            .bind(&payout_id)
            .bind(&p.workspace_id)
            .bind(&wallet_id)
            .bind(amount_i)
            .bind(money.as_ref().map(|m| to_i64(m.amount_minor)).transpose()?)
            .bind(money.as_ref().map(|m| m.currency.to_ascii_lowercase()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let data = serde_json::json!({ "wallet_id": wallet_id, "amount_millicredits": amount, "payout_id": payout_id });
        self.emit(
            &mut tx,
            &p.workspace_id,
            EventType::PayoutRequested,
            data,
            now,
        )
        .await?;
        let result = Ok(self.earnings_on(&mut tx, &wallet_id, now).await?);
        self.finish(call, tx, &mut w, result, &[]).await
    }
}
