//! Wire types read from JSON without serde, for the browser (`FromJson`; its writer is
//! [`crate::to_json`]).
//!
//! serde's derived `Deserialize` is generated per type and per format: in the widget's
//! WebAssembly the `/v1` types' impls weighed ~100 KB before compression (`cargo xtask
//! size`). A client reads these shapes through [`FromJson`] instead: one small generic
//! field reader, and `#[derive(FromJson)]` (creditkit-wire-derive) on each wire type,
//! which follows the type's serde attributes (a field absent or `null` is `None`;
//! `#[serde(default)]` fields default; unknown fields are ignored). The tests check every
//! type against what serde writes. The server keeps serde, in both directions.

use std::fmt;

use crate::json::{Object, Value};
use crate::Map;

/// A value read from JSON.
pub trait FromJson: Sized {
    fn from_json(v: &Value) -> Result<Self, DecodeError>;
}

/// Parses `text` and reads a `T` from it.
pub fn from_json_text<T: FromJson>(text: &str) -> Result<T, DecodeError> {
    let v = crate::json::parse(text).map_err(|e| DecodeError {
        path: String::new(),
        message: e.to_string(),
    })?;
    T::from_json(&v)
}

/// What did not fit, and where (`estimate.lines[2].kind`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub path: String,
    pub message: String,
}

impl DecodeError {
    /// "expected `what`, found …".
    pub fn expected(what: &str, v: &Value) -> DecodeError {
        DecodeError {
            path: String::new(),
            message: format!("expected {what}, found {}", v.kind_name()),
        }
    }

    /// The same error, one level further in (`outer.path`).
    pub fn within(mut self, outer: &str) -> DecodeError {
        self.path = match (self.path.is_empty(), self.path.starts_with('[')) {
            (true, _) => outer.to_string(),
            (false, true) => format!("{outer}{}", self.path),
            (false, false) => format!("{outer}.{}", self.path),
        };
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for DecodeError {}

/// The object a struct is read from.
pub fn object(v: &Value) -> Result<&Object, DecodeError> {
    v.as_object()
        .ok_or_else(|| DecodeError::expected("an object", v))
}

/// `name`'s value in `o` (absent reads as `null`).
pub fn field<T: FromJson>(o: &Object, name: &str) -> Result<T, DecodeError> {
    T::from_json(o.get(name).unwrap_or(&Value::Null)).map_err(|e| e.within(name))
}

/// `name`'s value, or `T::default()` when absent or `null` (`#[serde(default)]`).
pub fn field_or_default<T: FromJson + Default>(o: &Object, name: &str) -> Result<T, DecodeError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(_) => field(o, name),
    }
}

/// Any document: an answer whose body the caller does not need.
impl FromJson for () {
    fn from_json(_: &Value) -> Result<Self, DecodeError> {
        Ok(())
    }
}

impl FromJson for String {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| DecodeError::expected("a string", v))
    }
}

impl FromJson for bool {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        v.as_bool()
            .ok_or_else(|| DecodeError::expected("a boolean", v))
    }
}

impl FromJson for u64 {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        v.as_u64()
            .ok_or_else(|| DecodeError::expected("a whole number", v))
    }
}

impl FromJson for i64 {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        v.as_i64()
            .ok_or_else(|| DecodeError::expected("a whole number", v))
    }
}

impl FromJson for u32 {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        u32::try_from(u64::from_json(v)?).map_err(|_| DecodeError::expected("a smaller number", v))
    }
}

impl FromJson for usize {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        usize::try_from(u64::from_json(v)?)
            .map_err(|_| DecodeError::expected("a smaller number", v))
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        let items = v
            .as_array()
            .ok_or_else(|| DecodeError::expected("an array", v))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| T::from_json(item).map_err(|e| e.within(&format!("[{i}]"))))
            .collect()
    }
}

impl<T: FromJson> FromJson for Map<T> {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        let mut out = Map::new();
        for (k, item) in object(v)?.iter() {
            out.insert(k.clone(), T::from_json(item).map_err(|e| e.within(k))?);
        }
        Ok(out)
    }
}
