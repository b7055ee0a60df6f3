//! A workspace's members: added with a personal wallet, listed, renamed or given
//! another role, removed (their sessions end). Admins manage members, owners owners.

use creditkit_api::{Actor, Member, MemberUpdate, NewMember, Op, Role};

use crate::access::{check_name, member_from_row, MEMBER_SELECT};
use crate::{new_id, Call, Ledger, LedgerError, Principal, Result};

impl Ledger {
    /// Adds a member (with a personal wallet). Admins manage members but not owners.
    pub async fn add_member(&self, p: &Principal, req: &NewMember) -> Result<Member> {
        let call = self.authorise(p, Op::ManageMembers)?;
        owner_rule(p, req.role)?;
        self.insert_member(call, req).await
    }

    /// Inserts a member in the call's workspace.
    async fn insert_member(&self, call: Call, req: &NewMember) -> Result<Member> {
        let ws_id = call.workspace_id();
        check_name("name", &req.name)?;
        if let Some(ext) = &req.external_id {
            check_name("external_id", ext)?;
            let taken = sqlx::query(&format!(
                "{MEMBER_SELECT} AND workspace_id = $1 AND external_id = $2"
            ))
            .bind(ws_id)
            .bind(ext)
            .fetch_optional(&self.pool)
            .await?;
            if taken.is_some() {
                return Err(LedgerError::invalid_at(
                    "external_id",
                    format!("a member with external id `{ext}` already exists"),
                ));
            }
        }
        let id = new_id("mem");
        let now = self.now_ms();
        let mut tx = self.begin(&call).await?;
        sqlx::query("INSERT INTO members (id, workspace_id, name, role, external_id, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(ws_id)
            .bind(&req.name)
            .bind(req.role.as_str())
            .bind(&req.external_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO wallets (id, workspace_id, kind, owner_member_id) VALUES ($1, $2, 'personal', $3)")
            .bind(new_id("wal"))
            .bind(ws_id)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        self.commit(call, tx, &[]).await?;
        Ok(Member {
            id,
            name: req.name.clone(),
            role: req.role,
            external_id: req.external_id.clone(),
            created_at_ms: now,
        })
    }

    pub async fn members(&self, p: &Principal) -> Result<Vec<Member>> {
        p.require(Op::Read)?;
        let rows = sqlx::query(&format!(
            "{MEMBER_SELECT} AND workspace_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(&p.workspace_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(member_from_row).collect()
    }

    pub async fn member(&self, p: &Principal, member_id: &str) -> Result<Member> {
        p.require(Op::Read)?;
        let row = sqlx::query(&format!(
            "{MEMBER_SELECT} AND workspace_id = $1 AND id = $2"
        ))
        .bind(&p.workspace_id)
        .bind(member_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("member `{member_id}`")))?;
        member_from_row(&row)
    }

    /// Renames a member or changes their role; a lowered role narrows their open
    /// sessions at once.
    pub async fn update_member(
        &self,
        p: &Principal,
        member_id: &str,
        req: &MemberUpdate,
    ) -> Result<Member> {
        let call = self.authorise(p, Op::ManageMembers)?;
        let current = self.member(p, member_id).await?;
        owner_rule(p, current.role)?;
        if let Some(role) = req.role {
            owner_rule(p, role)?;
        }
        if let Some(name) = &req.name {
            check_name("name", name)?;
        }
        self.write_one(
            call,
            sqlx::query(
                "UPDATE members SET name = $1, role = $2 WHERE id = $3 AND workspace_id = $4",
            )
            .bind(req.name.as_ref().unwrap_or(&current.name))
            .bind(req.role.unwrap_or(current.role).as_str())
            .bind(member_id)
            .bind(&p.workspace_id),
        )
        .await?;
        self.member(p, member_id).await
    }

    /// Removes a member and ends their sessions. Their charges stay in the history.
    pub async fn remove_member(&self, p: &Principal, member_id: &str) -> Result<()> {
        let call = self.authorise(p, Op::ManageMembers)?;
        let current = self.member(p, member_id).await?;
        owner_rule(p, current.role)?;
        let now = self.now_ms();
        let mut tx = self.begin(&call).await?;
        sqlx::query("UPDATE members SET removed_at_ms = $1 WHERE id = $2 AND workspace_id = $3")
            .bind(now)
            .bind(member_id)
            .bind(&p.workspace_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE sessions SET revoked_at_ms = $1 WHERE member_id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(now)
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
        self.commit(call, tx, &[]).await?;
        Ok(())
    }
}

/// Only owners (and the operator's credentials) add, change or remove owners.
fn owner_rule(p: &Principal, role: Role) -> Result<()> {
    if role == Role::Owner && matches!(p.actor, Actor::Admin) {
        return Err(LedgerError::Forbidden(
            "only an owner can add, change or remove an owner".into(),
        ));
    }
    Ok(())
}
