//! Where a payment stands, for the buyer: pending until the provider's signed webhook
//! says paid, failed or expired (seed 001: "Credits not updating… check payment was
//! successful"). Nothing here moves credits; `purchases.rs` applies a paid checkout.

use creditkit_api::{CheckoutState, CheckoutStatus, Op};
use creditkit_pricing::MILLI_PER_CREDIT;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{to_u64, Call, Ledger, LedgerError, Principal, Result};

const COLUMNS: &str = "id, status, credits_mc, amount_minor, currency, pack_id, plan_id, \
     created_at_ms, completed_at_ms, member_id FROM checkouts";

impl Ledger {
    /// A checkout of the caller's workspace; without `read_team`, only the caller's own
    /// (another member's is "not found").
    pub async fn checkout_status(&self, p: &Principal, id: &str) -> Result<CheckoutStatus> {
        p.require(Op::Read)?;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(&p.workspace_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("checkout `{id}`")))?;
        let buyer: Option<String> = row.try_get(9)?;
        if !p.may(Op::ReadTeam) && buyer != p.member_id {
            return Err(LedgerError::NotFound(format!("checkout `{id}`")));
        }
        status_from_row(&row)
    }

    /// A checkout's state by its id alone, for the page the buyer returns to from the
    /// provider (no credential there; the id is unguessable and says only this).
    pub async fn checkout_state(&self, id: &str) -> Result<CheckoutStatus> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("checkout `{id}`")))?;
        status_from_row(&row)
    }

    /// The provider says a checkout failed (`expired`: its page timed out unpaid). Only
    /// an open checkout changes; a paid one stays paid; a repeat changes nothing.
    /// `false` when no such checkout was opened as `session_ref`.
    pub async fn checkout_failed(
        &self,
        provider: &str,
        checkout_id: &str,
        session_ref: &str,
        expired: bool,
    ) -> Result<bool> {
        let state = if expired { "expired" } else { "failed" };
        let now = self.now_ms();
        let call = Call::provider();
        let mut tx = self.begin(&call).await?;
        let known: Option<(String,)> = sqlx::query_as(
            "SELECT status FROM checkouts WHERE id = $1 AND provider = $2 AND provider_ref = $3",
        )
        .bind(checkout_id)
        .bind(provider)
        .bind(session_ref)
        .fetch_optional(&mut *tx)
        .await?;
        if known.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE checkouts SET status = $1, completed_at_ms = $2 WHERE id = $3 AND status = 'open'",
        )
        .bind(state)
        .bind(now)
        .bind(checkout_id)
        .execute(&mut *tx)
        .await?;
        self.commit(call, tx, &[]).await?;
        Ok(true)
    }
}

fn status_from_row(row: &AnyRow) -> Result<CheckoutStatus> {
    let status: String = row.try_get(1)?;
    let status = match status.as_str() {
        "open" => CheckoutState::Pending,
        "completed" => CheckoutState::Paid,
        "failed" => CheckoutState::Failed,
        "expired" => CheckoutState::Expired,
        other => return Err(LedgerError::Corrupt(format!("checkout status `{other}`"))),
    };
    Ok(CheckoutStatus {
        id: row.try_get(0)?,
        status,
        credits: to_u64(row.try_get(2)?) / MILLI_PER_CREDIT,
        amount_minor: to_u64(row.try_get(3)?),
        currency: row.try_get(4)?,
        pack_id: row.try_get(5)?,
        plan_id: row.try_get(6)?,
        created_at_ms: row.try_get(7)?,
        completed_at_ms: row.try_get(8)?,
    })
}
