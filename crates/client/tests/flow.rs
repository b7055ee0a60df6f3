//! The client against the real server on each store: the operator onboards a customer
//! and mints its key, the customer's backend signs a member in, prices, confirms and
//! charges a request; a refusal comes back as its `ErrorCode`.

use std::sync::Arc;

use creditkit_api::admin::{GrantRequest, NewApiKey, NewWorkspace};
use creditkit_api::{
    CaptureRequest, ErrorCode, HoldRequest, HoldStatus, QuoteRequest, Request, SessionRequest,
};
use creditkit_client::{Client, Error};
use creditkit_ledger::testing::{fresh_url, Store};
use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger};
use creditkit_server::{router, AppState, Options};

const LANDING: &str = include_str!("../../../examples/ratecards/landing.json");

async fn operator_flow(store: Store) {
    let ledger = Arc::new(
        Ledger::open(
            &fresh_url(store).await,
            Arc::new(SystemClock),
            Config::default(),
        )
        .await
        .unwrap(),
    );
    let operator_key = ledger
        .create_operator_key(Some("client test"))
        .await
        .unwrap()
        .secret;
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    let app = router(AppState::new(ledger), &Options::default());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });

    let operator = Client::new(&base, operator_key);
    let card: serde_json::Value = serde_json::from_str(LANDING).unwrap();
    let ws = operator
        .admin_create_workspace(&NewWorkspace {
            name: "Acme".into(),
            card,
            plan_id: None,
        })
        .await
        .unwrap();
    let key = operator
        .admin_create_api_key(&ws.id, &NewApiKey::default())
        .await
        .unwrap();
    let grant = GrantRequest {
        amount_millicredits: 50_000,
        reason: "welcome".into(),
        wallet_id: None,
        expires_at_ms: None,
    };
    operator
        .admin_grant(&ws.id, &grant, "welcome-1")
        .await
        .unwrap();

    let backend = Client::new(&base, key.secret);
    let session = backend
        .create_session(&SessionRequest {
            external_id: Some("alice".into()),
            ..Default::default()
        })
        .await;
    // No member `alice` yet: a refusal with its code, nothing else.
    let refused = session.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::NotFound, "{refused}");
    assert!(matches!(refused, Error::Api { status: 404, .. }));

    let quote = backend
        .quote(&QuoteRequest {
            wallet_id: None,
            request: Request::from_json(r#"{"action": "section", "quantity": 2}"#).unwrap(),
            project: None,
            stream: None,
            conversation_id: None,
        })
        .await
        .unwrap();
    assert_eq!(quote.hold_millicredits, 20_000);
    let hold = backend
        .hold(
            &HoldRequest {
                quote_id: quote.id.clone(),
            },
            "h-1",
        )
        .await
        .unwrap();
    assert_eq!(
        backend.get_hold(&hold.id).await.unwrap().status,
        HoldStatus::Active
    );
    let charged = backend
        .capture(&hold.id, &CaptureRequest::default(), "c-1")
        .await
        .unwrap();
    assert_eq!(
        (charged.status, charged.captured_millicredits),
        (HoldStatus::Captured, Some(20_000))
    );
    assert_eq!(
        backend.balance(None).await.unwrap().balance_millicredits,
        30_000
    );
    // Settled once: a second settlement is refused by code.
    let again = backend.release(&hold.id, "r-1").await.unwrap_err();
    assert_eq!(again.code(), ErrorCode::HoldNotActive, "{again}");
    // The operator key is not a workspace credential.
    let wrong = operator.balance(None).await.unwrap_err();
    assert!(
        matches!(wrong.code(), ErrorCode::Unauthorized | ErrorCode::Forbidden),
        "{wrong}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_flow_on_sqlite() {
    operator_flow(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_flow_on_postgres() {
    operator_flow(Store::Postgres).await;
}
