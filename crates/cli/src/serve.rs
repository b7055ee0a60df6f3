//! `creditkit serve`: the HTTP API on SQLite (default) or PostgreSQL.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger};
use creditkit_server::payments::stripe::{Stripe, StripeConfig};
use creditkit_server::payments::Payments;
use creditkit_server::{
    router, spawn_delivery_worker, spawn_sweeper, spawn_topup_worker, AppState, Options, Rate,
    RateLimits,
};

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
    /// Failed authentications per second per client address (×100 for all clients),
    /// `RATE` or `RATE/BURST`; over it, a client gets 429 before its token is looked up.
    #[arg(long, default_value = "10/50", value_parser = Rate::parse)]
    rate_auth_failures: Rate,
    /// Stripe's secret key (`sk_live_…` / `sk_test_…`): turns on checkout.
    #[arg(
        long,
        env = "STRIPE_SECRET_KEY",
        hide_env_values = true,
        requires = "stripe_webhook_secret"
    )]
    stripe_secret_key: Option<String>,
    /// The signing secret of the Stripe webhook endpoint pointed at `/v1/webhooks/stripe` (`whsec_…`).
    #[arg(
        long,
        env = "STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        requires = "stripe_secret_key"
    )]
    stripe_webhook_secret: Option<String>,
    /// Stripe's API (a local stand-in in tests and the demo).
    #[arg(long, default_value = "https://api.stripe.com")]
    stripe_api_base: String,
    /// Deliver creditkit's webhooks to loopback, link-local and private addresses too (a
    /// receiver on this machine or network); off, only public addresses are called.
    #[arg(long)]
    allow_private_webhooks: bool,
    /// How many days ahead a card version that raises or removes a price is scheduled
    /// (customers are told in advance; 0 lets a rise take effect at once).
    #[arg(long, env = "CREDITKIT_PRICE_NOTICE_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u16).range(0..=366))]
    price_notice_days: u16,
    /// This API's public base URL (the checkout's return page); required with payments.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
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
        allow_private_webhooks: a.allow_private_webhooks,
        price_notice_ms: i64::from(a.price_notice_days) * 86_400_000,
        ..Config::default()
    };
    let ledger = Arc::new(
        Ledger::open(&a.db, Arc::new(SystemClock), config)
            .await
            .with_context(|| format!("opening {}", redact(&a.db)))?,
    );
    let _listener = ledger.spawn_listener(&a.db).await?;
    let _sweeper = spawn_sweeper(ledger.clone(), Duration::from_millis(a.sweep_ms));
    let _deliveries = spawn_delivery_worker(ledger.clone());
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
        failures: a.rate_auth_failures,
    };
    let options = Options {
        cors_origins: a.cors,
        static_dir: a.static_dir,
    };
    let mut state = AppState::with_limits(ledger.clone(), limits);
    // Auto top-ups are charged through the provider: without one, no worker (a rule
    // can be set, and its top-ups wait, due).
    let mut _topups = None;
    if let (Some(secret_key), Some(webhook_secret)) = (a.stripe_secret_key, a.stripe_webhook_secret)
    {
        let config = StripeConfig {
            secret_key,
            webhook_secret,
            api_base: a.stripe_api_base,
        };
        config
            .check()
            .map_err(|e| anyhow::anyhow!("refusing to start: {e}"))?;
        let public_url = a
            .public_url
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .context("refusing to start: payments need --public-url, this API's public address as http(s)://… (the checkout's return page; a request's Host header is the caller's to set)")?;
        let provider: Arc<Stripe> = Arc::new(Stripe::new(config));
        _topups = Some(spawn_topup_worker(ledger.clone(), provider.clone()));
        state = state.with_payments(Payments {
            provider,
            public_url,
            return_origins: options.cors_origins.clone(),
        });
        tracing::info!(
            "payments through Stripe: checkout at /v1/checkout, webhooks at /v1/webhooks/stripe"
        );
    }
    let app = router(state, &options);
    let socket = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("listening on {}", a.listen))?;
    tracing::info!(
        "serving http://{} on {}",
        socket.local_addr()?,
        redact(&a.db)
    );
    // Each connection's address: failed authentications are limited per client.
    axum::serve(
        socket,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
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
