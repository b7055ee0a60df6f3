//! Credentials and who may do what: operator keys, workspace API keys, browser
//! sessions and the members they act for. Every ledger call starts with
//! [`Principal::require`], which reads the permission table in `creditkit_api::access`.
//!
//! Secrets are 256-bit random strings with a kind prefix (`ck_op_`, `ck_sk_`,
//! `ck_ss_`); only their SHA-256 is stored, looked up through a unique index. A short
//! prefix of each is kept to tell keys apart in lists.

use creditkit_api::access::rights_of;
use creditkit_api::admin::{
    ApiKeyCreated, ApiKeyInfo, OperatorKeyCreated, OperatorKeyInfo, RotateApiKey,
};
use creditkit_api::{permits, Actor, Op, Role, Session, SessionRequest};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, new_secret, sha256_hex, Call, Ledger, LedgerError, Result};

/// Kind prefixes of secrets.
pub const OPERATOR_KEY_PREFIX: &str = "ck_op_";
pub const API_KEY_PREFIX: &str = "ck_sk_";
pub const SESSION_PREFIX: &str = "ck_ss_";

/// Default and longest session lifetimes.
pub const DEFAULT_SESSION_TTL_SECONDS: u64 = 3600;
pub const MAX_SESSION_TTL_SECONDS: u64 = 24 * 3600;
pub const MIN_SESSION_TTL_SECONDS: u64 = 60;
/// A rotated key's old secret works at most this long.
pub const MAX_ROTATION_GRACE_SECONDS: u64 = 7 * 24 * 3600;
/// A credential's last use is written at most this often.
const LAST_USED_EVERY_MS: i64 = 60_000;

/// Who is calling, and what they may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub workspace_id: String,
    pub actor: Actor,
    /// The member a session acts for (none for keys).
    pub member_id: Option<String>,
    /// A session bound to one wallet acts on that wallet only.
    pub wallet_id: Option<String>,
    /// The API key or session id (rate limits, logs); `operator` for the operator.
    pub credential_id: String,
    /// When a session ends (keys do not).
    pub expires_at_ms: Option<i64>,
    /// The project a session is bound to: its quotes are that project's.
    pub project: Option<String>,
    /// Operations beyond the actor's row this credential was narrowed away from.
    rights: Vec<Op>,
    suspended: bool,
}

impl Principal {
    /// Whose idempotency keys these are: the operator's, the workspace's API keys' (the
    /// backend, whichever key it uses), or one member's sessions. Each class keys its
    /// records apart (`check_key`), so no credential can take a key another will send.
    pub fn idempotency_scope(&self) -> String {
        match (&self.actor, &self.member_id) {
            (Actor::Operator, _) => "operator".into(),
            (Actor::ApiKey, _) => "apikey".into(),
            (_, Some(member)) => format!("member:{member}"),
            (_, None) => format!("session:{}", self.credential_id),
        }
    }

    /// The operator acting on one workspace (the admin API, `creditkit admin`).
    pub fn operator(workspace_id: &str) -> Principal {
        Principal {
            workspace_id: workspace_id.to_string(),
            actor: Actor::Operator,
            member_id: None,
            wallet_id: None,
            credential_id: "operator".into(),
            expires_at_ms: None,
            project: None,
            rights: rights_of(Actor::Operator),
            suspended: false,
        }
    }

    /// Whether this credential may do `op` at all.
    pub fn may(&self, op: Op) -> bool {
        permits(self.actor, op) && self.rights.contains(&op)
    }

    pub fn rights(&self) -> &[Op] {
        &self.rights
    }

    /// The one permission check. A suspended workspace's API key may still read and
    /// settle what was confirmed before (holds must not be stranded); nothing new.
    pub fn require(&self, op: Op) -> Result<()> {
        if !self.may(op) {
            let who = match self.actor {
                Actor::Operator => "the operator key".to_string(),
                Actor::ApiKey => "a workspace API key".to_string(),
                a => format!("a {} session", format!("{a:?}").to_ascii_lowercase()),
            };
            let hint = match op {
                Op::Settle | Op::Refund | Op::Grant | Op::ChangePlan | Op::MintSession => {
                    "; the application's backend does this with its API key"
                }
                Op::SetCard | Op::ManageWorkspaces => "; the operator does this at /admin/v1",
                _ => "",
            };
            return Err(LedgerError::Forbidden(format!(
                "{who} may not `{}`{hint}",
                op.as_str()
            )));
        }
        if self.suspended && !matches!(op, Op::Read | Op::Settle | Op::Refund) {
            return Err(LedgerError::Suspended);
        }
        Ok(())
    }
}

/// A fresh secret of a kind and the prefix shown in lists (kind + 8 hex digits).
fn mint_secret(kind: &str) -> (String, String) {
    let secret = new_secret(kind.trim_end_matches('_'));
    let shown = secret[..kind.len() + 8].to_string();
    (secret, shown)
}

fn parse_rights(text: &str) -> Result<Vec<Op>> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Op::parse(s).ok_or_else(|| LedgerError::Corrupt(format!("right `{s}`"))))
        .collect()
}

fn rights_text(rights: &[Op]) -> String {
    rights
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A member from a row of [`MEMBER_SELECT`].
pub(crate) fn member_from_row(r: &AnyRow) -> Result<creditkit_api::Member> {
    Ok(creditkit_api::Member {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: role_of(&r.try_get::<String, _>(2)?)?,
        external_id: r.try_get(3)?,
        created_at_ms: r.try_get(4)?,
    })
}

pub(crate) fn role_of(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| LedgerError::Corrupt(format!("role `{text}`")))
}

pub(crate) fn check_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(LedgerError::invalid_at(
            what,
            format!("{what} must be 1 to 200 characters"),
        ));
    }
    Ok(())
}

const API_KEY_SELECT: &str = "SELECT id, COALESCE(prefix, 'ck_key_(legacy)'), name, created_at_ms, last_used_at_ms, expires_at_ms, revoked_at_ms FROM api_keys";
pub(crate) const MEMBER_SELECT: &str =
    "SELECT id, name, role, external_id, created_at_ms FROM members WHERE removed_at_ms IS NULL";

fn api_key_from_row(r: &AnyRow) -> Result<ApiKeyInfo> {
    Ok(ApiKeyInfo {
        id: r.try_get(0)?,
        prefix: r.try_get(1)?,
        name: r.try_get(2)?,
        created_at_ms: r.try_get(3)?,
        last_used_at_ms: r.try_get(4)?,
        expires_at_ms: r.try_get(5)?,
        revoked_at_ms: r.try_get(6)?,
    })
}

impl Ledger {
    // ---------------------------------------------------------------- authentication

    /// Resolves a workspace API key or a session token. Unknown, revoked or tampered
    /// secrets are `unauthorized`, an expired session `session_expired`; a session of a
    /// suspended workspace is refused outright.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal> {
        let unknown = || LedgerError::Unauthorized("unknown API key or session token".into());
        if secret.is_empty() || secret.len() > 200 {
            return Err(unknown());
        }
        if secret.starts_with(OPERATOR_KEY_PREFIX) {
            return Err(LedgerError::Forbidden(
                "the operator key acts at /admin/v1; use a workspace API key or a session here"
                    .into(),
            ));
        }
        let hash = sha256_hex(secret.as_bytes());
        let now = self.now_ms();
        if secret.starts_with(SESSION_PREFIX) {
            let row = sqlx::query(
                "SELECT s.id, s.workspace_id, s.member_id, s.wallet_id, s.rights, s.expires_at_ms, s.revoked_at_ms, \
                 m.role, m.removed_at_ms, w.suspended_at_ms, s.project \
                 FROM sessions s JOIN members m ON m.id = s.member_id JOIN workspaces w ON w.id = s.workspace_id \
                 WHERE s.token_hash = $1",
            )
            .bind(&hash)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(unknown)?;
            let revoked: Option<i64> = row.try_get(6)?;
            let removed: Option<i64> = row.try_get(8)?;
            if revoked.is_some() || removed.is_some() {
                return Err(LedgerError::Unauthorized(
                    "this session was revoked; ask the application for a new one".into(),
                ));
            }
            if row.try_get::<i64, _>(5)? <= now {
                return Err(LedgerError::SessionExpired);
            }
            if row.try_get::<Option<i64>, _>(9)?.is_some() {
                return Err(LedgerError::Suspended);
            }
            let actor = Actor::of_role(role_of(&row.try_get::<String, _>(7)?)?);
            // A role lowered since the session began narrows it at once.
            let rights = parse_rights(&row.try_get::<String, _>(4)?)?
                .into_iter()
                .filter(|op| permits(actor, *op))
                .collect();
            return Ok(Principal {
                workspace_id: row.try_get(1)?,
                actor,
                member_id: Some(row.try_get(2)?),
                wallet_id: row.try_get(3)?,
                credential_id: row.try_get(0)?,
                expires_at_ms: Some(row.try_get(5)?),
                project: row.try_get(10)?,
                rights,
                suspended: false,
            });
        }
        let row = sqlx::query(
            "SELECT k.id, k.workspace_id, k.expires_at_ms, k.revoked_at_ms, w.suspended_at_ms \
             FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id WHERE k.key_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(unknown)?;
        let id: String = row.try_get(0)?;
        if row.try_get::<Option<i64>, _>(3)?.is_some() {
            return Err(LedgerError::Unauthorized("this API key was revoked".into()));
        }
        if row.try_get::<Option<i64>, _>(2)?.is_some_and(|t| t <= now) {
            return Err(LedgerError::Unauthorized(
                "this API key was rotated and its grace period is over".into(),
            ));
        }
        self.touch("api_keys", &id, now).await?;
        Ok(Principal {
            workspace_id: row.try_get(1)?,
            actor: Actor::ApiKey,
            member_id: None,
            wallet_id: None,
            credential_id: id,
            expires_at_ms: None,
            project: None,
            rights: rights_of(Actor::ApiKey),
            suspended: row.try_get::<Option<i64>, _>(4)?.is_some(),
        })
    }

    /// Checks an operator key (for `/admin/v1`).
    pub async fn authenticate_operator(&self, secret: &str) -> Result<OperatorKeyInfo> {
        if !secret.starts_with(OPERATOR_KEY_PREFIX) || secret.len() > 200 {
            return Err(LedgerError::Unauthorized(
                "the admin API needs the operator key (`creditkit admin key create`)".into(),
            ));
        }
        let row = sqlx::query(
            "SELECT id, prefix, name, created_at_ms, last_used_at_ms, revoked_at_ms FROM operator_keys WHERE key_hash = $1",
        )
        .bind(sha256_hex(secret.as_bytes()))
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::Unauthorized("unknown operator key".into()))?;
        let info = operator_key_from_row(&row)?;
        if info.revoked_at_ms.is_some() {
            return Err(LedgerError::Unauthorized(
                "this operator key was revoked".into(),
            ));
        }
        self.touch("operator_keys", &info.id, self.now_ms()).await?;
        Ok(info)
    }

    /// Records a credential's use, at most once a minute per credential and process.
    async fn touch(&self, table: &str, id: &str, now: i64) -> Result<()> {
        {
            let mut seen = self.last_used.lock().expect("last-used lock");
            match seen.get(id) {
                Some(t) if now - t < LAST_USED_EVERY_MS => return Ok(()),
                _ => {
                    seen.insert(id.to_string(), now);
                }
            }
        }
        self.write_one(
            Call::operator(),
            sqlx::query(&format!(
                "UPDATE {table} SET last_used_at_ms = $1 WHERE id = $2"
            ))
            .bind(now)
            .bind(id),
        )
        .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- operator keys

    /// A new operator key (shown once). No principal: whoever can open the database is
    /// the operator (`creditkit admin key create`).
    pub async fn create_operator_key(&self, name: Option<&str>) -> Result<OperatorKeyCreated> {
        if let Some(n) = name {
            check_name("name", n)?;
        }
        let (secret, prefix) = mint_secret(OPERATOR_KEY_PREFIX);
        let id = new_id("opk");
        let now = self.now_ms();
        self.write_one(Call::operator(), sqlx::query("INSERT INTO operator_keys (id, prefix, name, key_hash, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(&prefix)
            .bind(name)
            .bind(sha256_hex(secret.as_bytes()))
            .bind(now)
            )
            .await?;
        Ok(OperatorKeyCreated {
            info: OperatorKeyInfo {
                id,
                prefix,
                name: name.map(str::to_string),
                created_at_ms: now,
                last_used_at_ms: None,
                revoked_at_ms: None,
            },
            secret,
        })
    }

    pub async fn operator_keys(&self) -> Result<Vec<OperatorKeyInfo>> {
        let rows = sqlx::query("SELECT id, prefix, name, created_at_ms, last_used_at_ms, revoked_at_ms FROM operator_keys ORDER BY created_at_ms, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(operator_key_from_row).collect()
    }

    pub async fn revoke_operator_key(&self, id: &str) -> Result<OperatorKeyInfo> {
        self.write_one(Call::operator(), sqlx::query(
            "UPDATE operator_keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(self.now_ms())
        .bind(id)
        )
        .await?;
        self.operator_keys()
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(|| LedgerError::NotFound(format!("operator key `{id}`")))
    }

    // ---------------------------------------------------------------- workspace API keys

    /// A new API key for the workspace's backend (shown once; stored hashed).
    pub async fn create_api_key(&self, p: &Principal, name: Option<&str>) -> Result<ApiKeyCreated> {
        let call = self.authorise(p, Op::ManageWorkspaces)?;
        self.workspace(&p.workspace_id).await?;
        if let Some(n) = name {
            check_name("name", n)?;
        }
        let (secret, prefix) = mint_secret(API_KEY_PREFIX);
        let id = new_id("key");
        let now = self.now_ms();
        self.write_one(call, sqlx::query("INSERT INTO api_keys (id, workspace_id, key_hash, prefix, name, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(&p.workspace_id)
            .bind(sha256_hex(secret.as_bytes()))
            .bind(&prefix)
            .bind(name)
            .bind(now)
            )
            .await?;
        Ok(ApiKeyCreated {
            info: ApiKeyInfo {
                id,
                prefix,
                name: name.map(str::to_string),
                created_at_ms: now,
                last_used_at_ms: None,
                expires_at_ms: None,
                revoked_at_ms: None,
            },
            secret,
        })
    }

    pub async fn api_keys(&self, p: &Principal) -> Result<Vec<ApiKeyInfo>> {
        p.require(Op::ManageWorkspaces)?;
        let rows = sqlx::query(&format!(
            "{API_KEY_SELECT} WHERE workspace_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(&p.workspace_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_key_from_row).collect()
    }

    async fn api_key(&self, p: &Principal, key_id: &str) -> Result<ApiKeyInfo> {
        let row = sqlx::query(&format!(
            "{API_KEY_SELECT} WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(&p.workspace_id)
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("API key `{key_id}`")))?;
        api_key_from_row(&row)
    }

    /// Revokes a key at once.
    pub async fn revoke_api_key(&self, p: &Principal, key_id: &str) -> Result<ApiKeyInfo> {
        let call = self.authorise(p, Op::ManageWorkspaces)?;
        self.api_key(p, key_id).await?;
        self.write_one(call, sqlx::query("UPDATE api_keys SET revoked_at_ms = $1 WHERE id = $2 AND workspace_id = $3 AND revoked_at_ms IS NULL")
            .bind(self.now_ms())
            .bind(key_id)
            .bind(&p.workspace_id)
            )
            .await?;
        self.api_key(p, key_id).await
    }

    /// A new key in place of `key_id`; the old one keeps working for the grace period
    /// (default none), so a deploy can switch without a failed request.
    pub async fn rotate_api_key(
        &self,
        p: &Principal,
        key_id: &str,
        req: &RotateApiKey,
    ) -> Result<ApiKeyCreated> {
        let call = self.authorise(p, Op::ManageWorkspaces)?;
        let old = self.api_key(p, key_id).await?;
        if old.revoked_at_ms.is_some() {
            return Err(LedgerError::invalid_at(
                "key_id",
                format!("API key `{key_id}` is revoked; create a new one instead"),
            ));
        }
        let grace = req.grace_seconds.unwrap_or(0);
        if grace > MAX_ROTATION_GRACE_SECONDS {
            return Err(LedgerError::invalid_at(
                "grace_seconds",
                format!("grace_seconds is at most {MAX_ROTATION_GRACE_SECONDS} (7 days)"),
            ));
        }
        let created = self.create_api_key(p, old.name.as_deref()).await?;
        let now = self.now_ms();
        if grace == 0 {
            self.write_one(
                call,
                sqlx::query("UPDATE api_keys SET revoked_at_ms = $1 WHERE id = $2")
                    .bind(now)
                    .bind(key_id),
            )
            .await?;
        } else {
            let until = now + (grace as i64) * 1000;
            self.write_one(call, sqlx::query("UPDATE api_keys SET expires_at_ms = $1 WHERE id = $2 AND (expires_at_ms IS NULL OR expires_at_ms > $1)")
                .bind(until)
                .bind(key_id)
                )
                .await?;
        }
        Ok(created)
    }

    // ---------------------------------------------------------------- sessions

    /// The member a session is for: by id, or by the operator's own external id.
    async fn session_member(
        &self,
        p: &Principal,
        req: &SessionRequest,
    ) -> Result<creditkit_api::Member> {
        Ok(match (&req.member_id, &req.external_id) {
            (Some(id), None) => self.member(p, id).await?,
            (None, Some(ext)) => {
                let row = sqlx::query(&format!(
                    "{MEMBER_SELECT} AND workspace_id = $1 AND external_id = $2"
                ))
                .bind(&p.workspace_id)
                .bind(ext)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| LedgerError::NotFound(format!("member with external id `{ext}`")))?;
                member_from_row(&row)?
            }
            _ => {
                return Err(LedgerError::invalid(
                    "name the member: exactly one of `member_id` or `external_id`",
                ))
            }
        })
    }

    /// Mints a short-lived browser session for one member, with that member's role (or
    /// fewer rights), optionally bound to one wallet.
    pub async fn create_session(&self, p: &Principal, req: &SessionRequest) -> Result<Session> {
        let call = self.authorise(p, Op::MintSession)?;
        let member = self.session_member(p, req).await?;
        let ttl = req.ttl_seconds.unwrap_or(DEFAULT_SESSION_TTL_SECONDS);
        if !(MIN_SESSION_TTL_SECONDS..=MAX_SESSION_TTL_SECONDS).contains(&ttl) {
            return Err(LedgerError::invalid_at(
                "ttl_seconds",
                format!("ttl_seconds must be {MIN_SESSION_TTL_SECONDS} to {MAX_SESSION_TTL_SECONDS} (24 hours)"),
            ));
        }
        let actor = Actor::of_role(member.role);
        let rights = match &req.rights {
            None => rights_of(actor),
            Some(list) if list.is_empty() => {
                return Err(LedgerError::invalid_at(
                    "rights",
                    "rights must not be empty",
                ))
            }
            Some(list) => {
                if let Some(op) = list.iter().find(|op| !permits(actor, **op)) {
                    return Err(LedgerError::Forbidden(format!(
                        "a {} may not be given `{}`",
                        member.role.as_str(),
                        op.as_str()
                    )));
                }
                let mut l = list.clone();
                l.sort();
                l.dedup();
                l
            }
        };
        let member_principal = Principal {
            workspace_id: p.workspace_id.clone(),
            actor,
            member_id: Some(member.id.clone()),
            wallet_id: None,
            credential_id: String::new(),
            expires_at_ms: None,
            project: None,
            rights: rights.clone(),
            suspended: false,
        };
        let wallet_id = match &req.wallet_id {
            Some(w) => Some(
                self.resolve_wallet(&member_principal, Some(w))
                    .await
                    .map_err(|_| LedgerError::NotFound(format!("wallet `{w}` for this member")))?,
            ),
            None => None,
        };
        if let Some(project) = &req.project {
            if project.is_empty() || project.chars().count() > 200 {
                return Err(LedgerError::invalid_at(
                    "project",
                    "a project is 1 to 200 characters",
                ));
            }
        }
        let (token, _) = mint_secret(SESSION_PREFIX);
        let id = new_id("ses");
        let now = self.now_ms();
        let expires_at_ms = now + (ttl as i64) * 1000;
        self.write_one(call, sqlx::query("INSERT INTO sessions (id, workspace_id, member_id, wallet_id, rights, token_hash, created_at_ms, expires_at_ms, project) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&id)
            .bind(&p.workspace_id)
            .bind(&member.id)
            .bind(&wallet_id)
            .bind(rights_text(&rights))
            .bind(sha256_hex(token.as_bytes()))
            .bind(now)
            .bind(expires_at_ms)
            .bind(&req.project)
            )
            .await?;
        Ok(Session {
            id,
            token,
            workspace_id: p.workspace_id.clone(),
            member_id: member.id,
            role: member.role,
            wallet_id,
            rights,
            expires_at_ms,
            project: req.project.clone(),
        })
    }

    /// Ends a session: the operator's backend ends any of the workspace's, a session
    /// ends itself (sign-out).
    pub async fn revoke_session(&self, p: &Principal, session_id: &str) -> Result<()> {
        let call = if p.credential_id == session_id {
            // Signing out: a session may always end itself.
            Call::ledger(&p.workspace_id, None)
        } else {
            self.authorise(p, Op::MintSession)?
        };
        let done = self
            .write_one(
                call,
                sqlx::query(
                    "UPDATE sessions SET revoked_at_ms = $1 WHERE id = $2 AND workspace_id = $3",
                )
                .bind(self.now_ms())
                .bind(session_id)
                .bind(&p.workspace_id),
            )
            .await?;
        if done.rows_affected() == 0 {
            return Err(LedgerError::NotFound(format!("session `{session_id}`")));
        }
        Ok(())
    }

    /// Ends every session of a member ("sign out everywhere"); returns how many.
    pub async fn revoke_member_sessions(&self, p: &Principal, member_id: &str) -> Result<u64> {
        let call = self.authorise(p, Op::MintSession)?;
        self.member(p, member_id).await?;
        let done = self.write_one(call, sqlx::query(
            "UPDATE sessions SET revoked_at_ms = $1 WHERE member_id = $2 AND workspace_id = $3 AND revoked_at_ms IS NULL",
        )
        .bind(self.now_ms())
        .bind(member_id)
        .bind(&p.workspace_id)
        )
        .await?;
        Ok(done.rows_affected())
    }

    // ---------------------------------------------------------------- members
}

fn operator_key_from_row(r: &AnyRow) -> Result<OperatorKeyInfo> {
    Ok(OperatorKeyInfo {
        id: r.try_get(0)?,
        prefix: r.try_get(1)?,
        name: r.try_get(2)?,
        created_at_ms: r.try_get(3)?,
        last_used_at_ms: r.try_get(4)?,
        revoked_at_ms: r.try_get(5)?,
    })
}
