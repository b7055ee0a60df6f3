//! `creditkit`: the server, the operator's admin commands, and rate-card tools.
//!
//! Output is JSON on stdout. Exit status: 0 ok, 1 the input or call was refused (the
//! JSON says why, with a stable code), 2 a usage error (clap's message on stderr).

mod admin;
mod card;
mod serve;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::Value;

/// mimalloc, not the system's allocator: the server allocates per request and per
/// statement, and glibc's malloc was 15 % of its CPU under load (`cargo xtask bench http`,
/// which serves with the same allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The credit-pricing kit: a rate card, one pricing engine for server and browser, a
/// credits ledger behind an HTTP API.
#[derive(Parser)]
#[command(name = "creditkit", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (`/v1` for workspaces, `/admin/v1` for the operator).
    Serve(serve::ServeArgs),
    /// The operator's commands, straight against the database (no server needed).
    Admin(admin::AdminArgs),
    /// Rate cards: check, diff, JSON Schema.
    #[command(subcommand)]
    Card(card::CardCommand),
    /// Price a request with a card.
    Estimate(card::EstimateArgs),
    /// A card's packs with per-credit prices; with --balance and --required, what covers the gap.
    Packs(card::PacksArgs),
    /// A consistent copy of the embedded database, taken while the server keeps serving.
    Backup(admin::BackupArgs),
    /// The OpenAPI document the server serves at `/v1/openapi.json` (`--operator`:
    /// `/admin/v1/openapi.json`), for client generators.
    Openapi(OpenapiArgs),
}

#[derive(clap::Args)]
struct OpenapiArgs {
    /// The operator API's document instead of the workspace API's.
    #[arg(long)]
    operator: bool,
}

/// A command's answer: JSON for stdout, and whether it succeeded.
pub(crate) struct Output {
    pub(crate) ok: bool,
    pub(crate) json: Value,
}

impl Output {
    pub(crate) fn ok(json: Value) -> Output {
        Output { ok: true, json }
    }

    pub(crate) fn refused(json: Value) -> Output {
        Output { ok: false, json }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            return match serve::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("creditkit serve: {e:#}");
                    ExitCode::from(1)
                }
            };
        }
        Command::Admin(args) => admin::run(args),
        Command::Card(c) => card::run(c),
        Command::Estimate(args) => card::estimate(&args),
        Command::Packs(args) => card::packs(&args),
        Command::Backup(args) => admin::backup(args),
        Command::Openapi(args) => Ok(Output::ok(creditkit_server::openapi_document(
            if args.operator {
                creditkit_server::OpenApiFace::Operator
            } else {
                creditkit_server::OpenApiFace::Workspace
            },
        ))),
    };
    match result {
        Ok(out) => {
            // A closed pipe (`| head`) is not an error worth a panic.
            let text = match &out.json {
                Value::String(s) => s.clone(),
                v => serde_json::to_string_pretty(v).unwrap_or_default(),
            };
            let _ = writeln!(std::io::stdout(), "{text}");
            if out.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("creditkit: {e:#}");
            ExitCode::from(2)
        }
    }
}
