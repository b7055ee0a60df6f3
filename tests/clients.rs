//! The operators' clients as they install them. The TypeScript client: the packed `@creditkit/client`
//! tarball (`cargo xtask` packs it with its types generated from the OpenAPI documents)
//! installed into a scratch project, its types checked by the TypeScript compiler
//! (strict, with `@ts-expect-error` lines that fail if the types are too loose), and an
//! operator flow run by Node against the real server. The Python client: its models
//! regenerated from the server's documents and compared with the committed ones, the
//! package pip-installed, and the same flow run by pytest.

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

    let (base, operator_key) = serve(&work, "ts").await;
    let card = Path::new(env!("CARGO_MANIFEST_DIR")).join(LANDING);
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new("node")
            .arg("flow.mjs")
            .env("CREDITKIT_URL", &base)
            .env("CREDITKIT_OPERATOR_KEY", &operator_key)
            .env("CREDITKIT_CARD", &card)
            .current_dir(&work))
    })
    .await
    .unwrap();
    println!("{}", out.trim());
    assert!(out.contains("node client:"), "{out}");
}

/// The real server on SQLite with an operator key: (base URL, operator key).
async fn serve(dir: &Path, name: &str) -> (String, String) {
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.join(format!("{name}.db")).display()
    );
    let ledger = Arc::new(
        Ledger::open(&db, Arc::new(SystemClock), Config::default())
            .await
            .unwrap(),
    );
    let operator = ledger.create_operator_key(Some(name)).await.unwrap();
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    let app = router(AppState::new(ledger), &Options::default());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (base, operator.secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Python client's environment: cargo xtask test makes it, then runs this with --ignored"]
async fn the_python_client_matches_the_documents_and_runs_an_operator_flow() {
    let venv = std::env::var_os("CREDITKIT_PY_CLIENT_ENV")
        .map(PathBuf::from)
        .expect("CREDITKIT_PY_CLIENT_ENV is not set: run `cargo xtask test`, which makes it");
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/client/python");
    let work = std::env::temp_dir().join(format!("creditkit-py-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    // The models are the documents' types: regenerated, they are what is committed.
    let mut docs = Vec::new();
    for (name, face) in [
        ("workspace", creditkit_server::OpenApiFace::Workspace),
        ("operator", creditkit_server::OpenApiFace::Operator),
    ] {
        let path = work.join(format!("{name}.json"));
        std::fs::write(&path, creditkit_server::openapi_document(face).to_string()).unwrap();
        docs.push(path);
    }
    let generated = run(Command::new("python3")
        .arg(package.join("generate.py"))
        .args(&docs)
        .stderr(std::process::Stdio::null()));
    let committed = std::fs::read_to_string(package.join("creditkit_client/models.py")).unwrap();
    assert!(
        generated == committed,
        "crates/client/python/creditkit_client/models.py is not what the server's documents give: \
         regenerate it (creditkit openapi > w.json; creditkit openapi --operator > o.json; \
         python3 crates/client/python/generate.py w.json o.json > crates/client/python/creditkit_client/models.py)"
    );
    // Installed from a copy: a build leaves `build/` and `*.egg-info` beside the sources.
    let copy = work.join("creditkit-client");
    std::fs::create_dir_all(copy.join("creditkit_client")).unwrap();
    for f in [
        "pyproject.toml",
        "README.md",
        "creditkit_client/__init__.py",
        "creditkit_client/models.py",
        "creditkit_client/py.typed",
    ] {
        std::fs::copy(package.join(f), copy.join(f)).unwrap();
    }
    run(Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
        ])
        .args(["--no-build-isolation", "--force-reinstall"])
        .arg(&copy));
    let (base, operator_key) = serve(&work, "py").await;
    let card = Path::new(env!("CARGO_MANIFEST_DIR")).join(LANDING);
    let tests = package.join("tests");
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new(venv.join("bin/python"))
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(&tests)
            .env("CREDITKIT_URL", &base)
            .env("CREDITKIT_OPERATOR_KEY", &operator_key)
            .env("CREDITKIT_CARD", &card)
            .current_dir(&work))
    })
    .await
    .unwrap();
    println!(
        "python client: {}",
        out.trim().lines().last().unwrap_or_default()
    );
    assert!(out.contains("2 passed"), "{out}");
}
