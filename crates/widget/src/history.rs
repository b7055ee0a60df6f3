//! What was used and what happened to the credits: the usage chart and the history, in
//! the card's words (action names, never ids), one row per paid action.

use std::collections::HashMap;

use creditkit_api::{Transaction, TransactionKind};
use creditkit_pricing::Card;
use leptos::prelude::*;

use crate::components::{kind_label, signed};
use crate::copy::words;
use crate::format::{credits_number, credits_text, when};
use crate::state::Credits;

/// A labelled `<select>` of options (`values[i]` shown as `texts[i]`) that writes the
/// chosen value.
#[component]
fn FilterSelect(
    label: &'static str,
    value: RwSignal<String>,
    values: &'static [&'static str],
    texts: &'static [&'static str],
) -> impl IntoView {
    view! {
        <label>{label}
            <select on:change=move |ev| value.set(event_target_value(&ev))>
                {values.iter().zip(texts).map(|(&v, &text)| view! { <option value=v>{text}</option> }).collect_view()}
            </select>
        </label>
    }
}

/// How a usage grouping reads, in the page's language.
fn group_text(g: creditkit_api::UsageGroup) -> String {
    let i = ["action", "project", "member", "month"]
        .iter()
        .position(|k| *k == g.as_str())
        .unwrap_or(0);
    words().group_options[i].to_string()
}

/// `fetch(client, key())`, fetched again when the key changes or the balance does.
fn refetching<K: 'static, T, Fut>(
    credits: Credits,
    key: impl Fn() -> K + 'static,
    fetch: impl Fn(crate::client::Client, K) -> Fut + 'static,
) -> LocalResource<T>
where
    T: 'static,
    Fut: std::future::Future<Output = T> + 'static,
{
    LocalResource::new(move || {
        credits.revision.track();
        fetch(credits.client(), key())
    })
}

/// Who may be named in the filters: every member with their name for a caller with
/// `read_team` (admins, owners, the backend), nobody else's for a member (seed 001:
/// admins track who used credits; a member sees their own).
#[derive(Clone, Default)]
pub(crate) struct Team {
    pub(crate) sees_everyone: bool,
    pub(crate) names: HashMap<String, String>,
}

impl Team {
    fn load(credits: Credits) -> LocalResource<Team> {
        LocalResource::new(move || {
            let client = credits.client();
            async move {
                let sees_everyone = client
                    .me()
                    .await
                    .is_ok_and(|me| me.rights.contains(&creditkit_api::Op::ReadTeam));
                let names = client
                    .members()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| (m.id, m.name))
                    .collect();
                Team {
                    sees_everyone,
                    names,
                }
            }
        })
    }

    /// A member's name; the member's own words when unknown; "" (no member) is the
    /// application's backend.
    fn name(&self, id: &str) -> String {
        match self.names.get(id) {
            Some(n) => n.clone(),
            None if id.is_empty() => words().by_application.to_string(),
            None => words().a_member.to_string(),
        }
    }
}

/// The month and member filters both views share.
#[component]
fn TeamFilters(
    month: RwSignal<String>,
    member: RwSignal<String>,
    team: LocalResource<Team>,
) -> impl IntoView {
    view! {
        <label>{words().in_month}
            <input type="month" on:change=move |ev| month.set(event_target_value(&ev))/>
        </label>
        {move || team.get().filter(|t| t.sees_everyone).map(|t| {
            let mut people: Vec<(String, String)> = t.names.into_iter().collect();
            people.sort_by(|a, b| a.1.cmp(&b.1));
            view! {
                <label>{words().by_member}
                    <select on:change=move |ev| member.set(event_target_value(&ev))>
                        <option value="">{words().everyone}</option>
                        {people.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                    </select>
                </label>
            }
        })}
    }
}

fn filter_of(member: &str, action: &str, month: &str) -> creditkit_api::UsageFilter {
    let given = |s: &str| (!s.is_empty()).then(|| s.to_string());
    creditkit_api::UsageFilter {
        member_id: given(member),
        action: given(action),
        month: given(month),
    }
}

/// What an action is called on the card; an id the card does not know (an older
/// version's action) is shown as words, never as the raw id.
pub(crate) fn action_name(card: Option<&Card>, id: &str) -> String {
    if let Some(a) = card.and_then(|c| c.action(id)) {
        return a.name.clone();
    }
    let words = id.replace(['_', '-'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => words,
    }
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HistoryRow {
    pub(crate) at_ms: i64,
    /// `charge`, `release` or `hold` for a paid action; otherwise the entry's kind.
    pub(crate) kind: &'static str,
    pub(crate) what: String,
    pub(crate) credits: String,
    /// Whose it was (a paid action's member).
    pub(crate) member: Option<String>,
}

/// Entries (newest first) as rows: a paid action's hold, charge and release become one
/// row (charged, "not charged" when released, or reserved while it runs); other entries
/// keep a row each.
pub(crate) fn history_rows(items: &[Transaction], card: Option<&Card>) -> Vec<HistoryRow> {
    #[derive(Default)]
    struct Paid {
        at_ms: i64,
        action: Option<String>,
        member: Option<String>,
        reserved: u64,
        charged: u64,
        settled: bool,
    }
    let mut order: Vec<Result<&Transaction, String>> = Vec::new();
    let mut paid: HashMap<String, Paid> = HashMap::new();
    for t in items {
        let grouped = matches!(
            t.kind,
            TransactionKind::Hold | TransactionKind::Charge | TransactionKind::Release
        );
        match (&t.hold_id, grouped) {
            (Some(hold), true) => {
                let p = paid.entry(hold.clone()).or_insert_with(|| {
                    order.push(Err(hold.clone()));
                    Paid {
                        at_ms: t.created_at_ms,
                        ..Paid::default()
                    }
                });
                p.at_ms = p.at_ms.max(t.created_at_ms);
                if p.action.is_none() {
                    p.action.clone_from(&t.action);
                }
                if p.member.is_none() {
                    p.member.clone_from(&t.member_id);
                }
                match t.kind {
                    TransactionKind::Hold => p.reserved += t.held_delta_millicredits.unsigned_abs(),
                    TransactionKind::Charge => {
                        p.charged += t.delta_millicredits.unsigned_abs();
                        p.settled = true;
                    }
                    _ => p.settled = true,
                }
            }
            _ => order.push(Ok(t)),
        }
    }
    order
        .into_iter()
        .map(|o| match o {
            Ok(t) => HistoryRow {
                at_ms: t.created_at_ms,
                kind: t.kind.as_str(),
                what: match &t.action {
                    Some(a) => format!("{} · {}", kind_label(t.kind), action_name(card, a)),
                    None => kind_label(t.kind).to_string(),
                },
                credits: moved(t),
                member: t.member_id.clone(),
            },
            Err(hold) => {
                let p = &paid[&hold];
                let name = p
                    .action
                    .as_deref()
                    .map_or_else(|| words().paid_action.to_string(), |a| action_name(card, a));
                let (kind, credits) = if p.charged > 0 {
                    ("charge", (words().charged)(&credits_text(p.charged)))
                } else if p.settled {
                    ("release", words().not_charged.to_string())
                } else {
                    ("hold", (words().reserved)(&credits_text(p.reserved)))
                };
                HistoryRow {
                    at_ms: p.at_ms,
                    kind,
                    what: name,
                    credits,
                    member: p.member.clone(),
                }
            }
        })
        .collect()
}

/// What an entry moved, in words: an earning or a payout moves a creator's earnings,
/// not the balance ("Earned 1.5 credits", "Paid out 50 credits"), never "+0 credits".
fn moved(t: &Transaction) -> String {
    let earned = t.earnings_delta_millicredits;
    match t.kind {
        TransactionKind::Earning if earned != 0 => {
            (words().earned)(&credits_text(earned.unsigned_abs()))
        }
        TransactionKind::Payout if earned > 0 => {
            (words().payout_returned)(&credits_text(earned.unsigned_abs()))
        }
        TransactionKind::Payout if earned != 0 => {
            (words().paid_out)(&credits_text(earned.unsigned_abs()))
        }
        _ if t.delta_millicredits == 0 && earned != 0 => signed(earned),
        _ => signed(t.delta_millicredits),
    }
}

/// Usage as an SVG bar chart, grouped by action, project, member or month.
#[component]
pub fn UsageChart() -> impl IntoView {
    let credits = Credits::get();
    let group = RwSignal::new("action".to_string());
    let (month, member) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let team = Team::load(credits);
    let usage = refetching(
        credits,
        move || (group.get(), filter_of(&member.get(), "", &month.get())),
        |client, (g, f)| async move { client.usage_of(&g, &f).await },
    );
    view! {
        <section class="ck-usage" aria-label=words().usage>
            <FilterSelect label=words().usage_by value=group values=&["action", "project", "member", "month"] texts=&words().group_options/>
            <TeamFilters month=month member=member team=team/>
            {move || usage.get().map(|r| match r {
                Err(e) => view! { <p class="ck-failed">{e.words()}</p> }.into_any(),
                Ok(u) if u.rows.is_empty() => view! { <p class="ck-note">{words().nothing_used}</p> }.into_any(),
                Ok(u) => {
                    let card = credits.card.get();
                    let people = team.get().unwrap_or_default();
                    let by_action = u.group_by == creditkit_api::UsageGroup::Action;
                    let by_member = u.group_by == creditkit_api::UsageGroup::Member;
                    let top = u.rows.iter().map(|r| r.used_millicredits).max().unwrap_or(1).max(1);
                    let rows = u.rows.len();
                    let height = rows * 28 + 8;
                    view! {
                        <svg class="ck-chart" role="img" viewBox=format!("0 0 400 {height}") width="100%" aria-label=(words().usage_chart)(&group_text(u.group_by), &credits_text(u.total_millicredits))>
                            {u.rows.iter().enumerate().map(|(i, r)| {
                                let w = (r.used_millicredits.saturating_mul(220) / top).max(1);
                                let y = i * 28 + 4;
                                let label = if by_action {
                                    action_name(card.as_deref(), &r.key)
                                } else if by_member {
                                    people.name(&r.key)
                                } else {
                                    r.key.clone()
                                };
                                view! {
                                    <g>
                                        <text x="0" y=y + 16 class="ck-chart-label">{truncate(&label, 20)}</text>
                                        <rect x="150" y=y width=w height="20" rx="3" class="ck-chart-bar"></rect>
                                        <text x=150 + w + 6 y=y + 15 class="ck-chart-value">{credits_number(r.used_millicredits)}</text>
                                    </g>
                                }
                            }).collect_view()}
                        </svg>
                        <p class="ck-note">{(words().total)(&credits_text(u.total_millicredits))}</p>
                    }
                    .into_any()
                }
            })}
        </section>
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}

/// The latest transactions, filterable by type: one row per paid action.
#[component]
pub fn TransactionList() -> impl IntoView {
    let credits = Credits::get();
    let kind = RwSignal::new(String::new());
    let (month, member, action) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let team = Team::load(credits);
    let page = refetching(
        credits,
        move || {
            (
                kind.get(),
                filter_of(&member.get(), &action.get(), &month.get()),
            )
        },
        |client, (k, f)| async move {
            client
                .transactions_of((!k.is_empty()).then_some(k.as_str()), &f)
                .await
        },
    );
    let actions = move || {
        credits.card.get().map(|card| {
            view! {
                <label>{words().by_action}
                    <select on:change=move |ev| action.set(event_target_value(&ev))>
                        <option value="">{words().every_action}</option>
                        {card.actions.iter().map(|a| view! { <option value=a.id.clone()>{a.name.clone()}</option> }).collect_view()}
                    </select>
                </label>
            }
        })
    };
    view! {
        <section class="ck-transactions" aria-label=words().transactions>
            <FilterSelect label=words().show value=kind values=&["", "charge", "grant", "hold", "release", "refund", "expiry", "earning", "payout"] texts=&words().kind_options/>
            {actions}
            <TeamFilters month=month member=member team=team/>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <p class="ck-failed">{e.words()}</p> }.into_any(),
                Ok(p) => {
                    let card = credits.card.get();
                    let people = team.get().unwrap_or_default();
                    let mut rows = history_rows(&p.items, card.as_deref());
                    // Whose each charge was, where the viewer may see everyone's.
                    if people.sees_everyone {
                        for r in &mut rows {
                            if let Some(m) = r.member.as_deref() {
                                r.what = format!("{} · {}", r.what, people.name(m));
                            }
                        }
                    }
                    view! {
                        {card.as_deref().and_then(|c| c.contact.clone()).map(crate::account::support_line)}
                        <table>
                            <thead><tr><th scope="col">{words().when}</th><th scope="col">{words().what}</th><th scope="col">{words().credits}</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|r| view! {
                                    <tr data-kind=r.kind>
                                        <td>{when(r.at_ms)}</td>
                                        <td>{r.what}</td>
                                        <td>{r.credits}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }
            })}
        </section>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn entry(
        kind: TransactionKind,
        hold: Option<&str>,
        action: Option<&str>,
        delta: i64,
        held: i64,
        at_ms: i64,
    ) -> Transaction {
        Transaction {
            seq: at_ms,
            kind,
            delta_millicredits: delta,
            held_delta_millicredits: held,
            grant_id: None,
            hold_id: hold.map(str::to_string),
            member_id: None,
            action: action.map(str::to_string),
            project: None,
            note: None,
            created_at_ms: at_ms,
            earnings_delta_millicredits: 0,
        }
    }

    #[wasm_bindgen_test]
    fn earnings_and_payouts_say_what_moved() {
        let earning = Transaction {
            earnings_delta_millicredits: 1_500,
            ..entry(TransactionKind::Earning, None, None, 0, 0, 20)
        };
        let payout = Transaction {
            earnings_delta_millicredits: -50_000,
            ..entry(TransactionKind::Payout, None, None, 0, 0, 30)
        };
        let rows = history_rows(&[payout, earning], None);
        let got: Vec<&str> = rows.iter().map(|r| r.credits.as_str()).collect();
        assert_eq!(got, ["Paid out 50 credits", "Earned 1.5 credits"]);
    }

    #[wasm_bindgen_test]
    fn a_paid_action_is_one_row_named_by_the_card() {
        let card =
            creditkit_pricing::parse_card(include_str!("../../../examples/ratecards/landing.json"))
                .unwrap();
        // Newest first, as the API lists them.
        let items = [
            entry(
                TransactionKind::Hold,
                Some("h3"),
                Some("image"),
                0,
                10_000,
                60,
            ),
            entry(
                TransactionKind::Release,
                Some("h1"),
                Some("image"),
                0,
                -10_000,
                50,
            ),
            entry(
                TransactionKind::Charge,
                Some("h2"),
                Some("no_such_action"),
                -3_000,
                -3_000,
                40,
            ),
            entry(
                TransactionKind::Release,
                Some("h2"),
                Some("no_such_action"),
                0,
                -2_000,
                40,
            ),
            entry(
                TransactionKind::Hold,
                Some("h2"),
                Some("no_such_action"),
                0,
                5_000,
                30,
            ),
            entry(
                TransactionKind::Hold,
                Some("h1"),
                Some("image"),
                0,
                10_000,
                20,
            ),
            entry(TransactionKind::Grant, None, None, 100_000, 0, 10),
        ];
        let rows = history_rows(&items, Some(&card));
        let image = card.action("image").unwrap().name.clone();
        let got: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.kind, r.what.as_str(), r.credits.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("hold", image.as_str(), "10 credits reserved"),
                ("release", image.as_str(), "Not charged"),
                ("charge", "No such action", "Charged 3 credits"),
                ("grant", "Credits added", "+100 credits"),
            ]
        );
        assert_eq!(rows[1].at_ms, 50, "a row is dated by its last step");
    }
}
