//! Rate card parsing and validation: JSON text → [`Card`] or every problem found.

use sha2::{Digest, Sha256};

use crate::amount::{parse_json_scaled, Millicredits, Rounding, RoundingMode};
use crate::json::Value;
use crate::limits::{
    MAX_ACTIONS, MAX_AGENTS, MAX_CARD_BYTES, MAX_COUNT_VALUE, MAX_FEATURES, MAX_FREE_MESSAGES,
    MAX_MODELS, MAX_MONEY_MICROS, MAX_MONEY_MINOR, MAX_NOTES, MAX_PACKS, MAX_PACK_CREDITS,
    MAX_PACK_UNITS, MAX_PLANS, MAX_TIERS, MAX_TOKENS,
};
use crate::map::Map;

use crate::card::{
    Agent, Card, Contact, Currency, Feature, Model, Pack, PackQuantity, Plan, Renewal,
};
use crate::walk::{as_str, check_id, join, Obj, Problem, Problems};

mod actions;

use actions::{check_composites, read_action};

/// A card that cannot be used, with every problem found and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate card: {}", .problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct CardError {
    pub problems: Vec<Problem>,
}

/// Parses and validates a rate card. Refuses it with every problem listed (never
/// just the first), each with its JSON path.
pub fn parse_card(json: &str) -> Result<Card, CardError> {
    if json.len() > MAX_CARD_BYTES {
        return Err(one(
            "",
            format!(
                "card is {} bytes; the limit is {MAX_CARD_BYTES}",
                json.len()
            ),
        ));
    }
    let value = crate::json::parse(json).map_err(|e| one("", format!("not valid JSON: {e}")))?;
    card_from_value(&value)
}

/// Validates an already-parsed JSON value as a card.
pub fn card_from_value(value: &Value) -> Result<Card, CardError> {
    let mut p = Problems::default();
    let card = read_card(&mut p, value);
    match card {
        Some(card) if p.0.is_empty() => Ok(card),
        _ => {
            if p.0.is_empty() {
                p.push("", "card is invalid");
            }
            Err(CardError { problems: p.0 })
        }
    }
}

fn one(path: &str, message: String) -> CardError {
    CardError {
        problems: vec![Problem {
            path: path.to_string(),
            message,
        }],
    }
}

fn read_card(p: &mut Problems, v: &Value) -> Option<Card> {
    let mut o = Obj::new(p, "", v)?;
    o.get("$schema");
    o.get("description");
    let id = o.id_req(p, "id");
    let name = o.str_req(p, "name");
    let version = o.str_req(p, "version");
    let currency = o
        .get("currency")
        .and_then(|c| read_currency(p, &o.at("currency"), c));
    let rounding = o.get("rounding").map_or(Some(Rounding::default()), |r| {
        read_rounding(p, &o.at("rounding"), r)
    });
    let notes = o
        .array(p, "notes", MAX_NOTES)
        .into_iter()
        .filter_map(|(path, v)| as_str(p, &path, v))
        .collect();

    let contact = o
        .get("contact")
        .and_then(|c| read_contact(p, &o.at("contact"), c));

    let mut tiers = Map::new();
    for (path, key, v) in o.map(p, "tiers", MAX_TIERS) {
        if check_id(p, &path, &key) {
            if let Some(a) = crate::walk::amount(p, &path, v, &Map::new()) {
                tiers.insert(key, a);
            }
        }
    }

    let models = read_list(p, &mut o, "models", MAX_MODELS, |p, path, v| {
        read_model(p, path, v, &tiers)
    });
    let model_ids: Map<()> = models.iter().map(|m| (m.id.clone(), ())).collect();
    let agents = read_list(p, &mut o, "agents", MAX_AGENTS, |p, path, v| {
        read_agent(p, path, v, &tiers, &model_ids)
    });
    let packs = read_list(p, &mut o, "packs", MAX_PACKS, |p, path, v| {
        read_pack(p, path, v, currency.as_ref())
    });
    let plans = read_list(p, &mut o, "plans", MAX_PLANS, |p, path, v| {
        read_plan(p, path, v, currency.as_ref())
    });

    // Actions may reference each other in any order: collect ids first.
    let action_values = o.array(p, "actions", MAX_ACTIONS);
    let action_ids: Map<()> = action_values
        .iter()
        .filter_map(|(_, v)| {
            v.get("id")
                .and_then(Value::as_str)
                .map(|id| (id.to_string(), ()))
        })
        .collect();
    let mut actions = Vec::new();
    for (path, v) in &action_values {
        if let Some(a) = read_action(p, path, v, &tiers, &action_ids, &model_ids) {
            actions.push(a);
        }
    }
    // On the raw ids, so a duplicate is reported even when the action has other faults.
    check_duplicates(
        p,
        action_values
            .iter()
            .filter_map(|(path, v)| Some((path.as_str(), v.get("id").and_then(Value::as_str)?))),
    );
    check_composites(p, &actions, &action_values);
    o.finish(p);

    let mut card = Card {
        id: id?,
        name: name?,
        version: version?,
        currency,
        rounding: rounding?,
        tiers,
        actions,
        models,
        agents,
        packs,
        plans,
        notes,
        contact,
        hash: String::new(),
    };
    card.hash = hash_card(&card);
    Some(card)
}

/// `sha256:` over the canonical JSON of the validated card (integers only, fixed
/// field order), so `1`, `"1"` and `1.0` hash alike. The canonical form is the bytes
/// `serde_json::to_vec(card)` writes (the tests hold them equal), written by
/// [`crate::ToJson`] so the browser's modules need no serde.
pub(crate) fn hash_card(card: &Card) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(crate::ToJson::to_json_string(card).as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

trait HasId {
    fn id(&self) -> &str;
}
macro_rules! has_id {
    ($($t:ty),*) => { $(impl HasId for $t { fn id(&self) -> &str { &self.id } })* };
}
has_id!(Model, Agent, Pack, Plan, Feature);

fn read_list<T: HasId>(
    p: &mut Problems,
    o: &mut Obj<'_>,
    key: &'static str,
    max: usize,
    mut read: impl FnMut(&mut Problems, &str, &Value) -> Option<T>,
) -> Vec<T> {
    let mut out: Vec<(String, T)> = Vec::new();
    for (path, v) in o.array(p, key, max) {
        if let Some(t) = read(p, &path, v) {
            out.push((path, t));
        }
    }
    check_duplicates(p, out.iter().map(|(path, t)| (path.as_str(), t.id())));
    out.into_iter().map(|(_, t)| t).collect()
}

fn check_duplicates<'a>(p: &mut Problems, items: impl Iterator<Item = (&'a str, &'a str)>) {
    let mut seen: Map<&str> = Map::new();
    for (path, id) in items {
        if let Some(first) = seen.get(id) {
            p.push(
                &join(path, "id"),
                format!("duplicate id `{id}` (first used at {first})"),
            );
        } else {
            seen.insert(id.to_string(), path);
        }
    }
}

fn read_currency(p: &mut Problems, path: &str, v: &Value) -> Option<Currency> {
    let mut o = Obj::new(p, path, v)?;
    let code = o.str_req(p, "code");
    if let Some(c) = &code {
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            p.push(
                &o.at("code"),
                format!("`{c}` is not a three-letter ISO 4217 code"),
            );
        }
    }
    let exponent = o.u64_opt(p, "exponent", 6).unwrap_or(2) as u32;
    let credit_value_micros = match o.get("credit_value") {
        None => None,
        Some(v) => match parse_json_scaled(v, 6) {
            Ok(m) if m > 0 && m <= MAX_MONEY_MICROS => Some(m),
            Ok(_) => {
                p.push(&o.at("credit_value"), "must be above 0 and at most 1000000");
                None
            }
            Err(e) => {
                p.push(&o.at("credit_value"), e.to_string());
                None
            }
        },
    };
    o.finish(p);
    Some(Currency {
        code: code?,
        exponent,
        credit_value_micros,
    })
}

fn read_rounding(p: &mut Problems, path: &str, v: &Value) -> Option<Rounding> {
    let mut o = Obj::new(p, path, v)?;
    let step = match o.get("step") {
        None => Some(1),
        Some(s) => match crate::walk::amount(p, &o.at("step"), s, &Map::new()) {
            Some(Millicredits(0)) => {
                p.push(&o.at("step"), "step must be at least 0.001");
                None
            }
            other => other.map(|m| m.0),
        },
    };
    let mode = match o.str_opt(p, "mode").as_deref() {
        None | Some("up") => Some(RoundingMode::Up),
        Some("down") => Some(RoundingMode::Down),
        Some("nearest") => Some(RoundingMode::Nearest),
        Some(other) => {
            p.push(
                &o.at("mode"),
                format!("unknown rounding mode `{other}` (expected up, down or nearest)"),
            );
            None
        }
    };
    o.finish(p);
    Some(Rounding {
        step_millicredits: step?,
        mode: mode?,
    })
}

fn money(p: &mut Problems, path: &str, v: &Value, currency: Option<&Currency>) -> Option<u64> {
    let Some(c) = currency else {
        p.push(path, "a price needs the card's `currency`");
        return None;
    };
    match parse_json_scaled(v, c.exponent) {
        Ok(m) if m <= MAX_MONEY_MINOR => Some(m),
        Ok(_) => {
            p.push(path, format!("price {v} is above the limit"));
            None
        }
        Err(e) => {
            p.push(path, format!("price: {e}"));
            None
        }
    }
}

fn read_model(p: &mut Problems, path: &str, v: &Value, tiers: &Map<Millicredits>) -> Option<Model> {
    let mut o = Obj::new(p, path, v)?;
    let id = o.id_req(p, "id");
    let name = o.str_opt(p, "name");
    let class = o.str_opt(p, "class");
    let per_message = match o.get("per_message") {
        Some(v) => crate::walk::amount(p, &o.at("per_message"), v, tiers),
        None => Some(Millicredits::ZERO),
    };
    let input = o
        .get("input_per_1k_tokens")
        .map(|v| crate::walk::amount(p, &o.at("input_per_1k_tokens"), v, tiers));
    let output = o
        .get("output_per_1k_tokens")
        .map(|v| crate::walk::amount(p, &o.at("output_per_1k_tokens"), v, tiers));
    let max_input_tokens = o.u64_opt(p, "max_input_tokens", MAX_TOKENS);
    let max_output_tokens = o.u64_opt(p, "max_output_tokens", MAX_TOKENS);
    let expected_output_tokens = o.u64_opt(p, "expected_output_tokens", MAX_TOKENS);
    let tokenizer = o.str_opt(p, "tokenizer");
    // Exact here: o200k_base, cl100k_base; `approximate`; any other name is a tokenizer
    // the host plugs in (counted by the approximation where it has none).
    if let Some(t) = &tokenizer {
        let ok = !t.is_empty()
            && t.len() <= 64
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !ok {
            p.push(
                &o.at("tokenizer"),
                format!(
                    "`{t}` is not a tokenizer name (letters, digits, `_`, `-`, `.`; exact: {}, or approximate)",
                    creditkit_tokens::Encoding::ALL.map(|e| e.name()).join(", ")
                ),
            );
        }
    }
    if output.is_some() && max_output_tokens.is_none() {
        p.push(
            path,
            "`output_per_1k_tokens` needs `max_output_tokens` to bound the estimate's maximum",
        );
    }
    if let (Some(e), Some(m)) = (expected_output_tokens, max_output_tokens) {
        if e > m {
            p.push(
                &o.at("expected_output_tokens"),
                format!("expected_output_tokens {e} > max_output_tokens {m}"),
            );
        }
    }
    o.finish(p);
    let id = id?;
    Some(Model {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        class,
        per_message: per_message?,
        input_per_1k_tokens: input.transpose_flat()?,
        output_per_1k_tokens: output.transpose_flat()?,
        max_input_tokens,
        max_output_tokens,
        expected_output_tokens,
        tokenizer,
    })
}

/// `Option<Option<T>>` from an optional field whose read may fail: outer `None` =
/// failed (problem recorded), inner `None` = absent.
trait TransposeFlat<T> {
    fn transpose_flat(self) -> Option<Option<T>>;
}
impl<T> TransposeFlat<T> for Option<Option<T>> {
    fn transpose_flat(self) -> Option<Option<T>> {
        match self {
            None => Some(None),
            Some(None) => None,
            Some(Some(t)) => Some(Some(t)),
        }
    }
}

fn read_agent(
    p: &mut Problems,
    path: &str,
    v: &Value,
    tiers: &Map<Millicredits>,
    models: &Map<()>,
) -> Option<Agent> {
    let mut o = Obj::new(p, path, v)?;
    let id = o.id_req(p, "id");
    let name = o.str_opt(p, "name");
    let model = o.str_req(p, "model");
    if let Some(m) = &model {
        if !models.contains_key(m) {
            p.push(&o.at("model"), format!("unknown model `{m}`"));
        }
    }
    let addon = match o.get("publisher_addon") {
        Some(v) => crate::walk::amount(p, &o.at("publisher_addon"), v, tiers),
        None => Some(Millicredits::ZERO),
    };
    let free_messages = o
        .u64_opt(p, "free_messages", MAX_FREE_MESSAGES)
        .unwrap_or(0);
    o.finish(p);
    let id = id?;
    Some(Agent {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        model: model?,
        publisher_addon: addon?,
        free_messages,
    })
}

fn read_pack(p: &mut Problems, path: &str, v: &Value, currency: Option<&Currency>) -> Option<Pack> {
    let mut o = Obj::new(p, path, v)?;
    let id = o.id_req(p, "id");
    let name = o.str_opt(p, "name");
    let credits = o.u64_req(p, "credits", MAX_PACK_CREDITS);
    if credits == Some(0) {
        p.push(&o.at("credits"), "a pack must hold at least 1 credit");
    }
    let price = o
        .get("price")
        .map(|v| money(p, &o.at("price"), v, currency));
    let validity_months = o.u64_opt(p, "validity_months", 1200).map(|m| m as u32);
    let quantity = o
        .get("quantity")
        .and_then(|q| read_pack_quantity(p, &o.at("quantity"), q));
    o.finish(p);
    let id = id?;
    Some(Pack {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        credits: credits.filter(|c| *c > 0)?,
        price_minor: price.transpose_flat()?,
        validity_months,
        quantity,
    })
}

/// `{ "min": 10, "max": 500 }`: a pack bought by amount.
fn read_pack_quantity(p: &mut Problems, path: &str, v: &Value) -> Option<PackQuantity> {
    let mut o = Obj::new(p, path, v)?;
    let min = o.u64_req(p, "min", MAX_PACK_UNITS);
    let max = o.u64_req(p, "max", MAX_PACK_UNITS);
    o.finish(p);
    let (min, max) = (min?, max?);
    if min == 0 || max < min {
        p.push(
            path,
            format!("a pack's quantity is 1 ≤ min ≤ max (found {min} to {max})"),
        );
        return None;
    }
    Some(PackQuantity { min, max })
}

fn read_plan(p: &mut Problems, path: &str, v: &Value, currency: Option<&Currency>) -> Option<Plan> {
    let mut o = Obj::new(p, path, v)?;
    let id = o.id_req(p, "id");
    let name = o.str_opt(p, "name");
    let credits = o.u64_req(p, "credits", MAX_PACK_CREDITS);
    let renewal = match o.str_opt(p, "renewal").as_deref() {
        None | Some("monthly") => Some(Renewal::Monthly),
        Some("once") => Some(Renewal::Once),
        Some(other) => {
            p.push(
                &o.at("renewal"),
                format!("unknown renewal `{other}` (expected monthly or once)"),
            );
            None
        }
    };
    let price = o
        .get("price")
        .map(|v| money(p, &o.at("price"), v, currency));
    let features = read_list(p, &mut o, "features", MAX_FEATURES, read_feature);
    o.finish(p);
    let id = id?;
    Some(Plan {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        credits: credits?,
        renewal: renewal?,
        price_minor: price.transpose_flat()?,
        features,
    })
}

/// `{ "id": "kb_files", "name": "Knowledge base files", "limit": 1 }`.
fn read_feature(p: &mut Problems, path: &str, v: &Value) -> Option<Feature> {
    let mut o = Obj::new(p, path, v)?;
    let id = o.id_req(p, "id");
    let name = o.str_opt(p, "name");
    let limit = o.u64_opt(p, "limit", MAX_COUNT_VALUE);
    let unit = o.str_opt(p, "unit");
    o.finish(p);
    let id = id?;
    Some(Feature {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        limit,
        unit,
    })
}

/// `{ "email": "support@…", "url": "https://…", "beyond_packs": true }`.
fn read_contact(p: &mut Problems, path: &str, v: &Value) -> Option<Contact> {
    let mut o = Obj::new(p, path, v)?;
    let email = o.str_opt(p, "email");
    let url = o.str_opt(p, "url");
    let beyond_packs = match o.get("beyond_packs") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            let found = crate::walk::type_name(other);
            p.push(
                &o.at("beyond_packs"),
                format!("expected true or false, found {found}"),
            );
            false
        }
    };
    if let Some(e) = &email {
        let ok = e.len() <= 254
            && e.split_once('@')
                .is_some_and(|(a, d)| !a.is_empty() && d.contains('.'));
        if !ok {
            p.push(&o.at("email"), format!("`{e}` is not an email address"));
        }
    }
    if let Some(u) = &url {
        if u.len() > 2048 || !(u.starts_with("https://") || u.starts_with("http://")) {
            p.push(&o.at("url"), format!("`{u}` is not an http(s) URL"));
        }
    }
    if email.is_none() && url.is_none() {
        p.push(path, "a contact needs an `email` or a `url`");
    }
    o.finish(p);
    Some(Contact {
        email,
        url,
        beyond_packs,
    })
}
