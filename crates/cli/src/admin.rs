//! `creditkit admin …`: the operator's path straight against the database, so the first
//! workspace can be made before any server runs. The same ledger calls (and the same
//! permission check, as the operator) as `/admin/v1`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use creditkit_api::admin::{
    EventType, GrantRequest, NewWebhookEndpoint, RevokeRequest, RotateApiKey,
};
use creditkit_api::{NewMember, Op, Role, SessionRequest};
use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger, LedgerError, Principal};
use creditkit_pricing::parse_scaled;
use serde::Serialize;
use serde_json::json;

use crate::Output;

#[derive(Args)]
pub(crate) struct AdminArgs {
    /// The database (`sqlite://path?mode=rwc` or `postgres://…`).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://creditkit.db?mode=rwc"
    )]
    db: String,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Operator keys (for `/admin/v1`).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Customers' workspaces.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// A workspace's rate-card versions.
    #[command(subcommand)]
    Card(CardCommand),
    /// A workspace's secret API keys (its backend's credential).
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// A workspace's members.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Browser sessions for members.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Give credits, with the reason kept in the ledger.
    Grant(GrantArgs),
    /// Take credits back (never reserved ones, never below zero), with the reason.
    Revoke(RevokeArgs),
    /// Webhook endpoints: creditkit's events, signed, to your backend.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Pay an agent's publisher add-ons, wherever it is used, to its creator's
    /// workspace (an organization wallet of it); again to reassign.
    Payee {
        agent: String,
        /// The creator's workspace.
        #[arg(long)]
        workspace: String,
        /// Its organization wallet that receives the earnings.
        #[arg(long)]
        wallet: String,
    },
    /// Events, newest first, with their deliveries and attempts.
    Events {
        #[arg(long)]
        workspace: Option<String>,
        #[arg(long)]
        cursor: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// A workspace wallet's balance.
    Balance {
        workspace: String,
        #[arg(long)]
        wallet: Option<String>,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Subscribe URL to events (default: all events of all workspaces); prints the
    /// signing secret once.
    Create {
        #[arg(long)]
        url: String,
        /// Comma-separated event types (balance.low, charge.captured, …).
        #[arg(long, value_delimiter = ',', value_parser = parse_event)]
        events: Vec<EventType>,
        #[arg(long)]
        workspace: Option<String>,
        /// Allow a loopback, link-local or private address (a receiver on this machine
        /// or network); the server delivers there only with `--allow-private-webhooks`.
        #[arg(long)]
        allow_private: bool,
    },
    List,
    /// Stop an endpoint (pending deliveries are dropped).
    Disable {
        id: String,
    },
}

fn parse_event(s: &str) -> Result<EventType, String> {
    EventType::parse(s).ok_or_else(|| {
        let all: Vec<_> = EventType::ALL.iter().map(|e| e.as_str()).collect();
        format!("`{s}` is not one of {}", all.join(", "))
    })
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an operator key; its secret is printed once and stored only hashed.
    Create {
        #[arg(long)]
        name: Option<String>,
    },
    List,
    Revoke {
        id: String,
    },
}

#[derive(Subcommand)]
enum WorkspaceCommand {
    /// Onboard a customer: workspace, wallet, rate card (version 1), optional plan.
    Create {
        #[arg(long)]
        name: String,
        /// The rate card (JSON file).
        #[arg(long)]
        card: PathBuf,
        #[arg(long)]
        plan: Option<String>,
    },
    List {
        #[arg(long)]
        cursor: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    Get {
        workspace: String,
    },
    /// Refuse its sessions and any new spending (held operations can still settle).
    Suspend {
        workspace: String,
    },
    Resume {
        workspace: String,
    },
}

#[derive(Subcommand)]
enum CardCommand {
    /// A new card version (validated); prints what each action's price did.
    Upload {
        workspace: String,
        file: PathBuf,
        #[arg(long)]
        note: Option<String>,
        /// Schedule it for this UTC day (`2027-01-01`), at least the notice lead time
        /// ahead; customers are told, and `card.scheduled` is emitted.
        #[arg(long)]
        effective: Option<String>,
        /// In force now although it raises or removes a price (before launch).
        #[arg(long)]
        without_notice: bool,
    },
    List {
        workspace: String,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key; the secret is printed once.
    Create {
        workspace: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Keys with prefix, last use, expiry and revocation (never secrets).
    List {
        workspace: String,
    },
    /// A new key in place of KEY_ID; the old one works for --grace-seconds (default 0).
    Rotate {
        workspace: String,
        key_id: String,
        #[arg(long)]
        grace_seconds: Option<u64>,
    },
    Revoke {
        workspace: String,
        key_id: String,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    Create {
        workspace: String,
        #[arg(long)]
        name: String,
        /// viewer, member, admin or owner.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Your own id for this person (sessions can name it).
        #[arg(long)]
        external_id: Option<String>,
    },
    List {
        workspace: String,
    },
}

#[derive(Subcommand)]
enum SessionCommand {
    /// Mint a short-lived session for one member (by id or external id).
    Create(SessionArgs),
}

#[derive(Args)]
struct SessionArgs {
    workspace: String,
    #[arg(
        long,
        conflicts_with = "external_id",
        required_unless_present = "external_id"
    )]
    member: Option<String>,
    #[arg(long)]
    external_id: Option<String>,
    #[arg(long)]
    wallet: Option<String>,
    #[arg(long)]
    ttl_seconds: Option<u64>,
    /// Narrower rights, comma-separated (read, quote, hold, …).
    #[arg(long, value_delimiter = ',', value_parser = parse_op)]
    rights: Option<Vec<Op>>,
    /// Binds the session to a project: its quotes are that project's.
    #[arg(long)]
    project: Option<String>,
}

#[derive(Args)]
struct GrantArgs {
    workspace: String,
    /// Credits (up to three decimals).
    #[arg(long)]
    credits: String,
    #[arg(long)]
    reason: String,
    #[arg(long)]
    wallet: Option<String>,
    /// Retrying with the same key does nothing twice (default: a new key).
    #[arg(long)]
    idempotency_key: Option<String>,
}

#[derive(Args)]
struct RevokeArgs {
    workspace: String,
    /// Credits to take back; with --grant, from that grant only.
    #[arg(long, required_unless_present = "grant")]
    credits: Option<String>,
    /// Take back what is left of this grant.
    #[arg(long)]
    grant: Option<String>,
    #[arg(long)]
    reason: String,
    #[arg(long)]
    wallet: Option<String>,
    #[arg(long)]
    idempotency_key: Option<String>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("`{s}` is not one of viewer, member, admin, owner"))
}

fn parse_op(s: &str) -> Result<Op, String> {
    Op::parse(s).ok_or_else(|| {
        let all: Vec<_> = Op::ALL.iter().map(|o| o.as_str()).collect();
        format!("`{s}` is not one of {}", all.join(", "))
    })
}

fn credits(s: &str) -> Result<u64> {
    parse_scaled(s, 3).with_context(|| format!("`{s}` is not an amount of credits"))
}

fn key_or_new(key: Option<String>) -> String {
    key.unwrap_or_else(|| {
        let mut b = [0u8; 12];
        let _ = getrandom::getrandom(&mut b);
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("cli-{hex}")
    })
}

#[derive(clap::Args)]
pub(crate) struct BackupArgs {
    /// The database (`sqlite://path?mode=rwc`).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://creditkit.db?mode=rwc"
    )]
    db: String,
    /// Where to write the copy (must not exist). Restore by serving it: `--db sqlite://FILE`.
    file: std::path::PathBuf,
}

pub(crate) fn backup(args: BackupArgs) -> Result<Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let ledger = Ledger::open(&args.db, Arc::new(SystemClock), Config::default())
            .await
            .with_context(|| format!("opening {}", crate::serve::redact(&args.db)))?;
        // The operator runs this: say what went wrong, internal or not.
        let out = ledger.backup(&args.file).await;
        ledger.close().await;
        let bytes = out.with_context(|| format!("backing up to {}", args.file.display()))?;
        Ok(Output::ok(
            json!({ "file": args.file.display().to_string(), "bytes": bytes }),
        ))
    })
}

pub(crate) fn run(args: AdminArgs) -> Result<Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = Config {
        allow_private_webhooks: matches!(
            args.command,
            AdminCommand::Webhook(WebhookCommand::Create {
                allow_private: true,
                ..
            })
        ),
        // The same notice as the server's (`serve --price-notice-days`).
        price_notice_ms: match std::env::var("CREDITKIT_PRICE_NOTICE_DAYS") {
            Ok(days) => days
                .parse::<u16>()
                .ok()
                .filter(|d| *d <= 366)
                .context("CREDITKIT_PRICE_NOTICE_DAYS is a number of days, 0 to 366")?
                .into(),
            Err(_) => 14,
        } * 86_400_000i64,
        ..Config::default()
    };
    rt.block_on(async move {
        let ledger = Arc::new(
            Ledger::open(&args.db, Arc::new(SystemClock), config)
                .await
                .with_context(|| format!("opening {}", crate::serve::redact(&args.db)))?,
        );
        let out = dispatch(&ledger, args.command).await;
        ledger.close().await;
        out
    })
}

/// A ledger answer as output: the value, or the error body with its stable code.
fn answer<T: Serialize>(r: Result<T, LedgerError>) -> Output {
    match r {
        Ok(v) => Output::ok(json!(v)),
        Err(e) => Output::refused(json!({ "error": e.to_api() })),
    }
}

async fn dispatch(ledger: &Ledger, command: AdminCommand) -> Result<Output> {
    let on = Principal::operator;
    Ok(match command {
        AdminCommand::Key(KeyCommand::Create { name }) => {
            answer(ledger.create_operator_key(name.as_deref()).await)
        }
        AdminCommand::Key(KeyCommand::List) => answer(ledger.operator_keys().await),
        AdminCommand::Key(KeyCommand::Revoke { id }) => {
            answer(ledger.revoke_operator_key(&id).await)
        }
        AdminCommand::Workspace(WorkspaceCommand::Create { name, card, plan }) => {
            let json = std::fs::read_to_string(&card)
                .with_context(|| format!("reading {}", card.display()))?;
            answer(
                ledger
                    .create_workspace(&on(""), &name, &json, plan.as_deref())
                    .await,
            )
        }
        AdminCommand::Workspace(WorkspaceCommand::List { cursor, limit }) => answer(
            ledger
                .list_workspaces(&on(""), cursor.as_deref(), limit)
                .await,
        ),
        AdminCommand::Workspace(WorkspaceCommand::Get { workspace }) => {
            answer(ledger.workspace(&workspace).await)
        }
        AdminCommand::Workspace(WorkspaceCommand::Suspend { workspace }) => {
            answer(ledger.set_suspended(&on(&workspace), true).await)
        }
        AdminCommand::Workspace(WorkspaceCommand::Resume { workspace }) => {
            answer(ledger.set_suspended(&on(&workspace), false).await)
        }
        AdminCommand::Card(CardCommand::Upload {
            workspace,
            file,
            note,
            effective,
            without_notice,
        }) => {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let effective_at_ms = match effective {
                None => None,
                Some(day) => Some(creditkit_ledger::time::parse_day(&day).with_context(|| {
                    format!("--effective takes a day as 2027-01-01, not `{day}`")
                })?),
            };
            let terms = creditkit_ledger::CardTerms {
                note,
                effective_at_ms,
                without_notice,
            };
            answer(ledger.upload_card(&on(&workspace), &json, &terms).await)
        }
        AdminCommand::Card(CardCommand::List { workspace }) => {
            answer(ledger.card_versions(&on(&workspace)).await)
        }
        AdminCommand::Apikey(ApiKeyCommand::Create { workspace, name }) => answer(
            ledger
                .create_api_key(&on(&workspace), name.as_deref())
                .await,
        ),
        AdminCommand::Apikey(ApiKeyCommand::List { workspace }) => {
            answer(ledger.api_keys(&on(&workspace)).await)
        }
        AdminCommand::Apikey(ApiKeyCommand::Rotate {
            workspace,
            key_id,
            grace_seconds,
        }) => answer(
            ledger
                .rotate_api_key(&on(&workspace), &key_id, &RotateApiKey { grace_seconds })
                .await,
        ),
        AdminCommand::Apikey(ApiKeyCommand::Revoke { workspace, key_id }) => {
            answer(ledger.revoke_api_key(&on(&workspace), &key_id).await)
        }
        AdminCommand::Member(MemberCommand::Create {
            workspace,
            name,
            role,
            external_id,
        }) => answer(
            ledger
                .add_member(
                    &on(&workspace),
                    &NewMember {
                        name,
                        role,
                        external_id,
                    },
                )
                .await,
        ),
        AdminCommand::Member(MemberCommand::List { workspace }) => {
            answer(ledger.members(&on(&workspace)).await)
        }
        AdminCommand::Session(SessionCommand::Create(s)) => answer(
            ledger
                .create_session(
                    &on(&s.workspace),
                    &SessionRequest {
                        member_id: s.member,
                        external_id: s.external_id,
                        wallet_id: s.wallet,
                        ttl_seconds: s.ttl_seconds,
                        rights: s.rights,
                        project: s.project,
                    },
                )
                .await,
        ),
        AdminCommand::Payee {
            agent,
            workspace,
            wallet,
        } => answer(
            ledger
                .set_payee(&on(&workspace), &agent, &wallet)
                .await
                .map(|()| json!({ "agent_id": agent, "workspace_id": workspace, "wallet_id": wallet })),
        ),
        AdminCommand::Grant(g) => {
            let req = GrantRequest {
                amount_millicredits: credits(&g.credits)?,
                reason: g.reason,
                wallet_id: g.wallet,
                expires_at_ms: None,
            };
            answer(
                ledger
                    .grant(&on(&g.workspace), &req, &key_or_new(g.idempotency_key))
                    .await,
            )
        }
        AdminCommand::Revoke(r) => {
            let req = RevokeRequest {
                amount_millicredits: r.credits.as_deref().map(credits).transpose()?,
                grant_id: r.grant,
                reason: r.reason,
                wallet_id: r.wallet,
            };
            answer(
                ledger
                    .revoke(&on(&r.workspace), &req, &key_or_new(r.idempotency_key))
                    .await,
            )
        }
        AdminCommand::Webhook(WebhookCommand::Create {
            url,
            events,
            workspace,
            allow_private: _,
        }) => answer(
            ledger
                .create_webhook_endpoint(
                    &on(""),
                    &NewWebhookEndpoint {
                        url,
                        events,
                        workspace_id: workspace,
                    },
                )
                .await,
        ),
        AdminCommand::Webhook(WebhookCommand::List) => {
            answer(ledger.webhook_endpoints(&on("")).await)
        }
        AdminCommand::Webhook(WebhookCommand::Disable { id }) => answer(
            ledger
                .disable_webhook_endpoint(&on(""), &id)
                .await
                .map(|()| json!({ "disabled": id })),
        ),
        AdminCommand::Events {
            workspace,
            cursor,
            limit,
        } => answer(
            ledger
                .events(&on(""), workspace.as_deref(), cursor.as_deref(), limit)
                .await,
        ),
        AdminCommand::Balance { workspace, wallet } => {
            answer(ledger.balance(&on(&workspace), wallet.as_deref()).await)
        }
    })
}
