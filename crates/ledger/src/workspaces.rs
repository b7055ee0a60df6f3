//! Workspaces, their rate cards (every version kept) and extra wallets.

use std::sync::Arc;

use creditkit_api::admin::{CardUploaded, CardVersion};
use creditkit_api::{Op, Page, Thresholds, WalletKind, Workspace};
use creditkit_pricing::{parse_card, Card, CardRef};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::fmt_mc;
use crate::*;

const WORKSPACE_SELECT: &str = "SELECT w.id, w.name, w.card_hash, w.low_threshold_mc, w.critical_threshold_mc, \
     (SELECT id FROM wallets WHERE workspace_id = w.id AND kind = 'workspace' ORDER BY id LIMIT 1), \
     w.suspended_at_ms, w.created_at_ms FROM workspaces w";

impl Ledger {
    /// Onboards a customer: a workspace with its shared wallet, priced by `card_json`
    /// (version 1), optionally on a plan of that card. The operator only.
    pub async fn create_workspace(
        &self,
        p: &Principal,
        name: &str,
        card_json: &str,
        plan_id: Option<&str>,
    ) -> Result<Workspace> {
        p.require(Op::ManageWorkspaces)?;
        let card = parse_card(card_json).map_err(LedgerError::Card)?;
        if name.trim().is_empty() || name.len() > 200 {
            return Err(LedgerError::invalid_at(
                "name",
                "workspace name must be 1 to 200 characters",
            ));
        }
        if let Some(plan) = plan_id {
            if card.plan(plan).is_none() {
                let known: Vec<_> = card.plans.iter().map(|p| p.id.as_str()).collect();
                return Err(LedgerError::invalid_at(
                    "plan_id",
                    format!(
                        "unknown plan `{plan}` (card `{}` has: {})",
                        card.id,
                        or_none(&known)
                    ),
                ));
            }
        }
        let now = self.now_ms();
        let ws_id = new_id("ws");
        let wallet_id = new_id("wal");
        let mut tx = self.writer.begin().await?;
        self.store_card(&mut tx, &card, card_json, now).await?;
        sqlx::query("INSERT INTO workspaces (id, name, card_hash, low_threshold_mc, critical_threshold_mc, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&ws_id)
            .bind(name)
            .bind(card.hash())
            .bind(self.config.default_low_threshold_millicredits as i64)
            .bind(self.config.default_critical_threshold_millicredits as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO card_versions (workspace_id, version_no, card_hash, note, created_at_ms) VALUES ($1, 1, $2, NULL, $3)")
            .bind(&ws_id)
            .bind(card.hash())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO wallets (id, workspace_id, kind) VALUES ($1, $2, 'workspace')")
            .bind(&wallet_id)
            .bind(&ws_id)
            .execute(&mut *tx)
            .await?;
        if let Some(plan) = plan_id {
            let mut w = self.lock_wallet(&mut tx, &wallet_id).await?;
            self.apply_plan(&mut tx, &card, &mut w, plan, now).await?;
            self.save_wallet(&mut tx, &mut w).await?;
        }
        tx.commit().await?;
        self.workspace(&ws_id).await
    }

    /// A workspace by id (no permission check: callers have one).
    pub async fn workspace(&self, ws_id: &str) -> Result<Workspace> {
        let row = sqlx::query(&format!("{WORKSPACE_SELECT} WHERE w.id = $1"))
            .bind(ws_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("workspace `{ws_id}`")))?;
        self.workspace_from_row(&row).await
    }

    async fn workspace_from_row(&self, row: &AnyRow) -> Result<Workspace> {
        let card = self.card_by_hash(&row.try_get::<String, _>(2)?).await?;
        Ok(Workspace {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            card: card_ref(&card),
            low_threshold_millicredits: to_u64(row.try_get(3)?),
            critical_threshold_millicredits: to_u64(row.try_get(4)?),
            wallet_id: row.try_get(5)?,
            suspended: row.try_get::<Option<i64>, _>(6)?.is_some(),
            created_at_ms: row.try_get(7)?,
        })
    }

    /// The caller's own workspace.
    pub async fn own_workspace(&self, p: &Principal) -> Result<Workspace> {
        p.require(Op::Read)?;
        self.workspace(&p.workspace_id).await
    }

    /// Every workspace, oldest first, a page at a time. The operator only.
    pub async fn list_workspaces(
        &self,
        p: &Principal,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<Workspace>> {
        p.require(Op::ManageWorkspaces)?;
        let limit = limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(LedgerError::invalid_at(
                "limit",
                format!("limit must be 1 to {MAX_PAGE_LIMIT}"),
            ));
        }
        let rows = sqlx::query(&format!(
            "{WORKSPACE_SELECT} WHERE w.id > $1 ORDER BY w.id LIMIT $2"
        ))
        .bind(cursor.unwrap_or(""))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push(self.workspace_from_row(row).await?);
        }
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|w| w.id.clone())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Suspends (or resumes) a workspace: its sessions are refused and nothing new is
    /// spent, but its backend can still settle holds confirmed before.
    pub async fn set_suspended(&self, p: &Principal, suspended: bool) -> Result<Workspace> {
        p.require(Op::ManageWorkspaces)?;
        self.workspace(&p.workspace_id).await?;
        self.write_one(
            sqlx::query("UPDATE workspaces SET suspended_at_ms = $1 WHERE id = $2")
                .bind(suspended.then(|| self.now_ms()))
                .bind(&p.workspace_id),
        )
        .await?;
        self.workspace(&p.workspace_id).await
    }

    /// A new rate-card version for the workspace (validated). Earlier versions stay:
    /// a quote, its hold and its capture are priced with the version quoted on.
    pub async fn upload_card(
        &self,
        p: &Principal,
        card_json: &str,
        note: Option<&str>,
    ) -> Result<CardUploaded> {
        p.require(Op::SetCard)?;
        let card = parse_card(card_json).map_err(LedgerError::Card)?;
        if note.is_some_and(|n| n.len() > 500) {
            return Err(LedgerError::invalid_at(
                "note",
                "note is limited to 500 characters",
            ));
        }
        let previous = self.card(&p.workspace_id).await?;
        let now = self.now_ms();
        let mut tx = self.writer.begin().await?;
        self.store_card(&mut tx, &card, card_json, now).await?;
        let (last,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(version_no), 0) AS BIGINT) FROM card_versions WHERE workspace_id = $1",
        )
        .bind(&p.workspace_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO card_versions (workspace_id, version_no, card_hash, note, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(&p.workspace_id)
            .bind(last + 1)
            .bind(card.hash())
            .bind(note)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE workspaces SET card_hash = $1 WHERE id = $2")
            .bind(card.hash())
            .bind(&p.workspace_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(CardUploaded {
            version: CardVersion {
                version_no: u32::try_from(last + 1).unwrap_or(u32::MAX),
                card: card_ref(&card),
                note: note.map(str::to_string),
                created_at_ms: now,
            },
            diff: creditkit_pricing::diff(&previous, &card),
        })
    }

    /// Every card version of the workspace, oldest first.
    pub async fn card_versions(&self, p: &Principal) -> Result<Vec<CardVersion>> {
        p.require(Op::Read)?;
        let rows: Vec<(i64, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT version_no, card_hash, note, created_at_ms FROM card_versions WHERE workspace_id = $1 ORDER BY version_no",
        )
        .bind(&p.workspace_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (no, hash, note, at) in rows {
            let card = self.card_by_hash(&hash).await?;
            out.push(CardVersion {
                version_no: u32::try_from(no).unwrap_or(u32::MAX),
                card: card_ref(&card),
                note,
                created_at_ms: at,
            });
        }
        Ok(out)
    }

    pub async fn set_thresholds(&self, p: &Principal, t: &Thresholds) -> Result<Workspace> {
        p.require(Op::ManageWallets)?;
        let (low, critical) = (
            t.low_threshold_millicredits,
            t.critical_threshold_millicredits,
        );
        if critical > low {
            return Err(LedgerError::invalid(format!(
                "critical threshold {} is above the low threshold {}",
                fmt_mc(critical),
                fmt_mc(low)
            )));
        }
        self.write_one(sqlx::query(
            "UPDATE workspaces SET low_threshold_mc = $1, critical_threshold_mc = $2 WHERE id = $3",
        )
        .bind(to_i64(low)?)
        .bind(to_i64(critical)?)
        .bind(&p.workspace_id)
        )
        .await?;
        self.workspace(&p.workspace_id).await
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

    /// The card currently pricing a workspace.
    pub async fn card(&self, ws_id: &str) -> Result<Arc<Card>> {
        let (hash,): (String,) = sqlx::query_as("SELECT card_hash FROM workspaces WHERE id = $1")
            .bind(ws_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("workspace `{ws_id}`")))?;
        self.card_by_hash(&hash).await
    }

    /// The card JSON as stored, for the browser to price with.
    pub async fn card_json(&self, p: &Principal) -> Result<String> {
        p.require(Op::Read)?;
        let (json,): (String,) = sqlx::query_as(
            "SELECT c.json FROM cards c JOIN workspaces w ON w.card_hash = c.hash WHERE w.id = $1",
        )
        .bind(&p.workspace_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("workspace `{}`", p.workspace_id)))?;
        Ok(json)
    }

    /// Creates an extra wallet (an organization wallet, say).
    /// The wallets this caller may use: the workspace's and its organizations', and a
    /// member's own personal wallet (never another member's); a session bound to one
    /// wallet, that one.
    pub async fn wallets(&self, p: &Principal) -> Result<Vec<creditkit_api::WalletSummary>> {
        p.require(Op::Read)?;
        let rows: Vec<(String, String, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT id, kind, owner_member_id, balance_mc, held_mc FROM wallets WHERE workspace_id = $1 \
             ORDER BY CASE kind WHEN 'workspace' THEN 0 WHEN 'personal' THEN 1 ELSE 2 END, id",
        )
        .bind(&p.workspace_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|(id, kind, owner, _, _)| match &p.wallet_id {
                Some(bound) => bound == id,
                None => {
                    kind != WalletKind::Personal.as_str()
                        || p.member_id.is_none()
                        || *owner == p.member_id
                }
            })
            .filter_map(|(id, kind, _, balance, held)| {
                Some(creditkit_api::WalletSummary {
                    wallet_id: id,
                    kind: WalletKind::parse(&kind)?,
                    available_millicredits: to_u64(balance - held),
                })
            })
            .collect())
    }

    pub async fn create_wallet(&self, p: &Principal, kind: WalletKind) -> Result<String> {
        p.require(Op::ManageWallets)?;
        if kind == WalletKind::Personal && p.member_id.is_none() {
            return Err(LedgerError::invalid_at(
                "kind",
                "personal wallets belong to members; each member has one already",
            ));
        }
        let id = new_id("wal");
        self.write_one(sqlx::query(
            "INSERT INTO wallets (id, workspace_id, kind, owner_member_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&p.workspace_id)
        .bind(kind.as_str())
        .bind(if kind == WalletKind::Personal {
            p.member_id.clone()
        } else {
            None
        })
        )
        .await?;
        Ok(id)
    }
}

pub(crate) fn card_ref(card: &Card) -> CardRef {
    CardRef {
        id: card.id.clone(),
        version: card.version.clone(),
        hash: card.hash().to_string(),
    }
}

pub(crate) fn or_none(list: &[&str]) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}
