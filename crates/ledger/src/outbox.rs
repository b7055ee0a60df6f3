//! Outbound events (webhooks to the operator's backend), written to an outbox in the
//! same transaction as the change they report: a committed change always has its
//! event, a rolled-back one never. Each event gets a delivery row per subscribed
//! endpoint, also in that transaction; a worker (`creditkit-server`) claims due
//! deliveries, posts them signed, and records every attempt. Delivery is at least
//! once: a delivery claimed by a process that dies is claimed again when its lease
//! ends, with the same event id.

use std::sync::Arc;

use creditkit_api::admin::{
    Delivery, DeliveryAttempt, DeliveryStatus, Event, EventRecord, EventType, NewWebhookEndpoint,
    WebhookEndpoint, WebhookEndpointCreated,
};
use creditkit_api::{BalanceState, Op, Page};
use sqlx::Row;

use crate::db::later;
use crate::{
    new_id, to_u64, Call, Dialect, Ledger, LedgerError, Principal, Result, Tx, WalletRow,
    MAX_PAGE_LIMIT,
};

/// How long deliveries are retried before they are marked failed.
pub const DELIVERY_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// A claimed delivery is retried after this if its worker never reports back (an
/// endpoint gets 10 s to answer).
pub const DELIVERY_LEASE_MS: i64 = 20_000;
/// Endpoint lists are re-read at most this often by each process (at once on change).
const ENDPOINTS_TTL_MS: i64 = 5_000;
/// Delivered or failed events older than this are pruned by the sweeper.
pub const EVENT_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// The wait before attempt `n + 1` after `n` failed ones: 10 s, 20 s, 40 s, … capped at
/// an hour, so a day holds about thirty attempts.
pub fn backoff_ms(failed_attempts: u32) -> i64 {
    let exp = failed_attempts.saturating_sub(1).min(20);
    (10_000i64 << exp).min(3_600_000)
}

/// A subscribed endpoint, as the write path matches events against it.
#[derive(Clone, Debug)]
pub(crate) struct Subscription {
    id: String,
    events: Vec<EventType>,
    workspace_id: Option<String>,
}

impl Subscription {
    fn wants(&self, workspace_id: &str, kind: EventType) -> bool {
        self.workspace_id
            .as_deref()
            .is_none_or(|w| w == workspace_id)
            && (self.events.is_empty() || self.events.contains(&kind))
    }
}

/// A delivery a worker should make now.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    pub event_id: String,
    pub endpoint_id: String,
    pub url: String,
    pub secret: String,
    /// The event as JSON, exactly as signed and sent.
    pub body: String,
    pub attempts: u32,
}

fn events_text(events: &[EventType]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn events_of(text: &str) -> Result<Vec<EventType>> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| EventType::parse(s).ok_or_else(|| LedgerError::Corrupt(format!("event `{s}`"))))
        .collect()
}

fn state_rank(available: i64, low: i64, critical: i64) -> (u8, Option<EventType>) {
    if available <= 0 {
        return (3, Some(EventType::BalanceEmpty));
    }
    match BalanceState::of(to_u64(available), to_u64(low), to_u64(critical)) {
        BalanceState::Critical => (2, Some(EventType::BalanceCritical)),
        BalanceState::Low => (1, Some(EventType::BalanceLow)),
        BalanceState::Ok => (0, None),
    }
}

/// Addresses an outbound webhook may not reach unless [`Config::allow_private_webhooks`]:
/// loopback, private, link-local, shared (carrier-grade NAT), unique-local, unspecified
/// and broadcast, and IPv6's forms of the IPv4 ones.
pub fn is_private_address(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// The host of an `http(s)://` URL, without brackets or port.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

/// Refuses an endpoint URL naming a private address or `localhost`, unless allowed.
pub fn check_webhook_target(url: &str, allow_private: bool) -> Result<()> {
    if allow_private {
        return Ok(());
    }
    let host = url_host(url).to_ascii_lowercase();
    let private = host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(is_private_address);
    if private {
        return Err(LedgerError::invalid_at(
            "url",
            format!("`{host}` is a loopback, link-local or private address: webhooks go to public addresses unless the operator allows private ones (creditkit serve --allow-private-webhooks)"),
        ));
    }
    Ok(())
}

/// How long a payment provider's event ids are remembered: a week, beyond Stripe's three
/// days of retries, so a late duplicate changes nothing.
pub const PROVIDER_EVENT_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;

impl Ledger {
    /// Writes an event to the outbox, and a delivery for each endpoint that wants it,
    /// in the caller's transaction.
    pub(crate) async fn emit(
        &self,
        tx: &mut Tx,
        workspace_id: &str,
        kind: EventType,
        data: serde_json::Value,
        now: i64,
    ) -> Result<()> {
        let event = Event {
            id: new_id("evt"),
            kind,
            created_at_ms: now,
            workspace_id: workspace_id.to_string(),
            data,
        };
        let body = serde_json::to_string(&event)
            .map_err(|e| LedgerError::Corrupt(format!("event: {e}")))?;
        later(tx, sqlx::query("INSERT INTO outbox (id, workspace_id, type, payload, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(&event.id)
            .bind(workspace_id)
            .bind(kind.as_str())
            .bind(&body)
            .bind(now)
            )
            .await?;
        for sub in self.subscriptions(tx, now).await?.iter() {
            if sub.wants(workspace_id, kind) {
                later(tx, sqlx::query("INSERT INTO deliveries (event_id, endpoint_id, attempts, next_attempt_at_ms, expires_at_ms) VALUES ($1, $2, 0, $3, $4)")
                    .bind(&event.id)
                    .bind(&sub.id)
                    .bind(now)
                    .bind(now + DELIVERY_WINDOW_MS)
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Emits `balance.low` / `.critical` / `.empty` when a wallet's available credits
    /// crossed a threshold downwards since it was last reported in this transaction.
    pub(crate) async fn report_balance_state(&self, tx: &mut Tx, w: &mut WalletRow) -> Result<()> {
        let available = w.balance_mc - w.held_mc;
        let (before, _) = state_rank(w.reported_available_mc, w.low_mc, w.critical_mc);
        let (after, kind) = state_rank(available, w.low_mc, w.critical_mc);
        w.reported_available_mc = available;
        if let (true, Some(kind)) = (after > before, kind) {
            let data = serde_json::json!({
                "wallet_id": w.id, "available_millicredits": available,
                "low_threshold_millicredits": w.low_mc, "critical_threshold_millicredits": w.critical_mc,
            });
            self.emit(tx, &w.workspace_id, kind, data, self.now_ms())
                .await?;
        }
        Ok(())
    }

    /// The endpoints events fan out to, from a short-lived cache (read through the
    /// caller's transaction: on SQLite it holds the only connection).
    async fn subscriptions(&self, tx: &mut Tx, now: i64) -> Result<Arc<Vec<Subscription>>> {
        if let Some((at, subs)) = &*self.subscriptions.lock().expect("subscriptions lock") {
            if now - at < ENDPOINTS_TTL_MS && now >= *at {
                return Ok(subs.clone());
            }
        }
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, events, workspace_id FROM webhook_endpoints WHERE disabled_at_ms IS NULL",
        )
        .fetch_all(&mut **tx)
        .await?;
        let subs = Arc::new(
            rows.into_iter()
                .map(|(id, events, workspace_id)| {
                    Ok(Subscription {
                        id,
                        events: events_of(&events)?,
                        workspace_id,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        );
        *self.subscriptions.lock().expect("subscriptions lock") = Some((now, subs.clone()));
        Ok(subs)
    }

    fn forget_subscriptions(&self) {
        *self.subscriptions.lock().expect("subscriptions lock") = None;
    }

    // ---------------------------------------------------------------- endpoints

    /// Subscribes an endpoint; its signing secret is shown once.
    pub async fn create_webhook_endpoint(
        &self,
        p: &Principal,
        req: &NewWebhookEndpoint,
    ) -> Result<WebhookEndpointCreated> {
        let call = self.authorise(p, Op::ManageWorkspaces)?;
        let url = req.url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.chars().count() > 2000
        {
            return Err(LedgerError::invalid_at(
                "url",
                "the endpoint must be an http(s) URL of at most 2000 characters",
            ));
        }
        check_webhook_target(url, self.config.allow_private_webhooks)?;
        if let Some(ws) = &req.workspace_id {
            self.workspace(ws).await?;
        }
        let mut events = req.events.clone();
        events.sort();
        events.dedup();
        let id = new_id("whe");
        // Standard Webhooks' form: `whsec_` and the key's bytes in base64.
        let secret = {
            use base64::Engine as _;
            let mut key = [0u8; 32];
            getrandom::getrandom(&mut key).expect("the OS random source works");
            format!(
                "whsec_{}",
                base64::engine::general_purpose::STANDARD.encode(key)
            )
        };
        let now = self.now_ms();
        self.write_one(call, sqlx::query("INSERT INTO webhook_endpoints (id, url, secret, events, workspace_id, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(url)
            .bind(&secret)
            .bind(events_text(&events))
            .bind(&req.workspace_id)
            .bind(now)
            )
            .await?;
        self.forget_subscriptions();
        Ok(WebhookEndpointCreated {
            endpoint: WebhookEndpoint {
                id,
                url: url.to_string(),
                events,
                workspace_id: req.workspace_id.clone(),
                created_at_ms: now,
                disabled_at_ms: None,
            },
            secret,
        })
    }

    pub async fn webhook_endpoints(&self, p: &Principal) -> Result<Vec<WebhookEndpoint>> {
        p.require(Op::ManageWorkspaces)?;
        let rows = sqlx::query(
            "SELECT id, url, events, workspace_id, created_at_ms, disabled_at_ms FROM webhook_endpoints ORDER BY created_at_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WebhookEndpoint {
                    id: r.try_get(0)?,
                    url: r.try_get(1)?,
                    events: events_of(&r.try_get::<String, _>(2)?)?,
                    workspace_id: r.try_get(3)?,
                    created_at_ms: r.try_get(4)?,
                    disabled_at_ms: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Stops an endpoint: no new deliveries, pending ones are dropped.
    pub async fn disable_webhook_endpoint(&self, p: &Principal, id: &str) -> Result<()> {
        let call = self.authorise(p, Op::ManageWorkspaces)?;
        let now = self.now_ms();
        let mut tx = self.begin(&call).await?;
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at_ms = $1 WHERE id = $2 AND disabled_at_ms IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(LedgerError::NotFound(format!("webhook endpoint `{id}`")));
        }
        sqlx::query("UPDATE deliveries SET failed_at_ms = $1 WHERE endpoint_id = $2 AND delivered_at_ms IS NULL AND failed_at_ms IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit(call, tx, &[]).await?;
        self.forget_subscriptions();
        Ok(())
    }

    // ---------------------------------------------------------------- delivery

    /// Claims up to `limit` deliveries that are due, leasing them for
    /// [`DELIVERY_LEASE_MS`] (on PostgreSQL, rows another server holds are skipped).
    pub async fn claim_deliveries(&self, limit: u32) -> Result<Vec<DueDelivery>> {
        let now = self.now_ms();
        let call = Call::upkeep();
        let mut tx = self.begin(&call).await?;
        let lock = match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE OF d SKIP LOCKED",
        };
        let rows = sqlx::query(&format!(
            "SELECT d.event_id, d.endpoint_id, e.url, e.secret, o.payload, d.attempts \
             FROM deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN outbox o ON o.id = d.event_id \
             WHERE d.delivered_at_ms IS NULL AND d.failed_at_ms IS NULL AND d.next_attempt_at_ms <= $1 \
             ORDER BY d.next_attempt_at_ms, o.seq LIMIT $2{lock}"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut due = Vec::with_capacity(rows.len());
        for r in &rows {
            let d = DueDelivery {
                event_id: r.try_get(0)?,
                endpoint_id: r.try_get(1)?,
                url: r.try_get(2)?,
                secret: r.try_get(3)?,
                body: r.try_get(4)?,
                attempts: u32::try_from(r.try_get::<i64, _>(5)?).unwrap_or(u32::MAX),
            };
            sqlx::query("UPDATE deliveries SET next_attempt_at_ms = $1 WHERE event_id = $2 AND endpoint_id = $3")
                .bind(now + DELIVERY_LEASE_MS)
                .bind(&d.event_id)
                .bind(&d.endpoint_id)
                .execute(&mut *tx)
                .await?;
            due.push(d);
        }
        self.commit(call, tx, &[]).await?;
        Ok(due)
    }

    /// Records one attempt: delivered on a 2xx; otherwise retried with backoff until
    /// the delivery window closes, then failed.
    pub async fn record_attempt(
        &self,
        d: &DueDelivery,
        status_code: Option<u16>,
        error: Option<&str>,
        duration_ms: u64,
    ) -> Result<DeliveryStatus> {
        let now = self.now_ms();
        let ok = status_code.is_some_and(|s| (200..300).contains(&s));
        let attempts = d.attempts.saturating_add(1);
        let call = Call::upkeep();
        let mut tx = self.begin(&call).await?;
        sqlx::query("INSERT INTO delivery_attempts (event_id, endpoint_id, attempt, at_ms, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&d.event_id)
            .bind(&d.endpoint_id)
            .bind(i64::from(attempts))
            .bind(now)
            .bind(status_code.map(i64::from))
            .bind(error.map(|e| e.chars().take(500).collect::<String>()))
            .bind(i64::try_from(duration_ms).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        let (expires,): (i64,) = sqlx::query_as(
            "SELECT expires_at_ms FROM deliveries WHERE event_id = $1 AND endpoint_id = $2",
        )
        .bind(&d.event_id)
        .bind(&d.endpoint_id)
        .fetch_one(&mut *tx)
        .await?;
        let next = now + backoff_ms(attempts);
        let status = if ok {
            DeliveryStatus::Delivered
        } else if next >= expires {
            DeliveryStatus::Failed
        } else {
            DeliveryStatus::Pending
        };
        sqlx::query(
            "UPDATE deliveries SET attempts = $1, next_attempt_at_ms = $2, \
             delivered_at_ms = CASE WHEN $3 = 1 THEN $4 ELSE delivered_at_ms END, \
             failed_at_ms = CASE WHEN $3 = 2 THEN $4 ELSE failed_at_ms END \
             WHERE event_id = $5 AND endpoint_id = $6",
        )
        .bind(i64::from(attempts))
        .bind(next)
        .bind(match status {
            DeliveryStatus::Pending => 0i64,
            DeliveryStatus::Delivered => 1,
            DeliveryStatus::Failed => 2,
        })
        .bind(now)
        .bind(&d.event_id)
        .bind(&d.endpoint_id)
        .execute(&mut *tx)
        .await?;
        self.commit(call, tx, &[]).await?;
        Ok(status)
    }

    /// Events, newest first, each with its deliveries and their attempts.
    pub async fn events(
        &self,
        p: &Principal,
        workspace_id: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<EventRecord>> {
        p.require(Op::ManageWorkspaces)?;
        let limit = limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(LedgerError::invalid_at(
                "limit",
                format!("limit must be 1 to {MAX_PAGE_LIMIT}"),
            ));
        }
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, payload, seq FROM outbox WHERE ($1 = '' OR workspace_id = $1) AND seq < $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(workspace_id.unwrap_or(""))
        .bind(cursor.and_then(|c| c.parse::<i64>().ok()).unwrap_or(i64::MAX))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::new();
        let mut last_seq = None;
        for (id, payload, seq) in rows.into_iter().take(limit as usize) {
            let event: Event = serde_json::from_str(&payload)
                .map_err(|e| LedgerError::Corrupt(format!("event {id}: {e}")))?;
            items.push(EventRecord {
                deliveries: self.deliveries_of(&id).await?,
                event,
            });
            last_seq = Some(seq);
        }
        Ok(Page {
            items,
            next_cursor: if more {
                last_seq.map(|s| s.to_string())
            } else {
                None
            },
        })
    }

    async fn deliveries_of(&self, event_id: &str) -> Result<Vec<Delivery>> {
        let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT endpoint_id, next_attempt_at_ms, delivered_at_ms, failed_at_ms FROM deliveries WHERE event_id = $1 ORDER BY endpoint_id",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for (endpoint_id, next, delivered, failed) in rows {
            let attempts: Vec<(i64, Option<i64>, Option<String>, i64)> = sqlx::query_as(
                "SELECT at_ms, status_code, error, duration_ms FROM delivery_attempts WHERE event_id = $1 AND endpoint_id = $2 ORDER BY attempt",
            )
            .bind(event_id)
            .bind(&endpoint_id)
            .fetch_all(&self.pool)
            .await?;
            let status = match (delivered, failed) {
                (Some(_), _) => DeliveryStatus::Delivered,
                (None, Some(_)) => DeliveryStatus::Failed,
                (None, None) => DeliveryStatus::Pending,
            };
            out.push(Delivery {
                endpoint_id,
                status,
                next_attempt_at_ms: (status == DeliveryStatus::Pending).then_some(next),
                attempts: attempts
                    .into_iter()
                    .map(|(at_ms, code, error, duration)| DeliveryAttempt {
                        at_ms,
                        status_code: code.and_then(|c| u16::try_from(c).ok()),
                        error,
                        duration_ms: to_u64(duration),
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Drops events older than the retention whose deliveries are all finished.
    pub(crate) async fn prune_events(&self, now: i64) -> Result<()> {
        let before = now - EVENT_RETENTION_MS;
        let old = "SELECT id FROM outbox WHERE created_at_ms < $1 AND NOT EXISTS \
                   (SELECT 1 FROM deliveries d WHERE d.event_id = outbox.id AND d.delivered_at_ms IS NULL AND d.failed_at_ms IS NULL)";
        let call = Call::upkeep();
        let mut tx = self.begin(&call).await?;
        for table in ["delivery_attempts", "deliveries"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE event_id IN ({old})"))
                .bind(before)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(&format!("DELETE FROM outbox WHERE id IN ({old})"))
            .bind(before)
            .execute(&mut *tx)
            .await?;
        self.commit(call, tx, &[]).await?;
        Ok(())
    }

    /// Forgets idempotency records and unconfirmed quotes past the retention window (a
    /// provider's events: [`PROVIDER_EVENT_RETENTION_MS`]), a
    /// thousand rows per write so the writer is never held long. Returns rows removed.
    pub(crate) async fn prune_records(&self, now: i64) -> Result<u64> {
        let before = now - self.config.retention_ms;
        // A payment provider's event ids (keys without a caller's scope, no space) are
        // kept for the provider's whole retry window: Stripe retries for three days.
        let provider_before = now - self.config.retention_ms.max(PROVIDER_EVENT_RETENTION_MS);
        let mut removed = 0;
        for (sql, before) in [
            ("DELETE FROM idempotency WHERE (workspace_id, key) IN \
             (SELECT workspace_id, key FROM idempotency WHERE created_at_ms < $1 AND key LIKE '% %' LIMIT 1000)", before),
            ("DELETE FROM idempotency WHERE (workspace_id, key) IN \
             (SELECT workspace_id, key FROM idempotency WHERE created_at_ms < $1 AND key NOT LIKE '% %' LIMIT 1000)", provider_before),
            ("DELETE FROM quotes WHERE id IN (SELECT q.id FROM quotes q WHERE q.expires_at_ms < $1 \
             AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.quote_id = q.id) LIMIT 1000)", before),
        ] {
            loop {
                let done = self.write_one(Call::upkeep(), sqlx::query(sql).bind(before)).await?;
                removed += done.rows_affected();
                if done.rows_affected() < 1000 {
                    break;
                }
            }
        }
        Ok(removed)
    }
}
