//! What every flow does with the page: run a script, read and wait for text, click (again
//! when the page redrew what was found), take a screenshot, and pay or decline in the
//! checkout window the page opened.

use crate::*;

pub(crate) async fn js(c: &Client, script: &str) -> Result<Value> {
    c.execute(script, Vec::new())
        .await
        .map_err(|e| format!("script `{script}`: {e}"))
}

pub(crate) async fn text(c: &Client, selector: &str) -> Result<String> {
    let script =
        format!("const e = document.querySelector({selector:?}); return e ? e.textContent : null;");
    Ok(js(c, &script).await?.as_str().unwrap_or("").to_string())
}

/// Polls `selector`'s text until `ok` holds.
pub(crate) async fn wait_text(
    c: &Client,
    selector: &str,
    what: &str,
    ok: impl Fn(&str) -> bool,
) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let t = text(c, selector).await?;
        if ok(&t) {
            return Ok(t);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "waited for {what} at `{selector}`; last text: {t:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks what `selector` finds. An element the page rendered again between finding and
/// clicking (a list redrawn as the data arrives) is found again, a few times.
pub(crate) async fn click(c: &Client, selector: &str) -> Result<()> {
    let mut attempts = 0;
    loop {
        let el = c
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(selector))
            .await
            .map_err(|e| format!("finding {selector}: {e}"))?;
        match el.click().await {
            Ok(()) => return Ok(()),
            Err(e) if attempts < 5 && e.to_string().contains("stale element") => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(format!("clicking {selector}: {e}")),
        }
    }
}

pub(crate) async fn shot(c: &Client, env: &Env, name: &str) -> Result<()> {
    let png = c.screenshot().await.map_err(|e| e.to_string())?;
    std::fs::write(env.artifacts.join(format!("{name}.png")), png).map_err(|e| e.to_string())
}

pub(crate) fn balance_is(expected: &'static str) -> impl Fn(&str) -> bool {
    move |t: &str| t.trim() == expected
}

pub(crate) async fn run_action(c: &Client, action: &str) -> Result<()> {
    click(c, &format!("[data-action={action}] .demo-run")).await?;
    wait_text(c, "[role=dialog] h2", "the confirm dialog", |t| {
        t.starts_with("Confirm")
    })
    .await?;
    Ok(())
}

/// Switches to the checkout window the page opened, pays there (the stand-in's page
/// says it takes no payment), waits for the return page, and comes back.
pub(crate) async fn pay_in_checkout_window(
    c: &Client,
    env: &Env,
    home: &fantoccini::wd::WindowHandle,
) -> Result<()> {
    in_checkout_window(c, env, home, "#pay", "Payment received").await
}

/// In the checkout window the page opened: clicks `button` on the stand-in's page
/// (`#pay`, or `#decline`: a bank debit that fails later), waits for the return page
/// to say `said`, and comes back.
pub(crate) async fn in_checkout_window(
    c: &Client,
    env: &Env,
    home: &fantoccini::wd::WindowHandle,
    button: &str,
    said: &str,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let checkout = loop {
        let windows = c.windows().await.map_err(|e| e.to_string())?;
        if let Some(w) = windows.into_iter().find(|w| w != home) {
            break w;
        }
        if Instant::now() > deadline {
            return Err("no checkout window opened".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    c.switch_to_window(checkout)
        .await
        .map_err(|e| e.to_string())?;
    wait_text(c, "body", "the checkout page", |t| {
        t.contains("no payment is taken")
    })
    .await?;
    if button == "#pay" {
        shot(c, env, "08a-checkout").await?;
    }
    click(c, button).await?;
    wait_text(c, "h1", "the return page", |t| t.contains(said)).await?;
    c.close_window().await.map_err(|e| e.to_string())?;
    c.switch_to_window(home.clone())
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
