//! What an end user judges without reading code: an automated accessibility audit
//! (axe-core from npm, injected into the page as it stands), the confirm and insufficient
//! flows walked with the keyboard alone, and the page on a 360 px phone in the dark theme.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::browser::Result;
use crate::{click, js, shot, wait_text, Env};

/// axe-core's source, from `CREDITKIT_AXE` (`cargo xtask test` installs it). Never skipped:
/// without it the audit fails and says how to run it.
fn axe_source() -> Result<String> {
    let path = std::env::var("CREDITKIT_AXE").map_err(|_| {
        "CREDITKIT_AXE is not set: run `cargo xtask test`, which installs axe-core".to_string()
    })?;
    std::fs::read_to_string(&path).map_err(|e| format!("reading axe-core at {path}: {e}"))
}

/// Runs axe-core over the whole document as it stands (open dialogs included). Fails on
/// any serious or critical violation; prints every violation it found.
pub(crate) async fn audit(c: &Client, what: &str) -> Result<()> {
    if js(c, "return typeof window.axe === 'object';").await? != json!(true) {
        let source = axe_source()?;
        c.execute(
            "const s = document.createElement('script'); s.textContent = arguments[0];
             document.head.appendChild(s); return typeof window.axe;",
            vec![Value::String(source)],
        )
        .await
        .map_err(|e| format!("injecting axe-core: {e}"))?;
    }
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ')) }))))
               .catch(e => done({ error: String(e) }));",
            Vec::new(),
        )
        .await
        .map_err(|e| format!("running axe-core: {e}"))?;
    let Some(violations) = found.as_array() else {
        return Err(format!("axe-core on {what}: {found}"));
    };
    let grave: Vec<&Value> = violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    println!(
        "accessibility audit (axe-core) of {what}: {} violations, {} serious or critical{}",
        violations.len(),
        grave.len(),
        if violations.is_empty() {
            String::new()
        } else {
            format!(": {}", Value::Array(violations.clone()))
        }
    );
    if grave.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "axe-core found serious or critical violations on {what}: {}",
            Value::Array(grave.into_iter().cloned().collect())
        ))
    }
}

/// One key pressed and released, sent to whatever has focus.
pub(crate) async fn press(c: &Client, key: Key) -> Result<()> {
    let value: char = key.into();
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    c.perform_actions(actions)
        .await
        .map_err(|e| format!("pressing {key:?}: {e}"))
}

/// Polls `check` (a script answering true or false) for up to 5 s.
async fn until(c: &Client, check: impl AsyncFn(&Client) -> Result<bool>) -> Result<bool> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if check(c).await? {
            return Ok(true);
        }
        if std::time::Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

async fn focus_matches(c: &Client, selector: &str) -> Result<bool> {
    let script =
        format!("const a = document.activeElement; return !!a && a.matches({selector:?});");
    Ok(js(c, &script).await? == json!(true))
}

async fn focus_inside(c: &Client, selector: &str) -> Result<bool> {
    let script = format!(
        "const a = document.activeElement, d = document.querySelector({selector:?});
         return !!a && !!d && d.contains(a) && a !== d;"
    );
    Ok(js(c, &script).await? == json!(true))
}

/// Presses Tab until `selector` has focus (as a keyboard user would reach it).
pub(crate) async fn tab_to(c: &Client, selector: &str) -> Result<u32> {
    for presses in 0..120 {
        if focus_matches(c, selector).await? {
            return Ok(presses);
        }
        press(c, Key::Tab).await?;
    }
    Err(format!("120 presses of Tab never reached {selector}"))
}

/// Opens `opener`'s dialog with Enter and checks the modal: focus moves in, Tab stays in,
/// Escape closes it and gives focus back to the opener; then opens it again with Enter.
pub(crate) async fn walk_dialog(c: &Client, opener: &str, dialog: &str, what: &str) -> Result<()> {
    let tabs = tab_to(c, opener).await?;
    press(c, Key::Enter).await?;
    c.wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(Locator::Css(dialog))
        .await
        .map_err(|e| format!("{what}: Enter on {opener} opened no {dialog}: {e}"))?;
    if !until(c, async |c| focus_inside(c, dialog).await).await? {
        return Err(format!("{what}: focus did not move into the dialog"));
    }
    for _ in 0..6 {
        press(c, Key::Tab).await?;
        if !focus_inside(c, dialog).await? {
            return Err(format!("{what}: Tab left the open dialog"));
        }
    }
    press(c, Key::Escape).await?;
    let closed = format!("return document.querySelector({dialog:?}) === null;");
    if !until(c, async |c| Ok(js(c, &closed).await? == json!(true))).await? {
        return Err(format!("{what}: Escape did not close the dialog"));
    }
    if !until(c, async |c| focus_matches(c, opener).await).await? {
        return Err(format!("{what}: focus did not return to {opener}"));
    }
    press(c, Key::Enter).await?;
    c.wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(Locator::Css(dialog))
        .await
        .map_err(|e| format!("{what}: Enter did not open the dialog again: {e}"))?;
    println!("keyboard: {what} reached in {tabs} Tabs, opened with Enter, Tab kept inside, Escape closed it and gave focus back");
    Ok(())
}

/// The demo and the plain page on a 360 px phone in the dark theme: no sideways
/// scrolling, screenshots, and the audit (contrast included) with dark colours.
pub(crate) async fn phone_in_the_dark(c: &Client, env: &Env) -> Result<()> {
    c.goto(&format!("{}/#kappax", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(c, ".ck-balance-amount", "the balance", |t| {
        t.contains("credits")
    })
    .await?;
    let media = js(
        c,
        "return [matchMedia('(prefers-color-scheme: dark)').matches, innerWidth,
                 document.documentElement.scrollWidth,
                 getComputedStyle(document.body).backgroundColor];",
    )
    .await?;
    let (dark, width, scroll) = (
        media[0] == json!(true),
        media[1].as_u64().unwrap_or(0),
        media[2].as_u64().unwrap_or(u64::MAX),
    );
    if !dark || width > 400 {
        return Err(format!(
            "the phone session is not a dark 360 px screen: {media}"
        ));
    }
    if scroll > width {
        return Err(format!(
            "the demo scrolls sideways on a {width} px screen ({scroll} px wide)"
        ));
    }
    if media[3] == json!("rgb(245, 246, 248)") {
        return Err("the demo page keeps its light background in the dark theme".into());
    }
    shot(c, env, "15-phone-dark").await?;
    audit(c, "the demo page, phone, dark theme").await?;
    click(c, "[data-action=static_creative] .demo-run").await?;
    wait_text(c, "[role=dialog] h2", "the confirm dialog", |t| {
        t.starts_with("Confirm")
    })
    .await?;
    let fits = js(
        c,
        "const r = document.querySelector('[role=dialog]').getBoundingClientRect();
         return [r.left, r.right, innerWidth];",
    )
    .await?;
    let (left, right, width) = (
        fits[0].as_f64().unwrap_or(-1.0),
        fits[1].as_f64().unwrap_or(f64::MAX),
        fits[2].as_f64().unwrap_or(0.0),
    );
    if left < 0.0 || right > width {
        return Err(format!(
            "the confirm dialog does not fit the phone's screen: {fits}"
        ));
    }
    // Nothing lies over the dialog's buttons: what the page finds across each button
    // (inside its rounded corners) is that button, or inside it.
    let covered = js(
        c,
        "const out = [];
         for (const b of document.querySelectorAll('[role=dialog] button')) {
           const r = b.getBoundingClientRect();
           const at = (fx, fy) => [r.left + r.width * fx, r.top + r.height * fy];
           const points = [at(.15, .5), at(.85, .5), at(.5, .2), at(.5, .8), at(.5, .5)];
           for (const [x, y] of points) {
             const hit = document.elementFromPoint(x, y);
             if (!hit || !(hit === b || b.contains(hit))) out.push(b.textContent + ' under ' + (hit ? hit.outerHTML.slice(0, 80) : 'nothing'));
           }
         }
         return out;",
    )
    .await?;
    if covered.as_array().is_none_or(|a| !a.is_empty()) {
        return Err(format!(
            "something lies over the dialog's buttons: {covered}"
        ));
    }
    shot(c, env, "16-phone-dark-confirm").await?;
    audit(c, "the confirm dialog, phone, dark theme").await?;
    press(c, Key::Escape).await?;

    // The account panels (buy, plan and allowance) on the phone, dark: they fit, and pass.
    click(c, "#demo-topup").await?;
    wait_text(c, ".ck-buy [data-plan=monthly]", "the buy panel", |t| {
        t.contains("Monthly")
    })
    .await?;
    wait_text(c, ".ck-plan [data-field=plan]", "the plan panel", |t| {
        !t.is_empty()
    })
    .await?;
    fits_the_phone(c, "the account panels").await?;
    shot(c, env, "16a-phone-dark-account").await?;
    audit(c, "the buy and plan panels, phone, dark theme").await?;
    // Kopai's: earnings, agent cards, the chat's total and the choice to run small
    // turns unasked, on the phone in the dark (a fresh load: a hash alone does not).
    c.goto("about:blank").await.map_err(|e| e.to_string())?;
    c.goto(&format!("{}/#kopai", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(
        c,
        "[data-agent=seo-writer] [data-field=per-message]",
        "the agent cards",
        |t| !t.is_empty(),
    )
    .await?;
    click(c, "#demo-topup").await?;
    wait_text(
        c,
        ".ck-earnings [data-field=available]",
        "the earnings",
        |t| !t.is_empty(),
    )
    .await?;
    fits_the_phone(c, "Kopai's panels").await?;
    shot(c, env, "16b-phone-dark-kopai").await?;
    audit(c, "earnings, agents and the chat, phone, dark theme").await?;
    // The Landing builder's price-change notice and the alert levels, on the phone.
    c.goto("about:blank").await.map_err(|e| e.to_string())?;
    c.goto(&format!("{}/#landing", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(
        c,
        ".ck-price-notice [data-field=when]",
        "the price-change notice",
        |t| !t.is_empty(),
    )
    .await?;
    wait_text(c, ".ck-alerts", "the alert levels", |t| !t.is_empty()).await?;
    fits_the_phone(c, "the notice and the alerts").await?;
    shot(c, env, "16c-phone-dark-notice-alerts").await?;
    audit(c, "the price notice and the alerts, phone, dark theme").await?;
    // The French page's elements (plan, buy, alerts) on the phone.
    c.goto(&format!("{}/www/fr.html", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(c, "#plan [data-field=plan]", "the French plan", |t| {
        !t.is_empty()
    })
    .await?;
    wait_text(c, "#alerts .ck-alerts", "the French alerts", |t| {
        !t.is_empty()
    })
    .await?;
    fits_the_phone(c, "the French panels").await?;
    shot(c, env, "16d-phone-dark-french").await?;
    audit(c, "the French plan, buy and alerts, phone, dark theme").await?;

    c.goto(&format!("{}/www/index.html", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(
        c,
        "#estimate .ck-estimate-amount",
        "the element's estimate",
        |t| t == "2 credits",
    )
    .await?;
    shot(c, env, "17-phone-dark-plain-html").await?;
    audit(c, "the plain-HTML page, phone, dark theme").await
}

/// `what` is as wide as the phone's screen, no wider (no sideways scrolling).
async fn fits_the_phone(c: &Client, what: &str) -> Result<()> {
    let scroll = js(
        c,
        "return [document.documentElement.scrollWidth, innerWidth];",
    )
    .await?;
    if scroll[0].as_u64() > scroll[1].as_u64() {
        return Err(format!("{what} scroll sideways on the phone: {scroll}"));
    }
    Ok(())
}
