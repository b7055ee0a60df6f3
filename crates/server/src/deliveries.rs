//! The outbound webhook worker: claims due deliveries from the ledger's outbox, posts
//! each event signed (Standard Webhooks' `webhook-id`, `webhook-timestamp`,
//! `webhook-signature`, and `Creditkit-Signature`, Stripe's scheme), and records
//! every attempt. Retries back off (10 s doubling to an hour) for a day. At least once:
//! the event id is the same on every attempt, so receivers drop duplicates by it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use creditkit_ledger::{DueDelivery, Ledger};

/// Deliveries posted at once.
const BATCH: u32 = 32;
/// An endpoint gets this long to answer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves endpoint names to public addresses only: a name that resolves only to
/// loopback, link-local or private addresses is not delivered to (so a public name
/// pointed inside the network cannot make the server call there).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !creditkit_ledger::is_private_address(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "`{host}` resolves to no public address (private targets are off)"
                )
                .into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Runs the worker until the task is dropped. Redirects are never followed (the target
/// is what the operator registered); unless the ledger allows private targets, only
/// public addresses are reached.
pub fn spawn_delivery_worker(ledger: Arc<Ledger>) -> tokio::task::JoinHandle<()> {
    let allow_private = ledger.config().allow_private_webhooks;
    let mut builder = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("creditkit/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    let http = builder.build().expect("an HTTP client");
    tokio::spawn(async move {
        loop {
            match ledger.claim_deliveries(BATCH).await {
                Ok(due) if !due.is_empty() => {
                    let sends = due.iter().map(|d| deliver(&ledger, &http, d));
                    futures_util::future::join_all(sends).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "claiming webhook deliveries failed"),
            }
            ledger.outbox_wait(Duration::from_millis(500)).await;
        }
    })
}

async fn deliver(ledger: &Ledger, http: &reqwest::Client, d: &DueDelivery) {
    let now_s = ledger.now_ms().div_euclid(1000);
    let signature = crate::signing::sign(&d.secret, now_s, d.body.as_bytes());
    let standard =
        crate::signing::standard_signature(&d.secret, &d.event_id, now_s, d.body.as_bytes());
    let event_type = serde_json::from_str::<serde_json::Value>(&d.body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_string))
        .unwrap_or_default();
    let start = Instant::now();
    // An address written in the URL is not resolved: checked here (an endpoint made
    // while private targets were allowed stays refused once they are not).
    if let Err(e) =
        creditkit_ledger::check_webhook_target(&d.url, ledger.config().allow_private_webhooks)
    {
        let _ = ledger
            .record_attempt(d, None, Some(&e.to_string()), 0)
            .await;
        return;
    }
    let sent = http
        .post(&d.url)
        .header("content-type", "application/json")
        .header("creditkit-signature", signature)
        .header("webhook-id", &d.event_id)
        .header("webhook-timestamp", now_s.to_string())
        .header("webhook-signature", standard)
        .header("creditkit-event-id", &d.event_id)
        .header("creditkit-event-type", event_type)
        .body(d.body.clone())
        .send()
        .await;
    let duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (code, error) = match sent {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
        Ok(r) => (
            Some(r.status().as_u16()),
            Some(format!("answered {}", r.status())),
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    match ledger
        .record_attempt(d, code, error.as_deref(), duration_ms)
        .await
    {
        Ok(status) => {
            tracing::debug!(event = %d.event_id, endpoint = %d.endpoint_id, ?status, "webhook attempt")
        }
        Err(e) => {
            tracing::error!(error = %e, event = %d.event_id, "recording a webhook attempt failed")
        }
    }
}
