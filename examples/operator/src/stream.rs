//! Step 2 for a chat turn: stream it. The page opens `GET /demo/stream` (server-sent
//! events) for a confirmed streamed turn; this backend runs a deterministic simulated
//! model and, chunk by chunk, grows the hold (`POST /v1/holds/{id}/extend`, idempotent
//! per chunk) before sending the chunk — so what the user sees is always paid for, and
//! never more than they confirmed. When the balance cannot cover the next chunk the
//! stream pauses (`paused`, with what covers it) and resumes by itself once credits
//! arrive; at the end it captures what was generated, exactly.
//!
//! Events: `chunk {text, generated_tokens, running_millicredits}`, `paused {shortfall}`,
//! `resumed`, `done {hold}`, `failed {message}`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use creditkit_api::{CaptureRequest, ExtendRequest, Hold};
use futures_util::stream::Stream;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{App, Refusal};

/// Tokens per chunk, and how far ahead of the text the hold is kept.
const CHUNK_TOKENS: u64 = 24;
const AHEAD_TOKENS: u64 = 3 * CHUNK_TOKENS;
/// A paused stream gives up (and charges what it generated) after this long.
const PAUSE_LIMIT: Duration = Duration::from_secs(300);

const WORDS: &[&str] = &[
    "Spring", "sale", "ideas:", "bright", "colours,", "a", "clear", "offer,", "and", "one", "call",
    "to", "action.", "Keep", "the", "headline", "short;", "let", "the", "picture", "carry", "the",
    "season.", "Test", "two", "variants", "and", "keep", "the", "winner.",
];

#[derive(Deserialize)]
pub(crate) struct StreamAsk {
    product: String,
    hold_id: String,
    #[serde(default)]
    fail: bool,
}

fn event(name: &str, data: Value) -> Result<Event, Infallible> {
    Ok(Event::default().event(name).data(data.to_string()))
}

/// How long the simulated answer is: 40–160 tokens, fixed by the hold id.
fn answer_tokens(hold_id: &str) -> u64 {
    let h = hold_id
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    40 + h % 121
}

pub(crate) async fn stream(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    Query(ask): Query<StreamAsk>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(16);
    let member = app.signed_in(&headers, &ask.product).map_err(|r| r.1);
    tokio::spawn(async move {
        let outcome = match member {
            Ok(member) => run(&app, &ask, &member, &tx).await,
            Err(message) => Err(message),
        };
        let last = match outcome {
            Ok(hold) => event("done", json!({ "hold": hold })),
            Err(message) => event("failed", json!({ "message": message })),
        };
        let _ = tx.send(last).await;
    });
    Sse::new(tokio_stream_from(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Event, Infallible>>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn run(
    app: &App,
    ask: &StreamAsk,
    member: &str,
    tx: &tokio::sync::mpsc::Sender<Result<Event, Infallible>>,
) -> Result<Hold, String> {
    let key = app.key(&ask.product).map_err(|r| r.1)?.to_string();
    let api = app.api(&key);
    let hold = api
        .get_hold(&ask.hold_id)
        .await
        .map_err(|e| Refusal::from(e).1)?;
    app.check_owner(&hold, member).map_err(|r| r.1)?;
    let Some(stream) = hold.stream else {
        return Err("this confirmed action is not a streamed turn".into());
    };
    let total = answer_tokens(&ask.hold_id);
    let mut reserved = stream.reserved_output_tokens;
    let mut generated = 0;
    let mut running = 0;
    while generated < total {
        let next = (generated + CHUNK_TOKENS).min(total);
        if next > reserved {
            // Pay for the next chunks before sending them: extend (idempotent per chunk).
            let body = ExtendRequest {
                generated_output_tokens: generated,
                reserve_output_tokens: next + AHEAD_TOKENS,
            };
            let idem = app.settle_key(&format!("extend-{generated}"), &ask.hold_id);
            let mut paused_at = None::<std::time::Instant>;
            let extended = loop {
                match api
                    .extend(&ask.hold_id, &body, &idem)
                    .await
                    .map_err(Refusal::from)
                {
                    Ok(h) => break h,
                    // Out of credits (or at a cap): pause, say why once, and try again
                    // until credits arrive.
                    Err(refusal) if refusal.0.as_u16() == 402 => {
                        if paused_at.is_none() {
                            paused_at = Some(std::time::Instant::now());
                            let why = json!({ "shortfall": refusal.2["shortfall"], "cap": refusal.2["cap"], "message": refusal.1 });
                            let _ = tx.send(event("paused", why)).await;
                        }
                        if paused_at.is_some_and(|t| t.elapsed() > PAUSE_LIMIT) {
                            return finish(app, &key, &ask.hold_id, generated).await;
                        }
                        tokio::time::sleep(Duration::from_millis(400)).await;
                    }
                    Err(refusal) => return Err(refusal.1),
                }
            };
            if paused_at.is_some() {
                let _ = tx.send(event("resumed", json!({}))).await;
            }
            let s = extended.stream.ok_or("not a streamed turn")?;
            reserved = s.reserved_output_tokens;
            if reserved < next {
                // The model's bound (or the confirmed maximum) is reached: stop here.
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        if ask.fail && generated > 0 {
            api.release(&ask.hold_id, &app.settle_key("release", &ask.hold_id))
                .await
                .map_err(|e| Refusal::from(e).1)?;
            return Err("The model stopped answering (simulated).".into());
        }
        let text: Vec<&str> = (generated..next)
            .map(|i| WORDS[(i as usize) % WORDS.len()])
            .collect();
        generated = next;
        // What the tokens so far cost, by the same engine: the last extension says.
        let (cost, _) = generated_cost(app, &key, &ask.hold_id, generated).await?;
        running = cost.max(running);
        let _ = tx
            .send(event("chunk", json!({ "text": text.join(" ") + " ", "generated_tokens": generated, "running_millicredits": running })))
            .await;
    }
    finish(app, &key, &ask.hold_id, generated).await
}

/// Records the tokens generated so far; returns their cost and the reservation.
async fn generated_cost(
    app: &App,
    key: &str,
    hold_id: &str,
    generated: u64,
) -> Result<(u64, u64), String> {
    let progress = ExtendRequest {
        generated_output_tokens: generated,
        reserve_output_tokens: generated,
    };
    let hold = app
        .api(key)
        .extend(
            hold_id,
            &progress,
            &app.settle_key(&format!("progress-{generated}"), hold_id),
        )
        .await
        .map_err(|e| Refusal::from(e).1)?;
    let s = hold.stream.ok_or("not a streamed turn")?;
    Ok((s.generated_millicredits, hold.amount_millicredits))
}

/// Captures exactly what was generated.
async fn finish(app: &App, key: &str, hold_id: &str, generated: u64) -> Result<Hold, String> {
    let (cost, _) = generated_cost(app, key, hold_id, generated).await?;
    let capture = CaptureRequest {
        amount_millicredits: Some(cost),
        actual: None,
    };
    app.api(key)
        .capture(hold_id, &capture, &app.settle_key("capture", hold_id))
        .await
        .map_err(|e| Refusal::from(e).1)
}
