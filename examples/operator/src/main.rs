//! `example-operator --api URL --keys FILE [--static DIR] [--listen ADDR]`: the demo's
//! backend (see lib.rs for what an operator's backend does).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use creditkit_example_operator::{router, Config};

fn main() -> Result<()> {
    let mut api = None;
    let mut keys = None;
    let mut static_dir = None;
    let mut listen = "127.0.0.1:8080".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--api" => api = Some(value()?),
            "--keys" => keys = Some(PathBuf::from(value()?)),
            "--static" => static_dir = Some(PathBuf::from(value()?)),
            "--listen" => listen = value()?,
            "--help" | "-h" => {
                println!("example-operator --api URL --keys FILE [--static DIR] [--listen ADDR]");
                return Ok(());
            }
            other => bail!("unknown flag `{other}` (see --help)"),
        }
    }
    let (Some(api), Some(keys)) = (api, keys) else {
        bail!("--api and --keys are required (see --help)");
    };
    let mut config = Config::from_seed_file(&api, &keys)
        .with_context(|| format!("reading {}", keys.display()))?;
    config.static_dir = static_dir;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let socket = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        eprintln!(
            "example-operator: serving http://{} (creditkit at {api})",
            socket.local_addr()?
        );
        axum::serve(socket, router(config))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}
