//! The pricing engine with nothing around it: parse a card, price a request (JSON in,
//! JSON out, through the engine's own JSON as the shipped modules do). With `wire`, also
//! read the API responses the widget reads (`creditkit_api::FromJson`); with
//! `serde-wire`, the same responses read by serde_json (issue 33: what serde in the
//! browser would cost, side by side). What `cargo xtask size` compares the shipped
//! modules with.
use creditkit_pricing::ToJson;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub fn estimate(card: &str, request: &str) -> Result<String, String> {
    let card = creditkit_pricing::parse_card(card).map_err(|e| e.to_string())?;
    let request = creditkit_pricing::Request::from_json(request).map_err(|e| e.message)?;
    let e = creditkit_pricing::estimate(&card, &request).map_err(|e| e.message)?;
    Ok(e.to_json_string())
}

#[cfg(feature = "wire")]
#[wasm_bindgen]
pub fn decode(kind: u32, text: &str) -> bool {
    use creditkit_api::*;
    match kind {
        0 => from_json_text::<Balance>(text).is_ok(),
        1 => from_json_text::<Quote>(text).is_ok(),
        2 => from_json_text::<Hold>(text).is_ok(),
        3 => from_json_text::<Page<Transaction>>(text).is_ok(),
        4 => from_json_text::<Usage>(text).is_ok(),
        5 => from_json_text::<BalanceEvent>(text).is_ok(),
        _ => from_json_text::<ApiError>(text).is_ok(),
    }
}

#[cfg(feature = "serde-wire")]
#[wasm_bindgen]
pub fn decode_serde(kind: u32, text: &str) -> bool {
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
