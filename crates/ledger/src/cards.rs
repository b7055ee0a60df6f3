//! Rate cards: every version kept, a version scheduled ahead with notice, and which
//! version prices a wallet.
//!
//! A version is in force from its upload, or, scheduled, from its effective date; for
//! a wallet on a plan, from the first renewal on or after that date (seed 000:
//! "existing commitments are honored for the duration of your active billing
//! period"). `workspaces.card_hash` is the newest version and `card_from_ms` its
//! effective date when scheduled: a wallet whose period started on or after it (the
//! common case, one row read with the wallet) is priced by the newest; before, by the
//! newest version already in force for it (`card_versions`). Versions in force are
//! ordered as uploaded: while one is scheduled, nothing takes effect before it.

use std::sync::Arc;

use creditkit_api::admin::{CardUpload, CardUploaded, CardVersion, EventType};
use creditkit_api::{Op, PriceNotice};
use creditkit_pricing::{diff, parse_card, Card, CardRef, Change, PriceChange};

use crate::time::{add_months, cycle_index, day_text, MS_PER_DAY};
use crate::{Ledger, LedgerError, Principal, Result, Tx, WalletRow};

/// How far back a member's most used actions are counted for the notice.
const NOTICE_USAGE_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// How many of them the notice prices.
const NOTICE_ACTIONS: i64 = 5;

/// A `card_versions` row: number, card, note, uploaded, effective.
type VersionRow = (i64, String, Option<String>, i64, Option<i64>);

/// How a card version is uploaded: why, and when it takes effect (see [`CardUpload`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardTerms {
    pub note: Option<String>,
    pub effective_at_ms: Option<i64>,
    pub without_notice: bool,
}

impl From<&CardUpload> for CardTerms {
    fn from(u: &CardUpload) -> CardTerms {
        CardTerms {
            note: u.note.clone(),
            effective_at_ms: u.effective_at_ms,
            without_notice: u.without_notice,
        }
    }
}

impl Ledger {
    /// A new rate-card version for the workspace (validated). Earlier versions stay:
    /// a quote, its hold and its capture are priced with the version quoted on.
    ///
    /// A version that raises or removes a price is scheduled at least
    /// [`Config::price_notice_ms`] ahead (or uploaded `without_notice`); while one is
    /// scheduled, a later version is scheduled after it.
    pub async fn upload_card(
        &self,
        p: &Principal,
        card_json: &str,
        upload: &CardTerms,
    ) -> Result<CardUploaded> {
        let call = self.authorise(p, Op::SetCard)?;
        let card = parse_card(card_json).map_err(LedgerError::Card)?;
        let note = upload.note.as_deref();
        if note.is_some_and(|n| n.len() > 500) {
            return Err(LedgerError::invalid_at(
                "note",
                "note is limited to 500 characters",
            ));
        }
        let now = self.now_ms();
        let (newest, pending_from) = self.newest_card(&p.workspace_id).await?;
        let previous = self.card_by_hash(&newest).await?;
        let changes = diff(&previous, &card);
        let pending = pending_from.filter(|from| *from > now);
        check_notice(upload, pending, &changes, now, self.config.price_notice_ms)?;
        let scheduled = upload.effective_at_ms;
        let mut tx = self.begin(&call).await?;
        self.store_card(&mut tx, &card, card_json, now).await?;
        let (last,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(version_no), 0) AS BIGINT) FROM card_versions WHERE workspace_id = $1",
        )
        .bind(&p.workspace_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO card_versions (workspace_id, version_no, card_hash, note, created_at_ms, effective_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&p.workspace_id)
            .bind(last + 1)
            .bind(card.hash())
            .bind(note)
            .bind(now)
            .bind(scheduled)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE workspaces SET card_hash = $1, card_from_ms = $2 WHERE id = $3")
            .bind(card.hash())
            .bind(scheduled)
            .bind(&p.workspace_id)
            .execute(&mut *tx)
            .await?;
        let version = CardVersion {
            version_no: u32::try_from(last + 1).unwrap_or(u32::MAX),
            card: card_ref(&card),
            note: note.map(str::to_string),
            created_at_ms: now,
            effective_at_ms: scheduled,
        };
        if let Some(at) = scheduled {
            let moved: Vec<&PriceChange> = changes
                .iter()
                .filter(|c| c.change != Change::Unchanged)
                .collect();
            let data = serde_json::json!({
                "version": version,
                "effective_at_ms": at,
                "changes": moved,
            });
            self.emit(
                &mut tx,
                &p.workspace_id,
                EventType::CardScheduled,
                data,
                now,
            )
            .await?;
        }
        self.commit(call, tx, &[]).await?;
        Ok(CardUploaded {
            version,
            diff: changes,
        })
    }

    /// Every card version of the workspace, oldest first.
    pub async fn card_versions(&self, p: &Principal) -> Result<Vec<CardVersion>> {
        p.require(Op::Read)?;
        let rows: Vec<VersionRow> = sqlx::query_as(
            "SELECT version_no, card_hash, note, created_at_ms, effective_at_ms FROM card_versions WHERE workspace_id = $1 ORDER BY version_no",
        )
        .bind(&p.workspace_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (no, hash, note, at, effective_at_ms) in rows {
            let card = self.card_by_hash(&hash).await?;
            out.push(CardVersion {
                version_no: u32::try_from(no).unwrap_or(u32::MAX),
                card: card_ref(&card),
                note,
                created_at_ms: at,
                effective_at_ms,
            });
        }
        Ok(out)
    }

    /// The scheduled change not yet in force for the caller's wallet, priced for the
    /// actions this member used most in the last 30 days; `None` when there is none.
    pub async fn price_notice(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<Option<PriceNotice>> {
        p.require(Op::Read)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let now = self.now_ms();
        let w = self.read_wallet(&wallet_id).await?;
        let (newest, from) = self.newest_card(&p.workspace_id).await?;
        let basis = self.basis_for(&w, now, from).await?;
        let Some(effective_at_ms) = from.filter(|from| *from > basis) else {
            return Ok(None);
        };
        let current = self.card_at(&p.workspace_id, &newest, from, basis).await?;
        let next = self.card_by_hash(&newest).await?;
        let (version_no, note): (i64, Option<String>) = sqlx::query_as(
            "SELECT version_no, note FROM card_versions WHERE workspace_id = $1 ORDER BY version_no DESC LIMIT 1",
        )
        .bind(&p.workspace_id)
        .fetch_one(&self.pool)
        .await?;
        let used: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT action, COUNT(*) FROM holds WHERE wallet_id = $1 AND status = 'captured' \
             AND created_at_ms >= $2 AND ($3 IS NULL OR member_id = $3) AND action IS NOT NULL \
             GROUP BY action ORDER BY COUNT(*) DESC, action LIMIT $4",
        )
        .bind(&wallet_id)
        .bind(now - NOTICE_USAGE_WINDOW_MS)
        .bind(p.member_id.as_deref())
        .bind(NOTICE_ACTIONS)
        .fetch_all(&self.pool)
        .await?;
        let moved: Vec<PriceChange> = diff(&current, &next)
            .into_iter()
            .filter(|c| c.change != Change::Unchanged)
            .collect();
        // One line per used action: its first variant that moves (the action as it is,
        // when that moves).
        let mut changes = Vec::new();
        for action in used.iter().filter_map(|(a, _)| a.as_deref()) {
            if let Some(c) = moved.iter().find(|c| c.action == action) {
                changes.push(c.clone());
            }
        }
        let shown = |c: &PriceChange| changes.iter().any(|s: &PriceChange| s.action == c.action);
        let other_changes = moved.iter().filter(|c| !shown(c)).count();
        Ok(Some(PriceNotice {
            version_no: u32::try_from(version_no).unwrap_or(u32::MAX),
            effective_at_ms,
            applies_at_ms: self.applies_to(&w, effective_at_ms).await?,
            note,
            changes,
            other_changes: u32::try_from(other_changes).unwrap_or(u32::MAX),
        }))
    }

    /// When a wallet's prices date from ([`basis_of`]), given the newest version's date:
    /// a paid plan (renewed by invoice, no clock cycle) dates from when its current
    /// allowance was granted, read only when a scheduled date has passed.
    pub(crate) async fn basis_for(
        &self,
        w: &WalletRow,
        now: i64,
        from: Option<i64>,
    ) -> Result<i64> {
        let basis = basis_of(w, now);
        if from.is_some_and(|f| f <= now) && w.plan_id.is_some() && w.cycle_anchor_ms.is_none() {
            let (start,): (Option<i64>,) = sqlx::query_as(
                "SELECT MAX(created_at_ms) FROM grants WHERE wallet_id = $1 AND source = 'plan'",
            )
            .bind(&w.id)
            .fetch_one(&self.pool)
            .await?;
            return Ok(start.unwrap_or(basis));
        }
        Ok(basis)
    }

    /// When a version effective at `at` applies to a wallet: then, or at the first
    /// renewal on or after it (a paid plan's: when its allowance ends).
    async fn applies_to(&self, w: &WalletRow, at: i64) -> Result<i64> {
        if w.plan_id.is_some() && w.cycle_anchor_ms.is_none() {
            let (ends,): (Option<i64>,) = sqlx::query_as(
                "SELECT MAX(expires_at_ms) FROM grants WHERE wallet_id = $1 AND source = 'plan'",
            )
            .bind(&w.id)
            .fetch_one(&self.pool)
            .await?;
            return Ok(ends.filter(|e| *e >= at).unwrap_or(at));
        }
        Ok(applies_at(w, at))
    }

    /// The newest version's hash and, when it is scheduled, its effective date.
    async fn newest_card(&self, ws_id: &str) -> Result<(String, Option<i64>)> {
        sqlx::query_as("SELECT card_hash, card_from_ms FROM workspaces WHERE id = $1")
            .bind(ws_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("workspace `{ws_id}`")))
    }

    /// The card pricing a wallet whose prices date from `basis` ([`basis_of`]), given the
    /// workspace's newest version and its effective date.
    pub(crate) async fn card_at(
        &self,
        ws_id: &str,
        newest: &str,
        from: Option<i64>,
        basis: i64,
    ) -> Result<Arc<Card>> {
        if from.is_none_or(|from| from <= basis) {
            return self.card_by_hash(newest).await;
        }
        let (hash,): (String,) = sqlx::query_as(
            "SELECT card_hash FROM card_versions WHERE workspace_id = $1 \
             AND (effective_at_ms IS NULL OR effective_at_ms <= $2) ORDER BY version_no DESC LIMIT 1",
        )
        .bind(ws_id)
        .bind(basis)
        .fetch_one(&self.pool)
        .await?;
        self.card_by_hash(&hash).await
    }

    /// The card in force now for a wallet on no plan (what is on sale, the packs).
    pub async fn card(&self, ws_id: &str) -> Result<Arc<Card>> {
        let (newest, from) = self.newest_card(ws_id).await?;
        self.card_at(ws_id, &newest, from, self.now_ms()).await
    }

    /// The card JSON as stored, for the browser to price with: the version pricing the
    /// caller's wallet.
    pub async fn card_json(&self, p: &Principal) -> Result<String> {
        p.require(Op::Read)?;
        let wallet_id = self.resolve_wallet(p, None).await?;
        let now = self.now_ms();
        let w = self.read_wallet(&wallet_id).await?;
        let (newest, from) = self.newest_card(&p.workspace_id).await?;
        let card = self
            .card_at(
                &p.workspace_id,
                &newest,
                from,
                self.basis_for(&w, now, from).await?,
            )
            .await?;
        let (json,): (String,) = sqlx::query_as("SELECT json FROM cards WHERE hash = $1")
            .bind(card.hash())
            .fetch_one(&self.pool)
            .await?;
        Ok(json)
    }

    async fn read_wallet(&self, wallet_id: &str) -> Result<WalletRow> {
        let mut read = self.pool.begin().await?;
        let w = self.fetch_wallet(&mut read, wallet_id, false).await?;
        read.commit().await?;
        Ok(w)
    }

    pub(crate) async fn store_card(
        &self,
        tx: &mut Tx,
        card: &Card,
        json: &str,
        now: i64,
    ) -> Result<()> {
        let exists: Option<(String,)> = sqlx::query_as("SELECT hash FROM cards WHERE hash = $1")
            .bind(card.hash())
            .fetch_optional(&mut **tx)
            .await?;
        if exists.is_none() {
            sqlx::query("INSERT INTO cards (hash, json, created_at_ms) VALUES ($1, $2, $3)")
                .bind(card.hash())
                .bind(json)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn card_by_hash(&self, hash: &str) -> Result<Arc<Card>> {
        if let Some(c) = self.cards.lock().expect("card cache").get(hash) {
            return Ok(c.clone());
        }
        let (json,): (String,) = sqlx::query_as("SELECT json FROM cards WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| {
                LedgerError::Corrupt(format!("card {hash} is referenced but not stored"))
            })?;
        let card = Arc::new(
            parse_card(&json)
                .map_err(|e| LedgerError::Corrupt(format!("stored card {hash}: {e}")))?,
        );
        self.cards
            .lock()
            .expect("card cache")
            .insert(hash.to_string(), card.clone());
        Ok(card)
    }
}

/// When a wallet's prices date from: the start of its current billing period on a
/// plan (a renewal brings the prices in force then), else now.
pub(crate) fn basis_of(w: &WalletRow, now: i64) -> i64 {
    period_basis(w.plan_id.is_some(), w.cycle_anchor_ms, now)
}

/// [`basis_of`] from the wallet's columns: on a plan, and its cycles' anchor.
pub(crate) fn period_basis(on_plan: bool, anchor: Option<i64>, now: i64) -> i64 {
    match anchor {
        Some(anchor) if on_plan && anchor <= now => add_months(anchor, cycle_index(anchor, now)),
        _ => now,
    }
}

/// When a version effective at `at` applies to a wallet: then, or at the first renewal
/// on or after it.
fn applies_at(w: &WalletRow, at: i64) -> i64 {
    match (&w.plan_id, w.cycle_anchor_ms) {
        (Some(_), Some(anchor)) if anchor < at => {
            let start = add_months(anchor, cycle_index(anchor, at));
            if start < at {
                add_months(anchor, cycle_index(anchor, at) + 1)
            } else {
                start
            }
        }
        _ => at,
    }
}

/// A change customers are told of in advance: a price up, a range wider above, an
/// action gone.
fn raises(c: Change) -> bool {
    matches!(c, Change::Up | Change::Reshaped | Change::Removed)
}

pub(crate) fn card_ref(card: &Card) -> CardRef {
    CardRef {
        id: card.id.clone(),
        version: card.version.clone(),
        hash: card.hash().to_string(),
    }
}

/// A new version's timing: at least `lead` ahead when scheduled, after any version
/// already scheduled (`pending`), and scheduled when it raises or removes a price
/// (unless uploaded without notice).
fn check_notice(
    upload: &CardTerms,
    pending: Option<i64>,
    changes: &[PriceChange],
    now: i64,
    lead: i64,
) -> Result<()> {
    match (upload.effective_at_ms, pending) {
        (Some(at), _) if at < now + lead => {
            return Err(LedgerError::invalid_at(
                "effective_at_ms",
                format!(
                    "prices change with at least {} days' notice: the earliest date is {}",
                    lead / MS_PER_DAY,
                    day_text(now + lead)
                ),
            ))
        }
        (Some(at), Some(from)) if at <= from => {
            return Err(LedgerError::invalid_at(
                "effective_at_ms",
                format!(
                    "a price change is already scheduled for {}: schedule this one after it",
                    day_text(from)
                ),
            ))
        }
        (None, Some(from)) => {
            return Err(LedgerError::invalid_at(
                "effective_at_ms",
                format!(
                    "a price change is scheduled for {}: schedule this version after it",
                    day_text(from)
                ),
            ))
        }
        (None, None) if !upload.without_notice && lead > 0 => {
            if let Some(up) = changes.iter().find(|c| raises(c.change)) {
                return Err(LedgerError::invalid_at(
                    "effective_at_ms",
                    format!(
                        "this version raises or removes prices ({}): schedule it at least {} days ahead, or upload it without notice",
                        up.display,
                        lead / MS_PER_DAY
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}
