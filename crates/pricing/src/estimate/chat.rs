//! Chat turns: a model's per-message runtime, its input and output tokens, an agent's
//! publisher add-on and free messages, and a routed turn's range over its models.

use super::*;

impl Ctx<'_> {
    pub(super) fn price_chat(
        &mut self,
        path: &str,
        action: &Action,
        item: &Item,
        units: u64,
    ) -> Result<(), EstimateError> {
        let card = self.card;
        let params_path = at(path, "params");
        let text = |name: &str| -> Result<Option<&String>, EstimateError> {
            match item.params.get(name) {
                None => Ok(None),
                Some(ParamValue::Text(s)) => Ok(Some(s)),
                Some(other) => Err(err(
                    EstimateErrorKind::InvalidParam,
                    &at(&params_path, name),
                    format!("expected an id, found {other}"),
                )),
            }
        };
        let count = |name: &str| -> Result<Option<u64>, EstimateError> {
            match item.params.get(name) {
                None => Ok(None),
                Some(ParamValue::Count(n)) => Ok(Some(*n)),
                Some(other) => Err(err(
                    EstimateErrorKind::InvalidParam,
                    &at(&params_path, name),
                    format!("expected a whole number, found {other}"),
                )),
            }
        };
        let agent = match text("agent")? {
            None => None,
            Some(id) => Some(card.agent(id).ok_or_else(|| {
                err(
                    EstimateErrorKind::InvalidParam,
                    &at(&params_path, "agent"),
                    format!(
                        "unknown agent `{id}` (card has: {})",
                        known_list(card.agents.iter().map(|a| &a.id))
                    ),
                )
            })?),
        };
        let model_id = match (text("model")?, agent) {
            (Some(m), Some(a)) if *m != a.model => {
                return Err(err(
                    EstimateErrorKind::InvalidParam,
                    &at(&params_path, "model"),
                    format!("agent `{}` runs on model `{}`, not `{m}`", a.id, a.model),
                ))
            }
            (Some(m), _) => m.clone(),
            (None, Some(a)) => a.model.clone(),
            (None, None) if !action.route.is_empty() => {
                return self.price_routed(path, action, item, units);
            }
            (None, None) => {
                return Err(err(
                    EstimateErrorKind::MissingParam,
                    &at(&params_path, "model"),
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
                &at(&params_path, "model"),
                format!(
                    "unknown model `{model_id}` (card has: {})",
                    known_list(card.models.iter().map(|m| &m.id))
                ),
            )
        })?;

        // Free allowance: the first `free_messages` messages with this agent cost nothing.
        let (free, paid) = match agent {
            Some(a) if a.free_messages > 0 => {
                let used = count("messages_used")?.ok_or_else(|| {
                    err(
                        EstimateErrorKind::MissingParam,
                        &at(&params_path, "messages_used"),
                        format!(
                            "missing parameter `messages_used`: agent `{}` gives {} free messages",
                            a.id, a.free_messages
                        ),
                    )
                })?;
                let left = a.free_messages.saturating_sub(used);
                let free = left.min(units);
                (free, units - free)
            }
            _ => (0, units),
        };
        let model_tag = Some(model.id.clone());
        if free > 0 {
            let a = agent.map(|a| a.id.clone());
            let used = count("messages_used")?.unwrap_or(0);
            let total = agent.map_or(0, |a| a.free_messages);
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
                model_tag.clone(),
                a,
            ));
        }
        if paid == 0 {
            return Ok(());
        }
        let input_tokens = count("input_tokens")?;
        let output_tokens = count("output_tokens")?;
        let check_tokens =
            |name: &str, n: Option<u64>, max: Option<u64>| -> Result<(), EstimateError> {
                match (n, max) {
                    (Some(n), Some(max)) if n > max => Err(err(
                        EstimateErrorKind::InvalidParam,
                        &at(&params_path, name),
                        format!("{n} tokens is above model `{}`'s limit of {max}", model.id),
                    )),
                    (Some(n), None) if n > MAX_TOKENS => Err(err(
                        EstimateErrorKind::InvalidParam,
                        &at(&params_path, name),
                        format!("{n} tokens is above the limit of {MAX_TOKENS}"),
                    )),
                    _ => Ok(()),
                }
            };
        check_tokens("input_tokens", input_tokens, model.max_input_tokens)?;
        check_tokens("output_tokens", output_tokens, model.max_output_tokens)?;

        let overflow = || {
            err(
                EstimateErrorKind::Overflow,
                path,
                "the total is too large to price",
            )
        };
        if model.per_message.0 > 0
            || (model.input_per_1k_tokens.is_none() && model.output_per_1k_tokens.is_none())
        {
            let span = Span::exact(model.per_message.0);
            self.push_tagged(
                action,
                LineKind::Infra,
                format!("Runtime infra — {}", model.name),
                paid,
                span,
                path,
                model_tag.clone(),
                None,
            )?;
        }
        if let Some(price) = model.input_per_1k_tokens {
            let tokens = input_tokens.ok_or_else(|| {
                err(
                    EstimateErrorKind::MissingParam,
                    &at(&params_path, "input_tokens"),
                    format!(
                        "missing parameter `input_tokens`: model `{}` is priced per token",
                        model.id
                    ),
                )
            })?;
            let per_message = token_cost(tokens, price).ok_or_else(overflow)?;
            let label = format!("Input — {tokens} tokens");
            self.push_tagged(
                action,
                LineKind::InputTokens,
                label,
                paid,
                Span::exact(per_message),
                path,
                model_tag.clone(),
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
            self.push_tagged(
                action,
                LineKind::OutputTokens,
                label,
                paid,
                span,
                path,
                model_tag.clone(),
                None,
            )?;
        }
        if let Some(a) = agent {
            if a.publisher_addon.0 > 0 {
                let label = format!("Publisher add-on — {}", a.name);
                let span = Span::exact(a.publisher_addon.0);
                self.push_tagged(
                    action,
                    LineKind::PublisherAddon,
                    label,
                    paid,
                    span,
                    path,
                    model_tag,
                    Some(a.id.clone()),
                )?;
            }
        }
        Ok(())
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
