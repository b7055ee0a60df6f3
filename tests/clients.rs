//! The TypeScript client as an operator installs it: the packed `@creditkit/client`
//! tarball (`cargo xtask` packs it with its types generated from the OpenAPI documents)
//! installed into a scratch project, its types checked by the TypeScript compiler
//! (strict, with `@ts-expect-error` lines that fail if the types are too loose), and an
//! operator flow run by Node against the real server.

use std::process::Command;

use crate::*;

const LANDING: &str = "../examples/ratecards/landing.json";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the packed npm packages: cargo xtask test builds them, then runs this with --ignored"]
async fn the_typescript_client_types_and_runs_an_operator_flow() {
    let packages = std::env::var_os("CREDITKIT_PACKAGES")
        .map(PathBuf::from)
        .expect("CREDITKIT_PACKAGES is not set: run `cargo xtask test`, which packs the packages");
    let tarball = std::fs::read_dir(&packages)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("creditkit-client-"))
        })
        .unwrap_or_else(|| panic!("no creditkit-client-*.tgz in {}", packages.display()));
    let work = std::env::temp_dir().join(format!("creditkit-ts-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("package.json"),
        "{\"name\": \"operator\", \"private\": true, \"type\": \"module\"}\n",
    )
    .unwrap();
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/node");
    for f in ["flow.mjs", "typed.ts", "tsconfig.json"] {
        std::fs::copy(here.join(f), work.join(f)).unwrap();
    }
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefer-offline"])
        .arg(&tarball)
        .arg("typescript@5.9.3")
        .current_dir(&work));
    run(Command::new(work.join("node_modules/.bin/tsc"))
        .args(["-p", "."])
        .current_dir(&work));

    let db = format!("sqlite://{}?mode=rwc", work.join("ts.db").display());
    let ledger = Arc::new(
        Ledger::open(&db, Arc::new(SystemClock), Config::default())
            .await
            .unwrap(),
    );
    let operator = ledger.create_operator_key(Some("node")).await.unwrap();
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    let app = router(AppState::new(ledger), &Options::default());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    let card = Path::new(env!("CARGO_MANIFEST_DIR")).join(LANDING);
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new("node")
            .arg("flow.mjs")
            .env("CREDITKIT_URL", &base)
            .env("CREDITKIT_OPERATOR_KEY", &operator.secret)
            .env("CREDITKIT_CARD", &card)
            .current_dir(&work))
    })
    .await
    .unwrap();
    println!("{}", out.trim());
    assert!(out.contains("node client:"), "{out}");
}
