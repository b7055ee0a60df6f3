//! `creditkit serve`: the HTTP API on SQLite (default) or PostgreSQL.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger};
use creditkit_server::{router, spawn_sweeper, AppState, Options, Rate, RateLimits};

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// The database: `sqlite://path?mode=rwc` (embedded) or `postgres://…` (several servers may share it).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://creditkit.db?mode=rwc"
    )]
    db: String,
    /// Address to listen on (`127.0.0.1:0` picks a free port; the log says which).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// An origin allowed to call the API from a browser (repeat for several; `*` for any).
    #[arg(long = "cors", value_name = "ORIGIN")]
    cors: Vec<String>,
    /// A directory of static files served at `/`.
    #[arg(long = "static", value_name = "DIR")]
    static_dir: Option<PathBuf>,
    /// Seed one demo workspace per seed product; their API keys and members go to FILE
    /// (the operator's secrets: keep FILE out of any directory a browser can read).
    #[arg(long, value_name = "FILE")]
    seed_demo: Option<PathBuf>,
    /// How long a hold waits for capture before releasing itself.
    #[arg(long, default_value_t = Config::default().hold_ttl_ms)]
    hold_ttl_ms: i64,
    /// How long a quote can be confirmed.
    #[arg(long, default_value_t = Config::default().quote_ttl_ms)]
    quote_ttl_ms: i64,
    /// How often the sweeper releases timed-out holds and expires grants.
    #[arg(long, default_value_t = 5000)]
    sweep_ms: u64,
    /// Requests per second per browser session, `RATE` or `RATE/BURST` (0: no limit).
    #[arg(long, default_value = "20/40", value_parser = Rate::parse)]
    rate_session: Rate,
    /// Requests per second per workspace from all its sessions, `RATE` or `RATE/BURST`.
    #[arg(long, default_value = "200/400", value_parser = Rate::parse)]
    rate_workspace: Rate,
    /// Log lines as text or JSON (one object per line); filter with CREDITKIT_LOG.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub(crate) fn run(args: ServeArgs) -> Result<()> {
    init_logs(args.log_format);
    if args.hold_ttl_ms <= 0 || args.quote_ttl_ms <= 0 || args.sweep_ms == 0 {
        bail!("--hold-ttl-ms, --quote-ttl-ms and --sweep-ms must be above zero");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(args))
}

/// `CREDITKIT_LOG` filters (`info` by default; `creditkit_server=debug,sqlx=warn`, …).
fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CREDITKIT_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn serve(a: ServeArgs) -> Result<()> {
    let config = Config {
        hold_ttl_ms: a.hold_ttl_ms,
        quote_ttl_ms: a.quote_ttl_ms,
        ..Config::default()
    };
    let ledger = Arc::new(
        Ledger::open(&a.db, Arc::new(SystemClock), config)
            .await
            .with_context(|| format!("opening {}", redact(&a.db)))?,
    );
    let _listener = ledger.spawn_listener(&a.db).await?;
    let _sweeper = spawn_sweeper(ledger.clone(), Duration::from_millis(a.sweep_ms));
    // Load the token rank tables now, not on the first quote that counts a text.
    std::thread::spawn(|| {
        for e in creditkit_pricing::tokens::Encoding::ALL {
            let _ = creditkit_ledger::count_tokens(e, "");
        }
    });
    if let Some(path) = &a.seed_demo {
        let demo = creditkit_server::demo::seed(&ledger, path).await?;
        let products = demo["products"].as_array().map_or(0, Vec::len);
        tracing::info!(
            "{products} demo workspaces ready (API keys and members in {})",
            path.display()
        );
    }
    let limits = RateLimits {
        session: a.rate_session,
        workspace: a.rate_workspace,
    };
    let options = Options {
        cors_origins: a.cors,
        static_dir: a.static_dir,
    };
    let app = router(AppState::with_limits(ledger.clone(), limits), &options);
    let socket = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("listening on {}", a.listen))?;
    tracing::info!(
        "serving http://{} on {}",
        socket.local_addr()?,
        redact(&a.db)
    );
    axum::serve(socket, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    ledger.close().await;
    Ok(())
}

/// Never print a password from a database URL.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}
