//! Who may do what: the permission table, as data. The ledger enforces it in one place
//! (`Principal::require`), ARCHITECTURE.md prints it ([`table_markdown`], checked by a
//! test), and the widget can read it to hide what a session may not do.
//!
//! Two parties are kept apart. The **operator** (the AI product's backend, server to
//! server) holds the operator key (`/admin/v1`, every workspace) and each workspace's
//! secret API key; only it settles charges and adds credits. The operator's
//! **customers** reach the API through short-lived browser sessions the operator mints
//! for one member, carrying that member's role: they read, quote and confirm.

use serde::{Deserialize, Serialize};

/// Who is calling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The operator key: `/admin/v1`, every workspace.
    Operator,
    /// A workspace's secret API key, held by the operator's backend.
    ApiKey,
    /// Browser sessions, by the member's role in the workspace.
    Owner,
    Admin,
    Member,
    Viewer,
}

impl Actor {
    pub const ALL: [Actor; 6] = [
        Actor::Operator,
        Actor::ApiKey,
        Actor::Owner,
        Actor::Admin,
        Actor::Member,
        Actor::Viewer,
    ];

    /// A session's actor for a member's role.
    pub fn of_role(role: Role) -> Actor {
        match role {
            Role::Owner => Actor::Owner,
            Role::Admin => Actor::Admin,
            Role::Member => Actor::Member,
            Role::Viewer => Actor::Viewer,
        }
    }

    /// True for credentials that live in a browser (sessions).
    pub fn is_browser(self) -> bool {
        !matches!(self, Actor::Operator | Actor::ApiKey)
    }

    fn column(self) -> usize {
        self as usize
    }

    fn heading(self) -> &'static str {
        match self {
            Actor::Operator => "operator key",
            Actor::ApiKey => "workspace API key",
            Actor::Owner => "owner session",
            Actor::Admin => "admin session",
            Actor::Member => "member session",
            Actor::Viewer => "viewer session",
        }
    }
}

/// Everything a credential can be allowed to do. Session `rights` name these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Card, packs, balance, events, usage, history, holds, members.
    Read,
    /// Price a request (writes nothing that moves credits).
    Quote,
    /// Confirm a quote: reserve its maximum.
    Hold,
    /// Capture or release a hold after the operation ran.
    Settle,
    Refund,
    /// Add or take back credits: support grants, revocations, top-ups paid outside creditkit.
    Grant,
    ChangePlan,
    SetCard,
    ManageMembers,
    /// Spending caps per member, project and wallet.
    SetCaps,
    /// Low-balance thresholds, extra wallets.
    ManageWallets,
    /// Name the wallet an agent's publisher add-ons are paid to (any workspace's use of
    /// the agent pays it): the operator's, who knows which creator made the agent.
    AssignPayee,
    /// Request a payout of a creator's settled earnings.
    Payout,
    /// Start a checkout (the payment provider's page) for a pack or a plan.
    Buy,
    /// Mint a browser session for a member.
    MintSession,
    /// Create, suspend and list workspaces; create, rotate and revoke API keys.
    ManageWorkspaces,
    /// See every member's usage and charges (seed 001: admins track who used credits);
    /// without it a member sees their own, and the workspace's credits added.
    ReadTeam,
}

impl Op {
    pub const ALL: [Op; 17] = [
        Op::Read,
        Op::Quote,
        Op::Hold,
        Op::Settle,
        Op::Refund,
        Op::Grant,
        Op::ChangePlan,
        Op::SetCard,
        Op::ManageMembers,
        Op::SetCaps,
        Op::ManageWallets,
        Op::AssignPayee,
        Op::Payout,
        Op::Buy,
        Op::MintSession,
        Op::ManageWorkspaces,
        Op::ReadTeam,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Quote => "quote",
            Op::Hold => "hold",
            Op::Settle => "settle",
            Op::Refund => "refund",
            Op::Grant => "grant",
            Op::ChangePlan => "change_plan",
            Op::SetCard => "set_card",
            Op::ManageMembers => "manage_members",
            Op::SetCaps => "set_caps",
            Op::ManageWallets => "manage_wallets",
            Op::AssignPayee => "assign_payee",
            Op::Payout => "payout",
            Op::Buy => "buy",
            Op::MintSession => "mint_session",
            Op::ManageWorkspaces => "manage_workspaces",
            Op::ReadTeam => "read_team",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// What the row means, in the words of the table.
    fn description(self) -> &'static str {
        match self {
            Op::Read => "read card, packs, balance, events, usage, history, holds, members",
            Op::Quote => "quote (price a request)",
            Op::Hold => "confirm = hold a quote's maximum",
            Op::Settle => "capture or release a hold (after the operation)",
            Op::Refund => "refund a captured charge",
            Op::Grant => "grant or revoke credits, top up (paid outside creditkit)",
            Op::ChangePlan => "record a plan change (customers pay through checkout)",
            Op::SetCard => "set the rate card (new version)",
            Op::ManageMembers => "manage members (add, change role, remove)",
            Op::SetCaps => "set or remove spending caps (members, projects, wallets)",
            Op::ManageWallets => "thresholds, extra wallets",
            Op::AssignPayee => "name the wallet an agent's add-ons are paid to",
            Op::Payout => "request a payout of earnings",
            Op::Buy => "buy credits through checkout, set auto top-up (members: their own wallet)",
            Op::MintSession => "mint a browser session",
            Op::ManageWorkspaces => "create / suspend workspaces, API keys",
            Op::ReadTeam => "see every member's usage and charges (members: their own)",
        }
    }
}

/// The table: for each operation, which actors may do it, in [`Actor::ALL`] order
/// (operator key, workspace API key, owner, admin, member, viewer). Owners and admins
/// differ only in what they may do to owners (checked where members are managed).
const TABLE: [(Op, [bool; 6]); 17] = [
    (Op::Read, [true, true, true, true, true, true]),
    (Op::Quote, [true, true, true, true, true, true]),
    (Op::Hold, [true, true, true, true, true, false]),
    (Op::Settle, [true, true, false, false, false, false]),
    (Op::Refund, [true, true, false, false, false, false]),
    (Op::Grant, [true, true, false, false, false, false]),
    (Op::ChangePlan, [true, true, false, false, false, false]),
    (Op::SetCard, [true, false, false, false, false, false]),
    (Op::ManageMembers, [true, true, true, true, false, false]),
    (Op::SetCaps, [true, true, true, true, false, false]),
    (Op::ManageWallets, [true, true, true, true, false, false]),
    (Op::AssignPayee, [true, false, false, false, false, false]),
    (Op::Payout, [true, true, true, true, false, false]),
    (Op::Buy, [true, true, true, true, true, false]),
    (Op::MintSession, [true, true, false, false, false, false]),
    (
        Op::ManageWorkspaces,
        [true, false, false, false, false, false],
    ),
    (Op::ReadTeam, [true, true, true, true, false, false]),
];

/// Whether `actor` may do `op` (before a session's narrower rights).
pub fn permits(actor: Actor, op: Op) -> bool {
    TABLE
        .iter()
        .find(|(o, _)| *o == op)
        .is_some_and(|(_, row)| row[actor.column()])
}

/// What a member's role may be given in a session (every allowed op).
pub fn rights_of(actor: Actor) -> Vec<Op> {
    Op::ALL
        .into_iter()
        .filter(|op| permits(actor, *op))
        .collect()
}

/// The table as Markdown, for ARCHITECTURE.md (a test keeps the two equal).
pub fn table_markdown() -> String {
    let mut out = String::from("| operation | right |");
    for a in Actor::ALL {
        out.push_str(&format!(" {} |", a.heading()));
    }
    out.push_str("\n|---|---|");
    for _ in Actor::ALL {
        out.push_str("---|");
    }
    for (op, row) in TABLE {
        out.push_str(&format!("\n| {} | `{}` |", op.description(), op.as_str()));
        for allowed in row {
            out.push_str(if allowed { " ✓ |" } else { " — |" });
        }
    }
    out.push('\n');
    out
}

/// A member's role in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees balances, usage and prices; cannot spend.
    Viewer,
    /// Spends from the workspace wallet.
    Member,
    /// Also manages members (not owners), wallets and payouts.
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "viewer" => Role::Viewer,
            "member" => Role::Member,
            "admin" => Role::Admin,
            "owner" => Role::Owner,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_has_one_row_in_order() {
        assert_eq!(TABLE.len(), Op::ALL.len());
        for (i, (op, _)) in TABLE.iter().enumerate() {
            assert_eq!(*op, Op::ALL[i]);
            assert_eq!(Op::parse(op.as_str()), Some(*op));
        }
    }

    #[test]
    fn browser_credentials_never_move_money() {
        for actor in Actor::ALL.into_iter().filter(|a| a.is_browser()) {
            for op in [
                Op::Settle,
                Op::Refund,
                Op::Grant,
                Op::ChangePlan,
                Op::SetCard,
                Op::MintSession,
                Op::ManageWorkspaces,
            ] {
                assert!(!permits(actor, op), "{actor:?} may {op:?}");
            }
        }
    }

    #[test]
    fn roles_only_narrow_downwards() {
        let ranked = [Actor::Viewer, Actor::Member, Actor::Admin, Actor::Owner];
        for pair in ranked.windows(2) {
            for op in Op::ALL {
                assert!(!permits(pair[0], op) || permits(pair[1], op), "{op:?}");
            }
        }
    }
}
