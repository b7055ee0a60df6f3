//! Actions and what they cost: counts, fixed amounts, options, ranges, chat and
//! composites (which may reference each other in any order, checked once all are read).

use crate::amount::Millicredits;
use crate::card::{Action, Component, Cost, CountParam, CHAT_PARAMS};
use crate::json::Value;
use crate::limits::{
    MAX_CHOICES, MAX_COMPONENTS, MAX_COUNTS_PER_ACTION, MAX_COUNT_VALUE, MAX_DEPTH,
    MAX_EXPANDED_PARTS, MAX_QUANTITY,
};
use crate::map::Map;
use crate::request::ParamValue;
use crate::walk::{as_str, as_u64, check_id, index, join, type_name, Obj, Problems};

pub(super) fn read_action(
    p: &mut Problems,
    path: &str,
    v: &Value,
    tiers: &Map<Millicredits>,
    action_ids: &Map<()>,
    model_ids: &Map<()>,
) -> Option<Action> {
    let has_models = !model_ids.is_empty();
    let mut o = Obj::new(p, path, v)?;
    o.get("description");
    let id = o.id_req(p, "id");
    let name = o.str_opt(p, "name");
    let category = o.str_opt(p, "category");
    let mut counts = Map::new();
    for (cpath, key, cv) in o.map(p, "counts", MAX_COUNTS_PER_ACTION) {
        if check_id(p, &cpath, &key) {
            if let Some(c) = read_count(p, &cpath, cv, &key) {
                counts.insert(key, c);
            }
        }
    }
    let mut per = Vec::new();
    for (ppath, pv) in o.array(p, "per", MAX_COUNTS_PER_ACTION) {
        if let Some(name) = as_str(p, &ppath, pv) {
            if !counts.contains_key(&name) {
                p.push(
                    &ppath,
                    format!("`{name}` is not one of this action's `counts`"),
                );
            }
            per.push(name);
        }
    }
    let cost_path = o.at("cost");
    let cost = o
        .req(p, "cost")
        .and_then(|c| read_cost(p, &cost_path, c, tiers, action_ids, &counts, has_models));
    let mut route = Vec::new();
    for (rpath, rv) in o.array(p, "route", crate::limits::MAX_MODELS) {
        if let Some(id) = as_str(p, &rpath, rv) {
            if !model_ids.contains_key(&id) {
                p.push(&rpath, format!("`{id}` is not one of the card's `models`"));
            } else if route.contains(&id) {
                p.push(&rpath, format!("`{id}` is listed twice"));
            }
            route.push(id);
        }
    }
    if !route.is_empty() && !matches!(cost, Some(Cost::Chat) | None) {
        p.push(
            &o.at("route"),
            "only a chat action (`\"cost\": \"chat\"`) is routed among models",
        );
    }
    if let Some(Cost::Chat) = &cost {
        for reserved in CHAT_PARAMS {
            if counts.contains_key(reserved) {
                p.push(
                    &join(&o.at("counts"), reserved),
                    format!("`{reserved}` is reserved for chat pricing"),
                );
            }
        }
    }
    o.finish(p);
    let id = id?;
    Some(Action {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        category,
        cost: cost?,
        counts,
        per,
        route,
    })
}

fn read_count(p: &mut Problems, path: &str, v: &Value, key: &str) -> Option<CountParam> {
    let mut o = Obj::new(p, path, v)?;
    let label = o
        .str_opt(p, "label")
        .unwrap_or_else(|| key.replace('_', " "));
    let min = o.u64_opt(p, "min", MAX_COUNT_VALUE).unwrap_or(1);
    let max = o.u64_req(p, "max", MAX_COUNT_VALUE);
    let default = o.u64_opt(p, "default", MAX_COUNT_VALUE);
    o.finish(p);
    let max = max?;
    if min > max {
        p.push(path, format!("min {min} > max {max}"));
        return None;
    }
    if let Some(d) = default {
        if d < min || d > max {
            p.push(
                &join(path, "default"),
                format!("default {d} is outside {min}..={max}"),
            );
            return None;
        }
    }
    Some(CountParam {
        label,
        min,
        max,
        default,
    })
}

fn read_cost(
    p: &mut Problems,
    path: &str,
    v: &Value,
    tiers: &Map<Millicredits>,
    action_ids: &Map<()>,
    counts: &Map<CountParam>,
    has_models: bool,
) -> Option<Cost> {
    match v {
        Value::String(s) if s == "free" => return Some(Cost::Free),
        Value::String(s) if s == "chat" => {
            if !has_models {
                p.push(path, "chat pricing needs at least one entry in `models`");
                return None;
            }
            return Some(Cost::Chat);
        }
        Value::Object(m) if m.len() == 1 && !m.contains_key("tier") => {}
        _ => {
            return match crate::walk::amount(p, path, v, tiers) {
                Some(Millicredits(0)) => Some(Cost::Free),
                Some(amount) => Some(Cost::Fixed { amount }),
                None => None,
            }
        }
    }
    let Value::Object(m) = v else { return None };
    let (kind, body) = m.iter().next()?;
    let kpath = join(path, kind);
    match kind.as_str() {
        "options" => read_options(p, &kpath, body, tiers),
        "range" => read_range(p, &kpath, body, tiers),
        "composite" => read_composite(p, &kpath, body, action_ids, counts),
        other => {
            p.push(
                path,
                format!("unknown cost kind `{other}` (expected a number, \"free\", \"chat\", {{\"tier\"}}, {{\"options\"}}, {{\"range\"}} or {{\"composite\"}})"),
            );
            None
        }
    }
}

fn read_options(
    p: &mut Problems,
    path: &str,
    v: &Value,
    tiers: &Map<Millicredits>,
) -> Option<Cost> {
    let mut o = Obj::new(p, path, v)?;
    let param = o.id_req(p, "param");
    let mut choices = Map::new();
    for (cpath, key, cv) in o.map(p, "choices", MAX_CHOICES) {
        if let Some(a) = crate::walk::amount(p, &cpath, cv, tiers) {
            choices.insert(key, a);
        }
    }
    if choices.is_empty()
        && o.get("choices")
            .is_some_and(|c| c.as_object().is_some_and(|m| m.is_empty()))
    {
        p.push(&o.at("choices"), "needs at least one choice");
    }
    if o.get("choices").is_none() {
        p.push(path, "missing field `choices`");
    }
    let default = o.str_opt(p, "default");
    if let Some(d) = &default {
        if !choices.is_empty() && !choices.contains_key(d) {
            p.push(
                &o.at("default"),
                format!("default `{d}` is not one of the choices"),
            );
        }
    }
    o.finish(p);
    if choices.is_empty() {
        return None;
    }
    Some(Cost::Options {
        param: param?,
        choices,
        default,
    })
}

fn read_range(p: &mut Problems, path: &str, v: &Value, tiers: &Map<Millicredits>) -> Option<Cost> {
    let mut o = Obj::new(p, path, v)?;
    let min = o
        .req(p, "min")
        .and_then(|v| crate::walk::amount(p, &join(path, "min"), v, tiers));
    let max = o
        .req(p, "max")
        .and_then(|v| crate::walk::amount(p, &join(path, "max"), v, tiers));
    let expected = o
        .get("expected")
        .map(|v| crate::walk::amount(p, &join(path, "expected"), v, tiers));
    let param = o.get("param").and_then(|v| {
        let s = as_str(p, &join(path, "param"), v)?;
        check_id(p, &join(path, "param"), &s).then_some(s)
    });
    let mut levels = Map::new();
    for (lpath, key, lv) in o.map(p, "levels", MAX_CHOICES) {
        if let Some(a) = crate::walk::amount(p, &lpath, lv, tiers) {
            levels.insert(key, (lpath, a));
        }
    }
    if !levels.is_empty() && param.is_none() && o.get("param").is_none() {
        p.push(
            path,
            "`levels` needs `param` (the request parameter that names the level)",
        );
    }
    if param.is_some() && levels.is_empty() {
        p.push(path, "`param` needs `levels` to pick from");
    }
    o.finish(p);
    let (min, max) = (min?, max?);
    if min > max {
        p.push(path, format!("min {min} > max {max}"));
        return None;
    }
    let expected = match expected {
        None => Millicredits(min.0 + (max.0 - min.0) / 2),
        Some(Some(e)) if e < min || e > max => {
            p.push(
                &join(path, "expected"),
                format!("expected {e} is outside {min}..={max}"),
            );
            return None;
        }
        Some(Some(e)) => e,
        Some(None) => return None,
    };
    let mut bad_level = false;
    for (lpath, a) in levels.values() {
        if *a < min || *a > max {
            p.push(
                lpath,
                format!("level {a} is outside the range {min}..={max}"),
            );
            bad_level = true;
        }
    }
    if bad_level {
        return None;
    }
    let levels = levels.into_iter().map(|(k, (_, a))| (k, a)).collect();
    Some(Cost::Range {
        min,
        max,
        expected,
        param,
        levels,
    })
}

fn read_composite(
    p: &mut Problems,
    path: &str,
    v: &Value,
    action_ids: &Map<()>,
    counts: &Map<CountParam>,
) -> Option<Cost> {
    let Value::Array(items) = v else {
        p.push(
            path,
            format!("expected an array of components, found {}", type_name(v)),
        );
        return None;
    };
    if items.is_empty() || items.len() > MAX_COMPONENTS {
        p.push(
            path,
            format!(
                "needs 1 to {MAX_COMPONENTS} components, found {}",
                items.len()
            ),
        );
        return None;
    }
    let mut components = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let cpath = index(path, i);
        let Some(mut o) = Obj::new(p, &cpath, item) else {
            ok = false;
            continue;
        };
        let action = o.str_req(p, "action");
        if let Some(a) = &action {
            if !action_ids.contains_key(a) {
                p.push(&o.at("action"), format!("unknown action `{a}` referenced"));
                ok = false;
            }
        }
        let mut quantity_from = Vec::new();
        for (qpath, qv) in o.array(p, "quantity_from", MAX_COUNTS_PER_ACTION) {
            if let Some(name) = as_str(p, &qpath, qv) {
                if !counts.contains_key(&name) {
                    p.push(
                        &qpath,
                        format!("`{name}` is not one of this action's `counts`"),
                    );
                    ok = false;
                }
                quantity_from.push(name);
            }
        }
        let factor = o.u64_opt(p, "factor", MAX_QUANTITY).unwrap_or(1);
        if factor == 0 {
            p.push(&o.at("factor"), "factor must be at least 1");
            ok = false;
        }
        let mut params = Map::new();
        for (ppath, key, pv) in o.map(p, "params", MAX_COUNTS_PER_ACTION + 4) {
            match pv {
                Value::String(s) => {
                    params.insert(key, ParamValue::Text(s.clone()));
                }
                other => {
                    if let Some(n) = as_u64(p, &ppath, other, MAX_COUNT_VALUE) {
                        params.insert(key, ParamValue::Count(n));
                    } else {
                        ok = false;
                    }
                }
            }
        }
        o.finish(p);
        if let Some(action) = action {
            components.push(Component {
                action,
                quantity_from,
                factor,
                params,
            });
        }
    }
    ok.then_some(Cost::Composite { components })
}

/// Composite actions must not form cycles, must nest at most [`MAX_DEPTH`] deep and
/// expand to at most [`MAX_EXPANDED_PARTS`] priced parts. Each action's depth and size
/// is computed once (memoised), so the check is linear in the card, however it nests.
pub(super) fn check_composites(p: &mut Problems, actions: &[Action], values: &[(String, &Value)]) {
    let by_id: Map<&Action> = actions.iter().map(|a| (a.id.clone(), a)).collect();
    /// An action's shape: (depth, priced parts), or the cycle it is on.
    type Shape = Result<(usize, u64), Vec<String>>;
    fn shape(
        id: &str,
        by_id: &Map<&Action>,
        stack: &mut Vec<String>,
        done: &mut Map<Shape>,
    ) -> Shape {
        if let Some(known) = done.get(id) {
            return known.clone();
        }
        if stack.iter().any(|s| s == id) {
            let mut cycle = stack.clone();
            cycle.push(id.to_string());
            return Err(cycle);
        }
        let Some(Cost::Composite { components }) = by_id.get(id).map(|a| &a.cost) else {
            return Ok((0, 1));
        };
        stack.push(id.to_string());
        let mut result: Shape = Ok((0, 0));
        for c in components {
            match (shape(&c.action, by_id, stack, done), &mut result) {
                (Ok((d, n)), Ok((depth, parts))) => {
                    *depth = (*depth).max(d + 1);
                    *parts = (*parts).saturating_add(n);
                }
                (Err(cycle), Ok(_)) => result = Err(cycle),
                (_, Err(_)) => {}
            }
        }
        stack.pop();
        done.insert(id.to_string(), result.clone());
        result
    }
    let mut done: Map<Shape> = Map::new();
    for (i, a) in actions.iter().enumerate() {
        if !matches!(a.cost, Cost::Composite { .. }) {
            continue;
        }
        let path = values
            .iter()
            .find(|(_, v)| v.get("id").and_then(Value::as_str) == Some(a.id.as_str()))
            .map_or_else(|| format!("actions[{i}]"), |(p, _)| p.clone());
        if let Cost::Composite { components } = &a.cost {
            for (ci, c) in components.iter().enumerate() {
                let Some(child) = by_id.get(c.action.as_str()) else {
                    continue;
                };
                let cpath = format!("{path}.cost.composite[{ci}]");
                check_component(p, &cpath, a, c, child);
            }
        }
        match shape(&a.id, &by_id, &mut Vec::new(), &mut done) {
            Err(cycle) => p.push(
                &join(&path, "cost.composite"),
                format!("cycle: {}", cycle.join(" → ")),
            ),
            Ok((d, _)) if d > MAX_DEPTH => p.push(
                &join(&path, "cost.composite"),
                format!("nests {d} deep; the limit is {MAX_DEPTH}"),
            ),
            Ok((_, n)) if n > MAX_EXPANDED_PARTS => p.push(
                &join(&path, "cost.composite"),
                format!("expands to {n} priced parts; the limit is {MAX_EXPANDED_PARTS}"),
            ),
            Ok(_) => {}
        }
    }
}

/// A component must be priceable for every request its parent accepts: its fixed
/// params are known to the child and in bounds, and a count the parent passes down
/// fits the child's bounds.
fn check_component(p: &mut Problems, path: &str, parent: &Action, c: &Component, child: &Action) {
    let names = child.param_names();
    for (key, value) in &c.params {
        if !names.contains(&key.as_str()) {
            p.push(
                &join(&join(path, "params"), key),
                format!("`{}` takes no parameter `{key}`", child.id),
            );
            continue;
        }
        match (child.counts.get(key), value, &child.cost) {
            (Some(spec), ParamValue::Count(n), _) if *n < spec.min || *n > spec.max => {
                p.push(
                    &join(&join(path, "params"), key),
                    format!(
                        "{n} is outside {}..={} for `{}`",
                        spec.min, spec.max, child.id
                    ),
                );
            }
            (None, ParamValue::Text(choice), Cost::Options { param, choices, .. })
                if param == key && !choices.contains_key(choice) =>
            {
                p.push(
                    &join(&join(path, "params"), key),
                    format!("`{choice}` is not a choice of `{}`", child.id),
                );
            }
            _ => {}
        }
    }
    match &child.cost {
        Cost::Chat => p.push(&join(path, "action"), format!("`{}` is a chat action; chat messages are priced on their own, not inside a composite", child.id)),
        Cost::Options { param, default: None, .. } if !c.params.contains_key(param) => {
            p.push(path, format!("`{}` needs `params.{param}` (it has no default)", child.id));
        }
        _ => {}
    }
    for (name, spec) in &child.counts {
        if spec.default.is_none()
            && !c.params.contains_key(name)
            && !parent.counts.contains_key(name)
        {
            p.push(path, format!("`{}` needs `params.{name}` (it has no default and the parent does not pass it)", child.id));
        }
    }
    for (name, spec) in &parent.counts {
        let Some(child_spec) = child.counts.get(name) else {
            continue;
        };
        if c.params.contains_key(name) {
            continue;
        }
        if spec.min < child_spec.min || spec.max > child_spec.max {
            p.push(
                path,
                format!(
                    "passes `{name}` ({}..={}) to `{}`, which takes {}..={}",
                    spec.min, spec.max, child.id, child_spec.min, child_spec.max
                ),
            );
        }
    }
}
