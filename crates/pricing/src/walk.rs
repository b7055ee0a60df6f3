//! A JSON walker that records every problem with its path instead of stopping at the
//! first, and that reports unknown fields (serde's `deny_unknown_fields` stops at one).

use crate::json::{Object, Value};

use crate::amount::{parse_json_scaled, DecimalError, Millicredits, MAX_PRICE_MILLICREDITS};

/// One problem found in a document, with the path to the value at fault.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Problem {
    /// JSON path such as `actions[3].cost.range`; empty for the whole document.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

impl Problems {
    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    v.kind_name()
}

/// An object being read; remembers which keys were asked for so the rest can be
/// reported as unknown by [`Obj::finish`].
pub(crate) struct Obj<'v> {
    pub(crate) path: String,
    map: &'v Object,
    /// Fields read, sorted (a handful: a sorted `Vec`, no tree code in the wasm).
    known: Vec<&'static str>,
}

impl<'v> Obj<'v> {
    pub(crate) fn new(p: &mut Problems, path: &str, v: &'v Value) -> Option<Obj<'v>> {
        match v {
            Value::Object(map) => Some(Obj {
                path: path.to_string(),
                map,
                known: Vec::new(),
            }),
            other => {
                p.push(
                    path,
                    format!("expected an object, found {}", type_name(other)),
                );
                None
            }
        }
    }

    pub(crate) fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The raw value of `key` (null counts as absent).
    pub(crate) fn get(&mut self, key: &'static str) -> Option<&'v Value> {
        if let Err(i) = self.known.binary_search(&key) {
            self.known.insert(i, key);
        }
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn req(&mut self, p: &mut Problems, key: &'static str) -> Option<&'v Value> {
        let v = self.get(key);
        if v.is_none() {
            p.push(&self.path, format!("missing field `{key}`"));
        }
        v
    }

    pub(crate) fn str_opt(&mut self, p: &mut Problems, key: &'static str) -> Option<String> {
        let v = self.get(key)?;
        as_str(p, &self.at(key), v)
    }

    pub(crate) fn str_req(&mut self, p: &mut Problems, key: &'static str) -> Option<String> {
        let v = self.req(p, key)?;
        as_str(p, &self.at(key), v)
    }

    pub(crate) fn id_req(&mut self, p: &mut Problems, key: &'static str) -> Option<String> {
        let s = self.str_req(p, key)?;
        check_id(p, &self.at(key), &s).then_some(s)
    }

    pub(crate) fn u64_opt(&mut self, p: &mut Problems, key: &'static str, max: u64) -> Option<u64> {
        let v = self.get(key)?;
        as_u64(p, &self.at(key), v, max)
    }

    pub(crate) fn u64_req(&mut self, p: &mut Problems, key: &'static str, max: u64) -> Option<u64> {
        let v = self.req(p, key)?;
        as_u64(p, &self.at(key), v, max)
    }

    pub(crate) fn array(
        &mut self,
        p: &mut Problems,
        key: &'static str,
        max_len: usize,
    ) -> Vec<(String, &'v Value)> {
        let Some(v) = self.get(key) else {
            return Vec::new();
        };
        let path = self.at(key);
        match v {
            Value::Array(items) if items.len() > max_len => {
                p.push(
                    &path,
                    format!("has {} entries; the limit is {max_len}", items.len()),
                );
                Vec::new()
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (index(&path, i), v))
                .collect(),
            other => {
                p.push(
                    &path,
                    format!("expected an array, found {}", type_name(other)),
                );
                Vec::new()
            }
        }
    }

    pub(crate) fn map(
        &mut self,
        p: &mut Problems,
        key: &'static str,
        max_len: usize,
    ) -> Vec<(String, String, &'v Value)> {
        let Some(v) = self.get(key) else {
            return Vec::new();
        };
        let path = self.at(key);
        match v {
            Value::Object(m) if m.len() > max_len => {
                p.push(
                    &path,
                    format!("has {} entries; the limit is {max_len}", m.len()),
                );
                Vec::new()
            }
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| (join(&path, k), k.clone(), v))
                .collect(),
            other => {
                p.push(
                    &path,
                    format!("expected an object, found {}", type_name(other)),
                );
                Vec::new()
            }
        }
    }

    /// Reports every key that no reader asked for.
    pub(crate) fn finish(self, p: &mut Problems) {
        for key in self.map.keys() {
            if self.known.binary_search(&key.as_str()).is_err() {
                p.push(
                    &join(&self.path, key),
                    format!(
                        "unknown field `{key}` (expected one of: {})",
                        self.known.join(", ")
                    ),
                );
            }
        }
    }
}

pub(crate) fn as_str(p: &mut Problems, path: &str, v: &Value) -> Option<String> {
    match v {
        Value::String(s)
            if s.len() > crate::limits::MAX_TEXT_CHARS
                && s.chars().count() > crate::limits::MAX_TEXT_CHARS =>
        {
            p.push(
                path,
                format!(
                    "is {} characters long; the limit is {}",
                    s.chars().count(),
                    crate::limits::MAX_TEXT_CHARS
                ),
            );
            None
        }
        Value::String(s) => Some(s.clone()),
        other => {
            p.push(
                path,
                format!("expected a string, found {}", type_name(other)),
            );
            None
        }
    }
}

pub(crate) fn as_u64(p: &mut Problems, path: &str, v: &Value, max: u64) -> Option<u64> {
    match v.as_u64() {
        Some(n) if n <= max => Some(n),
        Some(n) => {
            p.push(path, format!("{n} is above the limit of {max}"));
            None
        }
        None => {
            let msg = match v {
                Value::Number(n) if n.as_i64().is_some() => {
                    format!("must not be negative (got {n})")
                }
                Value::Number(n) => format!("expected a whole number, found {n}"),
                other => format!("expected a whole number, found {}", type_name(other)),
            };
            p.push(path, msg);
            None
        }
    }
}

/// Ids are short and plain so they are safe in URLs, logs and CSS.
pub(crate) fn check_id(p: &mut Problems, path: &str, id: &str) -> bool {
    let ok = !id.is_empty()
        && id.len() <= crate::limits::MAX_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !ok {
        p.push(
            path,
            format!(
                "id `{id}` must be 1 to {} characters of a-z, A-Z, 0-9, `_`, `-`, `.`",
                crate::limits::MAX_ID_BYTES
            ),
        );
    }
    ok
}

/// Reads an amount of credits: a number, a decimal string, or `{"tier": "name"}`.
pub(crate) fn amount(
    p: &mut Problems,
    path: &str,
    v: &Value,
    tiers: &crate::map::Map<Millicredits>,
) -> Option<Millicredits> {
    if let Value::Object(m) = v {
        if let (1, Some(t)) = (m.len(), m.get("tier")) {
            let name = as_str(p, &join(path, "tier"), t)?;
            return match tiers.get(&name) {
                Some(a) => Some(*a),
                None => {
                    let known: Vec<_> = tiers.keys().map(String::as_str).collect();
                    p.push(
                        &join(path, "tier"),
                        format!("unknown tier `{name}` (tiers: {})", known.join(", ")),
                    );
                    None
                }
            };
        }
    }
    match parse_json_scaled(v, 3) {
        Ok(mc) if mc <= MAX_PRICE_MILLICREDITS => Some(Millicredits(mc)),
        Ok(_) | Err(DecimalError::Overflow(_)) => {
            p.push(
                path,
                format!(
                    "amount {v} overflows the limit of {} credits",
                    MAX_PRICE_MILLICREDITS / 1000
                ),
            );
            None
        }
        Err(DecimalError::Negative(t)) => {
            p.push(path, format!("negative price {t}"));
            None
        }
        Err(DecimalError::TooPrecise { text, .. }) => {
            p.push(
                path,
                format!("{text} is finer than 0.001 credit (1 milli-credit)"),
            );
            None
        }
        Err(DecimalError::NotANumber(t)) if v.is_string() => {
            p.push(
                path,
                format!("`{t}` is not a decimal number of credits (write e.g. \"2.5\")"),
            );
            None
        }
        Err(DecimalError::NotANumber(_)) => {
            p.push(path, format!("expected credits as a number, a decimal string or {{\"tier\": name}}, found {}", type_name(v)));
            None
        }
    }
}
