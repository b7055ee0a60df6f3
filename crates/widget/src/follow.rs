//! What a panel reads from the API, read again when the page says it changed: one
//! resource type for every panel, decoded where it is shown.

use leptos::prelude::*;

use crate::state::Credits;

/// What `GET path` answers, again after every charge, top-up or release (the balance
/// moves), as text: one resource type for every panel (each type of its own was ~3 KB of
/// wasm); [`read`] decodes it where it is shown.
pub(crate) fn following(credits: Credits, path: impl Fn() -> String + 'static) -> Following {
    // What the balance says, compared: the same balance read again (a refresh after the
    // event stream already told) asks nothing new.
    let moved = Memo::new(move |_| {
        credits.balance.with(|b| {
            b.as_ref().map(|b| {
                (
                    b.wallet_id.clone(),
                    b.balance_millicredits,
                    b.held_millicredits,
                    b.lifetime_used_millicredits,
                )
            })
        })
    });
    LocalResource::new(move || {
        credits.revision.track();
        moved.track();
        let (client, path) = (credits.client(), path());
        async move { client.get_text(&path).await }
    })
}

pub(crate) type Following = LocalResource<Result<String, crate::ClientError>>;

/// What `GET path` answers for the wallet the page acts on, read again only when the
/// page says something changed (`revision`: a wallet switch, a change made here), not
/// on every charge: for what a charge does not move (a price notice, a subscription,
/// a payout account). The session's request budget is shared by every panel.
pub(crate) fn on_wallet(credits: Credits, path: &'static str) -> Following {
    let wallet = Memo::new(move |_| {
        credits
            .balance
            .with(|b| b.as_ref().map(|b| b.wallet_id.clone()))
    });
    LocalResource::new(move || {
        credits.revision.track();
        wallet.track();
        let client = credits.client();
        async move { client.get_text(path).await }
    })
}

/// The resource's latest answer as `T`, once there is one.
#[allow(clippy::result_large_err)] // the client's one error type, as every call returns it
pub(crate) fn read<T: creditkit_api::FromJson>(
    r: &Following,
) -> Option<Result<T, crate::ClientError>> {
    r.get()
        .map(|r| r.and_then(|text| crate::client::decode_text(&text)))
}
