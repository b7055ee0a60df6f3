//! `stripe-standin --listen ADDR --webhook URL --secret-key sk_test_… --webhook-secret whsec_…`:
//! the demo's stand-in for Stripe (see lib.rs).

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use creditkit_stripe_standin::{Config, StandIn};

fn main() -> Result<()> {
    let mut listen = "127.0.0.1:8082".to_string();
    let (mut webhook, mut secret_key, mut webhook_secret) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--webhook" => webhook = Some(value()?),
            "--secret-key" => secret_key = Some(value()?),
            "--webhook-secret" => webhook_secret = Some(value()?),
            other => bail!("unknown flag `{other}`"),
        }
    }
    let (Some(webhook_url), Some(secret_key), Some(webhook_secret)) =
        (webhook, secret_key, webhook_secret)
    else {
        bail!("--webhook, --secret-key and --webhook-secret are required");
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let socket = tokio::net::TcpListener::bind(&listen).await?;
        let base = format!("http://{}", socket.local_addr()?);
        eprintln!("stripe-standin: serving {base} (simulated checkout; webhooks to {webhook_url})");
        let clock = Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
        let standin = StandIn::new(Config {
            base,
            secret_key,
            webhook_url,
            webhook_secret,
            clock,
        });
        axum::serve(socket, standin.router())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}
