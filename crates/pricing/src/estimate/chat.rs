//! Chat turns: a model's per-message runtime, its input and output tokens, an agent's
//! publisher add-on and free messages, and a routed turn's range over its models.

use super::{at, err, known_list, Ctx, LineKind, Span};
use crate::amount::Millicredits;
use crate::card::{Action, Agent, Card, Model};
use crate::error::{EstimateError, EstimateErrorKind};
use crate::limits::MAX_TOKENS;
use crate::request::{Item, ParamValue};

/// A chat item's parameters, read with their path for errors.
struct Params<'a> {
    item: &'a Item,
    path: String,
}

impl Params<'_> {
    fn at(&self, name: &str) -> String {
        at(&self.path, name)
    }

    fn text(&self, name: &str) -> Result<Option<&String>, EstimateError> {
        match self.item.params.get(name) {
            None => Ok(None),
            Some(ParamValue::Text(s)) => Ok(Some(s)),
            Some(other) => Err(err(
                EstimateErrorKind::InvalidParam,
                &self.at(name),
                format!("expected an id, found {other}"),
            )),
        }
    }

    fn count(&self, name: &str) -> Result<Option<u64>, EstimateError> {
        match self.item.params.get(name) {
            None => Ok(None),
            Some(ParamValue::Count(n)) => Ok(Some(*n)),
            Some(other) => Err(err(
                EstimateErrorKind::InvalidParam,
                &self.at(name),
                format!("expected a whole number, found {other}"),
            )),
        }
    }

    /// A token count within the model's limit (or the engine's, when it has none).
    fn tokens(
        &self,
        name: &str,
        model: &Model,
        max: Option<u64>,
    ) -> Result<Option<u64>, EstimateError> {
        let n = self.count(name)?;
        match (n, max) {
            (Some(n), Some(max)) if n > max => Err(err(
                EstimateErrorKind::InvalidParam,
                &self.at(name),
                format!("{n} tokens is above model `{}`'s limit of {max}", model.id),
            )),
            (Some(n), None) if n > MAX_TOKENS => Err(err(
                EstimateErrorKind::InvalidParam,
                &self.at(name),
                format!("{n} tokens is above the limit of {MAX_TOKENS}"),
            )),
            _ => Ok(n),
        }
    }
}

/// The agent a turn names, and the model it runs on: the agent's, or the one named
/// (which must agree). `None`: no model named and the action routes.
#[allow(clippy::type_complexity)]
fn agent_and_model<'c>(
    card: &'c Card,
    action: &Action,
    params: &Params<'_>,
) -> Result<Option<(Option<&'c Agent>, &'c Model)>, EstimateError> {
    let agent = match params.text("agent")? {
        None => None,
        Some(id) => Some(card.agent(id).ok_or_else(|| {
            err(
                EstimateErrorKind::InvalidParam,
                &params.at("agent"),
                format!(
                    "unknown agent `{id}` (card has: {})",
                    known_list(card.agents.iter().map(|a| &a.id))
                ),
            )
        })?),
    };
    let model_id = match (params.text("model")?, agent) {
        (Some(m), Some(a)) if *m != a.model => {
            return Err(err(
                EstimateErrorKind::InvalidParam,
                &params.at("model"),
                format!("agent `{}` runs on model `{}`, not `{m}`", a.id, a.model),
            ))
        }
        (Some(m), _) => m.clone(),
        (None, Some(a)) => a.model.clone(),
        (None, None) if !action.route.is_empty() => return Ok(None),
        (None, None) => {
            return Err(err(
                EstimateErrorKind::MissingParam,
                &params.at("model"),
                format!(
                    "missing parameter `model` (one of: {})",
                    known_list(card.models.iter().map(|m| &m.id))
                ),
            ))
        }
    };
    let model = card.model(&model_id).ok_or_else(|| {
        err(
            EstimateErrorKind::InvalidParam,
            &params.at("model"),
            format!(
                "unknown model `{model_id}` (card has: {})",
                known_list(card.models.iter().map(|m| &m.id))
            ),
        )
    })?;
    Ok(Some((agent, model)))
}

impl Ctx<'_> {
    pub(super) fn price_chat(
        &mut self,
        path: &str,
        action: &Action,
        item: &Item,
        units: u64,
    ) -> Result<(), EstimateError> {
        let params = Params {
            item,
            path: at(path, "params"),
        };
        let Some((agent, model)) = agent_and_model(self.card, action, &params)? else {
            return self.price_routed(path, action, item, units);
        };
        let paid = self.free_messages(action, agent, model, &params, units)?;
        if paid == 0 {
            return Ok(());
        }
        let input_tokens = params.tokens("input_tokens", model, model.max_input_tokens)?;
        let output_tokens = params.tokens("output_tokens", model, model.max_output_tokens)?;
        let overflow = || {
            err(
                EstimateErrorKind::Overflow,
                path,
                "the total is too large to price",
            )
        };
        let tag = Some(model.id.clone());
        let push = |ctx: &mut Self, kind, label, span, agent: Option<String>| {
            ctx.push_tagged(action, kind, label, paid, span, path, tag.clone(), agent)
        };
        if model.per_message.0 > 0
            || (model.input_per_1k_tokens.is_none() && model.output_per_1k_tokens.is_none())
        {
            let label = format!("Runtime infra — {}", model.name);
            push(
                self,
                LineKind::Infra,
                label,
                Span::exact(model.per_message.0),
                None,
            )?;
        }
        if let Some(price) = model.input_per_1k_tokens {
            let tokens = input_tokens.ok_or_else(|| {
                err(
                    EstimateErrorKind::MissingParam,
                    &params.at("input_tokens"),
                    format!(
                        "missing parameter `input_tokens`: model `{}` is priced per token",
                        model.id
                    ),
                )
            })?;
            let per_message = token_cost(tokens, price).ok_or_else(overflow)?;
            let label = format!("Input — {tokens} tokens");
            push(
                self,
                LineKind::InputTokens,
                label,
                Span::exact(per_message),
                None,
            )?;
        }
        if let Some(price) = model.output_per_1k_tokens {
            let span = output_span(model, output_tokens, price).ok_or_else(overflow)?;
            let label = match output_tokens {
                Some(n) => format!("Output — {n} tokens"),
                None => format!(
                    "Output — up to {} tokens",
                    model.max_output_tokens.unwrap_or(0)
                ),
            };
            push(self, LineKind::OutputTokens, label, span, None)?;
        }
        if let Some(a) = agent.filter(|a| a.publisher_addon.0 > 0) {
            let label = format!("Publisher add-on — {}", a.name);
            let span = Span::exact(a.publisher_addon.0);
            push(
                self,
                LineKind::PublisherAddon,
                label,
                span,
                Some(a.id.clone()),
            )?;
        }
        Ok(())
    }

    /// The first `free_messages` messages with an agent cost nothing: their line, and
    /// how many of the `units` messages are paid.
    fn free_messages(
        &mut self,
        action: &Action,
        agent: Option<&Agent>,
        model: &Model,
        params: &Params<'_>,
        units: u64,
    ) -> Result<u64, EstimateError> {
        let Some(a) = agent.filter(|a| a.free_messages > 0) else {
            return Ok(units);
        };
        let used = params.count("messages_used")?.ok_or_else(|| {
            err(
                EstimateErrorKind::MissingParam,
                &params.at("messages_used"),
                format!(
                    "missing parameter `messages_used`: agent `{}` gives {} free messages",
                    a.id, a.free_messages
                ),
            )
        })?;
        let free = a.free_messages.saturating_sub(used).min(units);
        if free > 0 {
            let total = a.free_messages;
            let label = if free == 1 {
                format!("Free message {} of {total}", used + 1)
            } else {
                format!("Free messages {}–{} of {total}", used + 1, used + free)
            };
            self.lines.push(self.line(
                action,
                LineKind::FreeMessage,
                label,
                free,
                Span::exact(0),
                Some(model.id.clone()),
                Some(a.id.clone()),
            ));
        }
        Ok(units - free)
    }

    /// A routed chat turn: the range over the models the router may pick (each priced as
    /// if named, for one message), times the messages. The hold covers the dearest; the
    /// backend captures at the model the router chose.
    fn price_routed(
        &mut self,
        path: &str,
        action: &Action,
        item: &Item,
        units: u64,
    ) -> Result<(), EstimateError> {
        let (mut lo, mut hi, mut expected_sum) = (u64::MAX, 0u64, 0u128);
        for id in &action.route {
            let mut one = item.clone();
            one.params
                .insert("model".to_string(), ParamValue::Text(id.clone()));
            let mut lines = Vec::new();
            let mut sub = Ctx {
                card: self.card,
                item_index: self.item_index,
                lines: &mut lines,
            };
            sub.price_chat(path, action, &one, 1)?;
            let (min, max, expected) = lines.iter().fold((0u64, 0u64, 0u64), |t, l| {
                (
                    t.0.saturating_add(l.min_millicredits),
                    t.1.saturating_add(l.max_millicredits),
                    t.2.saturating_add(l.expected_millicredits),
                )
            });
            lo = lo.min(min);
            hi = hi.max(max);
            expected_sum += u128::from(expected);
        }
        let n = action.route.len() as u128;
        let expected = u64::try_from(expected_sum / n).unwrap_or(hi).clamp(lo, hi);
        self.push_tagged(
            action,
            LineKind::Infra,
            format!("Routed to one of {} models", action.route.len()),
            units,
            Span::range(lo, hi, expected),
            path,
            None,
            None,
        )
    }
}

/// Cost of `tokens` at `price` per 1000 tokens, rounded up to the milli-credit.
fn token_cost(tokens: u64, price_per_1k: Millicredits) -> Option<u64> {
    Some(tokens.checked_mul(price_per_1k.0)?.div_ceil(1000))
}

fn output_span(model: &Model, output_tokens: Option<u64>, price: Millicredits) -> Option<Span> {
    match output_tokens {
        Some(n) => Some(Span::exact(token_cost(n, price)?)),
        None => {
            let max_tokens = model.max_output_tokens.unwrap_or(0);
            let expected_tokens = model
                .expected_output_tokens
                .unwrap_or(max_tokens / 2)
                .min(max_tokens);
            Some(Span::range(
                0,
                token_cost(max_tokens, price)?,
                token_cost(expected_tokens, price)?,
            ))
        }
    }
}
