//! `<SpendingCaps/>`: the wallet's spending caps with what each has used this period;
//! workspace admins (sessions with the `set_caps` right) add and remove them.

use creditkit_api::{Cap, CapPeriod, CapScope, Member, NewCap, Op};
use leptos::prelude::*;

use crate::copy::words;
use crate::format::{credits_number, credits_text, period_word, when};
use crate::state::Credits;

fn who(c: &Cap, members: &[Member]) -> String {
    match (c.scope, c.subject.as_deref()) {
        (CapScope::Member, Some(id)) => members
            .iter()
            .find(|m| m.id == id)
            .map_or_else(|| words().a_member.to_string(), |m| m.name.clone()),
        (CapScope::Project, Some(p)) => (words().project)(p),
        _ => words().everyone.to_string(),
    }
}

/// Whole credits typed by a person → milli-credits (no floats: "12.5" → 12500).
fn parse_credits(text: &str) -> Option<u64> {
    // "2,5" as French users write it is 2.5.
    creditkit_pricing::parse_scaled(&text.trim().replace(',', "."), 3)
        .ok()
        .filter(|v| *v > 0)
}

#[component]
pub fn SpendingCaps() -> impl IntoView {
    let credits = Credits::get();
    let data = LocalResource::new(move || {
        credits.revision.track();
        let client = credits.client();
        async move {
            let me = client.me().await?;
            let caps = client.caps().await?;
            let members = client.members().await.unwrap_or_default();
            Ok::<_, crate::ClientError>((me, caps, members))
        }
    });
    let problem = RwSignal::new(None::<String>);
    let scope = RwSignal::new("member".to_string());
    let subject = RwSignal::new(String::new());
    let limit = RwSignal::new(String::new());
    let period = RwSignal::new("month".to_string());
    let add = move |_| {
        let Some(limit_millicredits) = parse_credits(&limit.get_untracked()) else {
            problem.set(Some(words().enter_limit.into()));
            return;
        };
        let (scope, subject) = match scope.get_untracked().as_str() {
            "wallet" => (CapScope::Wallet, None),
            "project" => (CapScope::Project, Some(subject.get_untracked())),
            _ => (CapScope::Member, Some(subject.get_untracked())),
        };
        if subject.as_deref().is_some_and(str::is_empty) {
            problem.set(Some(words().choose_whom.into()));
            return;
        }
        let period = match period.get_untracked().as_str() {
            "day" => CapPeriod::Day,
            "week" => CapPeriod::Week,
            "cycle" => CapPeriod::Cycle,
            _ => CapPeriod::Month,
        };
        let cap = NewCap {
            scope,
            subject,
            wallet_id: None,
            limit_millicredits,
            period,
        };
        leptos::task::spawn_local(async move {
            match credits.client().create_cap(&cap).await {
                Ok(_) => {
                    problem.set(None);
                    credits.revision.update(|r| *r += 1);
                }
                Err(e) => problem.set(Some(e.words())),
            }
        });
    };
    let remove = move |id: String| {
        leptos::task::spawn_local(async move {
            match credits.client().delete_cap(&id).await {
                Ok(()) => credits.revision.update(|r| *r += 1),
                Err(e) => problem.set(Some(e.words())),
            }
        });
    };
    view! {
        <section class="ck-caps" aria-label=words().spending_caps>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="ck-failed" role="alert">{e.words()}</p> }.into_any(),
                Ok((me, caps, members)) => {
                    let admin = me.rights.contains(&Op::SetCaps);
                    let rows = caps.iter().map(|c| {
                        let used = c.spent_millicredits + c.reserved_millicredits;
                        let id = c.id.clone();
                        let remove_label = (words().remove_cap)(&who(c, &members));
                        view! {
                            <tr data-cap=c.id.clone()>
                                <th scope="row">{who(c, &members)}</th>
                                <td>{period_word(c.period)}</td>
                                <td>
                                    <meter min="0" max=c.limit_millicredits.to_string() value=used.min(c.limit_millicredits).to_string()
                                        aria-label=(words().used_of)(&credits_number(used), &credits_text(c.limit_millicredits))></meter>
                                    " "{(words().used_of)(&credits_number(used), &credits_text(c.limit_millicredits))}
                                </td>
                                <td>{when(c.resets_at_ms)}</td>
                                {admin.then(|| view! { <td><button type="button" class="ck-secondary" aria-label=remove_label on:click=move |_| remove(id.clone())>{words().remove}</button></td> })}
                            </tr>
                        }
                    }).collect_view();
                    let choices: Vec<(String, String)> = members.iter().map(|m| (m.id.clone(), m.name.clone())).collect();
                    view! {
                        <table class="ck-caps-table">
                            <caption>{words().spending_caps}</caption>
                            <thead><tr><th scope="col">{words().who}</th><th scope="col">{words().period}</th><th scope="col">{words().used}</th><th scope="col">{words().resets}</th>{admin.then(|| view! { <th scope="col"><span class="ck-visually-hidden">{words().actions}</span></th> })}</tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                        {caps.is_empty().then(|| view! { <p class="ck-note">{words().no_caps}</p> })}
                        {admin.then(|| view! {
                            <form class="ck-cap-form" on:submit=move |ev| { ev.prevent_default(); add(()); }>
                                <label>{words().limit}<select on:change=move |ev| scope.set(event_target_value(&ev))>
                                    <option value="member" selected=true>{words().scope_options[0]}</option>
                                    <option value="project">{words().scope_options[1]}</option>
                                    <option value="wallet">{words().scope_options[2]}</option>
                                </select></label>
                                {move || match scope.get().as_str() {
                                    "member" => Some(view! { <label>{words().member}<select on:change=move |ev| subject.set(event_target_value(&ev))><option value="">{words().choose}</option>{choices.iter().map(|(id, name)| view! { <option value=id.clone()>{name.clone()}</option> }).collect_view()}</select></label> }.into_any()),
                                    "project" => Some(view! { <label>{words().project_label}<input type="text" on:change=move |ev| subject.set(event_target_value(&ev))/></label> }.into_any()),
                                    _ => None,
                                }}
                                <label>{words().to}<input type="text" inputmode="decimal" size="6" on:change=move |ev| limit.set(event_target_value(&ev))/>{words().credits_unit}</label>
                                <label>{words().per}<select on:change=move |ev| period.set(event_target_value(&ev))>
                                    <option value="day">{words().period_options[0]}</option>
                                    <option value="week">{words().period_options[1]}</option>
                                    <option value="month" selected=true>{words().period_options[2]}</option>
                                    <option value="cycle">{words().period_options[3]}</option>
                                </select></label>
                                <button type="submit" class="ck-primary">{words().add_cap}</button>
                            </form>
                        })}
                    }.into_any()
                }
            })}
            {move || problem.get().map(|p| view! { <p class="ck-failed" role="alert">{p}</p> })}
        </section>
    }
}
