//! The auto top-up worker: claims due top-ups from the ledger (leased), charges each
//! to its wallet's saved card through the provider, and reports what the provider
//! answered. The ledger decides; this only carries the question and the answer.

use std::sync::Arc;
use std::time::Duration;

use creditkit_ledger::Ledger;

use super::PaymentProvider;

/// Top-ups charged at once.
const BATCH: u32 = 16;

/// Runs the worker until the task is dropped.
pub fn spawn_topup_worker(
    ledger: Arc<Ledger>,
    provider: Arc<dyn PaymentProvider>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match ledger.claim_topups(BATCH).await {
                Ok(due) if !due.is_empty() => {
                    let charges = due.iter().map(|t| async {
                        let outcome = provider.charge_saved(t).await;
                        tracing::info!(topup = %t.id, attempt = t.attempt, ?outcome, "auto top-up charged");
                        if let Err(e) = ledger.topup_charged(provider.name(), t, &outcome).await {
                            // The lease runs out and the same attempt is asked again.
                            tracing::error!(error = %e, topup = %t.id, "recording a top-up's outcome failed");
                        }
                    });
                    futures_util::future::join_all(charges).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "claiming top-ups failed"),
            }
            ledger.outbox_wait(Duration::from_millis(500)).await;
        }
    })
}
