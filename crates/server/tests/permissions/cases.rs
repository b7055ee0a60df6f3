//! The permission walk's table: every route, the right it needs, and what it needs made
//! first (`permissions.rs` walks it with every caller).

use creditkit_api::Op;

/// What a case needs made first (by the backend), named in its path and body.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Needs {
    Nothing,
    Quote,
    Hold,
    Captured,
    Member,
    Session,
    OrgWallet,
    Cap,
}

pub(crate) struct Case {
    pub(crate) op: Op,
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) body: Option<&'static str>,
    pub(crate) idempotent: bool,
    pub(crate) needs: Needs,
    /// What an allowed call answers when success is impossible by design (a payout
    /// with no earnings): still not a refusal.
    pub(crate) allowed_status: u16,
    /// The row's "(members: their own wallet)": a member aimed at the shared wallet is
    /// refused (403).
    pub(crate) own_wallet_only: bool,
}

pub(crate) const fn case(
    op: Op,
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    idempotent: bool,
    needs: Needs,
) -> Case {
    Case {
        op,
        method,
        path,
        body,
        idempotent,
        needs,
        allowed_status: 200,
        own_wallet_only: false,
    }
}

pub(crate) fn cases() -> Vec<Case> {
    use Needs::*;
    let mut v = vec![
        case(
            Op::Read,
            "GET",
            "/v1/balance?wallet_id={wallet}",
            None,
            false,
            Nothing,
        ),
        case(Op::Read, "GET", "/v1/card", None, false, Nothing),
        case(Op::Read, "GET", "/v1/packs", None, false, Nothing),
        case(
            Op::Read,
            "GET",
            "/v1/transactions?wallet_id={wallet}",
            None,
            false,
            Nothing,
        ),
        case(
            Op::Read,
            "GET",
            "/v1/usage?wallet_id={wallet}",
            None,
            false,
            Nothing,
        ),
        case(Op::Read, "GET", "/v1/members", None, false, Nothing),
        case(Op::Read, "GET", "/v1/members/{member}", None, false, Member),
        case(Op::Read, "GET", "/v1/workspace", None, false, Nothing),
        case(Op::Read, "GET", "/v1/me", None, false, Nothing),
        case(Op::Read, "GET", "/v1/agents", None, false, Nothing),
        case(Op::Read, "GET", "/v1/wallets", None, false, Nothing),
        case(
            Op::Read,
            "GET",
            "/v1/conversations/chat-1",
            None,
            false,
            Nothing,
        ),
        case(
            Op::ReadTeam,
            "GET",
            "/v1/usage?group_by=action&member_id={member}",
            None,
            false,
            Member,
        ),
        case(
            Op::ReadTeam,
            "GET",
            "/v1/transactions?member_id={member}",
            None,
            false,
            Member,
        ),
        case(
            Op::Read,
            "GET",
            "/v1/allowance?wallet_id={wallet}",
            None,
            false,
            Nothing,
        ),
        case(
            Op::Read,
            "GET",
            "/v1/price-notice?wallet_id={wallet}",
            None,
            false,
            Nothing,
        ),
        case(
            Op::Read,
            "GET",
            "/v1/entitlements?wallet_id={wallet}",
            None,
            false,
            Nothing,
        ),
        case(
            Op::Read,
            "GET",
            "/v1/earnings?wallet_id={wallet}",
            None,
            false,
            Nothing,
        ),
        case(
            Op::Read,
            "GET",
            "/v1/events?wallet_id={wallet}",
            None,
            false,
            Nothing,
        ),
        case(Op::Read, "GET", "/v1/quotes/{quote}", None, false, Quote),
        case(Op::Read, "GET", "/v1/holds/{hold}", None, false, Hold),
        case(
            Op::Quote,
            "POST",
            "/v1/quotes",
            Some(r#"{"request": {"action": "rewrite"}, "wallet_id": "{wallet}"}"#),
            false,
            Nothing,
        ),
        case(
            Op::Hold,
            "POST",
            "/v1/holds",
            Some(r#"{"quote_id": "{quote}"}"#),
            true,
            Quote,
        ),
        case(
            Op::Settle,
            "POST",
            "/v1/holds/{hold}/capture",
            Some(r#"{"amount_millicredits": 1000}"#),
            true,
            Hold,
        ),
        case(
            Op::Settle,
            "POST",
            "/v1/holds/{hold}/release",
            Some("{}"),
            true,
            Hold,
        ),
        case(
            Op::Refund,
            "POST",
            "/v1/holds/{hold}/refund",
            Some("{}"),
            true,
            Captured,
        ),
        case(
            Op::Grant,
            "POST",
            "/v1/grants",
            Some(r#"{"amount_millicredits": 5000, "reason": "walk", "wallet_id": "{wallet}"}"#),
            true,
            Nothing,
        ),
        case(
            Op::Grant,
            "POST",
            "/v1/revocations",
            Some(r#"{"amount_millicredits": 1000, "reason": "walk", "wallet_id": "{wallet}"}"#),
            true,
            Nothing,
        ),
        case(
            Op::Grant,
            "POST",
            "/v1/topups?wallet_id={wallet}",
            Some(r#"{"pack_id": "custom_100"}"#),
            true,
            Nothing,
        ),
        case(
            Op::ChangePlan,
            "POST",
            "/v1/plan?wallet_id={wallet}",
            Some(r#"{"plan_id": "pro"}"#),
            true,
            Nothing,
        ),
        case(
            Op::SetCard,
            "PUT",
            "/v1/card",
            Some(r#"{"id": "zero", "name": "Zero", "version": "1", "actions": []}"#),
            false,
            Nothing,
        ),
        case(
            Op::ManageMembers,
            "POST",
            "/v1/members",
            Some(r#"{"name": "New", "role": "member"}"#),
            false,
            Nothing,
        ),
        case(
            Op::ManageMembers,
            "PATCH",
            "/v1/members/{member}",
            Some(r#"{"role": "viewer"}"#),
            false,
            Member,
        ),
        case(
            Op::ManageMembers,
            "DELETE",
            "/v1/members/{member}",
            None,
            false,
            Member,
        ),
        case(
            Op::MintSession,
            "POST",
            "/v1/sessions",
            Some(r#"{"member_id": "{member}"}"#),
            false,
            Member,
        ),
        case(
            Op::MintSession,
            "DELETE",
            "/v1/sessions/{session}",
            None,
            false,
            Session,
        ),
        case(Op::Read, "GET", "/v1/caps", None, false, Nothing),
        case(
            Op::SetCaps,
            "POST",
            "/v1/caps",
            Some(
                r#"{"scope": "member", "subject": "{member}", "limit_millicredits": 5000, "period": "day"}"#,
            ),
            false,
            Member,
        ),
        case(Op::SetCaps, "DELETE", "/v1/caps/{cap}", None, false, Cap),
        case(
            Op::ManageWallets,
            "PUT",
            "/v1/thresholds",
            Some(
                r#"{"low_threshold_millicredits": 50000, "critical_threshold_millicredits": 5000}"#,
            ),
            false,
            Nothing,
        ),
        case(
            Op::ManageWallets,
            "POST",
            "/v1/wallets",
            Some(r#"{"kind": "organization"}"#),
            false,
            Nothing,
        ),
        case(
            Op::AssignPayee,
            "PUT",
            "/v1/agents/{agent}/payee",
            Some(r#"{"wallet_id": "{org}"}"#),
            false,
            OrgWallet,
        ),
        case(
            Op::AssignPayee,
            "PUT",
            "/admin/v1/workspaces/{ws}/agents/{agent}/payee",
            Some(r#"{"wallet_id": "{org}"}"#),
            false,
            OrgWallet,
        ),
        case(
            Op::ManageWorkspaces,
            "GET",
            "/admin/v1/workspaces",
            None,
            false,
            Nothing,
        ),
        case(
            Op::ManageWorkspaces,
            "GET",
            "/admin/v1/workspaces/{ws}",
            None,
            false,
            Nothing,
        ),
        case(
            Op::ManageWorkspaces,
            "POST",
            "/admin/v1/workspaces/{ws}/keys",
            Some("{}"),
            false,
            Nothing,
        ),
        case(
            Op::ManageWorkspaces,
            "GET",
            "/admin/v1/workspaces/{ws}/auto-top-up",
            None,
            false,
            Nothing,
        ),
        case(
            Op::ManageWorkspaces,
            "PUT",
            "/admin/v1/workspaces/{ws}/auto-top-up",
            Some(r#"{"enabled": true, "max_per_month": 3, "max_amount_minor_per_month": 20000}"#),
            false,
            Nothing,
        ),
        case(
            Op::Grant,
            "POST",
            "/admin/v1/workspaces/{ws}/grants",
            Some(r#"{"amount_millicredits": 1000, "reason": "walk"}"#),
            true,
            Nothing,
        ),
        case(
            Op::SetCard,
            "POST",
            "/admin/v1/workspaces/{ws}/cards",
            Some(
                r#"{"card": {"id": "cheap", "name": "Cheap", "version": "2", "currency": {"code": "USD", "exponent": 2}, "packs": [{"id": "custom_100", "name": "100 credits", "credits": 100, "price": "10"}], "actions": [{"id": "rewrite", "cost": 1}]}, "without_notice": true}"#,
            ),
            false,
            Nothing,
        ),
        case(
            Op::MintSession,
            "POST",
            "/admin/v1/workspaces/{ws}/sessions",
            Some(r#"{"member_id": "{member}"}"#),
            false,
            Member,
        ),
    ];
    // Extending a hold that is not a streamed turn: allowed callers get that answer.
    let mut extend = case(
        Op::Settle,
        "POST",
        "/v1/holds/{hold}/extend",
        Some(r#"{"generated_output_tokens": 10, "reserve_output_tokens": 20}"#),
        true,
        Needs::Hold,
    );
    extend.allowed_status = 422;
    v.push(extend);
    // This server takes no payments: allowed callers get that answer, not a 403.
    let mut buy = case(
        Op::Buy,
        "POST",
        "/v1/checkout",
        Some(r#"{"pack_id": "custom_100", "wallet_id": "{wallet}"}"#),
        false,
        Nothing,
    );
    buy.allowed_status = 501;
    v.push(buy);
    let mut change = case(
        Op::Buy,
        "POST",
        "/v1/subscription",
        Some(r#"{"plan_id": "pro", "wallet_id": "{wallet}"}"#),
        false,
        Nothing,
    );
    change.allowed_status = 501;
    v.push(change);
    v.push(case(
        Op::Read,
        "GET",
        "/v1/auto-top-up?wallet_id={wallet}",
        None,
        false,
        Nothing,
    ));
    // Members set auto top-up on their own wallet only (as they buy): the shared one
    // is refused them.
    for (method, path, body) in [
        (
            "PUT",
            "/v1/auto-top-up",
            Some(
                r#"{"below_credits": 10, "pack_id": "custom_100", "max_per_month": 1, "wallet_id": "{wallet}"}"#,
            ),
        ),
        ("DELETE", "/v1/auto-top-up?wallet_id={wallet}", None),
    ] {
        let mut own = case(Op::Buy, method, path, body, false, Nothing);
        own.own_wallet_only = true;
        v.push(own);
    }
    v.push(case(
        Op::Read,
        "GET",
        "/v1/subscription?wallet_id={wallet}",
        None,
        false,
        Nothing,
    ));
    // No checkout was opened here: allowed callers are told it is not found.
    let mut checkout = case(
        Op::Read,
        "GET",
        "/v1/checkouts/chk_none",
        None,
        false,
        Nothing,
    );
    checkout.allowed_status = 404;
    v.push(checkout);
    // A payout needs settled earnings this workspace has none of: allowed callers get
    // the specific refusal, not a 403.
    let mut payout = case(
        Op::Payout,
        "POST",
        "/v1/payouts?wallet_id={org}",
        Some(r#"{"amount_millicredits": 100000}"#),
        true,
        OrgWallet,
    );
    payout.allowed_status = 422;
    v.push(payout);
    v.push(case(
        Op::Read,
        "GET",
        "/v1/payouts?wallet_id={org}",
        None,
        false,
        OrgWallet,
    ));
    v.push(case(
        Op::Read,
        "GET",
        "/v1/payout-account?wallet_id={org}",
        None,
        false,
        OrgWallet,
    ));
    // This server takes no payments: allowed callers get that answer, not a 403.
    let mut connect = case(
        Op::Payout,
        "POST",
        "/v1/payout-account?wallet_id={org}",
        None,
        false,
        OrgWallet,
    );
    connect.allowed_status = 501;
    v.push(connect);
    v.push(case(
        Op::ManageWorkspaces,
        "GET",
        "/admin/v1/payouts",
        None,
        false,
        Nothing,
    ));
    // No such payout: the operator is told so; anyone else is refused first.
    let mut reject = case(
        Op::ManageWorkspaces,
        "POST",
        "/admin/v1/payouts/po_none/reject",
        Some(r#"{"reason": "walk"}"#),
        false,
        Nothing,
    );
    reject.allowed_status = 404;
    v.push(reject);
    v
}
