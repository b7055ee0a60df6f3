//! Estimate requests: one action, or several priced as one total (a landing page =
//! 10 sections + 15 rewrites + 3 images).

use crate::map::Map;

use crate::json::Value;
use serde::{Deserialize, Serialize};

use crate::error::{EstimateError, EstimateErrorKind};
use crate::limits::{MAX_ITEMS, MAX_QUANTITY, MAX_TEXT_CHARS};
use crate::walk::{as_str, as_u64, Obj, Problems};

/// The request parameter holding a chat turn's text.
pub const INPUT_TEXT: &str = "input_text";

/// A parameter value: a name (`"2k"`, `"gpt-4o"`) or a count (`3`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ParamValue {
    Count(u64),
    Text(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Count(n) => write!(f, "{n}"),
            ParamValue::Text(s) => write!(f, "\"{s}\""),
        }
    }
}

/// One priced line of work: an action, how many times, and its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
pub struct Item {
    pub action: String,
    pub quantity: u64,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub params: Map<ParamValue>,
}

impl Item {
    pub fn new(action: impl Into<String>) -> Item {
        Item {
            action: action.into(),
            quantity: 1,
            params: Map::new(),
        }
    }

    pub fn quantity(mut self, quantity: u64) -> Item {
        self.quantity = quantity;
        self
    }

    pub fn param(mut self, name: impl Into<String>, value: impl Into<ParamValue>) -> Item {
        self.params.insert(name.into(), value.into());
        self
    }
}

impl From<u64> for ParamValue {
    fn from(n: u64) -> Self {
        ParamValue::Count(n)
    }
}
impl From<&str> for ParamValue {
    fn from(s: &str) -> Self {
        ParamValue::Text(s.to_string())
    }
}
impl From<String> for ParamValue {
    fn from(s: String) -> Self {
        ParamValue::Text(s)
    }
}

/// What to price: one or more items, estimated as one total with a line per item.
///
/// JSON: `{"items": [{"action": "image", "quantity": 3, "params": {"resolution": "1k"}}]}`,
/// or a single item without the `items` wrapper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
pub struct Request {
    pub items: Vec<Item>,
}

impl Request {
    pub fn single(item: Item) -> Request {
        Request { items: vec![item] }
    }

    /// Parses a request, reporting the first problem with its path.
    pub fn from_json(json: &str) -> Result<Request, EstimateError> {
        let value = crate::json::parse(json).map_err(|e| {
            EstimateError::new(
                EstimateErrorKind::InvalidRequest,
                "",
                format!("not valid JSON: {e}"),
            )
        })?;
        Request::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Request, EstimateError> {
        let mut p = Problems::default();
        let request = read_request(&mut p, value);
        match (request, p.0.into_iter().next()) {
            (Some(r), None) => Ok(r),
            (_, Some(problem)) => Err(EstimateError::new(
                EstimateErrorKind::InvalidRequest,
                &problem.path,
                problem.message,
            )),
            (None, None) => Err(EstimateError::new(
                EstimateErrorKind::InvalidRequest,
                "",
                "invalid request",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::from(&serde_json::Value::deserialize(d)?);
        Request::from_value(&value).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::from(&serde_json::Value::deserialize(d)?);
        let mut p = Problems::default();
        match (read_item(&mut p, "", &value), p.0.into_iter().next()) {
            (Some(item), None) => Ok(item),
            (_, Some(problem)) => Err(serde::de::Error::custom(problem)),
            (None, None) => Err(serde::de::Error::custom("invalid item")),
        }
    }
}

fn read_request(p: &mut Problems, v: &Value) -> Option<Request> {
    if v.get("items").is_none() {
        return read_item(p, "", v).map(Request::single);
    }
    let mut o = Obj::new(p, "", v)?;
    let items_value = o.get("items")?;
    o.finish(p);
    let Value::Array(values) = items_value else {
        p.push("items", "expected an array of items");
        return None;
    };
    if values.is_empty() {
        p.push("items", "needs at least one item");
        return None;
    }
    if values.len() > MAX_ITEMS {
        p.push(
            "items",
            format!("has {} items; the limit is {MAX_ITEMS}", values.len()),
        );
        return None;
    }
    let mut items = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        items.push(read_item(p, &format!("items[{i}]"), v)?);
    }
    Some(Request { items })
}

fn read_item(p: &mut Problems, path: &str, v: &Value) -> Option<Item> {
    let mut o = Obj::new(p, path, v)?;
    let action = o.str_req(p, "action");
    let quantity = match o.get("quantity") {
        None => Some(1),
        Some(q) => match as_u64(p, &o.at("quantity"), q, MAX_QUANTITY) {
            Some(0) => {
                p.push(&o.at("quantity"), "quantity must be at least 1");
                None
            }
            other => other,
        },
    };
    let mut params = Map::new();
    for (ppath, key, pv) in o.map(p, "params", 16) {
        let value = match pv {
            Value::String(t) if key == INPUT_TEXT => {
                if t.len() > crate::limits::MAX_INPUT_TEXT_BYTES {
                    p.push(
                        &ppath,
                        format!(
                            "is {} bytes long; the limit is {}",
                            t.len(),
                            crate::limits::MAX_INPUT_TEXT_BYTES
                        ),
                    );
                    None
                } else {
                    Some(ParamValue::Text(t.clone()))
                }
            }
            Value::String(_) => as_str(p, &ppath, pv).map(ParamValue::Text),
            _ => as_u64(p, &ppath, pv, u64::MAX).map(ParamValue::Count),
        };
        if let Some(value) = value {
            params.insert(key, value);
        }
    }
    o.finish(p);
    let action = action?;
    if action.chars().count() > MAX_TEXT_CHARS {
        return None;
    }
    Some(Item {
        action,
        quantity: quantity?,
        params,
    })
}

/// The JSON Schema of what [`read_item`] and [`read_request`] accept (the derive would
/// describe what serde writes: `quantity` always present, one form only).
#[cfg(feature = "schema")]
mod schema {
    use std::borrow::Cow;

    use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

    use super::{Item, Request};
    use crate::limits::{MAX_INPUT_TEXT_BYTES, MAX_ITEMS, MAX_QUANTITY, MAX_TEXT_CHARS};

    impl JsonSchema for Item {
        fn schema_name() -> Cow<'static, str> {
            "Item".into()
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "object",
                "description": "One action of the card, how many times, and its parameters (a choice by name, a count, or a chat turn's `input_text`).",
                "properties": {
                    "action": { "type": "string", "maxLength": MAX_TEXT_CHARS },
                    "quantity": { "type": "integer", "minimum": 1, "maximum": MAX_QUANTITY, "default": 1 },
                    "params": {
                        "type": "object",
                        "maxProperties": 16,
                        "additionalProperties": {
                            "anyOf": [
                                { "type": "integer", "minimum": 0, "maximum": u64::MAX },
                                { "type": "string", "maxLength": MAX_TEXT_CHARS }
                            ]
                        },
                        "properties": {
                            "input_text": { "type": "string", "maxLength": MAX_INPUT_TEXT_BYTES,
                                "description": "a chat turn's text, counted into `input_tokens` by the model's tokenizer (at most 1 MiB of UTF-8)" }
                        }
                    }
                },
                "required": ["action"],
                "additionalProperties": false
            })
        }
    }

    impl JsonSchema for Request {
        fn schema_name() -> Cow<'static, str> {
            "Request".into()
        }

        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            let item = generator.subschema_for::<Item>();
            json_schema!({
                "description": "One item, or several priced as one total under `items`.",
                "anyOf": [
                    item,
                    {
                        "type": "object",
                        "properties": {
                            "items": { "type": "array", "items": item, "minItems": 1, "maxItems": MAX_ITEMS }
                        },
                        "required": ["items"],
                        "additionalProperties": false
                    }
                ]
            })
        }
    }
}
