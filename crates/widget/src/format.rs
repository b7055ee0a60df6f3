//! Numbers and money for people, per the browser's locale. Amounts stay integers;
//! only the final display divides.

use creditkit_pricing::Estimate;

/// `1,234.5` in the user's locale (at most three decimals, none when whole).
pub fn credits_number(millicredits: u64) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        #[allow(clippy::float_arithmetic)]
        let value = millicredits as f64 / 1000.0;
        if let Some(s) = intl_number(&[("maximumFractionDigits", 3.into())], value) {
            return s;
        }
    }
    creditkit_pricing::Millicredits(millicredits).to_string()
}

/// "1 credit", "2.5 credits".
pub fn credits_text(millicredits: u64) -> String {
    let unit = if millicredits == 1000 {
        "credit"
    } else {
        "credits"
    };
    format!("{} {unit}", credits_number(millicredits))
}

/// "30 credits" when exact, "2–3 credits" when the level is not pinned.
pub fn estimate_text(e: &Estimate) -> String {
    if e.exact {
        credits_text(e.max_millicredits)
    } else {
        format!(
            "{}–{}",
            credits_number(e.min_millicredits),
            credits_text(e.max_millicredits)
        )
    }
}

/// A moment as local date and time.
pub(crate) fn when(ms: i64) -> String {
    #[cfg(target_arch = "wasm32")]
    let text = {
        #[allow(clippy::float_arithmetic)]
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        String::from(d.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
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

/// `value` formatted by the browser's `Intl.NumberFormat` with `options`.
#[cfg(target_arch = "wasm32")]
fn intl_number(options: &[(&str, wasm_bindgen::JsValue)], value: f64) -> Option<String> {
    let o = js_sys::Object::new();
    for (k, v) in options {
        let _ = js_sys::Reflect::set(&o, &(*k).into(), v);
    }
    let f = js_sys::Intl::NumberFormat::new(&js_sys::Array::new(), &o);
    f.format().call1(&f, &value.into()).ok()?.as_string()
}

/// "daily", "monthly", … as a cap's period reads.
pub fn period_word(p: creditkit_api::CapPeriod) -> &'static str {
    match p {
        creditkit_api::CapPeriod::Day => "daily",
        creditkit_api::CapPeriod::Week => "weekly",
        creditkit_api::CapPeriod::Month => "monthly",
        creditkit_api::CapPeriod::Cycle => "billing-cycle",
    }
}

/// Whose a cap is, for people: "your monthly cap", "the project “ads” weekly cap".
pub fn cap_name(c: &creditkit_api::Cap) -> String {
    let period = period_word(c.period);
    match (c.scope, c.subject.as_deref()) {
        (creditkit_api::CapScope::Member, _) => format!("your {period} spending cap"),
        (creditkit_api::CapScope::Project, Some(p)) => format!("the {period} cap of project “{p}”"),
        _ => format!("this workspace's {period} spending cap"),
    }
}

/// Why a cap stops an action, what is left, when it resets and who can raise it.
pub fn cap_sentence(c: &creditkit_api::Cap) -> String {
    format!(
        "This would go past {}: {} of {} used, {} left until {}. A workspace admin can raise it.",
        cap_name(c),
        credits_number(c.spent_millicredits + c.reserved_millicredits),
        credits_text(c.limit_millicredits),
        credits_text(c.left_millicredits),
        when(c.resets_at_ms)
    )
}
