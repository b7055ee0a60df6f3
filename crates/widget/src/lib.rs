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

mod client;
pub mod components;
pub mod demo;
mod elements;
pub mod format;
mod js_api;
mod state;
pub mod tokens;

pub use client::{Client, ClientError};
pub use components::{
    BalanceBadge, ConfirmDialog, InsufficientPrompt, LiveEstimate, LowBalanceBanner,
    TransactionList, UsageChart,
};
pub use demo::Demo;
pub use format::{credits_text, estimate_text};
pub use js_api::{load_token_counter, Estimator, TokenCounter};
pub use state::{Credits, Flow, Operation, Outcome};

/// Registers the custom elements, and mounts the demo when the page has `#creditkit-demo`.
#[cfg(feature = "start")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    elements::register();
    demo::mount_if_present();
}

/// Registers `<creditkit-balance>`, `<creditkit-estimate>` and `<creditkit-confirm>`
/// (for pages that load the module without the `start` feature).
#[wasm_bindgen::prelude::wasm_bindgen(js_name = registerElements)]
pub fn register_elements() {
    elements::register();
}
