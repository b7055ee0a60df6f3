//! Flows of the demo, each from a seed rule: a chat turn that streams (charged as it
//! streams, exact after completion), a spending cap set by an admin that stops a member,
//! and an action of each other seed product priced, confirmed and charged.

use crate::*;

/// A chat turn on a model priced per output token streams: the confirm dialog says it
/// is charged as it streams, the reply grows chunk by chunk while the hold grows with
/// it, and the exact cost is shown after completion (seed 003).
pub(crate) async fn streamed_turn(c: &Client, env: &Env) -> Result<()> {
    let before = text(c, ".ck-balance-amount").await?;
    js(
        c,
        "const t = document.querySelector('#demo-chat-input'); t.value = 'Ideas for the spring sale';
         t.dispatchEvent(new Event('input', { bubbles: true })); return true;",
    )
    .await?;
    wait_text(c, "#demo-turn-cost", "the turn's estimate", |t| {
        t.contains("credits")
    })
    .await?;
    click(c, "#demo-send").await?;
    let dialog = wait_text(
        c,
        "[role=dialog] [data-field=streamed]",
        "the streamed turn's dialog",
        |t| t.contains("Charged as it streams"),
    )
    .await?;
    shot(c, env, "09a-streamed-confirm").await?;
    click(c, "[role=dialog] .ck-primary").await?;
    wait_text(c, ".demo-turns", "the reply streaming in", |t| {
        t.contains("Spring sale ideas")
    })
    .await?;
    let done = wait_text(c, "[role=dialog] .ck-done", "the turn's exact cost", |t| {
        t.contains("Charged")
    })
    .await?;
    let reply = wait_text(c, ".demo-turns", "the exact cost in the chat", |t| {
        t.contains("exactly")
    })
    .await?;
    shot(c, env, "09b-streamed-done").await?;
    click(c, "[role=dialog] .ck-primary").await?;
    let charged = done
        .split("Charged ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(parse_millicredits)
        .ok_or_else(|| format!("cannot read the charge in {done:?}"))?;
    let was = parse_millicredits(before.split(' ').next().unwrap_or("")).ok_or("balance")?;
    let after = format!("{} credits", credits_text(was - charged));
    wait_text(c, ".ck-balance-amount", "the balance after the turn", |t| {
        t == after
    })
    .await?;
    println!(
        "streamed turn: {dialog:?}; charged {} credits; reply {:?}",
        credits_text(charged),
        reply.chars().take(60).collect::<String>()
    );
    Ok(())
}

/// Alice (an admin) caps Bob's spending in the widget; Bob's next action is stopped by
/// the cap — told it is a cap, not the balance, and who can raise it.
pub(crate) async fn caps_set_by_an_admin_stop_a_member(c: &Client, env: &Env) -> Result<()> {
    let bob = env.demo["products"][0]["members"][1]["id"]
        .as_str()
        .ok_or("no Bob")?
        .to_string();
    js(
        c,
        &format!(
            "const f = document.querySelector('.ck-cap-form');
             const [scope, who] = f.querySelectorAll('select');
             who.value = '{bob}'; who.dispatchEvent(new Event('change', {{ bubbles: true }}));
             const limit = f.querySelector('input[inputmode=decimal]');
             limit.value = '1'; limit.dispatchEvent(new Event('change', {{ bubbles: true }}));
             const period = f.querySelectorAll('select')[2];
             period.value = 'day'; period.dispatchEvent(new Event('change', {{ bubbles: true }}));
             return true;"
        ),
    )
    .await?;
    click(c, ".ck-cap-form button[type=submit]").await?;
    wait_text(c, ".ck-caps-table tbody", "Bob's cap in the table", |t| {
        t.contains("Bob") && t.contains("daily")
    })
    .await?;
    shot(c, env, "09c-cap-set").await?;
    // Now as Bob.
    click(c, ".demo-member input").await?;
    wait_text(c, ".ck-balance-amount", "Bob's view of the balance", |t| {
        t.contains("credits")
    })
    .await?;
    run_action_blocked(c, "static_creative").await?;
    let prompt = wait_text(
        c,
        "[role=alertdialog] [data-field=cap]",
        "the cap prompt",
        |t| t.contains("your daily spending cap") && t.contains("admin"),
    )
    .await?;
    shot(c, env, "09d-cap-reached").await?;
    click(c, "[role=alertdialog] .ck-primary").await?;
    // Bob sees the cap, but may not change it.
    let remove = js(
        c,
        "return document.querySelectorAll('.ck-caps-table button').length;",
    )
    .await?;
    if remove != json!(0) {
        return Err(format!("a member sees {remove} remove buttons"));
    }
    click(c, ".demo-member input").await?; // back to Alice, who removes it
    click(c, ".ck-caps-table button").await?;
    wait_text(c, ".ck-caps", "no caps left", |t| {
        t.contains("No spending caps")
    })
    .await?;
    println!("cap: {prompt:?}");
    Ok(())
}

/// Runs `action` of a seed product with `params` set through the editor's controls.
pub(crate) async fn product_action(
    c: &Client,
    env: &Env,
    product: &str,
    action: &str,
    params: &[(&str, &str)],
    balance_credits: u64,
    shot_name: &str,
) -> Result<()> {
    let card_json = std::fs::read_to_string(format!(
        "{}/../examples/ratecards/{product}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .map_err(|e| e.to_string())?;
    let card = creditkit_pricing::parse_card(&card_json).map_err(|e| e.to_string())?;
    let mut item = creditkit_pricing::Item::new(action);
    let a = card.action(action).ok_or("no such action")?;
    for (name, count) in &a.counts {
        item = item.param(name.clone(), count.default.unwrap_or(count.min));
    }
    for (k, v) in params {
        item = match v.parse::<u64>() {
            Ok(n) => item.param(*k, n),
            Err(_) => item.param(*k, v.to_string()),
        };
    }
    let est = creditkit_pricing::estimate(&card, &creditkit_pricing::Request::single(item))
        .map_err(|e| e.to_string())?;
    let credits = |mc: u64| mc / 1000;
    let want = if est.exact {
        format!("{} credits", credits(est.max_millicredits))
    } else {
        format!(
            "{}–{} credits",
            credits(est.min_millicredits),
            credits(est.max_millicredits)
        )
    };

    c.goto("about:blank").await.map_err(|e| e.to_string())?;
    c.goto(&format!("{}/#{product}", env.base))
        .await
        .map_err(|e| e.to_string())?;
    let seeded = format!("{balance_credits} credits");
    wait_text(c, ".ck-balance-amount", "the seeded balance", |t| {
        t == seeded
    })
    .await?;
    for (k, v) in params {
        js(
            c,
            &format!(
                "const el = document.querySelector('[data-action={action}] [data-param={k}]');
                 el.value = '{v}';
                 el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', {{ bubbles: true }}));
                 return true;"
            ),
        )
        .await?;
    }
    let sel = format!("[data-action={action}] .ck-estimate-amount");
    wait_text(c, &sel, "the engine's estimate", |t| t == want).await?;
    run_action(c, action).await?;
    let dialog = text(c, "[role=dialog]").await?;
    let max = format!("{} credits", credits(est.max_millicredits));
    if !dialog.contains(&max) {
        return Err(format!(
            "{product}: dialog {dialog:?} does not show the maximum {max}"
        ));
    }
    click(c, "[role=dialog] .ck-primary").await?;
    let done = wait_text(c, "[role=dialog] .ck-done", "the charge", |t| {
        t.contains("Charged")
    })
    .await?;
    let charged = done
        .split("Charged ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(parse_millicredits)
        .ok_or_else(|| format!("cannot read the charge in {done:?}"))?;
    if charged > est.max_millicredits || charged < est.min_millicredits {
        return Err(format!("{product}: charged {charged} mc outside {want}"));
    }
    let after = format!("{} credits", credits_text(balance_credits * 1000 - charged));
    wait_text(
        c,
        ".ck-balance-amount",
        "the balance after the charge",
        |t| t == after,
    )
    .await?;
    shot(c, env, shot_name).await?;
    click(c, "[role=dialog] .ck-primary").await?;
    println!(
        "{product}/{action}: estimate {want}, charged {} credits, balance {after}",
        credits_text(charged)
    );
    Ok(())
}
