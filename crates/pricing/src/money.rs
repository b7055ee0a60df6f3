//! Credits ↔ money, pack and plan offers, and what covers a shortfall.

use serde::{Deserialize, Serialize};

use crate::amount::{format_fixed, Millicredits, MILLI_PER_CREDIT};
use crate::card::{Card, Contact, Pack, PackQuantity, Plan, Renewal};

/// Money in minor units of a currency, with its display form.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Money {
    pub currency: String,
    pub amount_minor: u64,
    /// `10.00 USD`-style text with the currency's decimals.
    pub display: String,
}

impl Money {
    fn new(card: &Card, amount_minor: u64) -> Option<Money> {
        let c = card.currency.as_ref()?;
        Some(Money {
            currency: c.code.clone(),
            amount_minor,
            display: format_fixed(amount_minor, c.exponent),
        })
    }
}

/// Rounds `num / den` half up; `None` if `den == 0`.
fn div_round_half_up(num: u128, den: u128) -> Option<u128> {
    if den == 0 {
        return None;
    }
    Some((num + den / 2) / den)
}

/// Money value of an amount of credits (Kopai: 1 credit = $0.10), rounded half up
/// to the minor unit. `None` when the card gives credits no money value.
pub fn credits_to_money(card: &Card, amount: Millicredits) -> Option<Money> {
    let c = card.currency.as_ref()?;
    let micros =
        u128::from(amount.0) * u128::from(c.credit_value_micros?) / u128::from(MILLI_PER_CREDIT);
    let minor = div_round_half_up(micros, 10u128.pow(6 - c.exponent))?;
    Money::new(card, u64::try_from(minor).ok()?)
}

/// A pack as offered, with its price per credit.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PackOffer {
    pub id: String,
    pub name: String,
    pub credits: u64,
    pub price: Option<Money>,
    /// Price of one credit in millionths of the major unit, rounded half up.
    pub per_credit_micros: Option<u64>,
    /// Price of one credit to three decimals, as price lists show it (`0.091`).
    pub per_credit_display: Option<String>,
    /// Months the credits stay valid; `None` = never expire.
    pub validity_months: Option<u32>,
    /// Bought by amount: the units one purchase may take (`credits` and `price` are
    /// one unit's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<PackQuantity>,
}

pub fn pack_offer(card: &Card, pack: &Pack) -> PackOffer {
    let exponent = card.currency.as_ref().map_or(2, |c| c.exponent);
    let per_credit_micros = pack.price_minor.and_then(|p| {
        let micros = u128::from(p) * 10u128.pow(6 - exponent);
        div_round_half_up(micros, u128::from(pack.credits)).and_then(|v| u64::try_from(v).ok())
    });
    let per_credit_display = per_credit_micros.and_then(|m| {
        let mills = div_round_half_up(u128::from(m), 1000)?;
        Some(format_fixed(u64::try_from(mills).ok()?, 3))
    });
    PackOffer {
        id: pack.id.clone(),
        name: pack.name.clone(),
        credits: pack.credits,
        price: pack.price_minor.and_then(|p| Money::new(card, p)),
        per_credit_micros,
        per_credit_display,
        validity_months: pack.validity_months,
        quantity: pack.quantity,
    }
}

pub fn pack_offers(card: &Card) -> Vec<PackOffer> {
    card.packs.iter().map(|p| pack_offer(card, p)).collect()
}

/// The packs that cover a shortfall: the smallest single pack that does, or, when
/// none is big enough, enough of the largest.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PackCover {
    pub pack: PackOffer,
    pub quantity: u64,
    pub credits: u64,
    pub price: Option<Money>,
}

/// The smallest plan whose allowance covers a required amount.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PlanCover {
    pub id: String,
    pub name: String,
    pub credits: u64,
    pub renewal: Renewal,
    pub price: Option<Money>,
}

/// The packs that close `shortfall`: the one that costs least (then the fewest
/// credits), a pack bought by amount at the units it needs; when none is big enough,
/// enough of the largest fixed pack, unless the card says needs beyond its packs
/// are a conversation ([`Contact::beyond_packs`]): then none.
pub fn smallest_pack_covering(card: &Card, shortfall: Millicredits) -> Option<PackCover> {
    let needed_credits = shortfall.credits_ceil().max(1);
    // Each pack at the fewest units that cover the need: one of a fixed pack big enough,
    // or enough of a pack bought by amount (at least its minimum, at most its maximum).
    let covering = |p: &Pack| -> Option<u64> {
        match p.quantity {
            None => (p.credits >= needed_credits).then_some(1),
            Some(q) => {
                let units = needed_credits.div_ceil(p.credits).max(q.min);
                (units <= q.max).then_some(units)
            }
        }
    };
    // The least to pay (a bigger pack may cost less than an amount just above the
    // need), then the fewest credits; priced packs before unpriced ones.
    let total = |p: &Pack, units: u64| {
        let price = p.price_minor.map(|m| m.saturating_mul(units));
        (price.is_none(), price, p.credits.saturating_mul(units))
    };
    let (pack, quantity) = match card
        .packs
        .iter()
        .filter_map(|p| covering(p).map(|units| (p, units)))
        .min_by_key(|(p, units)| total(p, *units))
    {
        Some(found) => found,
        None if card.contact.as_ref().is_some_and(|c| c.beyond_packs) => return None,
        None => {
            let largest = card
                .packs
                .iter()
                .filter(|p| p.quantity.is_none())
                .max_by_key(|p| (p.credits, p.price_minor))?;
            (largest, needed_credits.div_ceil(largest.credits))
        }
    };
    let price = pack
        .price_minor
        .and_then(|p| p.checked_mul(quantity))
        .and_then(|p| Money::new(card, p));
    Some(PackCover {
        pack: pack_offer(card, pack),
        quantity,
        credits: pack.credits.saturating_mul(quantity),
        price,
    })
}

/// Plans in the order a user climbs them: by allowance, then price.
fn plan_rank(p: &Plan) -> (u64, Option<u64>) {
    (p.credits, p.price_minor)
}

/// The plan to offer someone on `current` who needs `required`: the smallest monthly
/// plan **above** the current one whose allowance covers it (seed 002: "upgrade your
/// plan"; seed 003: "Upgrade to Pro"). `None` on the top plan, when no plan above
/// covers it, or when the card has no plans. With no current plan (or one the card no
/// longer has), any monthly plan covering it.
pub fn upgrade_covering(
    card: &Card,
    required: Millicredits,
    current: Option<&str>,
) -> Option<PlanCover> {
    let needed = required.credits_ceil();
    let floor = current.and_then(|id| card.plan(id)).map(plan_rank);
    card.plans
        .iter()
        .filter(|p| p.renewal == Renewal::Monthly && p.credits >= needed)
        .filter(|p| floor.is_none_or(|f| plan_rank(p) > f && Some(p.id.as_str()) != current))
        .min_by_key(|p| plan_rank(p))
        .map(|p: &Plan| PlanCover {
            id: p.id.clone(),
            name: p.name.clone(),
            credits: p.credits,
            renewal: p.renewal,
            price: p.price_minor.and_then(|m| Money::new(card, m)),
        })
}

/// The smallest monthly plan whose allowance covers `required`, whatever plan the
/// user is on ([`upgrade_covering`] with no current plan).
pub fn smallest_plan_covering(card: &Card, required: Millicredits) -> Option<PlanCover> {
    upgrade_covering(card, required, None)
}

/// Everything a user needs when an action costs more than they have: what they
/// have, what it needs, the gap, and what closes it: a plan above theirs, the
/// smallest pack, both where the card sells both, or the seller's contact when
/// neither does.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Shortfall {
    pub balance_millicredits: u64,
    pub required_millicredits: u64,
    pub shortfall_millicredits: u64,
    pub pack: Option<PackCover>,
    pub plan: Option<PlanCover>,
    /// When no pack or plan covers it and the card names a contact ("get in touch").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

/// `None` when `balance` already covers `required`. `plan` is the wallet's current
/// plan: the offer is a plan above it.
pub fn shortfall(
    card: &Card,
    balance: Millicredits,
    required: Millicredits,
    plan: Option<&str>,
) -> Option<Shortfall> {
    let gap = required.0.checked_sub(balance.0).filter(|g| *g > 0)?;
    let pack = smallest_pack_covering(card, Millicredits(gap));
    let plan = upgrade_covering(card, required, plan);
    let contact = (pack.is_none() && plan.is_none())
        .then(|| card.contact.clone())
        .flatten();
    Some(Shortfall {
        balance_millicredits: balance.0,
        required_millicredits: required.0,
        shortfall_millicredits: gap,
        pack,
        plan,
        contact,
    })
}
