//! The trust boundary in the ledger, on SQLite and PostgreSQL: sessions (expiry,
//! revocation, narrowed rights, wallet binding), API keys (rotation, revocation, last
//! use), suspension, card versions, the operator's grants and revocations, and
//! capture without an amount.

mod common;

use common::*;
use creditkit_api::admin::{RevokeRequest, RotateApiKey};
use creditkit_api::{
    Actor, CaptureRequest, HoldRequest, MemberUpdate, Op, QuoteRequest, TransactionKind, WalletKind,
};
use creditkit_ledger::CardTerms;
use creditkit_pricing::{Item, Request};

fn quote_req(item: Item) -> QuoteRequest {
    QuoteRequest {
        wallet_id: None,
        request: Request::single(item),
        project: None,
        stream: None,
        conversation_id: None,
    }
}

fn capture_amount(amount: u64) -> CaptureRequest {
    CaptureRequest {
        amount_millicredits: Some(amount),
        actual: None,
    }
}

conformance! {
    sessions_end_when_they_expire_or_are_revoked => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(LANDING, Some("free")).await;
        let m = env.ledger.add_member(&backend, &NewMember { name: "Ada".into(), role: Role::Member, external_id: Some("u-7".into()) }).await.unwrap();
        let s = env.ledger.create_session(&backend, &SessionRequest { external_id: Some("u-7".into()), ttl_seconds: Some(600), ..Default::default() }).await.unwrap();
        assert_eq!((s.member_id.as_str(), s.role), (m.id.as_str(), Role::Member));
        assert!(s.token.starts_with("ck_ss_"));
        let p = env.ledger.authenticate(&s.token).await.unwrap();
        assert_eq!((p.actor, p.member_id.as_deref()), (Actor::Member, Some(m.id.as_str())));
        // Tampered: one character changed.
        let mut bad = s.token.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        assert_eq!(env.ledger.authenticate(&bad).await.unwrap_err().code(), ErrorCode::Unauthorized);
        // Expired.
        env.clock.advance(600_000);
        assert_eq!(env.ledger.authenticate(&s.token).await.unwrap_err().code(), ErrorCode::SessionExpired);
        // Revoked by the backend; a session may also end itself.
        let s2 = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), ..Default::default() }).await.unwrap();
        env.ledger.revoke_session(&backend, &s2.id).await.unwrap();
        assert_eq!(env.ledger.authenticate(&s2.token).await.unwrap_err().code(), ErrorCode::Unauthorized);
        let s3 = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), ..Default::default() }).await.unwrap();
        let p3 = env.ledger.authenticate(&s3.token).await.unwrap();
        env.ledger.revoke_session(&p3, &s3.id).await.unwrap();
        assert_eq!(env.ledger.authenticate(&s3.token).await.unwrap_err().code(), ErrorCode::Unauthorized);
        // A session cannot end another's.
        let s4 = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), ..Default::default() }).await.unwrap();
        let s5 = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), ..Default::default() }).await.unwrap();
        let p4 = env.ledger.authenticate(&s4.token).await.unwrap();
        assert_eq!(env.ledger.revoke_session(&p4, &s5.id).await.unwrap_err().code(), ErrorCode::Forbidden);
        // Signing out everywhere: the backend may, a session may not.
        assert_eq!(env.ledger.revoke_member_sessions(&p4, &m.id).await.unwrap_err().code(), ErrorCode::Forbidden);
        let s6 = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), ..Default::default() }).await.unwrap();
        assert!(env.ledger.revoke_member_sessions(&backend, &m.id).await.unwrap() >= 2);
        assert_eq!(env.ledger.authenticate(&s6.token).await.unwrap_err().code(), ErrorCode::Unauthorized);
        let s5 = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), ..Default::default() }).await.unwrap();
        // Removing the member ends all their sessions.
        env.ledger.remove_member(&backend, &m.id).await.unwrap();
        assert_eq!(env.ledger.authenticate(&s5.token).await.unwrap_err().code(), ErrorCode::Unauthorized);
        // Bad requests to mint.
        assert_eq!(env.ledger.create_session(&backend, &SessionRequest::default()).await.unwrap_err().code(), ErrorCode::InvalidParam);
        assert_eq!(env.ledger.create_session(&backend, &SessionRequest { member_id: Some("mem_nope".into()), ..Default::default() }).await.unwrap_err().code(), ErrorCode::NotFound);
        env.ledger.audit(&wallet).await.unwrap();
    };

    session_rights_narrow_and_follow_the_role => |store| async move {
        let env = env(store).await;
        let (backend, _) = env.workspace(LANDING, Some("free")).await;
        let m = env.ledger.add_member(&backend, &NewMember { name: "Ada".into(), role: Role::Member, external_id: None }).await.unwrap();
        // A read-only session for a dashboard.
        let ro = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), rights: Some(vec![Op::Read, Op::Quote]), ..Default::default() }).await.unwrap();
        let p = env.ledger.authenticate(&ro.token).await.unwrap();
        let q = env.ledger.quote(&p, &quote_req(Item::new("rewrite"))).await.unwrap();
        assert_eq!(env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap_err().code(), ErrorCode::Forbidden);
        // A member cannot be given what the role cannot do.
        let e = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), rights: Some(vec![Op::Settle]), ..Default::default() }).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Forbidden);
        // Lowering the role narrows an open session at once.
        let full = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), ..Default::default() }).await.unwrap();
        env.ledger.update_member(&backend, &m.id, &MemberUpdate { role: Some(Role::Viewer), name: None }).await.unwrap();
        let p = env.ledger.authenticate(&full.token).await.unwrap();
        let q = env.ledger.quote(&p, &quote_req(Item::new("rewrite"))).await.unwrap();
        assert_eq!(env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h2").await.unwrap_err().code(), ErrorCode::Forbidden);
        // Admins manage members, but not owners.
        let admin = env.member(&backend, Role::Admin).await;
        let owner = env.ledger.add_member(&backend, &NewMember { name: "Olu".into(), role: Role::Owner, external_id: None }).await.unwrap();
        assert_eq!(env.ledger.add_member(&admin, &NewMember { name: "X".into(), role: Role::Owner, external_id: None }).await.unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(env.ledger.remove_member(&admin, &owner.id).await.unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(env.ledger.update_member(&admin, &m.id, &MemberUpdate { role: Some(Role::Owner), name: None }).await.unwrap_err().code(), ErrorCode::Forbidden);
        env.ledger.update_member(&admin, &m.id, &MemberUpdate { role: Some(Role::Member), name: None }).await.unwrap();
    };

    a_session_bound_to_a_wallet_acts_on_it_alone => |store| async move {
        let env = env(store).await;
        let (backend, shared) = env.workspace(KOPAI, None).await;
        let m = env.ledger.add_member(&backend, &NewMember { name: "Ada".into(), role: Role::Member, external_id: None }).await.unwrap();
        // The member's personal wallet (created with the member), found as the member sees it.
        let as_member = env.ledger.authenticate(&env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), ..Default::default() }).await.unwrap().token).await.unwrap();
        let org = env.ledger.create_wallet(&backend, WalletKind::Organization).await.unwrap();
        let s = env.ledger.create_session(&backend, &SessionRequest { member_id: Some(m.id.clone()), wallet_id: Some(org.clone()), ..Default::default() }).await.unwrap();
        let p = env.ledger.authenticate(&s.token).await.unwrap();
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().wallet_id, org);
        assert_eq!(env.ledger.balance(&p, Some(&shared)).await.unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(env.ledger.balance(&as_member, None).await.unwrap().wallet_id, shared);
        // Another member's personal wallet cannot be bound to a session.
        let other = env.ledger.add_member(&backend, &NewMember { name: "Bo".into(), role: Role::Member, external_id: None }).await.unwrap();
        let other_p = env.ledger.authenticate(&env.ledger.create_session(&backend, &SessionRequest { member_id: Some(other.id.clone()), ..Default::default() }).await.unwrap().token).await.unwrap();
        let personal = env.ledger.create_wallet(&other_p, WalletKind::Personal).await;
        assert_eq!(personal.unwrap_err().code(), ErrorCode::Forbidden, "members do not make wallets");
    };

    api_keys_rotate_with_grace_and_revoke => |store| async move {
        let env = env(store).await;
        let (backend, _) = env.workspace(LANDING, Some("free")).await;
        let op = Principal::operator(&backend.workspace_id);
        let keys = env.ledger.api_keys(&op).await.unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].prefix.starts_with("ck_sk_") && keys[0].prefix.len() == 14, "{}", keys[0].prefix);
        assert!(keys[0].last_used_at_ms.is_some(), "authenticating recorded its use");
        let old = keys[0].id.clone();
        let first = env.ledger.create_api_key(&op, Some("deploy 1")).await.unwrap();
        let rotated = env.ledger.rotate_api_key(&op, &first.info.id, &RotateApiKey { grace_seconds: Some(60) }).await.unwrap();
        // Both work during the grace period; the old one stops after it.
        env.ledger.authenticate(&first.secret).await.unwrap();
        env.ledger.authenticate(&rotated.secret).await.unwrap();
        env.clock.advance(60_000);
        assert_eq!(env.ledger.authenticate(&first.secret).await.unwrap_err().code(), ErrorCode::Unauthorized);
        env.ledger.authenticate(&rotated.secret).await.unwrap();
        // Rotation without grace stops the old key at once; revocation likewise.
        let again = env.ledger.rotate_api_key(&op, &rotated.info.id, &RotateApiKey::default()).await.unwrap();
        assert_eq!(env.ledger.authenticate(&rotated.secret).await.unwrap_err().code(), ErrorCode::Unauthorized);
        let revoked = env.ledger.revoke_api_key(&op, &again.info.id).await.unwrap();
        assert!(revoked.revoked_at_ms.is_some());
        assert_eq!(env.ledger.authenticate(&again.secret).await.unwrap_err().code(), ErrorCode::Unauthorized);
        assert_eq!(env.ledger.rotate_api_key(&op, &again.info.id, &RotateApiKey::default()).await.unwrap_err().code(), ErrorCode::InvalidParam);
        // Another workspace's key id is not found; keys are the operator's to manage.
        let (other, _) = env.workspace(LANDING, None).await;
        assert_eq!(env.ledger.revoke_api_key(&Principal::operator(&other.workspace_id), &old).await.unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(env.ledger.create_api_key(&backend, None).await.unwrap_err().code(), ErrorCode::Forbidden);
        // Operator keys: secrets shown once, refused on /v1, revocable.
        let ok = env.ledger.create_operator_key(Some("ops")).await.unwrap();
        env.ledger.authenticate_operator(&ok.secret).await.unwrap();
        assert_eq!(env.ledger.authenticate(&ok.secret).await.unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(env.ledger.authenticate_operator(&rotated.secret).await.unwrap_err().code(), ErrorCode::Unauthorized);
        env.ledger.revoke_operator_key(&ok.info.id).await.unwrap();
        assert_eq!(env.ledger.authenticate_operator(&ok.secret).await.unwrap_err().code(), ErrorCode::Unauthorized);
    };

    a_suspended_workspace_settles_but_spends_nothing_new => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(LANDING, Some("free")).await;
        let token = env.member_token(&backend, Role::Member).await;
        let member = env.ledger.authenticate(&token).await.unwrap();
        let q = env.ledger.quote(&member, &quote_req(Item::new("section"))).await.unwrap();
        let h = env.ledger.hold(&member, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        let ws = env.ledger.set_suspended(&Principal::operator(&backend.workspace_id), true).await.unwrap();
        assert!(ws.suspended);
        assert_eq!(env.ledger.authenticate(&token).await.unwrap_err().code(), ErrorCode::WorkspaceSuspended);
        let backend = env.ledger.authenticate_api_key_again(&backend).await;
        assert_eq!(env.ledger.quote(&backend, &quote_req(Item::new("rewrite"))).await.unwrap_err().code(), ErrorCode::WorkspaceSuspended);
        env.ledger.balance(&backend, None).await.unwrap();
        env.ledger.capture(&backend, &h.id, &capture_amount(credits(10)), "c").await.unwrap();
        env.ledger.set_suspended(&Principal::operator(&backend.workspace_id), false).await.unwrap();
        env.ledger.authenticate(&token).await.unwrap();
        env.ledger.audit(&wallet).await.unwrap();
    };

    a_quote_is_settled_with_the_card_version_it_was_priced_on => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(LANDING, Some("starter")).await;
        let op = Principal::operator(&backend.workspace_id);
        let q = env.ledger.quote(&backend, &quote_req(Item::new("image").param("resolution", "2k"))).await.unwrap();
        assert_eq!(q.hold_millicredits, credits(60));
        let h = env.ledger.hold(&backend, &HoldRequest { quote_id: q.id.clone() }, "h").await.unwrap();
        // The operator raises the 2k price to 75 and drops avatar selection.
        let v2 = LANDING.replace(r#""2k": 60"#, r#""2k": 75"#).replace(r#"{ "id": "avatar_selection", "name": "Avatar selection", "category": "image", "cost": "free" },"#, "").replace(r#""version": "2026-11-01""#, r#""version": "v2""#);
        assert_ne!(v2, LANDING, "the test edits the card");
        let up = env.ledger.upload_card(&op, &v2, &CardTerms { note: Some("2k costs more".into()), without_notice: true, ..CardTerms::default() }).await.unwrap();
        assert_eq!(up.version.version_no, 2);
        let d: Vec<_> = up.diff.iter().filter(|c| c.change != creditkit_pricing::Change::Unchanged).map(|c| (c.action.as_str(), c.variant.as_str(), c.change)).collect();
        assert!(d.contains(&("image", "resolution=2k", creditkit_pricing::Change::Up)), "{d:?}");
        assert!(d.contains(&("avatar_selection", "", creditkit_pricing::Change::Removed)), "{d:?}");
        let versions = env.ledger.card_versions(&op).await.unwrap();
        assert_eq!(versions.iter().map(|v| v.version_no).collect::<Vec<_>>(), vec![1, 2]);
        assert_ne!(versions[0].card.hash, versions[1].card.hash);
        // New quotes use v2 …
        let q2 = env.ledger.quote(&backend, &quote_req(Item::new("image").param("resolution", "2k"))).await.unwrap();
        assert_eq!(q2.hold_millicredits, credits(75));
        assert_eq!(env.ledger.quote(&backend, &quote_req(Item::new("avatar_selection"))).await.unwrap_err().code(), ErrorCode::UnknownAction);
        // … the old quote's hold is captured at v1's price, from its actual request.
        let actual = CaptureRequest { amount_millicredits: None, actual: Some(Request::single(Item::new("image").param("resolution", "2k"))) };
        let c = env.ledger.capture(&backend, &h.id, &actual, "c").await.unwrap();
        assert_eq!(c.captured_millicredits, Some(credits(60)));
        // An invalid card is refused and changes nothing.
        assert_eq!(env.ledger.upload_card(&op, "{\"id\": 1}", &CardTerms::default()).await.unwrap_err().code(), ErrorCode::InvalidCard);
        assert_eq!(env.ledger.card_versions(&op).await.unwrap().len(), 2);
        // Only the operator sets cards.
        assert_eq!(env.ledger.upload_card(&backend, LANDING, &CardTerms::default()).await.unwrap_err().code(), ErrorCode::Forbidden);
        env.ledger.audit(&wallet).await.unwrap();
    };

    capture_without_an_amount_settles_an_exact_quote => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(CAMPAIGNS, None).await;
        env.ledger.grant(&backend, &grant_req(credits(100), None), "g").await.unwrap();
        let exact = env.ledger.quote(&backend, &quote_req(Item::new("generate_single_post"))).await.unwrap();
        assert!(exact.estimate.exact);
        let h = env.ledger.hold(&backend, &HoldRequest { quote_id: exact.id }, "h1").await.unwrap();
        let c = env.ledger.capture(&backend, &h.id, &CaptureRequest::default(), "c1").await.unwrap();
        assert_eq!(c.captured_millicredits, Some(exact.hold_millicredits));
        let ranged = env.ledger.quote(&backend, &quote_req(Item::new("content_generation"))).await.unwrap();
        assert!(!ranged.estimate.exact);
        let h = env.ledger.hold(&backend, &HoldRequest { quote_id: ranged.id }, "h2").await.unwrap();
        assert_eq!(env.ledger.capture(&backend, &h.id, &CaptureRequest::default(), "c2").await.unwrap_err().code(), ErrorCode::AmountRequired);
        env.ledger.capture(&backend, &h.id, &capture_amount(credits(2)), "c3").await.unwrap();
        env.ledger.audit(&wallet).await.unwrap();
    };

    free_messages_are_counted_by_the_ledger_not_the_browser => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(KOPAI, None).await;
        env.ledger.grant(&backend, &grant_req(credits(50), None), "g").await.unwrap();
        let member = env.member(&backend, Role::Member).await;
        // The browser claims every message is its first; the ledger counts.
        let msg = || quote_req(Item::new("message").param("agent", "seo-writer").param("messages_used", 0u64).param("input_tokens", 10u64));
        for i in 0..5 {
            let q = env.ledger.quote(&member, &msg()).await.unwrap();
            assert_eq!(q.hold_millicredits, 0, "message {} of 5 is free", i + 1);
            let h = env.ledger.hold(&member, &HoldRequest { quote_id: q.id }, &format!("h{i}")).await.unwrap();
            if i == 2 {
                // A failed message is released: it does not use up the allowance.
                env.ledger.release(&backend, &h.id, "r").await.unwrap();
                let q = env.ledger.quote(&member, &msg()).await.unwrap();
                let h = env.ledger.hold(&member, &HoldRequest { quote_id: q.id }, "h2b").await.unwrap();
                env.ledger.capture(&backend, &h.id, &CaptureRequest::default(), "c2b").await.unwrap();
                continue;
            }
            env.ledger.capture(&backend, &h.id, &CaptureRequest::default(), &format!("c{i}")).await.unwrap();
        }
        let sixth = env.ledger.quote(&member, &msg()).await.unwrap();
        assert_eq!(sixth.hold_millicredits, credits(1) + 500, "1 credit infra + 0.5 add-on once the 5 are used");
        // Another member has their own allowance.
        let other = env.member(&backend, Role::Member).await;
        assert_eq!(env.ledger.quote(&other, &msg()).await.unwrap().hold_millicredits, 0);
        env.ledger.audit(&wallet).await.unwrap();
    };

    the_operator_grants_and_takes_back_with_a_reason => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(LANDING, None).await;
        let op = Principal::operator(&backend.workspace_id);
        let soon = T0 + 10 * DAY_MS;
        let mut g = grant_req(credits(30), Some(soon));
        g.reason = "outage on the 14th".into();
        env.ledger.grant(&op, &g, "g1").await.unwrap();
        env.ledger.grant(&op, &grant_req(credits(50), None), "g2").await.unwrap();
        // A hold reserves 25 of the soonest-expiring grant.
        let q = env.ledger.quote(&backend, &quote_req(Item::new("section").quantity(2))).await.unwrap();
        let h = env.ledger.hold(&backend, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        // 60 are unreserved; taking back 61 is refused and changes nothing.
        let revoke = |amount: u64| RevokeRequest { amount_millicredits: Some(amount), grant_id: None, reason: "duplicate grant".into(), wallet_id: None };
        let e = env.ledger.revoke(&op, &revoke(credits(61)), "r0").await.unwrap_err();
        assert_eq!((e.code(), e.to_api().path.as_deref()), (ErrorCode::InvalidParam, Some("amount_millicredits")));
        let b = env.ledger.revoke(&op, &revoke(credits(15)), "r1").await.unwrap();
        assert_eq!((b.balance_millicredits, b.held_millicredits), (credits(65), credits(20)));
        // A retry with the same key changes nothing.
        let again = env.ledger.revoke(&op, &revoke(credits(15)), "r1").await.unwrap();
        assert_eq!(again.balance_millicredits, credits(65));
        let entries = env.ledger.transactions(&op, None, Some(TransactionKind::Revoke), None, None).await.unwrap().items;
        assert_eq!(entries.iter().map(|t| t.delta_millicredits).sum::<i64>(), -(credits(15) as i64));
        assert!(entries.iter().all(|t| t.note.as_deref() == Some("duplicate grant")));
        // The reason is required; browser credentials cannot do either.
        let mut no_reason = grant_req(credits(1), None);
        no_reason.reason = " ".into();
        assert_eq!(env.ledger.grant(&op, &no_reason, "g3").await.unwrap_err().code(), ErrorCode::InvalidParam);
        let admin = env.member(&backend, Role::Admin).await;
        assert_eq!(env.ledger.grant(&admin, &grant_req(credits(1), None), "g4").await.unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(env.ledger.revoke(&admin, &revoke(credits(1)), "r2").await.unwrap_err().code(), ErrorCode::Forbidden);
        env.ledger.release(&backend, &h.id, "rel").await.unwrap();
        env.ledger.audit(&wallet).await.unwrap();
    };
}

/// Re-authenticates an API-key principal (its suspension flag is read at sign-in).
trait Reauth {
    async fn authenticate_api_key_again(&self, p: &Principal) -> Principal;
}

impl Reauth for Ledger {
    async fn authenticate_api_key_again(&self, p: &Principal) -> Principal {
        let key = self
            .create_api_key(&Principal::operator(&p.workspace_id), Some("again"))
            .await
            .unwrap();
        self.authenticate(&key.secret).await.unwrap()
    }
}
