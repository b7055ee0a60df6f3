//! `creditkit`: check rate cards and price requests from the command line.
//!
//! ```text
//! creditkit card check FILE
//! creditkit estimate --card FILE --request JSON|@FILE
//! creditkit packs --card FILE [--shortfall CREDITS]
//! ```
//! Output is JSON on stdout. Exit status: 0 ok, 1 the input was refused (the JSON
//! says why), 2 usage error.

mod serve;

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use creditkit_pricing::{
    estimate, pack_offers, parse_card, parse_scaled, shortfall, Card, Millicredits, Request,
};
use serde_json::json;

const USAGE: &str = "usage:
  creditkit serve [--db URL] [--listen ADDR] [--cors ORIGIN]... [--static DIR] [--seed-demo FILE]
                  [--hold-ttl-ms N] [--sweep-ms N]
  creditkit card check FILE
  creditkit estimate --card FILE --request JSON|@FILE
  creditkit packs --card FILE [--balance CREDITS --required CREDITS]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return match serve::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("creditkit serve: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    match run(&args) {
        Ok(out) => {
            use std::io::Write;
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string_pretty(&out.json).unwrap_or_default()
            );
            if out.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("creditkit: {e:#}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

struct Output {
    ok: bool,
    json: serde_json::Value,
}

fn run(args: &[String]) -> Result<Output> {
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["card", "check", file] => Ok(check(file)),
        ["estimate", rest @ ..] => {
            let card_file = flag(rest, "--card")?;
            let request = flag(rest, "--request")?;
            let card = match load_card(card_file)? {
                Ok(card) => card,
                Err(out) => return Ok(out),
            };
            let text = match request.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
                }
                None => request.to_string(),
            };
            let result = Request::from_json(&text).and_then(|r| estimate(&card, &r));
            Ok(match result {
                Ok(e) => Output {
                    ok: true,
                    json: json!({ "display": e.display(), "estimate": e }),
                },
                Err(e) => Output {
                    ok: false,
                    json: json!({ "error": { "code": e.kind.code(), "path": e.path, "message": e.to_string() } }),
                },
            })
        }
        ["packs", rest @ ..] => {
            let card = match load_card(flag(rest, "--card")?)? {
                Ok(card) => card,
                Err(out) => return Ok(out),
            };
            let mut out = json!({ "packs": pack_offers(&card) });
            if let (Ok(balance), Ok(required)) = (flag(rest, "--balance"), flag(rest, "--required"))
            {
                let b = Millicredits(parse_scaled(balance, 3).context("--balance")?);
                let r = Millicredits(parse_scaled(required, 3).context("--required")?);
                out["shortfall"] = json!(shortfall(&card, b, r));
            }
            Ok(Output {
                ok: true,
                json: out,
            })
        }
        _ => bail!("unknown command"),
    }
}

fn flag<'a>(args: &'a [&str], name: &str) -> Result<&'a str> {
    let i = args
        .iter()
        .position(|a| *a == name)
        .with_context(|| format!("missing {name}"))?;
    args.get(i + 1)
        .copied()
        .with_context(|| format!("{name} needs a value"))
}

fn load_card(file: &str) -> Result<Result<Card, Output>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    Ok(parse_card(&text).map_err(|e| Output {
        ok: false,
        json: json!({ "ok": false, "problems": e.problems }),
    }))
}

fn check(file: &str) -> Output {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return Output {
                ok: false,
                json: json!({ "ok": false, "problems": [{ "path": "", "message": format!("reading {file}: {e}") }] }),
            }
        }
    };
    match parse_card(&text) {
        Ok(card) => Output {
            ok: true,
            json: json!({
                "ok": true, "id": card.id, "version": card.version, "hash": card.hash(),
                "actions": card.actions.len(), "models": card.models.len(), "agents": card.agents.len(),
                "packs": card.packs.len(), "plans": card.plans.len(),
            }),
        },
        Err(e) => Output {
            ok: false,
            json: json!({ "ok": false, "problems": e.problems }),
        },
    }
}
