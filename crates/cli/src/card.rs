//! Rate-card tools: `card check`, `card diff`, `card schema`, `estimate`, `packs`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use creditkit_pricing::{
    estimate as price, pack_offers, parse_card, parse_scaled, shortfall, Card, Millicredits,
    Request,
};
use serde_json::json;

use crate::Output;

/// The rate card's JSON Schema (the example cards name it in `$schema`).
pub(crate) const SCHEMA: &str = include_str!("../../../schema/ratecard.schema.json");

#[derive(Subcommand)]
pub(crate) enum CardCommand {
    /// Validate a card; lists every problem with its path (exit 1 if any).
    Check { file: PathBuf },
    /// What each action's price did from OLD to NEW (every option, level, model, agent).
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// One line per change instead of JSON; `--all` includes unchanged prices.
        #[arg(long)]
        text: bool,
        #[arg(long)]
        all: bool,
    },
    /// Print the rate card's JSON Schema (for editors: `"$schema": "…"` in a card).
    Schema,
}

#[derive(Args)]
pub(crate) struct EstimateArgs {
    /// The rate card (JSON file).
    #[arg(long)]
    card: PathBuf,
    /// The request: JSON, or @FILE.
    #[arg(long)]
    request: String,
}

#[derive(Args)]
pub(crate) struct PacksArgs {
    #[arg(long)]
    card: PathBuf,
    /// Credits available now.
    #[arg(long, requires = "required")]
    balance: Option<String>,
    /// Credits the next action needs.
    #[arg(long, requires = "balance")]
    required: Option<String>,
    /// The wallet's plan now: the plan offered is one above it.
    #[arg(long, requires = "required")]
    plan: Option<String>,
}

pub(crate) fn run(c: CardCommand) -> Result<Output> {
    match c {
        CardCommand::Check { file } => Ok(check(&file)),
        CardCommand::Diff {
            old,
            new,
            text,
            all,
        } => {
            let (old, new) = match (load(&old)?, load(&new)?) {
                (Ok(o), Ok(n)) => (o, n),
                (Err(out), _) | (_, Err(out)) => return Ok(out),
            };
            let changes: Vec<_> = creditkit_pricing::diff(&old, &new)
                .into_iter()
                .filter(|c| all || c.change != creditkit_pricing::Change::Unchanged)
                .collect();
            if text {
                let lines: Vec<String> = changes.iter().map(|c| c.display.clone()).collect();
                let body = if lines.is_empty() {
                    "no price changed".to_string()
                } else {
                    lines.join("\n")
                };
                return Ok(Output::ok(json!(body)));
            }
            Ok(Output::ok(json!({
                "old": { "id": old.id, "version": old.version, "hash": old.hash() },
                "new": { "id": new.id, "version": new.version, "hash": new.hash() },
                "changes": changes,
            })))
        }
        CardCommand::Schema => Ok(Output::ok(
            serde_json::from_str(SCHEMA).context("the built-in schema is JSON")?,
        )),
    }
}

pub(crate) fn estimate(args: &EstimateArgs) -> Result<Output> {
    let card = match load(&args.card)? {
        Ok(card) => card,
        Err(out) => return Ok(out),
    };
    let text = match args.request.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?,
        None => args.request.clone(),
    };
    let result = Request::from_json(&text).and_then(|r| price(&card, &r));
    Ok(match result {
        Ok(e) => Output::ok(json!({ "display": e.display(), "estimate": e })),
        Err(e) => Output::refused(
            json!({ "error": { "code": e.kind.code(), "path": e.path, "message": e.to_string() } }),
        ),
    })
}

pub(crate) fn packs(args: &PacksArgs) -> Result<Output> {
    let card = match load(&args.card)? {
        Ok(card) => card,
        Err(out) => return Ok(out),
    };
    let mut out = json!({ "packs": pack_offers(&card) });
    if let (Some(balance), Some(required)) = (&args.balance, &args.required) {
        let b = Millicredits(parse_scaled(balance, 3).context("--balance")?);
        let r = Millicredits(parse_scaled(required, 3).context("--required")?);
        out["shortfall"] = json!(shortfall(&card, b, r, args.plan.as_deref()));
    }
    Ok(Output::ok(out))
}

/// A card from a file, or the refusal listing its problems.
pub(crate) fn load(file: &std::path::Path) -> Result<Result<Card, Output>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    Ok(parse_card(&text)
        .map_err(|e| Output::refused(json!({ "ok": false, "problems": e.problems }))))
}

fn check(file: &std::path::Path) -> Output {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return Output::refused(
                json!({ "ok": false, "problems": [{ "path": "", "message": format!("reading {}: {e}", file.display()) }] }),
            )
        }
    };
    match parse_card(&text) {
        Ok(card) => Output::ok(json!({
            "ok": true, "id": card.id, "version": card.version, "hash": card.hash(),
            "actions": card.actions.len(), "models": card.models.len(), "agents": card.agents.len(),
            "packs": card.packs.len(), "plans": card.plans.len(),
        })),
        Err(e) => Output::refused(json!({ "ok": false, "problems": e.problems })),
    }
}
