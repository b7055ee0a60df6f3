//! Credits for people, in the page's language: amounts stay integers, only the final
//! display divides, and the browser's `Intl.NumberFormat` writes the number.

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

/// `value` formatted by the browser's `Intl.NumberFormat` with `options`.
#[cfg(target_arch = "wasm32")]
pub fn intl_number(options: &[(&str, wasm_bindgen::JsValue)], value: f64) -> Option<String> {
    let o = js_sys::Object::new();
    for (k, v) in options {
        let _ = js_sys::Reflect::set(&o, &(*k).into(), v);
    }
    let f = js_sys::Intl::NumberFormat::new(&js_sys::Array::new(), &o);
    f.format().call1(&f, &value.into()).ok()?.as_string()
}
