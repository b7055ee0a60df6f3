//! The pricing engine with nothing around it: parse a card, price a request (JSON in,
//! JSON out). With `wire`, also decode the API responses the widget reads. What
//! `cargo xtask size` compares the widget page with.
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub fn estimate(card: &str, request: &str) -> Result<String, String> {
    let card = creditkit_pricing::parse_card(card).map_err(|e| format!("{e:?}"))?;
    let request: creditkit_pricing::Request =
        serde_json::from_str(request).map_err(|e| e.to_string())?;
    let e = creditkit_pricing::estimate(&card, &request).map_err(|e| e.message)?;
    serde_json::to_string(&e).map_err(|e| e.to_string())
}

#[cfg(feature = "wire")]
#[wasm_bindgen]
pub fn decode(kind: u32, text: &str) -> bool {
    use creditkit_api::*;
    match kind {
        0 => serde_json::from_str::<Balance>(text).is_ok(),
        1 => serde_json::from_str::<Quote>(text).is_ok(),
        2 => serde_json::from_str::<Hold>(text).is_ok(),
        3 => serde_json::from_str::<Page<Transaction>>(text).is_ok(),
        4 => serde_json::from_str::<Usage>(text).is_ok(),
        5 => serde_json::from_str::<BalanceEvent>(text).is_ok(),
        _ => serde_json::from_str::<ApiError>(text).is_ok(),
    }
}
