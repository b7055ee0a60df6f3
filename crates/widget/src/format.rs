//! Numbers and money for people, per the browser's locale. Amounts stay integers;
//! only the final display divides.

#[cfg(target_arch = "wasm32")]
use creditkit_estimator::text::intl_number;
pub use creditkit_estimator::text::{credits_number, credits_text, estimate_text};

use crate::copy::words;

/// A moment as local date and time.
pub(crate) fn when(ms: i64) -> String {
    #[cfg(target_arch = "wasm32")]
    let text = {
        #[allow(clippy::float_arithmetic)]
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        String::from(d.to_locale_string(
            &creditkit_estimator::text::locale_tag(),
            &wasm_bindgen::JsValue::UNDEFINED,
        ))
    };
    #[cfg(not(target_arch = "wasm32"))]
    let text = format!("{ms}");
    text
}

/// A day as people read it ("February 15, 2026"), in the page's locale.
pub(crate) fn day(ms: i64) -> String {
    #[cfg(target_arch = "wasm32")]
    let text = {
        #[allow(clippy::float_arithmetic)]
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"long".into());
        String::from(d.to_locale_date_string(&creditkit_estimator::text::locale_tag(), &options))
    };
    #[cfg(not(target_arch = "wasm32"))]
    let text = format!("{ms}");
    text
}

/// "$19.99" in the user's locale; the card's own text when the browser cannot format it.
pub fn money_text(m: &creditkit_pricing::Money) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let options = [
            ("style", "currency".into()),
            ("currency", m.currency.as_str().into()),
        ];
        // JavaScript's number parser: Rust's `f64::from_str` would add ~10 KB of tables.
        let value = js_sys::Number::parse_float(&m.display);
        if !value.is_nan() {
            if let Some(s) = intl_number(&options, value) {
                return s;
            }
        }
    }
    format!("{} {}", m.display, m.currency)
}

/// A price per credit ("$0.045", "0,045 $US"): money in the user's locale, to the
/// three decimals price lists give it; the card's own text when the browser cannot.
pub fn unit_price_text(display: &str, currency: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let options = [
            ("style", "currency".into()),
            ("currency", currency.into()),
            ("minimumFractionDigits", wasm_bindgen::JsValue::from(3)),
            ("maximumFractionDigits", wasm_bindgen::JsValue::from(3)),
        ];
        let value = js_sys::Number::parse_float(display);
        if !value.is_nan() {
            if let Some(s) = intl_number(&options, value) {
                return s;
            }
        }
    }
    format!("{display} {currency}")
}

/// "daily", "monthly", … as a cap's period reads.
pub fn period_word(p: creditkit_api::CapPeriod) -> &'static str {
    let i = match p {
        creditkit_api::CapPeriod::Day => 0,
        creditkit_api::CapPeriod::Week => 1,
        creditkit_api::CapPeriod::Month => 2,
        creditkit_api::CapPeriod::Cycle => 3,
    };
    words().period_words[i]
}

/// Whose a cap is, for people: "your monthly cap", "the project “ads” weekly cap".
pub fn cap_name(c: &creditkit_api::Cap) -> String {
    let period = period_word(c.period);
    match (c.scope, c.subject.as_deref()) {
        (creditkit_api::CapScope::Member, _) => (words().cap_member)(period),
        (creditkit_api::CapScope::Project, Some(p)) => (words().cap_project)(period, p),
        _ => (words().cap_wallet)(period),
    }
}

/// Why a cap stops an action, what is left, when it resets and who can raise it.
pub fn cap_sentence(c: &creditkit_api::Cap) -> String {
    (words().cap_sentence)(
        &cap_name(c),
        &credits_number(c.spent_millicredits + c.reserved_millicredits),
        &credits_text(c.limit_millicredits),
        &credits_text(c.left_millicredits),
        &when(c.resets_at_ms),
    )
}
