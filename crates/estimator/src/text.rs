//! Credits for people, in the page's language: amounts stay integers, only the final
//! display divides, and the browser's `Intl.NumberFormat` writes the number in the
//! chosen locale (English and French have their words; any locale formats numbers).

use std::cell::RefCell;

use creditkit_pricing::Estimate;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// The languages the words exist in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    En,
    Fr,
}

thread_local! {
    /// The language and the BCP 47 tag `Intl` formats with (e.g. `fr-CA`).
    static CHOSEN: RefCell<Option<(Locale, String)>> = const { RefCell::new(None) };
}

/// Chooses the language from a BCP 47 tag (`fr`, `fr-CA`, `en-GB`, …); a language
/// without words here falls back to English while numbers keep the tag's format.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen(js_name = setLocale))]
pub fn set_locale(tag: &str) {
    let tag = tag.trim();
    let language = tag
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let locale = if language == "fr" {
        Locale::Fr
    } else {
        Locale::En
    };
    let tag = if tag.is_empty() {
        "en".to_string()
    } else {
        tag.to_string()
    };
    CHOSEN.with(|c| *c.borrow_mut() = Some((locale, tag)));
}

/// The language words are shown in: as set, else the browser's.
pub fn locale() -> Locale {
    chosen().0
}

/// The tag numbers, money and dates are formatted with.
pub fn locale_tag() -> String {
    chosen().1
}

fn chosen() -> (Locale, String) {
    if let Some(c) = CHOSEN.with(|c| c.borrow().clone()) {
        return c;
    }
    set_locale(&browser_language().unwrap_or_default());
    CHOSEN
        .with(|c| c.borrow().clone())
        .unwrap_or((Locale::En, "en".into()))
}

/// `navigator.language`, in the browser.
fn browser_language() -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
        js_sys::Reflect::get(&navigator, &"language".into())
            .ok()?
            .as_string()
    }
    #[cfg(not(target_arch = "wasm32"))]
    None
}

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

/// "1 credit", "2.5 credits"; "1,5 crédit", "2 crédits" (French is singular below 2).
pub fn credits_text(millicredits: u64) -> String {
    let unit = match locale() {
        Locale::En if millicredits == 1000 => "credit",
        Locale::En => "credits",
        Locale::Fr if millicredits < 2000 => "crédit",
        Locale::Fr => "crédits",
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

/// `value` formatted by the browser's `Intl.NumberFormat` with `options`. A formatter is
/// made once per locale and options and kept: making one costs tens of µs, which a live
/// estimate would pay on every keystroke.
#[cfg(target_arch = "wasm32")]
pub fn intl_number(options: &[(&str, wasm_bindgen::JsValue)], value: f64) -> Option<String> {
    thread_local! {
        /// (locale tag and options, the formatter's `format`), most recent last.
        static FORMATS: RefCell<Vec<(String, js_sys::Function)>> = const { RefCell::new(Vec::new()) };
    }
    let tag = locale_tag();
    let mut key = tag.clone();
    for (k, v) in options {
        // Options are words or small whole numbers: no float formatting compiled in.
        let value = v
            .as_string()
            .or_else(|| v.as_f64().map(|n| (n as i64).to_string()))
            .unwrap_or_default();
        key.push_str(&format!(";{k}={value}"));
    }
    let known = FORMATS.with(|f| {
        f.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, f)| f.clone())
    });
    let format = match known {
        Some(format) => format,
        None => {
            let o = js_sys::Object::new();
            for (k, v) in options {
                let _ = js_sys::Reflect::set(&o, &(*k).into(), v);
            }
            let locales = js_sys::Array::of1(&tag.into());
            let format = js_sys::Intl::NumberFormat::new(&locales, &o).format();
            FORMATS.with(|f| {
                let mut f = f.borrow_mut();
                if f.len() >= 16 {
                    f.remove(0);
                }
                f.push((key, format.clone()));
            });
            format
        }
    };
    format
        .call1(&JsValue::NULL, &value.into())
        .ok()?
        .as_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_the_tag_and_french_counts_like_french() {
        set_locale("fr-CA");
        assert_eq!((locale(), locale_tag()), (Locale::Fr, "fr-CA".to_string()));
        assert_eq!(credits_text(1500), "1.5 crédit");
        assert_eq!(credits_text(2000), "2 crédits");
        set_locale("de");
        assert_eq!(locale(), Locale::En, "no German words: English");
        assert_eq!(credits_text(1000), "1 credit");
    }
}
