//! Creators' payouts reaching a bank (seed 004: "Connect a Stripe account… withdraw
//! your available earnings"): the creator's connected account with the provider, each
//! payout's state (requested → paid, or failed), and the earnings a failed payout gives
//! back. The operator approves a payout; the server then transfers it through the
//! provider and records what the provider said. A failure after payment (the transfer
//! reversed) gives the earnings back too. Every change is an entry in the same
//! transaction as the payout's state.

use creditkit_api::{Op, Payout, PayoutAccount, PayoutState};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{to_u64, Call, Entry, Ledger, LedgerError, Principal, Result};

const PAYOUT_COLUMNS: &str = "id, wallet_id, amount_mc, amount_minor, currency, status, failure, \
     created_at_ms, decided_at_ms FROM payouts";

/// What the server needs to transfer a payout: the amount in money and the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutTransfer {
    pub payout_id: String,
    pub provider: String,
    pub account_ref: String,
    pub amount_minor: u64,
    pub currency: String,
}

impl Ledger {
    /// A wallet's payouts, newest first.
    pub async fn payouts(&self, p: &Principal, wallet_id: Option<&str>) -> Result<Vec<Payout>> {
        p.require(Op::Read)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let rows = sqlx::query(&format!(
            "SELECT {PAYOUT_COLUMNS} WHERE wallet_id = $1 ORDER BY created_at_ms DESC, id DESC LIMIT 100"
        ))
        .bind(&wallet_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(payout_from_row).collect()
    }

    /// Every workspace's payouts in a state (the operator's queue), oldest first.
    pub async fn payouts_in(&self, status: PayoutState) -> Result<Vec<Payout>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYOUT_COLUMNS} WHERE status = $1 ORDER BY created_at_ms, id LIMIT 500"
        ))
        .bind(status.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(payout_from_row).collect()
    }

    /// A requested payout, ready to transfer: its amount in money and the creator's
    /// connected account (refused while there is none ready).
    pub async fn payout_transfer(&self, payout_id: &str) -> Result<PayoutTransfer> {
        let row: Option<(String, String, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT wallet_id, status, amount_minor, currency FROM payouts WHERE id = $1",
        )
        .bind(payout_id)
        .fetch_optional(&self.pool)
        .await?;
        let (wallet_id, status, amount_minor, currency) =
            row.ok_or_else(|| LedgerError::NotFound(format!("payout `{payout_id}`")))?;
        if status != PayoutState::Requested.as_str() {
            return Err(LedgerError::invalid(format!(
                "payout `{payout_id}` is {status}"
            )));
        }
        let (Some(amount_minor), Some(currency)) = (amount_minor, currency) else {
            return Err(LedgerError::invalid(
                "the card gives credits no money value: this payout is paid outside the provider",
            ));
        };
        let account: Option<(String, String, String)> = sqlx::query_as(
            "SELECT provider, account_ref, status FROM payout_accounts WHERE wallet_id = $1",
        )
        .bind(&wallet_id)
        .fetch_optional(&self.pool)
        .await?;
        match account {
            Some((provider, account_ref, status)) if status == "ready" => Ok(PayoutTransfer {
                payout_id: payout_id.to_string(),
                provider,
                account_ref,
                amount_minor: to_u64(amount_minor),
                currency,
            }),
            _ => Err(LedgerError::invalid(
                "the creator has no payout account ready: they connect one from their earnings",
            )),
        }
    }

    /// The provider took the transfer: the payout is paid.
    pub async fn payout_paid(&self, payout_id: &str, transfer_ref: &str) -> Result<Payout> {
        self.write_one(
            Call::operator(),
            sqlx::query("UPDATE payouts SET status = 'paid', provider_ref = $1, decided_at_ms = $2 WHERE id = $3 AND status = 'requested'")
                .bind(transfer_ref)
                .bind(self.now_ms())
                .bind(payout_id),
        )
        .await?;
        self.payout_by_id(payout_id).await
    }

    /// The operator refused the payout, the transfer failed, or the provider reversed
    /// it: the payout failed and its earnings are available again, once.
    pub async fn payout_failed(&self, payout_id: &str, reason: &str) -> Result<Payout> {
        if reason.trim().is_empty() || reason.chars().count() > 500 {
            return Err(LedgerError::invalid_at(
                "reason",
                "a reason is 1 to 500 characters",
            ));
        }
        let (wallet_id,): (String,) = sqlx::query_as("SELECT wallet_id FROM payouts WHERE id = $1")
            .bind(payout_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("payout `{payout_id}`")))?;
        let now = self.now_ms();
        let call = Call::operator();
        let (mut tx, mut w, _) = self.begin_wallet(&call, &wallet_id, now).await?;
        let (status, amount): (String, i64) =
            sqlx::query_as("SELECT status, amount_mc FROM payouts WHERE id = $1")
                .bind(payout_id)
                .fetch_one(&mut *tx)
                .await?;
        if status != PayoutState::Failed.as_str() {
            sqlx::query("UPDATE payouts SET status = 'failed', failure = $1, decided_at_ms = $2 WHERE id = $3")
                .bind(reason)
                .bind(now)
                .bind(payout_id)
                .execute(&mut *tx)
                .await?;
            self.entry(
                &mut tx,
                &wallet_id,
                now,
                Entry {
                    kind: "payout",
                    earnings_delta_mc: amount,
                    note: Some("payout failed: the earnings are available again"),
                    ..Entry::default()
                },
            )
            .await?;
        }
        self.finish(call, tx, &mut w, Ok(()), &[]).await?;
        self.payout_by_id(payout_id).await
    }

    /// The provider reversed a transfer it had made (`transfer.reversed`).
    pub async fn transfer_reversed(
        &self,
        provider: &str,
        transfer_ref: &str,
    ) -> Result<Option<Payout>> {
        let id: Option<(String,)> = sqlx::query_as(
            "SELECT p.id FROM payouts p JOIN payout_accounts a ON a.wallet_id = p.wallet_id WHERE a.provider = $1 AND p.provider_ref = $2",
        )
        .bind(provider)
        .bind(transfer_ref)
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some((id,)) => self
                .payout_failed(&id, "the transfer was reversed")
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    async fn payout_by_id(&self, payout_id: &str) -> Result<Payout> {
        let row = sqlx::query(&format!("SELECT {PAYOUT_COLUMNS} WHERE id = $1"))
            .bind(payout_id)
            .fetch_one(&self.pool)
            .await?;
        payout_from_row(&row)
    }

    /// The wallet's connected account: `none`, `pending` or `ready`.
    pub async fn payout_account(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<PayoutAccount> {
        p.require(Op::Read)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let status: Option<(String,)> =
            sqlx::query_as("SELECT status FROM payout_accounts WHERE wallet_id = $1")
                .bind(&wallet_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(PayoutAccount {
            wallet_id,
            status: status.map_or_else(|| "none".to_string(), |s| s.0),
            onboarding_url: None,
        })
    }

    /// The account to onboard for a creator's wallet (who may request payouts):
    /// the one already started, if any (`Some(account_ref)`), else `None`.
    pub async fn payout_account_to_onboard(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<(String, Option<String>)> {
        p.require(Op::Payout)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let known: Option<(String,)> =
            sqlx::query_as("SELECT account_ref FROM payout_accounts WHERE wallet_id = $1")
                .bind(&wallet_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok((wallet_id, known.map(|k| k.0)))
    }

    /// Records a connected account the provider created for a wallet (pending until
    /// the provider says payouts are enabled).
    pub async fn payout_account_created(
        &self,
        wallet_id: &str,
        provider: &str,
        account_ref: &str,
    ) -> Result<()> {
        self.write_one(
            Call::provider(),
            sqlx::query("INSERT INTO payout_accounts (wallet_id, provider, account_ref, status, created_at_ms) VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (wallet_id) DO NOTHING")
                .bind(wallet_id)
                .bind(provider)
                .bind(account_ref)
                .bind(self.now_ms()),
        )
        .await?;
        Ok(())
    }

    /// The provider says whether a connected account can receive payouts. `false`
    /// when no wallet has that account.
    pub async fn payout_account_updated(
        &self,
        provider: &str,
        account_ref: &str,
        ready: bool,
    ) -> Result<bool> {
        let done = self
            .write_one(
                Call::provider(),
                sqlx::query("UPDATE payout_accounts SET status = $1 WHERE provider = $2 AND account_ref = $3")
                    .bind(if ready { "ready" } else { "pending" })
                    .bind(provider)
                    .bind(account_ref),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn payout_from_row(r: &AnyRow) -> Result<Payout> {
    let status: String = r.try_get(5)?;
    Ok(Payout {
        id: r.try_get(0)?,
        wallet_id: r.try_get(1)?,
        amount_millicredits: to_u64(r.try_get(2)?),
        amount_minor: r.try_get::<Option<i64>, _>(3)?.map(to_u64),
        currency: r.try_get(4)?,
        status: PayoutState::parse(&status)
            .ok_or_else(|| LedgerError::Corrupt(format!("payout status `{status}`")))?,
        failure: r.try_get(6)?,
        created_at_ms: r.try_get(7)?,
        decided_at_ms: r.try_get(8)?,
    })
}
