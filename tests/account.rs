//! What an end user reads of their account in the shipped components, on the demo page
//! against the real server: the plan and what is left of its allowance, what they can
//! buy (the current plan marked), and a creator's earnings (issue 31).

use crate::*;

/// Kopai (seed 004): an agent's first messages are free; the turn is sent through the
/// same flow, and the agent's card counts it.
pub(crate) async fn kopai_free_message(c: &Client, env: &Env) -> Result<()> {
    c.goto(&format!("{}/#kopai", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(
        c,
        ".ck-balance-amount",
        "Kopai's seeded balance",
        balance_is("20 credits"),
    )
    .await?;
    let input = c
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("#demo-chat-input"))
        .await
        .map_err(|e| e.to_string())?;
    input
        .send_keys("Draft a meta description")
        .await
        .map_err(|e| e.to_string())?;
    wait_text(c, "#demo-turn-cost", "a free turn", |t| {
        t.ends_with("· 0 credits")
    })
    .await?;
    click(c, "#demo-send").await?;
    wait_text(c, "[role=dialog] h2", "the confirm dialog", |t| {
        t.contains("Send message")
    })
    .await?;
    let dialog = text(c, "[role=dialog]").await?;
    if !dialog.contains("Free message 1 of 5") {
        return Err(format!("free turn dialog reads {dialog:?}"));
    }
    click(c, "[role=dialog] .ck-primary").await?;
    wait_text(c, "[role=dialog] .ck-done", "the free turn", |t| {
        t.contains("Charged 0 credits")
    })
    .await?;
    click(c, "[role=dialog] .ck-primary").await?;
    wait_text(c, ".demo-turns", "the sent turn", |t| {
        t.contains("Draft a meta description")
    })
    .await?;
    wait_text(
        c,
        ".ck-balance-amount",
        "an unchanged balance",
        balance_is("20 credits"),
    )
    .await?;
    // The agent's card counts it: four free messages left for this member.
    wait_text(
        c,
        "[data-agent=seo-writer] [data-field=free-left]",
        "the free messages left",
        |t| t == "4 of 5 free messages left",
    )
    .await?;
    shot(c, env, "11-kopai-free-message").await?;
    Ok(())
}

/// The landing builder after a 2K image on Free (seed 002): 190 of 250 credits left,
/// reset date and no rollover said, Free marked as the current plan, Starter and Pro
/// offered; the panel passes the accessibility audit.
pub(crate) async fn plan_and_buy(c: &Client, env: &Env) -> Result<()> {
    c.goto("about:blank").await.map_err(|e| e.to_string())?;
    c.goto(&format!("{}/#landing", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(
        c,
        ".ck-balance-amount",
        "the balance after the image",
        |t| t == "190 credits",
    )
    .await?;
    click(c, "#demo-topup").await?;
    wait_text(c, ".ck-plan [data-field=plan]", "the plan", |t| t == "Free").await?;
    wait_text(
        c,
        ".ck-plan [data-field=allowance]",
        "the allowance left",
        |t| t == "190 credits left of 250 credits",
    )
    .await?;
    let resets = text(c, ".ck-plan [data-field=resets]").await?;
    if !resets.starts_with("Resets to the full allowance on ")
        || !resets.contains("Unused credits do not roll over")
    {
        return Err(format!("the plan's reset reads {resets:?}"));
    }
    let expiry = text(c, ".ck-expiry tbody").await?;
    if !expiry.contains("Free plan") || !expiry.contains("190 credits") {
        return Err(format!("the expiry table reads {expiry:?}"));
    }
    let marked = js(
        c,
        "return [...document.querySelectorAll('.ck-plans [data-plan]')]
           .map(li => [li.dataset.plan, li.getAttribute('aria-current'), !!li.querySelector('button')]);",
    )
    .await?;
    let want = json!([
        ["free", "true", false],
        ["starter", null, true],
        ["pro", null, true]
    ]);
    if marked != want {
        return Err(format!("plans read {marked}, want {want}"));
    }
    // The price change the demo scheduled (2K images 60 → 75 in three weeks): the Free
    // plan keeps today's prices until it renews, and the image this member made is
    // priced old → new, in words.
    wait_text(
        c,
        ".ck-price-notice [data-field=when]",
        "the price-change notice",
        |t| {
            t.starts_with("New prices take effect on ")
                && t.contains("Your plan keeps today's prices until it renews on ")
        },
    )
    .await?;
    let changes = text(c, ".ck-price-notice ul").await?;
    if changes != "Image generation (2k): 60 credits → 75 credits" {
        return Err(format!("the notice prices {changes:?}"));
    }
    shot(c, env, "14a-plan-and-buy").await?;
    audit::audit(c, "the buy and plan panels and the price notice").await?;
    // Usage by member names the member (an admin sees everyone's), never an id.
    js(
        c,
        "const u = document.querySelector('.ck-usage select'); u.value = 'member';
         u.dispatchEvent(new Event('change', { bubbles: true })); return true;",
    )
    .await?;
    wait_text(c, ".ck-usage svg", "usage by member, by name", |t| {
        t.contains("Alice") && !t.contains("mem_")
    })
    .await?;
    Ok(())
}

/// The landing builder (seed 002): Starter bought through checkout, then upgraded to Pro
/// now (its credits when the prorated invoice is paid), switched back to Starter from
/// the renewal, and canceled at the period's end, each saying when it takes effect.
pub(crate) async fn plan_lifecycle(c: &Client, env: &Env) -> Result<()> {
    let home = c.window().await.map_err(|e| e.to_string())?;
    click(c, ".ck-buy [data-plan=starter] button").await?;
    crate::in_checkout_window(c, env, &home, "#pay", "Payment received").await?;
    // The page follows the checkout: "processing" turns into what the provider said.
    wait_text(c, ".ck-buy [role=alert]", "the payment, followed", |t| {
        t.starts_with("Payment received: 1,000 credits added")
    })
    .await?;
    wait_text(
        c,
        ".ck-subscription [data-field=subscription]",
        "the subscription",
        |t| t == "Starter, $49.00 a month",
    )
    .await?;
    click(c, ".ck-subscription [data-change=upgrade]").await?;
    wait_text(
        c,
        ".ck-subscription [data-field=subscription]",
        "the upgrade, once paid",
        |t| t == "Pro, $79.00 a month",
    )
    .await?;
    wait_text(
        c,
        ".ck-plan [data-field=plan]",
        "the plan after the upgrade",
        |t| t == "Pro",
    )
    .await?;
    wait_text(
        c,
        ".ck-plan [data-field=resets]",
        "a paid plan's reset",
        |t| t.starts_with("Resets to the full allowance on "),
    )
    .await?;
    click(c, ".ck-subscription [data-change=downgrade]").await?;
    wait_text(
        c,
        ".ck-subscription [data-field=subscription-state]",
        "the downgrade, from the renewal",
        |t| t.starts_with("Changes to Starter on "),
    )
    .await?;
    click(c, ".ck-subscription [data-change=cancel]").await?;
    wait_text(
        c,
        ".ck-subscription [data-field=subscription-state]",
        "the end at the period's end",
        |t| t.starts_with("Ends on ") && t.ends_with("you keep its credits until then."),
    )
    .await?;
    shot(c, env, "14e-subscription").await?;
    audit::audit(c, "the subscription panel").await?;
    Ok(())
}

/// Kumari (seed 003): the Custom Pack is bought by amount ("from $10"); a bank debit that
/// fails after the buyer came back reads "Payment failed", and nothing was added.
pub(crate) async fn a_failed_payment_says_so(c: &Client, env: &Env) -> Result<()> {
    c.goto("about:blank").await.map_err(|e| e.to_string())?;
    c.goto(&format!("{}/#kumari", env.base))
        .await
        .map_err(|e| e.to_string())?;
    let before = wait_text(c, ".ck-balance-amount", "Kumari's balance", |t| {
        t.ends_with("credits")
    })
    .await?;
    click(c, "#demo-topup").await?;
    wait_text(
        c,
        "[data-pack=custom] [data-field=from]",
        "the Custom Pack's lowest price",
        |t| t == "From $10.00",
    )
    .await?;
    let units = c
        .find(Locator::Css("[data-pack=custom] input"))
        .await
        .map_err(|e| e.to_string())?;
    units.clear().await.map_err(|e| e.to_string())?;
    units.send_keys("25").await.map_err(|e| e.to_string())?;
    wait_text(
        c,
        "[data-pack=custom] [data-field=total]",
        "the amount's total as typed",
        |t| t == "2,500 credits for $25.00",
    )
    .await?;
    let home = c.window().await.map_err(|e| e.to_string())?;
    click(c, "[data-pack=custom] button").await?;
    crate::in_checkout_window(c, env, &home, "#decline", "Payment failed").await?;
    wait_text(c, ".ck-buy [role=alert]", "the failed payment, said", |t| {
        t.starts_with("Payment failed: nothing was charged.")
    })
    .await?;
    let after = text(c, ".ck-balance-amount").await?;
    if after != before {
        return Err(format!(
            "a failed payment moved the balance: {before} → {after}"
        ));
    }
    shot(c, env, "14f-payment-failed").await?;
    audit::audit(c, "a failed payment").await?;
    Ok(())
}

/// Kopai (seed 004): the earnings panel reads the wallet's earnings from the server,
/// with the payout minimum; with nothing available, a payout cannot be asked for.
pub(crate) async fn earnings(c: &Client, env: &Env) -> Result<()> {
    c.goto("about:blank").await.map_err(|e| e.to_string())?;
    c.goto(&format!("{}/#kopai", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(c, ".ck-balance-amount", "Kopai's balance", |t| {
        t.ends_with("credits")
    })
    .await?;
    // After a reload the agent's card still counts the free message sent before it,
    // from the server, with its price per message (GPT-4o's 1 credit + 0.5 add-on).
    wait_text(
        c,
        "[data-agent=seo-writer] [data-field=free-left]",
        "the free messages left after a reload",
        |t| t == "4 of 5 free messages left",
    )
    .await?;
    let price = text(c, "[data-agent=seo-writer] [data-field=per-message]").await?;
    if price != "1.5 credits a message after the free ones" {
        return Err(format!("the agent's price reads {price:?}"));
    }
    click(c, "#demo-topup").await?;
    wait_text(
        c,
        ".ck-earnings [data-field=available]",
        "the earnings",
        |t| t == "0 credits",
    )
    .await?;
    // Kopai's plans gate features (seed 004): what each includes, in words.
    let pro = text(c, ".ck-buy [data-plan=pro] .ck-features").await?;
    let free = text(c, ".ck-buy [data-plan=free] .ck-features").await?;
    if !pro.contains("Web search tool")
        || !free.contains("Knowledge base (PDF): up to 1 file")
        || free.contains("Web search")
    {
        return Err(format!(
            "the plans' features read Free {free:?}, Pro {pro:?}"
        ));
    }
    let panel = text(c, ".ck-earnings").await?;
    if !panel.contains("Payouts from 100 credits")
        || !panel.contains("Pending (available after about 24 hours)")
    {
        return Err(format!("the earnings panel reads {panel:?}"));
    }
    let disabled = js(
        c,
        "return document.querySelector('.ck-earnings button').disabled;",
    )
    .await?;
    if disabled != json!(true) {
        return Err("a payout of nothing can be asked for".into());
    }
    shot(c, env, "14b-kopai-earnings").await?;
    chat_without_a_dialog_per_turn(c, env).await
}

/// Seed 000: the conversation's running total at the top of the chat, counted by the
/// server (it survived the reload above), and turns the user lets run unasked: after
/// opting in, a turn within the limit runs with no dialog and is counted.
async fn chat_without_a_dialog_per_turn(c: &Client, env: &Env) -> Result<()> {
    wait_text(
        c,
        "[data-field=chat-total]",
        "the conversation's total after a reload",
        |t| t == "This conversation: 0 credits over 1 turn",
    )
    .await?;
    let off = js(
        c,
        "return document.querySelector('.ck-auto-confirm input[type=checkbox]').checked;",
    )
    .await?;
    if off != json!(false) {
        return Err("auto-confirm is on before the user chose it".into());
    }
    js(
        c,
        "document.querySelector('.ck-auto-confirm input[type=checkbox]').click();
         const t = document.querySelector('#demo-chat-input'); t.value = 'Another meta description';
         t.dispatchEvent(new Event('input', { bubbles: true })); return true;",
    )
    .await?;
    wait_text(c, "#demo-turn-cost", "the free turn's estimate", |t| {
        t.ends_with("· 0 credits")
    })
    .await?;
    // Watch for any dialog while the turn runs.
    js(
        c,
        "window.__dialogs = 0; new MutationObserver(() => { if (document.querySelector('[role=dialog]')) window.__dialogs++; })
           .observe(document.body, { childList: true, subtree: true }); return true;",
    )
    .await?;
    click(c, "#demo-send").await?;
    wait_text(c, ".demo-turns", "the unasked turn", |t| {
        t.contains("Another meta description")
    })
    .await?;
    wait_text(
        c,
        "[data-field=chat-total]",
        "the conversation's total",
        |t| t == "This conversation: 0 credits over 2 turns",
    )
    .await?;
    let dialogs = js(c, "return window.__dialogs;").await?;
    if dialogs != json!(0) {
        return Err(format!(
            "an opted-in turn opened a dialog ({dialogs} times)"
        ));
    }
    shot(c, env, "14c-chat-unasked").await?;
    wallet_switch(c, env).await
}

/// Seed 004: personal and organization wallets are separate. The switcher lists the
/// wallets this member may use; choosing the personal one moves the balance (and what
/// the panels read) to it, and back.
async fn wallet_switch(c: &Client, env: &Env) -> Result<()> {
    let shared = text(c, ".ck-balance-amount").await?;
    let options = js(
        c,
        "return [...document.querySelectorAll('.ck-wallets option')].map(o => o.textContent);",
    )
    .await?;
    let texts: Vec<&str> = options
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    if texts.len() < 2
        || !texts[0].starts_with("Shared")
        || !texts.iter().any(|t| t.starts_with("Personal · 0 credits"))
    {
        return Err(format!("the wallet switcher reads {options}"));
    }
    let choose = |kind: &'static str| {
        format!(
            "const s = document.querySelector('.ck-wallets select');
             s.value = [...s.options].find(o => o.textContent.startsWith('{kind}')).value;
             s.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;"
        )
    };
    js(c, &choose("Personal")).await?;
    wait_text(
        c,
        ".ck-balance-amount",
        "the personal wallet's balance",
        |t| t == "0 credits",
    )
    .await?;
    shot(c, env, "14d-personal-wallet").await?;
    wait_text(
        c,
        ".ck-wallets select",
        "the switcher on the personal wallet",
        |t| t.contains("Shared"),
    )
    .await?;
    js(c, &choose("Shared")).await?;
    wait_text(
        c,
        ".ck-balance-amount",
        "the shared wallet's balance again",
        |t| t == shared,
    )
    .await?;
    Ok(())
}
