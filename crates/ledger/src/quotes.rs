//! Quotes: a request priced with the workspace's current card, signed into the quote's
//! id (`signed.rs`) for the hold that confirms it (`holds.rs`), which writes it.

use creditkit_api::{Cap, Op, Quote, QuoteRequest};
use creditkit_pricing::{estimate, shortfall, Card, Estimate, Millicredits};
use sqlx::Row;

use crate::db::{later, Conn};
use crate::signed::QuoteClaims;
use crate::stream::{clamp_output, stream_price};
use crate::wallet::{
    cycle_due, due_count, wallet_columns, wallet_from, wallet_from_row, WALLET_COLUMNS,
};
use crate::{
    count_text, new_id, to_i64, to_u64, Ledger, LedgerError, Principal, Result, WalletRow,
};

impl Ledger {
    /// Prices a request with the workspace's current card and keeps the quote for
    /// [`Config::quote_ttl_ms`]. Says whether a hold would be refused, and what covers it.
    pub async fn quote(&self, p: &Principal, req: &QuoteRequest) -> Result<Quote> {
        let call = self.authorise(p, Op::Quote)?;
        let wallet_id = self.resolve_wallet(p, req.wallet_id.as_deref()).await?;
        let project = quote_project(p, req)?;
        // One statement, on a reader beside the writer (a quote moves no credits and
        // writes nothing: its id carries it, signed, `signed.rs`): the wallet, whether
        // anything is due to settle on it, the workspace's card and whether the wallet
        // has caps. What it says is available is checked again, locked, by the hold.
        let now = self.now_ms();
        let row = sqlx::query(concat!(
            "SELECT ",
            wallet_columns!(),
            ", ",
            due_count!("w.id", "$2"),
            ", s.card_hash, (SELECT COUNT(*) FROM caps WHERE wallet_id = w.id), s.card_from_ms ",
            wallet_from!()
        ))
        .bind(&wallet_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("wallet `{wallet_id}`")))?;
        let w = wallet_from_row(&row)?;
        let due = row.try_get::<i64, _>(WALLET_COLUMNS)? > 0 || cycle_due(&w, now);
        // The version pricing this wallet (`cards.rs`): the newest, unless it is
        // scheduled after the wallet's prices date from.
        let from: Option<i64> = row.try_get(WALLET_COLUMNS + 3)?;
        let basis = self.basis_for(&w, now, from).await?;
        let hash: String = row.try_get(WALLET_COLUMNS + 1)?;
        let card = self.card_at(&w.workspace_id, &hash, from, basis).await?;
        let caps: i64 = row.try_get(WALLET_COLUMNS + 2)?;
        let mut request = count_text(&card, &req.request)?;
        self.fill_agent_usage(p, &mut request).await?;
        let est = estimate(&card, &request).map_err(LedgerError::Estimate)?;
        let max = to_i64(est.max_millicredits)?;
        // A streamed turn reserves its first chunk; the maximum is what is confirmed.
        let first = match req.stream {
            None => None,
            Some(s) => {
                let tokens = clamp_output(&card, &request, s.first_output_tokens)?;
                Some((
                    tokens,
                    to_i64(stream_price(&card, &request, tokens)?)?.min(max),
                ))
            }
        };
        let expires_at_ms = now + self.config.quote_ttl_ms;
        let reserve = first.map_or(max, |f| f.1);
        let member = p.member_id.as_deref();
        let project = project.as_deref();
        let (w, cap) = if due {
            // Something is due: the quote settles it (the only time a quote writes).
            let (mut tx, mut w, _) = self.begin_wallet(&call, &wallet_id, now).await?;
            let cap = self
                .cap_refusal(&mut tx, &w, member, project, reserve, now)
                .await?;
            self.finish(call, tx, &mut w, Ok(()), &[]).await?;
            (w, cap)
        } else if caps > 0 {
            let mut read = self.pool.begin().await?;
            let cap = self
                .cap_refusal(&mut read, &w, member, project, reserve, now)
                .await?;
            read.commit().await?;
            (w, cap)
        } else {
            (w, None)
        };
        let claims = QuoteClaims {
            workspace_id: p.workspace_id.clone(),
            wallet_id: wallet_id.clone(),
            card_hash: card.hash().to_string(),
            request,
            member_id: p.member_id.clone(),
            project: project.map(str::to_string),
            max_mc: max,
            stream_first_tokens: first.map(|f| f.0 as i64),
            hold_mc: first.map(|f| f.1),
            conversation: req.conversation_id.clone(),
            created_at_ms: now,
            expires_at_ms,
        };
        let id = self.quote_key.sign(&new_id("quo"), &claims);
        let available = to_u64(w.balance_mc - w.held_mc);
        let mut quote = quote_view(
            &card,
            id,
            wallet_id,
            est,
            expires_at_ms,
            (available, w.plan_id.as_deref()),
            first.map(|f| to_u64(f.1)),
        );
        quote.cap = cap;
        Ok(quote)
    }

    /// A quote given earlier (the operator's backend reads what the user confirmed),
    /// with what is available now: by the id the quote gave, or by the short id
    /// (`quo_…`) its hold names. A quote nobody confirmed is forgotten after the
    /// retention window, as idempotency records are.
    pub async fn get_quote(&self, p: &Principal, quote_id: &str) -> Result<Quote> {
        p.require(Op::Read)?;
        let not_found = || LedgerError::NotFound(format!("quote `{quote_id}`"));
        let (short_id, claims) = match self.quote_key.open(quote_id) {
            Some((id, c)) if c.workspace_id == p.workspace_id => (id, Some(c)),
            Some(_) => return Err(not_found()),
            None => (quote_id, None),
        };
        let remembered = self.now_ms() - self.config.retention_ms;
        let (wallet_id, card, est, expires_at_ms, first) = match claims
            .filter(|c| c.expires_at_ms >= remembered)
        {
            Some(c) => {
                let card = self.card_by_hash(&c.card_hash).await?;
                let est = estimate(&card, &c.request).map_err(LedgerError::Estimate)?;
                (c.wallet_id, card, est, c.expires_at_ms, c.hold_mc)
            }
            // Confirmed: its hold wrote it.
            None => {
                let row: Option<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
                        "SELECT wallet_id, card_hash, estimate_json, expires_at_ms, hold_mc FROM quotes WHERE id = $1 AND workspace_id = $2",
                    )
                    .bind(short_id)
                    .bind(&p.workspace_id)
                    .fetch_optional(&self.pool)
                    .await?;
                let (wallet_id, card_hash, json, expires_at_ms, first) =
                    row.ok_or_else(not_found)?;
                let est: Estimate = serde_json::from_str(&json)
                    .map_err(|e| LedgerError::Corrupt(format!("quote estimate: {e}")))?;
                let card = self.card_by_hash(&card_hash).await?;
                (wallet_id, card, est, expires_at_ms, first)
            }
        };
        self.resolve_wallet(p, Some(&wallet_id))
            .await
            .map_err(|_| not_found())?;
        let (balance, held, plan): (i64, i64, Option<String>) =
            sqlx::query_as("SELECT balance_mc, held_mc, plan_id FROM wallets WHERE id = $1")
                .bind(&wallet_id)
                .fetch_one(&self.pool)
                .await?;
        let available = to_u64(balance - held);
        Ok(quote_view(
            &card,
            quote_id.to_string(),
            wallet_id,
            est,
            expires_at_ms,
            (available, plan.as_deref()),
            first.map(to_u64),
        ))
    }

    /// The cap a hold of `reserve` would pass, said with the quote (not an error).
    async fn cap_refusal(
        &self,
        conn: &mut Conn,
        w: &WalletRow,
        member_id: Option<&str>,
        project: Option<&str>,
        reserve: i64,
        now: i64,
    ) -> Result<Option<Cap>> {
        match self
            .check_caps(conn, w, member_id, project, reserve, now)
            .await
        {
            Err(LedgerError::CapExceeded(cap)) => Ok(Some(*cap)),
            other => other.map(|()| None),
        }
    }

    /// Writes a confirmed quote's row, in its hold's transaction (what the capture, a
    /// stream's top-ups and the audit read back).
    pub(crate) async fn insert_quote(
        &self,
        conn: &mut Conn,
        id: &str,
        q: &QuoteClaims,
        est: &Estimate,
    ) -> Result<()> {
        later(&mut *conn, sqlx::query(
            "INSERT INTO quotes (id, workspace_id, wallet_id, card_hash, request_json, estimate_json, max_mc, member_id, action, project, expires_at_ms, created_at_ms, stream_first_tokens, hold_mc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(id)
        .bind(&q.workspace_id)
        .bind(&q.wallet_id)
        .bind(&q.card_hash)
        .bind(serde_json::to_string(&q.request).unwrap_or_default())
        .bind(serde_json::to_string(est).unwrap_or_default())
        .bind(q.max_mc)
        .bind(&q.member_id)
        .bind(q.request.items.first().map(|i| i.action.as_str()))
        .bind(&q.project)
        .bind(q.expires_at_ms)
        .bind(q.created_at_ms)
        .bind(q.stream_first_tokens)
        .bind(q.hold_mc)
        )
        .await?;
        Ok(())
    }
}

fn quote_view(
    card: &Card,
    id: String,
    wallet_id: String,
    est: Estimate,
    expires_at_ms: i64,
    (available, plan): (u64, Option<&str>),
    stream_first: Option<u64>,
) -> Quote {
    let hold = stream_first.unwrap_or(est.max_millicredits);
    let short = shortfall(card, Millicredits(available), Millicredits(hold), plan);
    Quote {
        id,
        wallet_id,
        hold_millicredits: hold,
        streaming: stream_first.is_some(),
        estimate: est,
        expires_at_ms,
        available_millicredits: available,
        would_exceed: short.is_some(),
        shortfall: short,
        cap: None,
    }
}

/// The project a quote is for (at most 200 characters): a session bound to one quotes
/// for it, named or not, never for another; and its conversation id checked.
fn quote_project(p: &Principal, req: &QuoteRequest) -> Result<Option<String>> {
    if req
        .project
        .as_ref()
        .is_some_and(|s| s.chars().count() > 200)
    {
        return Err(LedgerError::Invalid {
            path: Some("project".into()),
            message: "project is limited to 200 characters".into(),
        });
    }
    if let Some(c) = &req.conversation_id {
        if c.is_empty() || c.chars().count() > 200 {
            return Err(LedgerError::invalid_at(
                "conversation_id",
                "a conversation id is 1 to 200 characters".to_string(),
            ));
        }
    }
    // A session bound to a project quotes for it, named or not; never for another.
    Ok(match (&p.project, &req.project) {
        (Some(bound), Some(asked)) if bound != asked => {
            return Err(LedgerError::invalid_at(
                "project",
                format!("this session works on project `{bound}` only"),
            ))
        }
        (Some(bound), _) => Some(bound.clone()),
        (None, asked) => asked.clone(),
    })
}
