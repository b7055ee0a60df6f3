"""creditkit's wire types, generated from its OpenAPI documents by generate.py: do not edit."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, NotRequired, TypedDict, Union


Actor = Union[Literal["admin", "member", "viewer"], Literal["operator"], Literal["api_key"], Literal["owner"]]

class AgentOffer(TypedDict):
    """`GET /v1/agents`: an agent as its card shows it to this member (seed 004): what a
 message costs after the free ones, and how many free ones are left."""
    free_left: int
    free_messages: int
    id: str
    model_name: str
    name: str
    per_message: "Span"
    publisher_addon_millicredits: int


class Allowance(TypedDict):
    """`GET /v1/allowance`: the wallet's plan and what its balance is made of."""
    parts: List["CreditPart"]
    plan: NotRequired[Union["PlanStatus", None]]
    wallet_id: str


class ApiError(TypedDict):
    """Every error body: a stable machine code, a sentence for people, and details where
 they help the caller fix things."""
    cap: NotRequired[Union["Cap", None]]
    code: "ErrorCode"
    message: str
    path: NotRequired[Union[str, None]]
    retry_after_ms: NotRequired[Union[int, None]]
    shortfall: NotRequired[Union["Shortfall", None]]


class ApiKeyCreated(TypedDict):
    """A key just made: the secret is shown this once and stored only hashed."""
    created_at_ms: int
    expires_at_ms: NotRequired[Union[int, None]]
    id: str
    last_used_at_ms: NotRequired[Union[int, None]]
    name: NotRequired[Union[str, None]]
    prefix: str
    revoked_at_ms: NotRequired[Union[int, None]]
    secret: str


class ApiKeyInfo(TypedDict):
    """A workspace API key as listed: never the secret."""
    created_at_ms: int
    expires_at_ms: NotRequired[Union[int, None]]
    id: str
    last_used_at_ms: NotRequired[Union[int, None]]
    name: NotRequired[Union[str, None]]
    prefix: str
    revoked_at_ms: NotRequired[Union[int, None]]


class AutoTopUp(TypedDict):
    """`GET /v1/auto-top-up`: a wallet's rule, its card and this month's use."""
    bounds: "AutoTopUpBounds"
    card_saved_at_ms: NotRequired[Union[int, None]]
    rule: NotRequired[Union["AutoTopUpRule", None]]
    this_month_amount_minor: int
    this_month_count: int
    wallet_id: str


class AutoTopUpBounds(TypedDict):
    """What the operator allows a workspace (`PUT /admin/v1/workspaces/{ws}/auto-top-up`)."""
    enabled: bool
    max_amount_minor_per_month: int
    max_per_month: int


class AutoTopUpRequest(TypedDict):
    """`PUT /v1/auto-top-up`: the rule a member sets on a wallet (members: their own
 personal wallet; admins and the backend: any of the workspace's)."""
    below_credits: int
    max_amount_minor_per_month: NotRequired[Union[int, None]]
    max_per_month: int
    pack_id: str
    quantity: NotRequired[Union[int, None]]
    wallet_id: NotRequired[Union[str, None]]


class AutoTopUpRule(TypedDict):
    """A rule as it stands."""
    amount_minor: int
    below_credits: int
    credits: int
    currency: str
    failures: int
    last_error: NotRequired[Union[str, None]]
    max_amount_minor_per_month: int
    max_per_month: int
    pack_id: str
    pack_name: str
    quantity: int
    retry_at_ms: NotRequired[Union[int, None]]
    status: str


class Balance(TypedDict):
    available_millicredits: int
    balance_millicredits: int
    critical_threshold_millicredits: int
    debt_millicredits: NotRequired[int]
    held_millicredits: int
    kind: "WalletKind"
    last_transaction: NotRequired[Union["Transaction", None]]
    lifetime_used_millicredits: int
    low_threshold_millicredits: int
    plan_id: NotRequired[Union[str, None]]
    state: "BalanceState"
    wallet_id: str


BalanceState = Union[Literal["ok"], Literal["low"], Literal["critical"]]

class Cap(TypedDict):
    """A spending cap and where it stands now. Holds count as well as captures, so
 confirmed actions in flight cannot pass it together."""
    id: str
    left_millicredits: int
    limit_millicredits: int
    period: "CapPeriod"
    period_start_ms: int
    reserved_millicredits: int
    resets_at_ms: int
    scope: "CapScope"
    spent_millicredits: int
    subject: NotRequired[Union[str, None]]
    wallet_id: str


CapPeriod = Union[Literal["day"], Literal["week"], Literal["month"], Literal["cycle"]]

CapScope = Union[Literal["wallet"], Literal["member"], Literal["project"]]

class CaptureRequest(TypedDict):
    """Charge for a completed operation: the actual amount, directly or as the actual
 request priced by the same card that priced the quote. With neither, an exact quote
 is charged at its price; a ranged one is refused (`amount_required`)."""
    actual: NotRequired[Union["Request", None]]
    amount_millicredits: NotRequired[Union[int, None]]


class CardRef(TypedDict):
    """Which card priced an estimate."""
    hash: str
    id: str
    version: str


class CardUpload(TypedDict):
    card: Any
    effective_at_ms: NotRequired[Union[int, None]]
    note: NotRequired[Union[str, None]]
    without_notice: NotRequired[bool]


class CardUploaded(TypedDict):
    """A new version and what each action's price did."""
    diff: List["PriceChange"]
    version: "CardVersion"


class CardVersion(TypedDict):
    """A rate-card version of a workspace. Quotes keep the version they were priced with."""
    card: "CardRef"
    created_at_ms: int
    effective_at_ms: NotRequired[Union[int, None]]
    note: NotRequired[Union[str, None]]
    version_no: int


Change = Union[Literal["unchanged", "up", "down", "added", "removed"], Literal["reshaped"]]

class CheckoutRequest(TypedDict):
    """Start a checkout: the payment provider's page for a pack (× quantity) or a plan."""
    pack_id: NotRequired[Union[str, None]]
    plan_id: NotRequired[Union[str, None]]
    quantity: NotRequired[Union[int, None]]
    return_url: NotRequired[Union[str, None]]
    save_card: NotRequired[Union[bool, None]]
    wallet_id: NotRequired[Union[str, None]]


class CheckoutStarted(TypedDict):
    """A checkout to open: the credits arrive when the provider confirms the payment
 (a signed webhook), on the balance stream."""
    amount_minor: int
    credits: int
    currency: str
    id: str
    url: str


CheckoutState = Union[Literal["paid"], Literal["pending"], Literal["failed"], Literal["expired"]]

class CheckoutStatus(TypedDict):
    """A checkout as the buyer follows it."""
    amount_minor: int
    completed_at_ms: NotRequired[Union[int, None]]
    created_at_ms: int
    credits: int
    currency: str
    id: str
    pack_id: NotRequired[Union[str, None]]
    plan_id: NotRequired[Union[str, None]]
    status: "CheckoutState"


class Contact(TypedDict):
    """The seller's support contact, from the card."""
    beyond_packs: NotRequired[bool]
    email: NotRequired[Union[str, None]]
    url: NotRequired[Union[str, None]]


class ConversationUsage(TypedDict):
    """`GET /v1/conversations/{id}`: what one chat has cost so far (seed 000: "running
 session usage is visible at the top of the chat"), counted by the server."""
    charged_millicredits: int
    conversation_id: str
    held_millicredits: int
    turns: int


class CreditPart(TypedDict):
    """One part of the balance."""
    expires_at_ms: NotRequired[Union[int, None]]
    name: NotRequired[Union[str, None]]
    remaining_millicredits: int
    source: str


class Delivery(TypedDict):
    attempts: List["DeliveryAttempt"]
    endpoint_id: str
    next_attempt_at_ms: NotRequired[Union[int, None]]
    status: "DeliveryStatus"


class DeliveryAttempt(TypedDict):
    """One try at delivering an event to an endpoint."""
    at_ms: int
    duration_ms: int
    error: NotRequired[Union[str, None]]
    status_code: NotRequired[Union[int, None]]


DeliveryStatus = Union[Literal["delivered"], Literal["pending"], Literal["failed"]]

class DoneQuery(TypedDict):
    canceled: NotRequired[Union[str, None]]
    checkout_id: NotRequired[Union[str, None]]
    connected: NotRequired[Union[str, None]]


class Earnings(TypedDict):
    """A creator's earnings from publisher add-ons (seed 004), in an organization wallet."""
    available_millicredits: int
    minimum_payout_millicredits: int
    paid_out_millicredits: int
    payout_available: bool
    pending_millicredits: int
    platform_share_millicredits: int
    wallet_id: str


class EntitlementCheck(TypedDict):
    """`GET /v1/entitlements/{feature}?amount=N`: whether the plan includes a feature (up to
 `amount` of it), for the operator's backend before it runs the feature; when not,
 the smallest plan above that does."""
    allowed: bool
    feature: str
    limit: NotRequired[Union[int, None]]
    plan_id: NotRequired[Union[str, None]]
    upgrade_plan_id: NotRequired[Union[str, None]]


class EntitlementQuery(TypedDict):
    amount: NotRequired[Union[int, None]]
    wallet_id: NotRequired[Union[str, None]]


class Entitlements(TypedDict):
    """`GET /v1/entitlements`: what the wallet's plan includes beyond credits (seed 004)."""
    features: List["Feature"]
    plan_id: NotRequired[Union[str, None]]
    wallet_id: str


ErrorCode = Union[Literal["insufficient_credits", "quote_expired", "hold_not_active", "capture_exceeds_hold", "idempotency_conflict", "payload_too_large", "internal"], Literal["invalid_request"], Literal["unknown_action"], Literal["unknown_param"], Literal["missing_param"], Literal["invalid_param"], Literal["overflow"], Literal["invalid_card"], Literal["unauthorized"], Literal["session_expired"], Literal["forbidden"], Literal["workspace_suspended"], Literal["not_found"], Literal["cap_exceeded"], Literal["beyond_confirmed_maximum"], Literal["amount_required"], Literal["rate_limited"], Literal["payments_not_configured"], Literal["payment_provider_error"], Literal["unknown"]]

class Estimate(TypedDict):
    """The price of a request: a range, the expected value, and where it comes from."""
    card: "CardRef"
    exact: bool
    expected_millicredits: int
    lines: List["Line"]
    max_millicredits: int
    min_millicredits: int
    subtotal: "Span"


class EventRecord(TypedDict):
    """An event with what became of its deliveries (`GET /admin/v1/events`)."""
    created_at_ms: int
    data: Any
    deliveries: List["Delivery"]
    id: str
    type: "EventType"
    workspace_id: str


EventType = Union[Literal["hold.created", "charge.captured", "charge.refunded", "grant.added", "grant.expired", "credits.revoked", "payout.requested"], Literal["balance.low"], Literal["balance.critical"], Literal["balance.empty"], Literal["hold.released"], Literal["card.scheduled"], Literal["topup.succeeded"], Literal["topup.failed"]]

class EventsQuery(TypedDict):
    cursor: NotRequired[Union[str, None]]
    limit: NotRequired[Union[int, None]]
    workspace_id: NotRequired[Union[str, None]]


class ExtendRequest(TypedDict):
    """Grow a streaming hold as the model streams (the backend, once per chunk, with an
 `Idempotency-Key` per chunk)."""
    generated_output_tokens: int
    reserve_output_tokens: int


class Feature(TypedDict):
    """A feature a plan includes, up to `limit` (in `unit`) when it names one."""
    id: str
    limit: NotRequired[Union[int, None]]
    name: str
    unit: NotRequired[Union[str, None]]


class GrantRequest(TypedDict):
    """Credits given by the operator (support goodwill, a promotion, a top-up paid elsewhere)."""
    amount_millicredits: int
    expires_at_ms: NotRequired[Union[int, None]]
    reason: str
    wallet_id: NotRequired[Union[str, None]]


class Hold(TypedDict):
    amount_millicredits: int
    captured_millicredits: NotRequired[Union[int, None]]
    created_at_ms: int
    expires_at_ms: int
    id: str
    member_id: NotRequired[Union[str, None]]
    quote_id: str
    status: "HoldStatus"
    stream: NotRequired[Union["HoldStream", None]]
    wallet_id: str


class HoldRequest(TypedDict):
    """Confirm a quote: reserve its maximum."""
    quote_id: str


HoldStatus = Union[Literal["active", "captured", "released"], Literal["expired"], Literal["refunded"]]

class HoldStream(TypedDict):
    confirmed_max_millicredits: int
    generated_millicredits: int
    generated_output_tokens: int
    reserved_output_tokens: int


class Item(TypedDict):
    """One action of the card, how many times, and its parameters (a choice by name, a count, or a chat turn's `input_text`)."""
    action: str
    params: NotRequired[Dict[str, Any]]
    quantity: NotRequired[int]


class Line(TypedDict):
    """One charge of an estimate. Lines add up to [`Estimate::subtotal`] exactly."""
    action: str
    agent: NotRequired[Union[str, None]]
    expected_millicredits: int
    item: int
    kind: "LineKind"
    label: str
    max_millicredits: int
    min_millicredits: int
    model: NotRequired[Union[str, None]]
    quantity: int


LineKind = Union[Literal["action", "free", "input_tokens", "output_tokens"], Literal["infra"], Literal["publisher_addon"], Literal["free_message"]]

class ListQuery(TypedDict):
    cursor: NotRequired[Union[str, None]]
    limit: NotRequired[Union[int, None]]


class Me(TypedDict):
    """`GET /v1/me`: who is calling and what it may do (the widget hides what it may not)."""
    actor: "Actor"
    member_id: NotRequired[Union[str, None]]
    rights: List["Op"]
    wallet_id: NotRequired[Union[str, None]]
    workspace_id: str


class Member(TypedDict):
    """A person in a workspace. Members have no password or token of their own: the
 operator's backend signs them in and mints a short-lived session for them."""
    created_at_ms: int
    external_id: NotRequired[Union[str, None]]
    id: str
    name: str
    role: "Role"


class MemberUpdate(TypedDict):
    """Changes to a member; absent fields stay as they are."""
    name: NotRequired[Union[str, None]]
    role: NotRequired[Union["Role", None]]


class Money(TypedDict):
    """Money in minor units of a currency, with its display form."""
    amount_minor: int
    currency: str
    display: str


class NewApiKey(TypedDict):
    name: NotRequired[Union[str, None]]


class NewCap(TypedDict):
    """Set a cap (workspace admins, the backend)."""
    limit_millicredits: int
    period: "CapPeriod"
    scope: "CapScope"
    subject: NotRequired[Union[str, None]]
    wallet_id: NotRequired[Union[str, None]]


class NewMember(TypedDict):
    external_id: NotRequired[Union[str, None]]
    name: str
    role: "Role"


class NewWallet(TypedDict):
    kind: "WalletKind"


class NewWebhookEndpoint(TypedDict):
    """Subscribe an endpoint (the operator's) to events."""
    events: NotRequired[List["EventType"]]
    url: str
    workspace_id: NotRequired[Union[str, None]]


class NewWorkspace(TypedDict):
    """Onboard a customer: a workspace with its wallet, priced by `card`."""
    card: Any
    name: str
    plan_id: NotRequired[Union[str, None]]


Op = Union[Literal["refund", "change_plan", "set_card", "manage_members"], Literal["read"], Literal["quote"], Literal["hold"], Literal["settle"], Literal["grant"], Literal["set_caps"], Literal["manage_wallets"], Literal["assign_payee"], Literal["payout"], Literal["buy"], Literal["mint_session"], Literal["manage_workspaces"], Literal["read_team"]]

class PackCover(TypedDict):
    """The packs that cover a shortfall: the smallest single pack that does, or, when
 none is big enough, enough of the largest."""
    credits: int
    pack: "PackOffer"
    price: NotRequired[Union["Money", None]]
    quantity: int


class PackOffer(TypedDict):
    """A pack as offered, with its price per credit."""
    credits: int
    id: str
    name: str
    per_credit_display: NotRequired[Union[str, None]]
    per_credit_micros: NotRequired[Union[int, None]]
    price: NotRequired[Union["Money", None]]
    quantity: NotRequired[Union["PackQuantity", None]]
    validity_months: NotRequired[Union[int, None]]


class PackQuantity(TypedDict):
    """How many units of a pack one purchase may take."""
    max: int
    min: int


class Page_for_EventRecord(TypedDict):
    """A page of a list; pass `next_cursor` back as `cursor` for the next page."""
    items: List["EventRecord"]
    next_cursor: NotRequired[Union[str, None]]


class Page_for_Transaction(TypedDict):
    """A page of a list; pass `next_cursor` back as `cursor` for the next page."""
    items: List["Transaction"]
    next_cursor: NotRequired[Union[str, None]]


class Page_for_Workspace(TypedDict):
    """A page of a list; pass `next_cursor` back as `cursor` for the next page."""
    items: List["Workspace"]
    next_cursor: NotRequired[Union[str, None]]


class PayeeRequest(TypedDict):
    """Which organization wallet receives an agent's publisher add-ons."""
    wallet_id: str


class Payout(TypedDict):
    """One payout (`GET /v1/payouts`, the operator's `GET /admin/v1/payouts`)."""
    amount_millicredits: int
    amount_minor: NotRequired[Union[int, None]]
    created_at_ms: int
    currency: NotRequired[Union[str, None]]
    decided_at_ms: NotRequired[Union[int, None]]
    failure: NotRequired[Union[str, None]]
    id: str
    status: "PayoutState"
    wallet_id: str


class PayoutAccount(TypedDict):
    """A creator's account with the payment provider that payouts are sent to (Stripe
 Connect): `GET /v1/payout-account`; `POST` starts or resumes its onboarding."""
    onboarding_url: NotRequired[Union[str, None]]
    status: str
    wallet_id: str


class PayoutRequest(TypedDict):
    amount_millicredits: int


PayoutState = Union[Literal["requested"], Literal["paid"], Literal["failed"]]

class PlanCover(TypedDict):
    """The smallest plan whose allowance covers a required amount."""
    credits: int
    id: str
    name: str
    price: NotRequired[Union["Money", None]]
    renewal: "Renewal"


class PlanRequest(TypedDict):
    plan_id: str


class PlanStatus(TypedDict):
    """The plan a wallet is on, as its user sees it."""
    allowance_millicredits: int
    id: str
    left_millicredits: int
    name: str
    renewal: "Renewal"
    renews_at_ms: NotRequired[Union[int, None]]


class PriceChange(TypedDict):
    """One priced variant of one action on the old and the new card."""
    action: str
    after: NotRequired[Union["Span", None]]
    before: NotRequired[Union["Span", None]]
    change: "Change"
    display: str
    name: str
    variant: str


class PriceNotice(TypedDict):
    """`GET /v1/price-notice`: a scheduled card version not yet in force for this wallet
 (seed 000: customers are told in advance; a subscription keeps its prices until
 its renewal)."""
    applies_at_ms: int
    changes: List["PriceChange"]
    effective_at_ms: int
    note: NotRequired[Union[str, None]]
    other_changes: int
    version_no: int


class Quote(TypedDict):
    available_millicredits: int
    cap: NotRequired[Union["Cap", None]]
    estimate: "Estimate"
    expires_at_ms: int
    hold_millicredits: int
    id: str
    shortfall: NotRequired[Union["Shortfall", None]]
    streaming: NotRequired[bool]
    wallet_id: str
    would_exceed: bool


class QuoteRequest(TypedDict):
    """Price a request before the user confirms it."""
    conversation_id: NotRequired[Union[str, None]]
    project: NotRequired[Union[str, None]]
    request: "Request"
    stream: NotRequired[Union["StreamStart", None]]
    wallet_id: NotRequired[Union[str, None]]


RateCard = Dict[str, Any]

class RateCard_action(TypedDict):
    category: NotRequired[str]
    cost: "RateCard_cost"
    counts: NotRequired[Dict[str, Dict[str, Any]]]
    description: NotRequired[str]
    id: "RateCard_id"
    name: NotRequired[str]
    per: NotRequired[List[str]]
    route: NotRequired[List[str]]


class RateCard_agent(TypedDict):
    free_messages: NotRequired[int]
    id: "RateCard_id"
    model: str
    name: NotRequired[str]
    publisher_addon: NotRequired["RateCard_amount"]


RateCard_amount = Union[float, str, Dict[str, Any]]

RateCard_cost = Union["RateCard_amount", Literal["free"], Literal["chat"], Dict[str, Any]]

RateCard_decimal = Union[float, str]

RateCard_id = str

RateCard_model = Dict[str, Any]

class RateCard_pack(TypedDict):
    credits: int
    id: "RateCard_id"
    name: NotRequired[str]
    price: NotRequired["RateCard_decimal"]
    quantity: NotRequired[Dict[str, Any]]
    validity_months: NotRequired[int]


class RateCard_plan(TypedDict):
    credits: int
    features: NotRequired[List[Dict[str, Any]]]
    id: "RateCard_id"
    name: NotRequired[str]
    price: NotRequired["RateCard_decimal"]
    renewal: NotRequired[Literal["monthly", "once"]]


class Rejection(TypedDict):
    reason: str


Renewal = Union[Literal["monthly"], Literal["once"]]

Request = Union["Item", Dict[str, Any]]

class RevokeRequest(TypedDict):
    """Credits taken back by the operator: an amount (from the soonest-expiring grants), or
 what is unspent of one grant. Held credits are never taken; the balance never goes
 below zero."""
    amount_millicredits: NotRequired[Union[int, None]]
    grant_id: NotRequired[Union[str, None]]
    reason: str
    wallet_id: NotRequired[Union[str, None]]


Role = Union[Literal["owner"], Literal["viewer"], Literal["member"], Literal["admin"]]

class RotateApiKey(TypedDict):
    """Replace a key: a new one now; the old one keeps working for the grace period."""
    grace_seconds: NotRequired[Union[int, None]]


class Session(TypedDict):
    """A session: the token the browser sends as `Authorization: Bearer …` (shown once)."""
    expires_at_ms: int
    id: str
    member_id: str
    project: NotRequired[Union[str, None]]
    rights: List["Op"]
    role: "Role"
    token: str
    wallet_id: NotRequired[Union[str, None]]
    workspace_id: str


class SessionRequest(TypedDict):
    """Mint a browser session for one member (operator's backend, with the API key)."""
    external_id: NotRequired[Union[str, None]]
    member_id: NotRequired[Union[str, None]]
    project: NotRequired[Union[str, None]]
    rights: NotRequired[Union[List["Op"], None]]
    ttl_seconds: NotRequired[Union[int, None]]
    wallet_id: NotRequired[Union[str, None]]


class Shortfall(TypedDict):
    """Everything a user needs when an action costs more than they have: what they
 have, what it needs, the gap, and what closes it: a plan above theirs, the
 smallest pack, both where the card sells both, or the seller's contact when
 neither does."""
    balance_millicredits: int
    contact: NotRequired[Union["Contact", None]]
    pack: NotRequired[Union["PackCover", None]]
    plan: NotRequired[Union["PlanCover", None]]
    required_millicredits: int
    shortfall_millicredits: int


class Span(TypedDict):
    """A priced range: `min <= expected <= max`, in milli-credits."""
    expected_millicredits: int
    max_millicredits: int
    min_millicredits: int


class StatusParam(TypedDict):
    status: NotRequired[Union["PayoutState", None]]


class StreamStart(TypedDict):
    first_output_tokens: int


class Subscription(TypedDict):
    """A wallet's paid subscription (`GET /v1/subscription`; `null` on no paid plan)."""
    amount_minor: int
    cancel_at_period_end: bool
    currency: str
    next_plan_id: NotRequired[Union[str, None]]
    plan_id: str
    renews_at_ms: NotRequired[Union[int, None]]
    upgrade_plan_id: NotRequired[Union[str, None]]
    wallet_id: str


class SubscriptionChange(TypedDict):
    """`POST /v1/subscription`: change the wallet's paid plan through the provider (an
 upgrade now, the difference invoiced and granted at once; a downgrade from the next
 period), or end it at the period's end (`cancel_at_period_end: true`) and resume it
 (`false`). Exactly one of the two."""
    cancel_at_period_end: NotRequired[Union[bool, None]]
    plan_id: NotRequired[Union[str, None]]
    wallet_id: NotRequired[Union[str, None]]


class Thresholds(TypedDict):
    """Low-balance thresholds of a workspace."""
    critical_threshold_millicredits: int
    low_threshold_millicredits: int


class TopUpRequest(TypedDict):
    pack_id: str
    quantity: NotRequired[Union[int, None]]


class Transaction(TypedDict):
    """One ledger entry."""
    action: NotRequired[Union[str, None]]
    created_at_ms: int
    delta_millicredits: int
    earnings_delta_millicredits: NotRequired[int]
    grant_id: NotRequired[Union[str, None]]
    held_delta_millicredits: int
    hold_id: NotRequired[Union[str, None]]
    kind: "TransactionKind"
    member_id: NotRequired[Union[str, None]]
    note: NotRequired[Union[str, None]]
    project: NotRequired[Union[str, None]]
    seq: int


TransactionKind = Union[Literal["payout", "earning"], Literal["grant"], Literal["charge"], Literal["refund"], Literal["expiry"], Literal["hold"], Literal["release"], Literal["revoke"]]

class TransactionsQuery(TypedDict):
    """`member_id`, `action` and `month` (`2026-01`) narrowing usage and history."""
    action: NotRequired[Union[str, None]]
    cursor: NotRequired[Union[str, None]]
    limit: NotRequired[Union[int, None]]
    member_id: NotRequired[Union[str, None]]
    month: NotRequired[Union[str, None]]
    type: NotRequired[Union["TransactionKind", None]]
    wallet_id: NotRequired[Union[str, None]]


class Usage(TypedDict):
    group_by: "UsageGroup"
    rows: List["UsageRow"]
    total_millicredits: int
    wallet_id: str


UsageGroup = Literal["action", "project", "member", "month"]

class UsageQuery(TypedDict):
    """`member_id`, `action` and `month` (`2026-01`) narrowing usage and history."""
    action: NotRequired[Union[str, None]]
    group_by: NotRequired[Union["UsageGroup", None]]
    member_id: NotRequired[Union[str, None]]
    month: NotRequired[Union[str, None]]
    wallet_id: NotRequired[Union[str, None]]


class UsageRow(TypedDict):
    charges: int
    key: str
    used_millicredits: int


class WalletCreated(TypedDict):
    kind: "WalletKind"
    wallet_id: str


WalletKind = Union[Literal["personal"], Literal["workspace"], Literal["organization"]]

class WalletParam(TypedDict):
    wallet_id: NotRequired[Union[str, None]]


class WalletParam2(TypedDict):
    wallet_id: NotRequired[Union[str, None]]


class WalletQuery(TypedDict):
    wallet_id: NotRequired[Union[str, None]]


class WalletSummary(TypedDict):
    """`GET /v1/wallets`: a wallet the caller may use (seed 004: personal and organization
 wallets are separate), for the wallet switcher."""
    available_millicredits: int
    kind: "WalletKind"
    wallet_id: str


class WebhookEndpoint(TypedDict):
    created_at_ms: int
    disabled_at_ms: NotRequired[Union[int, None]]
    events: List["EventType"]
    id: str
    url: str
    workspace_id: NotRequired[Union[str, None]]


class WebhookEndpointCreated(TypedDict):
    """An endpoint just made, with the secret its deliveries are signed with (shown once)."""
    created_at_ms: int
    disabled_at_ms: NotRequired[Union[int, None]]
    events: List["EventType"]
    id: str
    secret: str
    url: str
    workspace_id: NotRequired[Union[str, None]]


class Workspace(TypedDict):
    card: "CardRef"
    created_at_ms: NotRequired[int]
    critical_threshold_millicredits: int
    id: str
    low_threshold_millicredits: int
    name: str
    suspended: NotRequired[bool]
    wallet_id: str
