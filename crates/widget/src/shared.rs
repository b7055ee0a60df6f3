//! One [`Credits`] per caller on a page. Every element that names the same API, token
//! and wallet shares one state: one balance, one card, one event stream and one flow.
//! So a confirm element blocked for want of credits continues when the top-up arrives
//! on the stream, and a page of twenty elements opens one stream, not twenty (the
//! server gives a session eight).
//!
//! The state lives under its own root owner, not under the element that happened to
//! mount first: it is disposed when the last element using it is removed.

use std::cell::RefCell;

use leptos::prelude::*;

use crate::client::Client;
use crate::state::Credits;

/// Who a state serves: the API, the session token as the page set it, the wallet.
type Key = (String, String, Option<String>);

struct Entry {
    key: Key,
    credits: Credits,
    /// The element whose dialogs show the current flow (the one that started it).
    active: RwSignal<u32>,
    owner: Owner,
    users: usize,
}

thread_local! {
    static PAGE: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

/// An element's use of a shared state; dropping it gives the use back.
pub(crate) struct Lease {
    key: Key,
    pub(crate) credits: Credits,
    /// This element's id among the users (for [`Lease::take_flow`] and [`Lease::shows_flow`]).
    id: u32,
    active: RwSignal<u32>,
}

impl Lease {
    /// The state `client`'s caller shares on this page; `start` loads it and follows
    /// the balance events when it is new (a signed-in caller).
    pub(crate) fn take(client: Client, start: bool) -> Lease {
        let key = (
            client.base_url().to_string(),
            client.token(),
            client.wallet_id().map(str::to_string),
        );
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id.wrapping_add(1).max(1));
            id
        });
        PAGE.with(|page| {
            let mut page = page.borrow_mut();
            if let Some(e) = page.iter_mut().find(|e| e.key == key) {
                e.users += 1;
                return Lease {
                    key,
                    credits: e.credits,
                    id,
                    active: e.active,
                };
            }
            let owner = Owner::new_root(None);
            let (credits, active) = owner.with(|| {
                let credits = Credits::new(client);
                if start {
                    credits.start();
                }
                (credits, RwSignal::new(0))
            });
            page.push(Entry {
                key: key.clone(),
                credits,
                active,
                owner,
                users: 1,
            });
            Lease {
                key,
                credits,
                id,
                active,
            }
        })
    }

    /// This element's place in the shared flow.
    pub(crate) fn seat(&self) -> Seat {
        Seat {
            credits: self.credits,
            id: self.id,
            active: self.active,
        }
    }
}

/// An element's place in its shared state's flow (copied into its event handlers).
#[derive(Clone, Copy)]
pub(crate) struct Seat {
    credits: Credits,
    id: u32,
    active: RwSignal<u32>,
}

impl Seat {
    /// This element starts a flow: its dialogs show it, its events carry the outcome.
    pub(crate) fn take_flow(self, host: &web_sys::EventTarget) {
        self.active.set(self.id);
        self.credits.set_events_target(host.clone());
    }

    /// Whether this element's dialogs show the current flow.
    pub(crate) fn shows_flow(self) -> bool {
        self.active.get() == self.id
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let gone = PAGE.with(|page| {
            let mut page = page.borrow_mut();
            let i = page.iter().position(|e| e.key == self.key)?;
            page[i].users -= 1;
            (page[i].users == 0).then(|| page.swap_remove(i))
        });
        // Cleaned up outside the borrow: cleanups may close streams and run code.
        if let Some(e) = gone {
            e.owner.cleanup();
        }
    }
}

/// How many states the page holds (tests).
#[cfg(all(test, target_arch = "wasm32"))]
pub(crate) fn states() -> usize {
    PAGE.with(|p| p.borrow().len())
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn client(token: &str) -> Client {
        Client::new("http://127.0.0.1:9", token)
    }

    #[wasm_bindgen_test]
    fn elements_of_one_caller_share_one_state_until_the_last_leaves() {
        let before = states();
        let a = Lease::take(client("ck_ss_a"), false);
        let b = Lease::take(client("ck_ss_a"), false);
        let other = Lease::take(client("ck_ss_b"), false);
        let wallet = Lease::take(client("ck_ss_a").with_wallet(Some("wal_2".into())), false);
        assert_eq!(states(), before + 3);
        a.credits.session_spent_millicredits.set(7_000);
        assert_eq!(b.credits.session_spent_millicredits.get_untracked(), 7_000);
        assert_eq!(other.credits.session_spent_millicredits.get_untracked(), 0);
        assert_eq!(wallet.credits.session_spent_millicredits.get_untracked(), 0);
        // The element that starts a flow shows its dialogs; the others do not.
        let target = web_sys::EventTarget::new().unwrap();
        b.seat().take_flow(&target);
        assert!(b.seat().shows_flow() && !a.seat().shows_flow());
        let spent = a.credits.session_spent_millicredits;
        drop(a);
        assert_eq!(
            b.credits.session_spent_millicredits.get_untracked(),
            7_000,
            "still in use"
        );
        drop(b);
        assert!(
            spent.try_get_untracked().is_none(),
            "disposed with its last user"
        );
        drop((other, wallet));
        assert_eq!(states(), before);
    }
}
