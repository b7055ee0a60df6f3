//! The promise, tested where it is made: for random requests on all five seed cards
//! (chat turns with random text included), the estimate the browser computes and the
//! quote the real server returns agree on the maximum to the milli-credit — or both
//! refuse the request with the same error code. Then the widget's own elements show
//! that maximum: the live estimate, and the confirm dialog.
//!
//! Seeded and replayable: `CREDITKIT_E2E_SEED=<seed>` repeats a run (the seed is printed).

use creditkit_pricing::{parse_card, Card, Cost};
use fantoccini::Client;
use serde_json::{json, Map, Value};

use crate::browser::Result;
use crate::{click, wait_text, Env};

/// Requests per seed card.
const REQUESTS_PER_CARD: usize = 30;

/// A small, seedable generator (xorshift64*): no dependency, replayable from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        usize::try_from(x % n.max(1) as u64).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        let span = usize::try_from(hi.saturating_sub(lo).min(1 << 20)).unwrap_or(0);
        lo + self.below(span + 1) as u64
    }
}

/// A chat turn as people write them: prose, code, other scripts, emoji, whitespace.
fn random_text(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "Hello",
        " world",
        ", please",
        " rewrite",
        " this paragraph",
        " so it reads well.",
        "\n",
        "\n\n",
        "  ",
        "fn main() { println!(\"{}\", 42); }",
        "SELECT * FROM t;",
        " 你好，世界",
        " Привет",
        " مرحبا",
        " 🙂",
        "👩‍💻",
        " naïve café",
        " 3.14159",
        " https://example.com/a?b=c",
        "\t",
        " the",
        " a",
        " of",
        "'s",
        " don't",
    ];
    let n = rng.below(80);
    (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

/// One item for a random action of `card`, with random parameters: mostly valid, now
/// and then out of range or missing, so refusals are compared too.
fn random_item(rng: &mut Rng, card: &Card, member_is_fresh: bool) -> Value {
    let Some(action) = rng.pick(&card.actions) else {
        return json!({ "action": "nothing" });
    };
    let mut params = Map::new();
    for (name, count) in &action.counts {
        if rng.below(4) > 0 {
            let hi = if rng.below(20) == 0 {
                count.max + 1
            } else {
                count.max
            };
            params.insert(name.clone(), json!(rng.between(count.min, hi)));
        }
    }
    match &action.cost {
        Cost::Options { param, choices, .. } if rng.below(5) > 0 => {
            let keys: Vec<&String> = choices.keys().collect();
            if let Some(k) = rng.pick(&keys) {
                params.insert(param.clone(), json!(k));
            }
        }
        Cost::Range {
            param: Some(param),
            levels,
            ..
        } if rng.below(2) == 0 => {
            let keys: Vec<&String> = levels.keys().collect();
            if let Some(k) = rng.pick(&keys) {
                params.insert(param.clone(), json!(k));
            }
        }
        Cost::Chat => {
            match (rng.pick(&card.agents), rng.pick(&card.models)) {
                (Some(agent), _) if rng.below(2) == 0 => {
                    params.insert("agent".into(), json!(agent.id));
                    // The server counts this member's messages itself; this member
                    // is new and only ever quotes, so the count is 0.
                    if member_is_fresh {
                        params.insert("messages_used".into(), json!(0));
                    }
                }
                (_, Some(model)) => {
                    params.insert("model".into(), json!(model.id));
                }
                _ => {}
            }
            if rng.below(4) > 0 {
                params.insert("input_text".into(), json!(random_text(rng)));
            } else {
                params.insert("input_tokens".into(), json!(rng.between(0, 6000)));
            }
            if rng.below(3) == 0 {
                params.insert("output_tokens".into(), json!(rng.between(0, 3000)));
            }
        }
        _ => {}
    }
    let mut item = json!({ "action": action.id, "params": params });
    if rng.below(4) == 0 {
        item["quantity"] = json!(1 + rng.below(3));
    }
    item
}

fn random_request(rng: &mut Rng, card: &Card) -> Value {
    if rng.below(4) == 0 {
        json!({ "items": [random_item(rng, card, true), random_item(rng, card, true)] })
    } else {
        random_item(rng, card, true)
    }
}

/// Either the maximum in milli-credits or the refusal's code.
fn outcome(ok: Option<u64>, code: Option<&str>) -> String {
    match (ok, code) {
        (Some(max), _) => format!("max {max} mc"),
        (None, Some(code)) => format!("refused: {code}"),
        (None, None) => "no answer".into(),
    }
}

/// Runs on the plain-HTML page (`/www/`), whose module is the embeddable build.
pub(crate) async fn browser_estimates_equal_server_quotes(c: &Client, env: &Env) -> Result<()> {
    let seed = std::env::var("CREDITKIT_E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("promise: seed {seed} (CREDITKIT_E2E_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let products = env.demo["products"]
        .as_array()
        .ok_or("no products in the seed")?;
    let (mut agreed, mut refused, mut chat_texts) = (0, 0, 0);
    let mut shown = Vec::new();
    for (p, product) in products.iter().enumerate() {
        let key = product["api_key"].as_str().ok_or("no API key")?;
        let id = product["id"].as_str().unwrap_or("?");
        let token = fresh_member_session(env, key, id).await?;
        let card_text = call(env.http.get(format!("{}/v1/card", env.api)), &token)
            .await?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let card = parse_card(&card_text).map_err(|e| format!("{id}: card: {e}"))?;
        let requests: Vec<Value> = (0..REQUESTS_PER_CARD)
            .map(|_| random_request(&mut rng, &card))
            .collect();
        chat_texts += requests
            .iter()
            .filter(|r| r.to_string().contains("input_text"))
            .count();
        let browser = estimate_in_browser(c, env, &card_text, &requests).await?;
        for (i, request) in requests.iter().enumerate() {
            let quote = env.http.post(format!("{}/v1/quotes", env.api));
            let response = call(quote.json(&json!({ "request": request })), &token).await?;
            let status = response.status();
            let quote: Value = response.json().await.map_err(|e| e.to_string())?;
            let server = outcome(
                quote["estimate"]["max_millicredits"].as_u64(),
                quote["error"]["code"].as_str().or(quote["code"].as_str()),
            );
            let b = &browser[i];
            let local = outcome(b["max"].as_u64(), b["code"].as_str());
            if server != local {
                return Err(format!(
                    "{id}: request {request}\n  browser: {local} ({b})\n  server ({status}): {server} ({quote})\n  replay with CREDITKIT_E2E_SEED={seed}"
                ));
            }
            if local.starts_with("max") {
                agreed += 1;
                // Shown by the elements: two chat turns with their text, two others.
                let text = request.to_string().contains("input_text");
                let same = shown.iter().filter(|(_, t, _)| *t == text).count();
                if p == 0 && same < 2 {
                    shown.push((request.clone(), text, b["max"].as_u64().unwrap_or(0)));
                }
            } else {
                refused += 1;
            }
        }
    }
    println!(
        "promise: {} random requests on {} cards ({chat_texts} with chat text): {agreed} priced alike to the milli-credit, {refused} refused alike",
        agreed + refused,
        products.len()
    );
    if agreed < products.len() * REQUESTS_PER_CARD / 2 {
        return Err(format!(
            "only {agreed} requests priced; the generator is broken"
        ));
    }
    the_elements_show_the_maximum(c, &shown).await
}

/// Sends `request` with `token` as its bearer.
async fn call(request: reqwest::RequestBuilder, token: &str) -> Result<reqwest::Response> {
    request
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())
}

/// A new member of the product's workspace (so its free-message count is known: 0) and
/// a browser session for it, as the operator's backend would mint one.
async fn fresh_member_session(env: &Env, key: &str, product: &str) -> Result<String> {
    let external = format!("promise-{product}");
    let post = |path: &str, body: Value| {
        let r = env.http.post(format!("{}/v1{path}", env.api)).json(&body);
        async move {
            call(r, key)
                .await?
                .json::<Value>()
                .await
                .map_err(|e| e.to_string())
        }
    };
    let member = post(
        "/members",
        json!({ "name": "Promise tester", "role": "member", "external_id": external }),
    )
    .await?;
    let session = post("/sessions", json!({ "external_id": external })).await?;
    session["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{product}: no session ({member} / {session})"))
}

/// The embeddable module's `Estimator` on `card`, with both encodings' ranks loaded from
/// the API (as the widget loads them): `[{max} | {code}]` per request.
async fn estimate_in_browser(
    c: &Client,
    env: &Env,
    card: &str,
    requests: &[Value],
) -> Result<Vec<Value>> {
    let script = r#"
        const [card, requests, api, done] = arguments;
        (async () => {
            const m = await import(location.origin + "/embed/creditkit.js");
            await m.default();
            for (const e of ["o200k_base", "cl100k_base"]) await m.loadTokenCounter(api, e);
            const estimator = new m.Estimator(card);
            return requests.map((r) => {
                try { return { max: estimator.estimate(r).max_millicredits }; }
                catch (e) { return { code: e.code || String(e) }; }
            });
        })().then(done, (e) => done({ error: String(e && e.stack || e) }));
    "#;
    let answer = c
        .execute_async(script, vec![json!(card), json!(requests), json!(env.api)])
        .await
        .map_err(|e| format!("the estimator in the browser: {e}"))?;
    answer
        .as_array()
        .cloned()
        .ok_or_else(|| format!("the estimator in the browser: {answer}"))
}

/// `<creditkit-estimate>` shows the maximum, and `<creditkit-confirm>`'s dialog asks
/// the user to agree to it, for random requests the server priced (the page's session
/// is on the first product's workspace).
async fn the_elements_show_the_maximum(c: &Client, priced: &[(Value, bool, u64)]) -> Result<()> {
    close_dialogs(c).await?;
    for (request, _, max) in priced {
        let expected = credits_text(*max);
        for id in ["estimate", "confirm"] {
            crate::js(
                c,
                &format!(
                    "document.getElementById('{id}').setAttribute('request', {:?}); return null;",
                    request.to_string()
                ),
            )
            .await?;
        }
        wait_text(
            c,
            "#estimate .ck-estimate-amount",
            "the live estimate",
            |t| t.ends_with(&expected),
        )
        .await?;
        click(c, "#confirm .ck-confirm-open").await?;
        wait_text(c, "#confirm [role=dialog]", "the confirm dialog", |t| {
            t.contains(&expected)
        })
        .await?;
        close_dialogs(c).await?;
        println!("promise: {request}: the element and the confirm dialog show {expected}");
    }
    Ok(())
}

/// Escape, as a user would, until no dialog is open.
async fn close_dialogs(c: &Client) -> Result<()> {
    for _ in 0..50 {
        let open = crate::js(c, "return document.querySelector('.ck-backdrop') !== null;").await?;
        if open == json!(false) {
            return Ok(());
        }
        // Where a user would be: in the dialog (the scenario typed in the page behind
        // it, which WebDriver allows and people cannot).
        crate::js(
            c,
            "const d = document.querySelector('.ck-backdrop [role=dialog]'); if (d && !d.contains(document.activeElement)) d.querySelector('button').focus(); return null;",
        )
        .await?;
        crate::audit::press(c, fantoccini::key::Key::Escape).await?;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let state = crate::js(
        c,
        "const a = document.activeElement; return [a ? a.outerHTML.slice(0, 200) : null, document.querySelector('.ck-backdrop').textContent];",
    )
    .await?;
    Err(format!(
        "a dialog stays open after Escape: focus and dialog: {state}"
    ))
}

/// "1 credit", "2,500 credits": what the widget writes in an en-US browser.
fn credits_text(millicredits: u64) -> String {
    let whole = millicredits / 1000;
    let mut digits = whole.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    let mut number = format!("{digits}{grouped}");
    let fraction = millicredits % 1000;
    if fraction > 0 {
        number = format!(
            "{number}.{}",
            format!("{fraction:03}").trim_end_matches('0')
        );
    }
    let unit = if millicredits == 1000 {
        "credit"
    } else {
        "credits"
    };
    format!("{number} {unit}")
}
