//! A chat without a dialog per message (seeds 000, 003, 004): the conversation's
//! running total, counted by the server, and the user's standing choice to let small,
//! well-priced turns run without asking.

use leptos::prelude::*;

use crate::copy::words;
use crate::format::credits_text;
use crate::state::Credits;

/// Where the user's choice is kept between visits (per API and wallet: one browser may
/// use several products).
fn storage_key(credits: &Credits) -> String {
    let client = credits.client();
    format!(
        "creditkit:auto-confirm:{}:{}",
        client.base_url(),
        client.wallet_id().unwrap_or("")
    )
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// "Don't ask me for turns under N credits": off until the user turns it on. The
/// operator's `ceiling_credits` bounds what the user may choose; it never turns it on.
/// Caps still apply (the server checks them), a turn above the limit or whose maximum
/// is more than twice its minimum still asks, and at zero balance a turn still stops
/// at the prompt.
#[component]
pub fn AutoConfirm(
    /// The most a user may let run unasked, in credits (the operator's choice).
    ceiling_credits: u64,
) -> impl IntoView {
    let credits = Credits::get();
    let ceiling = ceiling_credits.max(1);
    let key = storage_key(&credits);
    // A choice made before (within today's ceiling) stands; nothing is on by default.
    let saved = storage()
        .and_then(|s| s.get_item(&key).ok().flatten())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|c| c.clamp(1, ceiling));
    let limit = RwSignal::new(saved.unwrap_or(ceiling.min(5)));
    let on = RwSignal::new(saved.is_some());
    Effect::new(move |_| {
        let chosen = on.get().then(|| limit.get() * 1000);
        credits.auto_confirm_millicredits.set(chosen);
        if let Some(s) = storage() {
            let _ = match chosen {
                Some(mc) => s.set_item(&key, &(mc / 1000).to_string()),
                None => s.remove_item(&key),
            };
        }
    });
    view! {
        <div class="ck-auto-confirm">
            <label>
                <input type="checkbox" prop:checked=move || on.get() on:change=move |ev| on.set(event_target_checked(&ev))/>
                {words().auto_confirm_before}
                <input type="number" min="1" max=ceiling.to_string() prop:value=move || limit.get().to_string()
                    aria-label=words().auto_confirm_limit
                    on:change=move |ev| {
                        let v = event_target_value(&ev).parse::<u64>().unwrap_or(1).clamp(1, ceiling);
                        limit.set(v);
                    }/>
                {words().auto_confirm_after}
            </label>
        </div>
    }
}

/// What this conversation has cost so far, at the top of the chat (seed 000: "running
/// session usage"), counted by the server for the page's conversation id: it survives
/// a token refresh and a reload. Sets [`Credits::conversation`], so the turns quoted
/// below it count toward it.
#[component]
pub fn ChatTotal(
    /// The page's id for this conversation.
    #[prop(into)]
    conversation: String,
) -> impl IntoView {
    let credits = Credits::get();
    credits.conversation.set(Some(conversation.clone()));
    let path = format!(
        "/conversations/{}",
        String::from(js_sys::encode_uri_component(&conversation))
    );
    let total = crate::follow::following(credits, move || path.clone());
    view! {
        <p class="ck-chat-total" role="status" data-field="chat-total">
            {move || crate::follow::read::<creditkit_api::ConversationUsage>(&total).map(|r| match r {
                Ok(c) => (words().chat_total)(&credits_text(c.charged_millicredits), c.turns),
                Err(e) => e.words(),
            })}
        </p>
    }
}
