//! The second language, shown working where users see it: a page that says
//! `lang="fr"` gets French sentences, French numbers (grouping with a narrow space, a
//! decimal comma), French money and French dates — from the same embeddable module.

use fantoccini::Client;

use crate::browser::Result;
use crate::{click, shot, text, wait_text, Env};

/// Spaces `Intl` uses to group digits in French (U+202F, U+00A0) and ours.
fn without_spaces(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '\u{202f}' | '\u{a0}'))
        .collect()
}

pub(crate) async fn a_french_page_reads_french(c: &Client, env: &Env) -> Result<()> {
    c.goto(&format!("{}/www/fr.html", env.base))
        .await
        .map_err(|e| e.to_string())?;
    // Numbers: 1,000 creatives × 2 credits, grouped the French way.
    wait_text(c, "#estimate", "the French estimate", |t| {
        t.starts_with("Coût estimé\u{a0}:") && without_spaces(t).contains("2000crédits")
    })
    .await?;
    let amount = text(c, "#estimate .ck-estimate-amount").await?;
    if !amount.contains('\u{202f}') && !amount.contains('\u{a0}') {
        return Err(format!("French grouping expected in {amount:?}"));
    }
    // Dates: the balance details' last transaction, as French write them.
    wait_text(c, "#balance .ck-balance-amount", "the balance", |t| {
        t.contains("crédit")
    })
    .await?;
    click(c, "#balance .ck-balance-button").await?;
    wait_text(c, "#balance .ck-balance-details", "the details", |t| {
        t.contains("Dernière opération")
    })
    .await?;
    let details = text(c, "#balance .ck-balance-details").await?;
    let french_date = details.as_bytes().windows(19).any(|w| {
        // dd/mm/yyyy hh:mm:ss
        w.iter().enumerate().all(|(i, b)| match i {
            2 | 5 => *b == b'/',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        })
    });
    if !french_date || details.contains("AM") || details.contains("PM") {
        return Err(format!("no French date in the details: {details:?}"));
    }
    click(c, "#balance .ck-balance-button").await?; // closes the details
                                                    // Sentences: the confirm dialog.
    click(c, "#confirm .ck-confirm-open").await?;
    wait_text(c, "#confirm [role=dialog]", "the French dialog", |t| {
        t.contains("Confirmer : Générer un visuel")
            && t.contains("Coût : 2 crédits")
            && t.contains("Annuler")
    })
    .await?;
    shot(c, env, "18-french-confirm").await?;
    click(c, "#confirm [role=dialog] .ck-secondary").await?;
    // Money: the packs offered when credits are short.
    click(c, "#big .ck-confirm-open").await?;
    wait_text(c, "#big [role=alertdialog]", "the French prompt", |t| {
        t.contains("Crédits insuffisants")
            && t.contains("Acheter")
            && t.contains(",00")
            && t.contains('$')
    })
    .await?;
    let prompt = text(c, "#big [role=alertdialog]").await?;
    shot(c, env, "19-french-insufficient").await?;
    click(c, "#big [role=alertdialog] .ck-secondary").await?;
    // The account panels, as elements sharing the page's state, in French.
    wait_text(c, "#plan", "the French plan panel", |t| {
        t.contains("Votre formule") && t.contains("Quand vos crédits expirent")
    })
    .await?;
    // The panels' code was fetched when they were first shown, a part per group.
    let fetched = crate::js(
        c,
        "return performance.getEntriesByType('resource').map((e) => e.name.split('/').pop())
             .filter((n) => n.startsWith('split_')).map((n) => n.split('_')[1]).sort();",
    )
    .await?;
    if fetched != serde_json::json!(["alerts", "buy", "plan"]) {
        return Err(format!(
            "the French page's panels fetched the parts {fetched}"
        ));
    }
    wait_text(c, "#buy", "the French buy panel", |t| {
        t.contains("Acheter des crédits")
            && t.contains("le crédit")
            && t.contains("N’expirent jamais")
    })
    .await?;
    crate::audit::audit(c, "the French page").await?;
    println!("locale: a lang=\"fr\" page: {amount:?}; prompt {prompt:?}");
    Ok(())
}
