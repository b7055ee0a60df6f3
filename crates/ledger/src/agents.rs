//! Free messages per agent (seed 004: "many agents offer a number of free messages
//! before credits apply"), counted by the ledger. The count a price depends on cannot
//! come from the browser: a session could otherwise claim every message is its first.

use creditkit_api::Op;
use creditkit_pricing::{ParamValue, Request};

use crate::db::{later, Conn};
use crate::{to_u64, Ledger, LedgerError, Principal, Result, Tx};

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

/// Messages with `$3` counted for member `$2` of workspace `$1`: those charged, and those
/// confirmed and not yet settled (an active hold holds its place; a released one gives
/// it back by no longer being active).
const USED_MESSAGES: &str = "SELECT CAST(\
    COALESCE((SELECT messages FROM agent_messages WHERE workspace_id = $1 AND member_key = $2 AND agent_id = $3), 0) \
    + COALESCE((SELECT SUM(a.messages) FROM hold_agents a JOIN holds h ON h.id = a.hold_id \
      WHERE a.workspace_id = $1 AND a.member_key = $2 AND a.agent_id = $3 AND h.status = 'active'), 0) \
    AS BIGINT)";

impl Ledger {
    /// How many of `agent`'s messages `member` of `workspace` has used or holds.
    async fn used_messages(
        &self,
        conn: &mut Conn,
        workspace_id: &str,
        member_id: Option<&str>,
        agent: &str,
    ) -> Result<u64> {
        let (n,): (i64,) = sqlx::query_as(USED_MESSAGES)
            .bind(workspace_id)
            .bind(member_key(member_id))
            .bind(agent)
            .fetch_one(&mut *conn)
            .await?;
        Ok(to_u64(n))
    }

    /// Sets each agent item's `messages_used` to the ledger's count of this member's
    /// messages with that agent in this workspace (charged or held). A backend (API key)
    /// that names a count of its own keeps it; a browser's is always replaced.
    pub(crate) async fn fill_agent_usage(
        &self,
        p: &Principal,
        request: &mut Request,
    ) -> Result<()> {
        let wanted: Vec<(usize, String)> = agents_of(request)
            .filter(|(i, _)| {
                p.actor.is_browser() || !request.items[*i].params.contains_key(MESSAGES_USED)
            })
            .map(|(i, a)| (i, a.to_string()))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.begin().await?;
        for (i, agent) in wanted {
            let used = self
                .used_messages(&mut conn, &p.workspace_id, p.member_id.as_deref(), &agent)
                .await?;
            request.items[i]
                .params
                .insert(MESSAGES_USED.to_string(), ParamValue::Count(used));
        }
        Ok(())
    }

    /// Under the wallet's lock, as a browser's hold begins: the count each agent item was
    /// priced with must still be the member's count (two quotes made before either was
    /// confirmed both saw the same free message: the second must quote again). Then the
    /// hold takes its messages' places.
    pub(crate) async fn hold_agent_messages(
        &self,
        tx: &mut Tx,
        p: &Principal,
        member_id: Option<&str>,
        hold_id: &str,
        request: &Request,
        quote_id: &str,
    ) -> Result<()> {
        for (i, agent) in agents_of(request) {
            if p.actor.is_browser() {
                let priced = match request.items[i].params.get(MESSAGES_USED) {
                    Some(ParamValue::Count(n)) => *n,
                    _ => 0,
                };
                let now = self
                    .used_messages(tx, &p.workspace_id, member_id, agent)
                    .await?;
                if now != priced {
                    // Priced with a count that no longer holds: like an expired quote,
                    // the page asks for a new one (the same code, the same handling).
                    return Err(LedgerError::QuoteExpired(quote_id.to_string()));
                }
            }
            let n = i64::try_from(request.items[i].quantity).unwrap_or(i64::MAX);
            later(tx, sqlx::query(
                "INSERT INTO hold_agents (hold_id, workspace_id, member_key, agent_id, messages) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(hold_id)
            .bind(&p.workspace_id)
            .bind(member_key(member_id))
            .bind(agent)
            .bind(n)
            )
            .await?;
        }
        Ok(())
    }

    /// Counts a captured quote's agent messages, in the capture's transaction.
    pub(crate) async fn record_agent_usage(
        &self,
        tx: &mut Tx,
        workspace_id: &str,
        member_id: Option<&str>,
        request: &Request,
    ) -> Result<()> {
        for (i, agent) in agents_of(request) {
            let n = i64::try_from(request.items[i].quantity).unwrap_or(i64::MAX);
            later(tx, sqlx::query(
                "INSERT INTO agent_messages (workspace_id, member_key, agent_id, messages) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, member_key, agent_id) DO UPDATE SET messages = agent_messages.messages + excluded.messages",
            )
            .bind(workspace_id)
            .bind(member_key(member_id))
            .bind(agent)
            .bind(n)
            )
            .await?;
        }
        Ok(())
    }
}

impl Ledger {
    /// The workspace card's agents as this caller sees them: a paid message's price and
    /// the free messages left to this member (the same count a quote is priced with).
    pub async fn agents(&self, p: &Principal) -> Result<Vec<creditkit_api::AgentOffer>> {
        p.require(Op::Read)?;
        let card = self.card(&p.workspace_id).await?;
        let Some(chat) = card
            .actions
            .iter()
            .find(|a| matches!(a.cost, creditkit_pricing::Cost::Chat))
        else {
            return Ok(Vec::new());
        };
        let mut conn = self.pool.begin().await?;
        let mut out = Vec::with_capacity(card.agents.len());
        for agent in &card.agents {
            let used = self
                .used_messages(
                    &mut conn,
                    &p.workspace_id,
                    p.member_id.as_deref(),
                    &agent.id,
                )
                .await?;
            // A message past the free ones, as a quote would price it.
            let paid = Request::single(
                creditkit_pricing::Item::new(chat.id.clone())
                    .param(AGENT, agent.id.clone())
                    .param(MESSAGES_USED, agent.free_messages),
            );
            let est = creditkit_pricing::estimate(&card, &paid).map_err(LedgerError::Estimate)?;
            out.push(creditkit_api::AgentOffer {
                id: agent.id.clone(),
                name: agent.name.clone(),
                model_name: card
                    .model(&agent.model)
                    .map_or_else(|| agent.model.clone(), |m| m.name.clone()),
                per_message: creditkit_pricing::Span {
                    min_millicredits: est.min_millicredits,
                    max_millicredits: est.max_millicredits,
                    expected_millicredits: est.expected_millicredits,
                },
                publisher_addon_millicredits: agent.publisher_addon.0,
                free_messages: agent.free_messages,
                free_left: agent.free_messages.saturating_sub(used),
            });
        }
        Ok(out)
    }
}
