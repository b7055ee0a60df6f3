//! Every component in headless Chrome: rendering, live estimates on input events,
//! dialog keyboard behaviour, the insufficient prompt, the custom elements and the JS
//! estimator. No server: state is set directly; the end-to-end test drives the real one.
#![cfg(target_arch = "wasm32")]

use creditkit_api::{Balance, BalanceState, Cap, CapPeriod, CapScope, Quote, WalletKind};
use creditkit_pricing::{estimate, parse_card, shortfall, Item, Millicredits, Request};
use creditkit_widget::{
    BalanceBadge, BuyCredits, Client, ConfirmDialog, Credits, Estimator, Flow, InsufficientPrompt,
    LiveEstimate, LowBalanceAlerts, LowBalanceBanner, Purchase,
};
use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LANDING: &str = include_str!("../../../examples/ratecards/landing.json");
const CAMPAIGNS: &str = include_str!("../../../examples/ratecards/campaigns.json");
const KAPPAX: &str = include_str!("../../../examples/ratecards/kappax.json");
const KUMARI: &str = include_str!("../../../examples/ratecards/kumari.json");

fn host() -> web_sys::HtmlElement {
    let doc = document();
    let el = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&el).unwrap();
    el.unchecked_into()
}

fn q(root: &web_sys::Element, selector: &str) -> Option<web_sys::Element> {
    root.query_selector(selector).unwrap()
}

fn text(root: &web_sys::Element, selector: &str) -> String {
    q(root, selector)
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

fn credits_with(card: &str) -> Credits {
    let c = Credits::new(Client::new("http://127.0.0.1:9", "ck_test"));
    c.set_card_json(card).unwrap();
    c
}

fn balance(available: u64, state: BalanceState) -> Balance {
    Balance {
        wallet_id: "wal_1".into(),
        kind: WalletKind::Workspace,
        balance_millicredits: available + 2_000,
        held_millicredits: 2_000,
        available_millicredits: available,
        state,
        low_threshold_millicredits: 100_000,
        critical_threshold_millicredits: 10_000,
        lifetime_used_millicredits: 7_000,
        last_transaction: None,
        plan_id: None,
        debt_millicredits: 0,
    }
}

fn key(target: &web_sys::EventTarget, key: &str, shift: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let ev = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&ev).unwrap();
}

fn active_text() -> String {
    document()
        .active_element()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn live_estimate_follows_every_input_event_without_the_network() {
    let el = host();
    let credits = credits_with(LANDING);
    let sections = RwSignal::new(1u64);
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        let request = Signal::derive(move || {
            Some(Request::single(
                Item::new("section").quantity(sections.get()),
            ))
        });
        view! {
            <input id="n" on:input=move |ev| sections.set(event_target_value(&ev).parse().unwrap_or(0))/>
            <LiveEstimate request=request/>
        }
    });
    tick().await;
    assert!(
        text(&el, ".ck-estimate").contains("10 credits"),
        "{}",
        text(&el, ".ck-estimate")
    );
    let input: web_sys::HtmlInputElement = q(&el, "#n").unwrap().unchecked_into();
    for (typed, expect) in [
        ("2", "20 credits"),
        ("25", "250 credits"),
        ("3", "30 credits"),
    ] {
        input.set_value(typed);
        input
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
        tick().await;
        assert!(
            text(&el, ".ck-estimate").contains(expect),
            "after {typed}: {}",
            text(&el, ".ck-estimate")
        );
    }
    let max = q(&el, ".ck-estimate").unwrap().get_attribute("data-max");
    assert_eq!(max.as_deref(), Some("30000"));
}

#[wasm_bindgen_test]
async fn live_estimate_shows_ranges_and_request_errors_in_words() {
    let el = host();
    let credits = credits_with(CAMPAIGNS);
    let request = RwSignal::new(Some(Request::single(Item::new("content_generation"))));
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <LiveEstimate request=request/> }
    });
    tick().await;
    assert!(
        text(&el, ".ck-estimate-amount").contains("1–3 credits"),
        "{}",
        text(&el, ".ck-estimate")
    );
    request.set(Some(Request::single(Item::new("no_such_action"))));
    tick().await;
    let error = text(&el, ".ck-estimate-error");
    assert_eq!(
        error, "This action has no price on the rate card.",
        "words, not the id"
    );
    let mut bad = Item::new("content_generation");
    bad.params.insert(
        "complexity".into(),
        creditkit_pricing::ParamValue::Text("huge".into()),
    );
    request.set(Some(Request::single(bad)));
    tick().await;
    let error = text(&el, ".ck-estimate-error");
    assert!(
        error.contains("“complexity”") && !error.contains("huge"),
        "{error}"
    );
}

fn quote_for(card: &str, request: &Request, available: u64) -> Quote {
    let card = parse_card(card).unwrap();
    let e = estimate(&card, request).unwrap();
    Quote {
        id: "quo_1".into(),
        wallet_id: "wal_1".into(),
        hold_millicredits: e.max_millicredits,
        available_millicredits: available,
        would_exceed: e.max_millicredits > available,
        shortfall: None,
        expires_at_ms: 0,
        estimate: e,
        streaming: false,
        cap: None,
    }
}

#[wasm_bindgen_test]
async fn confirm_dialog_is_a_modal_that_traps_focus_and_escape_cancels() {
    let el = host();
    let credits = credits_with(CAMPAIGNS);
    credits
        .balance
        .set(Some(balance(150_000, BalanceState::Ok)));
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <button id="opener">"Generate"</button> <ConfirmDialog/> }
    });
    tick().await;
    let opener: web_sys::HtmlElement = q(&el, "#opener").unwrap().unchecked_into();
    opener.focus().unwrap();
    let quote = quote_for(
        CAMPAIGNS,
        &Request::single(Item::new("content_generation")),
        150_000,
    );
    credits.flow.set(Flow::Confirming {
        label: "Content generation".into(),
        quote,
    });
    tick().await;

    let dialog = q(&el, "[role=dialog]").expect("dialog open");
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    let title_id = dialog.get_attribute("aria-labelledby").unwrap();
    assert!(text(&el, &format!("#{title_id}")).contains("Content generation"));
    let body = dialog.text_content().unwrap();
    assert!(body.contains("1–3 credits (at most 3 credits)"), "{body}");
    assert!(body.contains("Balance after: 147 credits"), "{body}");
    assert!(body.contains("Confirm — 3 credits"), "{body}");
    // Focus moved in, on the primary action; Tab wraps inside in both directions.
    assert!(
        active_text().starts_with("Confirm"),
        "focus on {}",
        active_text()
    );
    key(&dialog, "Tab", false);
    assert_eq!(active_text(), "Cancel");
    key(&dialog, "Tab", true);
    assert!(
        active_text().starts_with("Confirm"),
        "shift-tab wrapped to {}",
        active_text()
    );
    // Escape cancels, closes, and returns focus to what opened it.
    key(&dialog, "Escape", false);
    tick().await;
    assert!(q(&el, "[role=dialog]").is_none());
    assert_eq!(credits.flow.get_untracked(), Flow::Idle);
    sleep_ms(10).await; // focus returns in the next task, once the opener is enabled
    assert_eq!(active_text(), "Generate");
}

#[wasm_bindgen_test]
async fn confirm_dialog_warns_when_the_action_leaves_a_low_balance() {
    let el = host();
    let credits = credits_with(LANDING);
    credits
        .balance
        .set(Some(balance(105_000, BalanceState::Ok)));
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <ConfirmDialog/> }
    });
    let quote = quote_for(LANDING, &Request::single(Item::new("section")), 105_000);
    credits.flow.set(Flow::Confirming {
        label: "Section".into(),
        quote,
    });
    tick().await;
    let body = text(&el, "[role=dialog]");
    assert!(
        body.contains("Cost: 10 credits") && body.contains("Balance after: 95 credits"),
        "{body}"
    );
    assert!(body.contains("below your low-balance level"), "{body}");
}

#[wasm_bindgen_test]
async fn insufficient_prompt_shows_the_gap_and_what_covers_it() {
    let el = host();
    let credits = credits_with(CAMPAIGNS);
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <InsufficientPrompt/> }
    });
    let card = parse_card(CAMPAIGNS).unwrap();
    let s = shortfall(&card, Millicredits(40_000), Millicredits(300_000), None).unwrap();
    credits.flow.set(Flow::Insufficient {
        label: "Campaign creation".into(),
        shortfall: s,
    });
    tick().await;
    let dialog = q(&el, "[role=alertdialog]").expect("prompt open");
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    assert_eq!(text(&el, "[data-field=balance]"), "40 credits");
    assert_eq!(text(&el, "[data-field=required]"), "300 credits");
    assert_eq!(text(&el, "[data-field=shortfall]"), "260 credits");
    let offer = text(&el, ".ck-actions .ck-primary");
    assert!(
        offer.starts_with("Buy ") && offer.contains("credits"),
        "{offer}"
    );
    assert!(
        active_text().starts_with("Buy "),
        "focus on the offer: {}",
        active_text()
    );
    key(&dialog, "Escape", false);
    tick().await;
    assert!(q(&el, "[role=alertdialog]").is_none());
    assert!(!credits.has_pending());
}

#[wasm_bindgen_test]
async fn buy_shows_per_credit_prices_savings_and_the_current_plan() {
    let el = host();
    let credits = credits_with(KUMARI);
    let bought = std::rc::Rc::new(std::cell::RefCell::new(Vec::<Purchase>::new()));
    let log = bought.clone();
    credits.set_buy(std::rc::Rc::new(move |p| {
        log.borrow_mut().push(p);
        Box::pin(async { Ok(()) })
    }));
    let mut b = balance(50_000, BalanceState::Ok);
    b.plan_id = Some("pro".into());
    credits.balance.set(Some(b));
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <BuyCredits/> }
    });
    tick().await;
    // Seed 003: the $50 pack is the cheapest credit; Pro is marked, Free can be chosen.
    let small = text(&el, "[data-pack=custom]");
    let large = text(&el, "[data-pack=custom_50]");
    assert!(
        small.contains("$0.010 per credit") && !small.contains("Save"),
        "{small}"
    );
    // The Custom Pack is bought by amount, from $10: 25 of them come to 2,500 credits.
    assert!(small.contains("From $10.00"), "{small}");
    assert_eq!(
        text(&el, "[data-pack=custom] [data-field=total]"),
        "1,000 credits for $10.00"
    );
    let units: web_sys::HtmlInputElement =
        q(&el, "[data-pack=custom] input").unwrap().unchecked_into();
    assert_eq!(
        (units.min(), units.max(), units.value()),
        ("10".into(), "500".into(), "10".into())
    );
    for (typed, total) in [
        ("9", "Choose 10 to 500"),
        ("25", "2,500 credits for $25.00"),
    ] {
        units.set_value(typed);
        units
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
        tick().await;
        assert_eq!(text(&el, "[data-pack=custom] [data-field=total]"), total);
    }
    let by_amount: web_sys::HtmlElement = q(&el, "[data-pack=custom] button")
        .unwrap()
        .unchecked_into();
    by_amount.click();
    tick().await;
    assert!(
        large.contains("$0.009 per credit") && large.contains("Save 9%"),
        "{large}"
    );
    assert!(large.contains("Never expire"), "{large}");
    let pro = q(&el, "[data-plan=pro]").unwrap();
    assert_eq!(pro.get_attribute("aria-current").as_deref(), Some("true"));
    assert!(text(&el, "[data-plan=pro]").contains("Current plan"));
    assert!(
        q(&el, "[data-plan=pro] button").is_none(),
        "no switching to the plan you are on"
    );
    let buy: web_sys::HtmlElement = q(&el, "[data-pack=custom_50] button")
        .unwrap()
        .unchecked_into();
    assert!(buy
        .get_attribute("aria-label")
        .unwrap()
        .starts_with("Buy Custom Pack $50"));
    buy.click();
    tick().await;
    assert_eq!(
        *bought.borrow(),
        [
            Purchase {
                pack_id: Some("custom".into()),
                plan_id: None,
                quantity: 25
            },
            Purchase {
                pack_id: Some("custom_50".into()),
                plan_id: None,
                quantity: 1
            }
        ]
    );
}

#[wasm_bindgen_test]
async fn low_balance_alerts_say_the_levels_and_no_member_can_change_them_unasked() {
    let el = host();
    let credits = credits_with(LANDING);
    credits
        .balance
        .set(Some(balance(500_000, BalanceState::Ok)));
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <LowBalanceAlerts/> }
    });
    tick().await;
    assert_eq!(
        text(&el, "[data-field=alerts]"),
        "You are warned when the balance falls below 100 credits, and again below 10 credits."
    );
    // Who may set them is the server's answer (`manage_wallets`); none here, no form.
    sleep_ms(200).await;
    assert!(q(&el, "form").is_none());
}

#[wasm_bindgen_test]
fn only_small_well_priced_turns_run_unasked() {
    let price = |card: &str, item: Item| {
        estimate(&parse_card(card).unwrap(), &Request::single(item)).unwrap()
    };
    // KappaX's static creative: exactly 2 credits.
    let exact = price(KAPPAX, Item::new("static_creative"));
    assert!(creditkit_widget::auto_confirms(2_000, &exact));
    assert!(
        !creditkit_widget::auto_confirms(1_999, &exact),
        "above the user's limit: ask"
    );
    // Content generation of unknown complexity: 1 to 3 credits, more than twice: ask.
    let wide = price(CAMPAIGNS, Item::new("content_generation"));
    assert!((wide.min_millicredits, wide.max_millicredits) == (1_000, 3_000));
    assert!(!creditkit_widget::auto_confirms(10_000, &wide));
}

#[wasm_bindgen_test]
async fn beyond_the_packs_the_offer_is_to_get_in_touch() {
    let el = host();
    let credits = credits_with(KAPPAX);
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <InsufficientPrompt/> }
    });
    let card = parse_card(KAPPAX).unwrap();
    // 25,000 short on the monthly plan: more than the Large pack (20,000).
    let s = shortfall(
        &card,
        Millicredits(0),
        Millicredits(25_000_000),
        Some("monthly"),
    )
    .unwrap();
    credits.flow.set(Flow::Insufficient {
        label: "Multi-asset campaign".into(),
        shortfall: s,
    });
    tick().await;
    let offer = q(&el, ".ck-actions a.ck-contact").expect("the contact is the offer");
    assert_eq!(
        offer.get_attribute("href").as_deref(),
        Some("mailto:support@kappax.io")
    );
    assert_eq!(
        offer.text_content().unwrap(),
        "Get in touch for more credits"
    );
    assert!(
        q(&el, ".ck-actions button.ck-primary").is_none(),
        "no 2 × Large"
    );
    assert!(text(&el, "[data-field=support]").contains("support@kappax.io"));
    // Within the packs, the pack is the offer and the support line stays.
    let s = shortfall(
        &card,
        Millicredits(0),
        Millicredits(3_000_000),
        Some("monthly"),
    )
    .unwrap();
    credits.flow.set(Flow::Insufficient {
        label: "Multi-asset campaign".into(),
        shortfall: s,
    });
    tick().await;
    assert!(
        text(&el, ".ck-actions .ck-primary").starts_with("Buy Medium"),
        "{}",
        text(&el, ".ck-actions")
    );
    assert!(q(&el, ".ck-contact").is_none());
}

#[wasm_bindgen_test]
async fn cap_prompt_says_who_may_raise_it_and_offers_no_purchase() {
    let el = host();
    let credits = credits_with(CAMPAIGNS);
    // Mounted as the confirm element mounts them: both dialogs, one context.
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <ConfirmDialog/> <InsufficientPrompt/> }
    });
    for close in ["Escape", "OK"] {
        credits.flow.set(Flow::CapReached {
            label: "Campaign creation".into(),
            cap: Cap {
                id: "cap_1".into(),
                wallet_id: "wal_1".into(),
                scope: CapScope::Member,
                subject: Some("mem_1".into()),
                limit_millicredits: 10_000,
                period: CapPeriod::Day,
                period_start_ms: 0,
                resets_at_ms: 86_400_000,
                spent_millicredits: 9_000,
                reserved_millicredits: 0,
                left_millicredits: 1_000,
            },
        });
        tick().await;
        let dialog = q(&el, "[role=alertdialog]").expect("prompt open");
        let words = text(&el, "[data-field=cap]");
        assert!(
            words.starts_with("Campaign creation: ")
                && words.contains("daily spending cap")
                && words.contains("9 of 10 credits used")
                && words.contains("admin"),
            "{words}"
        );
        assert!(
            !dialog.text_content().unwrap().contains("Buy "),
            "a purchase would not help"
        );
        assert_eq!(active_text(), "OK", "focus on the way out");
        if close == "Escape" {
            key(&dialog, "Escape", false);
        } else {
            q(&el, "[role=alertdialog] .ck-primary")
                .unwrap()
                .unchecked_into::<web_sys::HtmlElement>()
                .click();
        }
        tick().await;
        assert!(q(&el, "[role=alertdialog]").is_none(), "{close} closes it");
        assert!(matches!(credits.flow.get_untracked(), Flow::Idle));
    }
}

#[wasm_bindgen_test]
async fn balance_badge_and_banner_follow_the_balance_state() {
    let el = host();
    let credits = credits_with(LANDING);
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <BalanceBadge/> <LowBalanceBanner/> }
    });
    credits
        .balance
        .set(Some(balance(150_000, BalanceState::Ok)));
    tick().await;
    let badge = q(&el, ".ck-balance").unwrap();
    assert_eq!(badge.get_attribute("data-state").as_deref(), Some("ok"));
    assert!(text(&el, ".ck-balance-amount").contains("150 credits"));
    assert!(text(&el, ".ck-balance-held").contains("2 held"));
    assert!(q(&el, ".ck-banner").is_none());

    credits
        .balance
        .set(Some(balance(60_500, BalanceState::Low)));
    tick().await;
    assert_eq!(badge.get_attribute("data-state").as_deref(), Some("low"));
    assert_eq!(
        q(&el, ".ck-banner")
            .unwrap()
            .get_attribute("role")
            .as_deref(),
        Some("status")
    );
    assert!(
        text(&el, ".ck-banner").contains("60.5 credits left"),
        "{}",
        text(&el, ".ck-banner")
    );

    credits
        .balance
        .set(Some(balance(0, BalanceState::Critical)));
    tick().await;
    assert_eq!(
        q(&el, ".ck-banner")
            .unwrap()
            .get_attribute("role")
            .as_deref(),
        Some("alert")
    );
    assert!(text(&el, ".ck-banner").contains("New actions are paused"));
    // With no handler of the page's, "Add credits" opens what can be bought.
    assert!(q(&el, ".ck-buy").is_none());
    let add: web_sys::HtmlElement = q(&el, ".ck-banner button").unwrap().unchecked_into();
    add.click();
    tick().await;
    assert!(
        q(&el, ".ck-buy").is_some(),
        "the buy panel opens from the banner"
    );

    // Details on click: lifetime used.
    let button: web_sys::HtmlElement = q(&el, ".ck-balance-button").unwrap().unchecked_into();
    button.click();
    tick().await;
    assert_eq!(
        button.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    assert!(text(&el, ".ck-balance-details").contains("7 credits"));
}

#[wasm_bindgen_test]
async fn custom_estimate_element_prices_its_request_attribute() {
    creditkit_widget::register_elements();
    let el = document().create_element("creditkit-estimate").unwrap();
    el.set_attribute("card", LANDING).unwrap();
    el.set_attribute(
        "request",
        r#"{"action": "image", "params": {"resolution": "2k"}, "quantity": 2}"#,
    )
    .unwrap();
    document().body().unwrap().append_child(&el).unwrap();
    tick().await;
    assert!(
        el.text_content().unwrap().contains("120 credits"),
        "{:?}",
        el.text_content()
    );
    el.set_attribute(
        "request",
        r#"{"action": "image", "params": {"resolution": "1k"}}"#,
    )
    .unwrap();
    tick().await;
    assert!(
        el.text_content().unwrap().contains("30 credits"),
        "{:?}",
        el.text_content()
    );
    el.set_attribute("request", r#"{"action": "#).unwrap();
    tick().await;
    assert!(
        el.text_content().unwrap().contains("request:"),
        "{:?}",
        el.text_content()
    );
    el.remove();
}

async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

#[wasm_bindgen_test]
async fn an_element_mounted_again_mid_request_does_not_panic() {
    creditkit_widget::register_elements();
    let el = document().create_element("creditkit-confirm").unwrap();
    // Nothing listens there: every call fails fast, after the element was re-mounted.
    el.set_attribute("api", "http://127.0.0.1:9").unwrap();
    el.set_attribute("token", "ck_ss_first").unwrap();
    el.set_attribute("request", r#"{"action": "image"}"#)
        .unwrap();
    document().body().unwrap().append_child(&el).unwrap();
    el.set_attribute("token", "ck_ss_second").unwrap(); // the page's session arrived
    sleep_ms(500).await;
    let panic =
        js_sys::Reflect::get(&web_sys::window().unwrap(), &"__creditkitPanic".into()).unwrap();
    assert!(panic.is_undefined(), "{panic:?}");
    assert!(
        el.text_content().unwrap().contains("could not be reached")
            || el.text_content().unwrap().contains("reach"),
        "the new mount reports its own failure: {:?}",
        el.text_content()
    );
    el.remove();
}

#[wasm_bindgen_test]
fn js_estimator_prices_requests_and_reports_errors_as_objects() {
    let est = Estimator::new(LANDING).unwrap();
    assert!(est.hash().starts_with("sha256:"));
    let req = js_sys::JSON::parse(r#"{"items": [{"action": "section", "quantity": 10}, {"action": "rewrite", "quantity": 15}, {"action": "image", "quantity": 3, "params": {"resolution": "1k"}}]}"#).unwrap();
    let e = est.estimate(req).unwrap();
    let max = js_sys::Reflect::get(&e, &"max_millicredits".into())
        .unwrap()
        .as_f64();
    assert_eq!(max, Some(205_000.0)); // seed 002: 205 credits
    assert_eq!(
        est.display("{\"action\": \"rewrite\"}".into()).unwrap(),
        "1 credit"
    );
    let err = est.estimate("{\"action\": \"image\"}".into()).unwrap_err();
    assert_eq!(
        js_sys::Reflect::get(&err, &"code".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("missing_param")
    );
    assert!(Estimator::new("{\"actions\": 5}").is_err());
    assert!(est.shortfall(-1.0, 5.0, None).is_err());
    assert!(est
        .shortfall(300_000.0, 205_000.0, None)
        .unwrap()
        .is_undefined());
}

#[wasm_bindgen_test]
async fn live_estimate_counts_a_chat_turn_as_it_is_typed() {
    // No server here: the o200k_base ranks cannot arrive, so the count stays true bounds
    // (pieces to bytes) and is never shown as exact.
    for (card, expect) in [
        (KAPPAX.to_string(), ["2–11 tokens", "3–17 tokens"]),
        (
            KAPPAX.replace(r#""tokenizer": "o200k_base","#, ""),
            [
                "≈3 tokens (2–11, approximate)",
                "≈5 tokens (3–17, approximate)",
            ],
        ),
    ] {
        let el = host();
        let credits = credits_with(&card);
        let text_signal = RwSignal::new("hello world".to_string());
        let request = Signal::derive(|| {
            Some(Request::single(
                Item::new("chat_turn").param("model", "kappax-agent"),
            ))
        });
        let _h = mount_to(el.clone(), move || {
            provide_context(credits);
            view! { <LiveEstimate request=request text=text_signal/> }
        });
        tick().await;
        let line = text(&el, ".ck-estimate-tokens");
        assert!(line.contains(expect[0]), "{line}");
        assert!(text(&el, ".ck-estimate-amount").contains("credits"));
        text_signal.set("hello world again".into());
        tick().await;
        let line = text(&el, ".ck-estimate-tokens");
        assert!(line.contains(expect[1]), "{line}");
    }
}

/// Types into a textarea as a browser does: `beforeinput`, the edit, `input`.
fn type_into(area: &web_sys::Element, start: u32, end: u32, inserted: &str) {
    let f = js_sys::Function::new_with_args(
        "area, start, end, inserted",
        "area.setSelectionRange(end, end);
         const init = { inputType: inserted ? 'insertText' : 'deleteContentBackward', data: inserted || null };
         area.setSelectionRange(start, end);
         area.dispatchEvent(new InputEvent('beforeinput', init));
         area.setRangeText(inserted, start, end, 'end');
         area.dispatchEvent(new InputEvent('input', init));",
    );
    let args = js_sys::Array::of4(area, &start.into(), &end.into(), &inserted.into());
    f.apply(&wasm_bindgen::JsValue::NULL, &args).unwrap();
}

#[wasm_bindgen_test]
async fn a_followed_field_is_counted_edit_by_edit_and_stays_equal_to_its_value() {
    use creditkit_widget::tokens::TypedText;
    let doc = document();
    let area = doc.create_element("textarea").unwrap();
    doc.body().unwrap().append_child(&area).unwrap();
    let value = |a: &web_sys::Element| a.unchecked_ref::<web_sys::HtmlTextAreaElement>().value();
    area.unchecked_ref::<web_sys::HtmlTextAreaElement>()
        .set_value("hello 🙂 world");
    let typed = TypedText::default();
    let following = creditkit_widget::typing::follow_edits(&area, &typed);
    assert_eq!(typed.text(), "hello 🙂 world");
    // Typing, deleting backwards, replacing a selection, an emoji, a char typed after the
    // same char (the diff may place it either side), text at both ends.
    for (start, end, inserted) in [
        (5, 5, ","),
        (14, 15, ""),
        (0, 5, "Hi"),
        (2, 2, "🙂"),
        (4, 4, "l"),
        (4, 5, ""),
        (0, 0, "> "),
    ] {
        type_into(&area, start, end, inserted);
        assert_eq!(
            typed.text(),
            value(&area),
            "after {start}..{end} ← {inserted:?}"
        );
    }
    // One emoji for another sharing its first UTF-16 unit: the edit would split a pair,
    // so the whole text is taken instead.
    let at = value(&area)
        .encode_utf16()
        .position(|u| u == 0xD83D)
        .unwrap() as u32;
    type_into(&area, at, at + 2, "🙃");
    assert_eq!(typed.text(), value(&area));
    // A script sets the value (no event); the next keystroke starts from it.
    area.unchecked_ref::<web_sys::HtmlTextAreaElement>()
        .set_value("set by the page");
    type_into(&area, 15, 15, "!");
    assert_eq!(typed.text(), "set by the page!");
    // The page's code sets both the field and the count's text (as a chat box does
    // after sending): the next keystroke starts from the field, not the old text.
    area.unchecked_ref::<web_sys::HtmlTextAreaElement>()
        .set_value("a");
    type_into(&area, 1, 1, "b");
    assert_eq!(typed.text(), "ab");
    area.unchecked_ref::<web_sys::HtmlTextAreaElement>()
        .set_value("xxxxxxxxab");
    typed.set("xxxxxxxxab");
    type_into(&area, 10, 10, "c");
    assert_eq!(typed.text(), "xxxxxxxxabc");
    area.unchecked_ref::<web_sys::HtmlTextAreaElement>()
        .set_value("set by the page!");
    typed.set("set by the page!");
    // Dropped: no longer followed.
    drop(following);
    type_into(&area, 0, 0, "x");
    assert_eq!(typed.text(), "set by the page!");

    // In a LiveEstimate: the count follows the typing.
    let el = host();
    let credits = credits_with(KAPPAX);
    let request = Signal::derive(|| {
        Some(Request::single(
            Item::new("chat_turn").param("model", "kappax-agent"),
        ))
    });
    let _h = mount_to(el.clone(), move || {
        provide_context(credits);
        view! { <LiveEstimate request=request text=typed/> }
    });
    let _following = creditkit_widget::typing::follow_edits(&area, &typed);
    tick().await;
    let before = text(&el, ".ck-estimate-tokens");
    type_into(&area, 0, 0, "a much longer message than before, ");
    tick().await;
    let after = text(&el, ".ck-estimate-tokens");
    assert_ne!(before, after);
    assert_eq!(typed.text(), value(&area));
}
