//! `creditkit serve`: the HTTP API on SQLite (default) or PostgreSQL.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger};
use creditkit_server::{router, spawn_sweeper, AppState, Options};

struct Flags {
    db: String,
    listen: String,
    options: Options,
    seed_demo: Option<PathBuf>,
    config: Config,
    sweep: Duration,
}

fn parse(args: &[String]) -> Result<Flags> {
    let mut f = Flags {
        db: std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "sqlite://creditkit.db?mode=rwc".into()),
        listen: "127.0.0.1:8080".into(),
        options: Options::default(),
        seed_demo: None,
        config: Config::default(),
        sweep: Duration::from_secs(5),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--db" => f.db = value()?.clone(),
            "--listen" => f.listen = value()?.clone(),
            "--cors" => f.options.cors_origins.push(value()?.clone()),
            "--static" => f.options.static_dir = Some(PathBuf::from(value()?)),
            "--seed-demo" => f.seed_demo = Some(PathBuf::from(value()?)),
            "--hold-ttl-ms" => f.config.hold_ttl_ms = value()?.parse().context("--hold-ttl-ms")?,
            "--quote-ttl-ms" => {
                f.config.quote_ttl_ms = value()?.parse().context("--quote-ttl-ms")?
            }
            "--sweep-ms" => {
                f.sweep = Duration::from_millis(value()?.parse().context("--sweep-ms")?)
            }
            other => bail!("unknown flag `{other}`"),
        }
    }
    if f.config.hold_ttl_ms <= 0 || f.config.quote_ttl_ms <= 0 || f.sweep.is_zero() {
        bail!("timeouts must be above zero");
    }
    Ok(f)
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let flags = parse(args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(flags))
}

async fn serve(f: Flags) -> Result<()> {
    let ledger = Arc::new(
        Ledger::open(&f.db, Arc::new(SystemClock), f.config)
            .await
            .with_context(|| format!("opening {}", redact(&f.db)))?,
    );
    let _listener = ledger.spawn_listener(&f.db).await?;
    let _sweeper = spawn_sweeper(ledger.clone(), f.sweep);
    // Load the token rank tables now, not on the first quote that counts a text.
    std::thread::spawn(|| {
        for e in creditkit_pricing::tokens::Encoding::ALL {
            let _ = creditkit_ledger::count_tokens(e, "");
        }
    });
    if let Some(path) = &f.seed_demo {
        seed_demo(&ledger, path).await?;
    }
    let app = router(AppState::new(ledger.clone()), &f.options);
    let socket = tokio::net::TcpListener::bind(&f.listen)
        .await
        .with_context(|| format!("listening on {}", f.listen))?;
    eprintln!(
        "creditkit: serving http://{} on {}",
        socket.local_addr()?,
        redact(&f.db)
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
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

async fn seed_demo(ledger: &Ledger, path: &std::path::Path) -> Result<()> {
    let demo = creditkit_server::demo::seed(ledger, path).await?;
    let products = demo["products"].as_array().map_or(0, Vec::len);
    eprintln!(
        "creditkit: {products} demo workspaces ready (ids and tokens in {})",
        path.display()
    );
    Ok(())
}
