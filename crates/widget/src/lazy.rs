//! Component groups fetched when first shown.
//!
//! The first screen (balance, estimate, confirm) is the embed's main module; each other
//! group is an `async fn` returning its view. In the embed (the `split` feature) each is
//! Leptos's `#[lazy]`: `cargo xtask` cuts its code out of the module with wasm-split
//! (`xtask/src/split.rs`) and the browser fetches it the first time the group is shown,
//! once per page. Everywhere else (tests, the demo page) it is plain code. [`Loaded`]
//! shows a loading line until the group has arrived.

use std::future::Future;

use leptos::prelude::*;

use crate::copy::words;

/// `async fn $name() -> AnyView` showing `$view`: split off in the embed, plain elsewhere.
macro_rules! group {
    ($(#[$doc:meta])* $name:ident => $view:expr) => {
        $(#[$doc])*
        #[cfg(feature = "split")]
        #[leptos::lazy]
        pub(crate) fn $name() -> AnyView {
            $view.into_any()
        }
        $(#[$doc])*
        #[cfg(not(feature = "split"))]
        pub(crate) async fn $name() -> AnyView {
            $view.into_any()
        }
    };
}

group!(
    /// Packs and plans, with checkout.
    buy => view! { <crate::account::BuyCredits/> }
);
group!(
    /// The plan's allowance and expiries.
    plan => view! { <crate::account::PlanAllowance/> }
);
group!(
    /// The paid plan and its changes.
    subscription => view! { <crate::subscription::SubscriptionPanel/> }
);
group!(
    /// A scheduled price change.
    notice => view! { <crate::account::PriceChangeNotice/> }
);
group!(
    /// Which wallet the page acts on.
    wallets => view! { <crate::account::WalletSwitcher/> }
);
group!(
    /// Low-balance alert levels.
    alerts => view! { <crate::account::LowBalanceAlerts/> }
);
group!(
    /// Agents' prices and free messages.
    agents => view! { <crate::account::AgentCards/> }
);
group!(
    /// Automatic top-up: the rule, its card, a failure to fix.
    topup => view! { <crate::topup::AutoTopUpPanel/> }
);
group!(
    /// A creator's earnings and payouts.
    earnings => view! { <crate::account::EarningsPanel/> }
);

/// The view `load` fetches, with a loading line (a polite status) until it arrives.
pub(crate) fn loaded<F, Fut>(load: F) -> impl IntoView
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = AnyView> + Send + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p class="ck-loading" role="status">{words().loading_part}</p> }>
            {Suspend::new(load())}
        </Suspense>
    }
}
