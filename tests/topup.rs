//! Automatic top-up in the shipped component, against the real server and its worker
//! paying through the Stripe stand-in (issue 37): a member sets the rule, saves a card
//! by buying once, the first automatic payment is declined and the panel says "auto
//! top-up failed — update your card" with the button that fixes it; a new card saved,
//! the top-up is paid and the panel says so.

use crate::*;

/// Sets how the stand-in answers charges of every card.
async fn cards_answer(env: &Env, result: &str) -> Result<()> {
    let r = env
        .http
        .post(format!("{}/_test/cards?result={result}", env.stripe))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("the stand-in refused `{result}`: {}", r.status()));
    }
    Ok(())
}

/// The balance as the badge says it ("1,067.5 credits"), in milli-credits.
async fn shown_mc(c: &Client) -> Result<u64> {
    let t = text(c, ".ck-balance-amount").await?;
    let number = t.trim_end_matches(" credits").replace(',', "");
    let (whole, frac) = number.split_once('.').unwrap_or((&number, ""));
    let frac = format!("{frac:0<3}");
    match (whole.parse::<u64>(), frac.get(..3).map(str::parse::<u64>)) {
        (Ok(w), Some(Ok(f))) if frac.len() == 3 => Ok(w * 1000 + f),
        _ => Err(format!("the balance reads {t:?}")),
    }
}

/// Waits until the badge shows `want_mc`.
async fn wait_balance(c: &Client, what: &str, want_mc: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = shown_mc(c).await?;
        if now == want_mc {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{what}: the balance shows {now} mc, want {want_mc}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn auto_topup(c: &Client, env: &Env) -> Result<()> {
    c.goto("about:blank").await.map_err(|e| e.to_string())?;
    c.goto(&format!("{}/#kopai", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(c, ".ck-balance-amount", "Kopai's balance", |t| {
        t.ends_with("credits")
    })
    .await?;
    let before = shown_mc(c).await?;
    click(c, "#demo-topup").await?;
    wait_text(c, ".ck-topup", "the auto top-up panel", |t| {
        t.contains("Your card is charged only when your credits run low")
    })
    .await?;
    // Far above the balance: once a card is saved, it buys at once.
    js(
        c,
        "const f = document.querySelector('.ck-topup-form');
         const set = (name, value) => { const e = f.elements[name]; e.value = value;
           e.dispatchEvent(new Event('change', { bubbles: true })); };
         set('below', '100000'); set('pack', 'starter'); set('times', '2'); return true;",
    )
    .await?;
    click(c, ".ck-topup-form button[type=submit]").await?;
    wait_text(c, ".ck-topup", "the rule waiting for a card", |t| {
        t.contains("Save a card to turn it on")
    })
    .await?;
    // Every automatic charge declines from now on.
    cards_answer(env, "decline").await?;
    let home = c.window().await.map_err(|e| e.to_string())?;
    let save = text(c, ".ck-topup button.ck-primary").await?;
    if save != "Buy Starter ($5.00) and save my card" {
        return Err(format!("the save-card button reads {save:?}"));
    }
    click(c, ".ck-topup button.ck-primary").await?;
    crate::in_checkout_window(c, env, &home, "#pay", "Payment received").await?;
    let failed = wait_text(c, ".ck-topup-failed", "the failed top-up, said", |t| {
        t.contains("Auto top-up failed — update your card.")
    })
    .await?;
    if !failed.contains("Your card was declined.") || !failed.contains("We try again") {
        return Err(format!("the failure reads {failed:?}"));
    }
    let fix = text(c, ".ck-topup-failed button").await?;
    if fix != "Update my card (buys Starter, $5.00)" {
        return Err(format!("the fix reads {fix:?}"));
    }
    // The pack bought with the card arrived; the declined top-up added nothing.
    wait_balance(c, "the pack bought", before + 50_000).await?;
    shot(c, env, "14g-auto-topup-failed").await?;
    audit::audit(c, "the auto top-up panel with a failed payment").await?;
    // A new card: the rule resumes and the top-up is paid with it.
    cards_answer(env, "ok").await?;
    click(c, ".ck-topup-failed button").await?;
    crate::in_checkout_window(c, env, &home, "#pay", "Payment received").await?;
    let status = wait_text(
        c,
        ".ck-topup [data-field=topup-status]",
        "the top-up paid",
        |t| t.contains("1 of at most 2 this month"),
    )
    .await?;
    if !status.starts_with(
        "On: when fewer than 100,000 credits are left, we buy Starter (50 credits, $5.00)",
    ) {
        return Err(format!("the rule reads {status:?}"));
    }
    wait_balance(c, "the packs and the top-up", before + 150_000).await?;
    shot(c, env, "14h-auto-topup-on").await?;
    // Off, and said so.
    click(c, ".ck-topup-form button.ck-secondary").await?;
    wait_text(c, ".ck-topup [role=status]", "turned off", |t| {
        t == "Automatic top-up is off."
    })
    .await?;
    Ok(())
}
