//! creditkit's browser face: Leptos components (balance, live estimate, confirm dialog,
//! low-balance and insufficient-credit prompts, usage), custom elements for any web page,
//! and a plain JavaScript estimator — all pricing through the same engine as the server.
//!
//! A Leptos app calls [`Credits::provide`] once, then places components anywhere below it:
//!
//! ```ignore
//! let credits = Credits::provide(Client::new("https://api.example.com", token));
//! view! { <BalanceBadge/> <LowBalanceBanner/> <ConfirmDialog/> <InsufficientPrompt/> }
//! ```

pub mod account;
pub mod caps;
pub mod chat;
mod client;
pub mod components;
pub mod copy;
mod elements;
mod follow;
pub mod format;
pub mod history;
mod lazy;
pub mod payouts;
mod shared;
mod state;
pub mod subscription;
pub mod tokens;
pub mod topup;
pub mod typing;

pub use account::{
    AgentCards, BuyCredits, EarningsPanel, LowBalanceAlerts, PlanAllowance, PriceChangeNotice,
    WalletSwitcher,
};
pub use caps::SpendingCaps;
pub use chat::{AutoConfirm, ChatTotal};
pub use client::Refresh;
pub use client::{Client, ClientError, Me};
pub use components::{
    BalanceBadge, ConfirmDialog, InsufficientPrompt, LiveEstimate, LowBalanceBanner,
};
pub use copy::{set_locale, words, Locale};
pub use creditkit_estimator::{load_token_counter, Estimator, TokenCounter};
pub use elements::set_session_refresher;
pub use format::{credits_text, estimate_text};
pub use history::{TransactionList, UsageChart};
pub use state::{auto_confirms, Buy, Credits, Flow, Operation, Outcome, Purchase};
pub use subscription::SubscriptionPanel;
pub use topup::AutoTopUpPanel;

/// Registers the custom elements when the module loads (the embeddable build).
#[cfg(feature = "start")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    report_panics();
    elements::register();
}

/// Registers `<creditkit-balance>`, `<creditkit-estimate>`, `<creditkit-confirm>`,
/// `<creditkit-buy>`, `<creditkit-plan>` and `<creditkit-earnings>`
/// (for pages that load the module without the `start` feature).
#[wasm_bindgen::prelude::wasm_bindgen(js_name = registerElements)]
pub fn register_elements() {
    report_panics();
    elements::register();
}

/// A bug must not fail silently: the message goes to the console and to
/// `window.__creditkitPanic` (read by the end-to-end test when it fails).
fn report_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("creditkit: {info}");
        web_sys::console::error_1(&message.as_str().into());
        if let Some(w) = web_sys::window() {
            let _ = js_sys::Reflect::set(&w, &"__creditkitPanic".into(), &message.as_str().into());
        }
    }));
}
