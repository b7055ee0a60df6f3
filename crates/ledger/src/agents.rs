//! Free messages per agent (seed 004: "many agents offer a number of free messages
//! before credits apply"), counted by the ledger. The count a price depends on cannot
//! come from the browser: a session could otherwise claim every message is its first.

use crate::later::later;
use creditkit_pricing::{ParamValue, Request};

use crate::*;

const AGENT: &str = "agent";
const MESSAGES_USED: &str = "messages_used";

/// Who a count belongs to within a wallet: the member, or the wallet itself when a
/// backend spends without naming one.
fn member_key(member_id: Option<&str>) -> &str {
    member_id.unwrap_or("")
}

fn agents_of(request: &Request) -> impl Iterator<Item = (usize, &str)> {
    request
        .items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item.params.get(AGENT) {
            Some(ParamValue::Text(a)) => Some((i, a.as_str())),
            _ => None,
        })
}

impl Ledger {
    /// Sets each agent item's `messages_used` to the ledger's count of this member's
    /// charged messages with that agent in this wallet. A backend (API key) that names a
    /// count of its own keeps it; a browser's is always replaced.
    pub(crate) async fn fill_agent_usage(
        &self,
        p: &Principal,
        wallet_id: &str,
        request: &mut Request,
    ) -> Result<()> {
        let wanted: Vec<(usize, String)> = agents_of(request)
            .filter(|(i, _)| {
                p.actor.is_browser() || !request.items[*i].params.contains_key(MESSAGES_USED)
            })
            .map(|(i, a)| (i, a.to_string()))
            .collect();
        for (i, agent) in wanted {
            let used: Option<(i64,)> = sqlx::query_as(
                "SELECT messages FROM agent_usage WHERE wallet_id = $1 AND member_key = $2 AND agent_id = $3",
            )
            .bind(wallet_id)
            .bind(member_key(p.member_id.as_deref()))
            .bind(&agent)
            .fetch_optional(&self.pool)
            .await?;
            let used = used.map_or(0, |(n,)| to_u64(n));
            request.items[i]
                .params
                .insert(MESSAGES_USED.to_string(), ParamValue::Count(used));
        }
        Ok(())
    }

    /// Counts a captured quote's agent messages, in the capture's transaction.
    pub(crate) async fn record_agent_usage(
        &self,
        tx: &mut Tx,
        wallet_id: &str,
        member_id: Option<&str>,
        request: &Request,
    ) -> Result<()> {
        for (i, agent) in agents_of(request) {
            let n = i64::try_from(request.items[i].quantity).unwrap_or(i64::MAX);
            later(tx, sqlx::query(
                "INSERT INTO agent_usage (wallet_id, member_key, agent_id, messages) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (wallet_id, member_key, agent_id) DO UPDATE SET messages = agent_usage.messages + excluded.messages",
            )
            .bind(wallet_id)
            .bind(member_key(member_id))
            .bind(agent)
            .bind(n)
            )
            .await?;
        }
        Ok(())
    }
}
