//! Workspaces and their extra wallets (their rate cards: `cards.rs`).

use creditkit_api::{Op, Page, Thresholds, WalletKind, Workspace};
use creditkit_pricing::parse_card;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::cards::card_ref;
use crate::error::fmt_mc;
use crate::{new_id, to_i64, to_u64, Ledger, LedgerError, Principal, Result, MAX_PAGE_LIMIT};

const WORKSPACE_SELECT: &str = "SELECT w.id, w.name, w.card_hash, w.low_threshold_mc, w.critical_threshold_mc, \
     (SELECT id FROM wallets WHERE workspace_id = w.id AND kind = 'workspace' ORDER BY id LIMIT 1), \
     w.suspended_at_ms, w.created_at_ms FROM workspaces w";

/// The plan feature that gates low-balance alerts, when a card's plans name it.
pub(crate) const LOW_BALANCE_ALERTS: &str = "low_balance_alerts";

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
        let call = self.authorise(p, Op::ManageWorkspaces)?;
        let card = parse_card(card_json).map_err(LedgerError::Card)?;
        if name.trim().is_empty() || name.chars().count() > 200 {
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
        let mut tx = self.begin(&call).await?;
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
        self.commit(call, tx, &[]).await?;
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
        // The version in force now (a scheduled one is listed with the card versions).
        let id: String = row.try_get(0)?;
        let card = self.card(&id).await?;
        Ok(Workspace {
            id,
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
        let call = self.authorise(p, Op::ManageWorkspaces)?;
        self.workspace(&p.workspace_id).await?;
        self.write_one(
            call,
            sqlx::query("UPDATE workspaces SET suspended_at_ms = $1 WHERE id = $2")
                .bind(suspended.then(|| self.now_ms()))
                .bind(&p.workspace_id),
        )
        .await?;
        self.workspace(&p.workspace_id).await
    }

    pub async fn set_thresholds(&self, p: &Principal, t: &Thresholds) -> Result<Workspace> {
        let call = self.authorise(p, Op::ManageWallets)?;
        // Seed 001: "Set low balance alerts (if available in your plan)": a card whose
        // plans name the feature gates them by the workspace's plan.
        let card = self.card(&p.workspace_id).await?;
        let gated = card
            .plans
            .iter()
            .any(|plan| plan.features.iter().any(|f| f.id == LOW_BALANCE_ALERTS));
        if gated {
            let check = self
                .check_entitlement(p, None, LOW_BALANCE_ALERTS, None)
                .await?;
            if !check.allowed {
                let upgrade = check
                    .upgrade_plan_id
                    .and_then(|id| {
                        card.plan(&id)
                            .map(|pl| format!(": {} includes them", pl.name))
                    })
                    .unwrap_or_default();
                return Err(LedgerError::Forbidden(format!(
                    "low-balance alerts are not in this plan{upgrade}"
                )));
            }
        }
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
        self.write_one(call, sqlx::query(
            "UPDATE workspaces SET low_threshold_mc = $1, critical_threshold_mc = $2 WHERE id = $3",
        )
        .bind(to_i64(low)?)
        .bind(to_i64(critical)?)
        .bind(&p.workspace_id)
        )
        .await?;
        self.workspace(&p.workspace_id).await
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
        let call = self.authorise(p, Op::ManageWallets)?;
        if kind == WalletKind::Personal && p.member_id.is_none() {
            return Err(LedgerError::invalid_at(
                "kind",
                "personal wallets belong to members; each member has one already",
            ));
        }
        let id = new_id("wal");
        self.write_one(call, sqlx::query(
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

pub(crate) fn or_none(list: &[&str]) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}
