//! The validated rate card. Built only by [`crate::parse_card`], so every value here
//! has passed validation: ids are unique, references resolve, ranges are ordered and
//! amounts are within limits.

use crate::map::Map;

use serde::Serialize;

use crate::amount::{Millicredits, Rounding};

/// A validated rate card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Card {
    pub id: String,
    pub name: String,
    pub version: String,
    pub currency: Option<Currency>,
    pub rounding: Rounding,
    pub tiers: Map<Millicredits>,
    pub actions: Vec<Action>,
    pub models: Vec<Model>,
    pub agents: Vec<Agent>,
    pub packs: Vec<Pack>,
    pub plans: Vec<Plan>,
    pub notes: Vec<String>,
    /// Where a user asks for help, and whether high volumes beyond the packs are a
    /// conversation rather than a multiple of the largest pack (seed 000: "get in touch").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// `sha256:` of the canonical form; see [`Card::hash`].
    #[serde(skip)]
    pub(crate) hash: String,
}

impl Card {
    /// Content hash of the card's meaning (`sha256:<hex>`): two cards that price every
    /// request alike (same amounts however written, same order) hash alike. A quote
    /// carries it, so a charge can say exactly which card priced it.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn action(&self, id: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.id == id)
    }

    pub fn model(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    pub fn pack(&self, id: &str) -> Option<&Pack> {
        self.packs.iter().find(|p| p.id == id)
    }

    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    pub(crate) fn card_ref(&self) -> CardRef {
        CardRef {
            id: self.id.clone(),
            version: self.version.clone(),
            hash: self.hash.clone(),
        }
    }
}

/// Which card priced an estimate.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    serde::Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardRef {
    pub id: String,
    pub version: String,
    pub hash: String,
}

/// Money a card's packs and plans are priced in, and the credit's money value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Currency {
    /// ISO 4217 code, e.g. `USD`.
    pub code: String,
    /// Decimal places of the minor unit (USD: 2).
    pub exponent: u32,
    /// Money value of one credit in millionths of the major unit (Kopai: $0.10 = 100000).
    pub credit_value_micros: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Action {
    pub id: String,
    pub name: String,
    pub category: Option<String>,
    pub cost: Cost,
    /// Integer parameters the action accepts (platforms, weeks, models …).
    pub counts: Map<CountParam>,
    /// Count parameters that multiply the cost ("per platform").
    pub per: Vec<String>,
    /// A chat action whose model a router picks (seed 003: routing mode "varies by
    /// selected model"): a request naming no model is quoted as the range over these,
    /// and the backend captures at the one the router chose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<String>,
}

/// An integer parameter with its bounds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CountParam {
    pub label: String,
    pub min: u64,
    pub max: u64,
    pub default: Option<u64>,
}

/// Parameters a chat action takes from the request.
pub(crate) const CHAT_PARAMS: &[&str] = &[
    "model",
    "agent",
    "input_tokens",
    "output_tokens",
    "messages_used",
];

impl Action {
    /// The parameters this action takes: its counts, its option or level, a chat's.
    pub(crate) fn param_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.counts.keys().map(String::as_str).collect();
        match &self.cost {
            Cost::Options { param, .. } => names.push(param),
            Cost::Range {
                param: Some(param), ..
            } => names.push(param),
            Cost::Chat => names.extend(CHAT_PARAMS),
            _ => {}
        }
        names
    }
}

/// How one unit of an action is priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Cost {
    /// Costs nothing (viewing, scheduling, avatar selection).
    Free,
    Fixed {
        amount: Millicredits,
    },
    /// Price chosen by a named option, e.g. `resolution` = `1k` | `2k`.
    Options {
        param: String,
        choices: Map<Millicredits>,
        default: Option<String>,
    },
    /// A range that depends on complexity; exact when the request names a level.
    Range {
        min: Millicredits,
        max: Millicredits,
        expected: Millicredits,
        /// Parameter naming the level, e.g. `complexity`.
        param: Option<String>,
        levels: Map<Millicredits>,
    },
    /// A chat message priced by model (per-message infra, per-token input/output) and
    /// optionally by marketplace agent (publisher add-on, free messages).
    Chat,
    /// A bundle of other actions, e.g. a campaign = posts × platforms × weeks.
    Composite {
        components: Vec<Component>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Component {
    pub action: String,
    /// Parent count parameters whose product multiplies this component.
    pub quantity_from: Vec<String>,
    pub factor: u64,
    /// Fixed parameters passed to the component's action.
    pub params: Map<crate::request::ParamValue>,
}

/// A model's chat pricing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Model {
    pub id: String,
    pub name: String,
    /// Free text such as `frontier` or `lightweight`.
    pub class: Option<String>,
    /// Runtime infrastructure cost per message.
    pub per_message: Millicredits,
    pub input_per_1k_tokens: Option<Millicredits>,
    pub output_per_1k_tokens: Option<Millicredits>,
    pub max_input_tokens: Option<u64>,
    /// Bounds the output cost's maximum when the output length is not yet known.
    pub max_output_tokens: Option<u64>,
    pub expected_output_tokens: Option<u64>,
    /// How input text is counted: an encoding name (`o200k_base`, `cl100k_base`) counts
    /// exactly; absent or `approximate` uses the stated approximation, shown as a range.
    pub tokenizer: Option<String>,
}

/// A marketplace agent: a model plus the creator's add-on and free allowance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub model: String,
    pub publisher_addon: Millicredits,
    pub free_messages: u64,
}

/// A credit pack on sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Pack {
    pub id: String,
    pub name: String,
    pub credits: u64,
    /// Price in minor units of the card's currency; `None` where the seller does not publish it.
    pub price_minor: Option<u64>,
    /// Months the credits stay valid; `None` = never expire.
    pub validity_months: Option<u32>,
    /// Bought by amount: how many units one purchase may take (Kumari's Custom Pack,
    /// "from $10": 100 credits for $1, 10 to 500 of them). `None`: 1 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<PackQuantity>,
}

/// How many units of a pack one purchase may take.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    serde::Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PackQuantity {
    pub min: u64,
    pub max: u64,
}

impl Pack {
    /// The units one purchase may take: the pack's range, else 1 to 100.
    pub fn units(&self) -> PackQuantity {
        self.quantity.unwrap_or(PackQuantity { min: 1, max: 100 })
    }
}

/// How a plan's credits are granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Renewal {
    /// Reset to the allowance each billing cycle; unused credits do not roll over.
    Monthly,
    /// Granted once, never expires (Kumari's free plan).
    Once,
}

/// The seller's support contact, from the card.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    serde::Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Contact {
    /// `support@…`; at least one of `email` and `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A help or sales page (`https://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Needs beyond the largest pack are offered this contact, not N × the largest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub beyond_packs: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub credits: u64,
    pub renewal: Renewal,
    pub price_minor: Option<u64>,
    /// What the plan includes beyond credits (seed 004: web search, a knowledge base of
    /// 1 file of 2 MB on Free and unlimited on Pro): a feature absent is not included.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<Feature>,
}

/// A feature a plan includes, up to `limit` (in `unit`) when it names one.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    serde::Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Feature {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}
