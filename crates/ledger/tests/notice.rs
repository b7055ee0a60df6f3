//! Price changes told in advance (seed 000), on SQLite and PostgreSQL: a version that
//! raises a price is scheduled at least the notice lead time ahead; it prices a wallet
//! on no plan from its date and a wallet on a plan from its first renewal on or after
//! it; until then the member sees the notice, old → new for what they use.

mod common;

use common::*;
use creditkit_api::{CaptureRequest, HoldRequest, QuoteRequest, WalletKind};
use creditkit_ledger::CardTerms;
use creditkit_pricing::{Change, Item, Request};

fn image_2k(wallet_id: Option<&str>) -> QuoteRequest {
    QuoteRequest {
        wallet_id: wallet_id.map(str::to_string),
        request: Request::single(Item::new("image").param("resolution", "2k")),
        project: None,
        stream: None,
        conversation_id: None,
    }
}

/// The landing card with the 2K image at 75 credits instead of 60.
fn dearer() -> String {
    let v2 = LANDING
        .replace(r#""2k": 60"#, r#""2k": 75"#)
        .replace(r#""version": "2026-11-01""#, r#""version": "v2""#);
    assert_ne!(v2, LANDING, "the test edits the card");
    v2
}

fn at(effective_at_ms: i64) -> CardTerms {
    CardTerms {
        note: Some("2K images cost more".into()),
        effective_at_ms: Some(effective_at_ms),
        without_notice: false,
    }
}

conformance! {
    a_price_rise_is_scheduled_and_reaches_a_subscriber_at_renewal => |store| async move {
        let env = env(store).await;
        // The shared wallet is on Starter (renews on the 15th); an organization wallet
        // is on no plan.
        let (backend, plan_wallet) = env.workspace(LANDING, Some("starter")).await;
        let op = Principal::operator(&backend.workspace_id);
        let org = env.ledger.create_wallet(&backend, WalletKind::Organization).await.unwrap();
        let member = env.member(&backend, Role::Member).await;
        // The member made two 2K images this month.
        for key in ["a", "b"] {
            let q = env.ledger.quote(&member, &image_2k(None)).await.unwrap();
            let h = env.ledger.hold(&member, &HoldRequest { quote_id: q.id }, key).await.unwrap();
            env.ledger.capture(&backend, &h.id, &CaptureRequest { amount_millicredits: None, actual: None }, key).await.unwrap();
        }

        // Raised without notice: refused, nothing changes.
        let e = env.ledger.upload_card(&op, &dearer(), &CardTerms::default()).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidParam, "{e}");
        assert!(e.to_string().contains("14 days"), "{e}");
        // Scheduled 10 days ahead: under the 14 days' notice.
        let e = env.ledger.upload_card(&op, &dearer(), &at(T0 + 10 * DAY_MS)).await.unwrap_err();
        assert!(e.to_string().contains("2026-01-29"), "names the earliest day: {e}");
        assert_eq!(env.ledger.card_versions(&op).await.unwrap().len(), 1);

        // Scheduled 20 days ahead (4 February): accepted.
        let effective = T0 + 20 * DAY_MS;
        let up = env.ledger.upload_card(&op, &dearer(), &at(effective)).await.unwrap();
        assert_eq!((up.version.version_no, up.version.effective_at_ms), (2, Some(effective)));
        // Nothing else is uploaded before it; a later change is scheduled after it.
        let e = env.ledger.upload_card(&op, LANDING, &CardTerms::default()).await.unwrap_err();
        assert!(e.to_string().contains("2026-02-04"), "{e}");
        assert!(env.ledger.upload_card(&op, LANDING, &at(effective)).await.is_err());

        // Before the date: both wallets at 60; the member is told.
        assert_eq!(env.ledger.quote(&member, &image_2k(None)).await.unwrap().hold_millicredits, credits(60));
        assert_eq!(env.ledger.quote(&backend, &image_2k(Some(&org))).await.unwrap().hold_millicredits, credits(60));
        assert_eq!(env.ledger.workspace(&backend.workspace_id).await.unwrap().card.version, "2026-11-01");
        let n = env.ledger.price_notice(&member, None).await.unwrap().expect("a notice");
        assert_eq!((n.version_no, n.effective_at_ms), (2, effective));
        // On Starter since 15 January: from the renewal on 15 February.
        assert_eq!(n.applies_at_ms, creditkit_ledger::time::add_months(T0, 1));
        assert_eq!(n.note.as_deref(), Some("2K images cost more"));
        let lines: Vec<_> = n.changes.iter().map(|c| (c.action.as_str(), c.variant.as_str(), c.change)).collect();
        assert_eq!(lines, vec![("image", "resolution=2k", Change::Up)]);
        assert_eq!(n.changes[0].before.unwrap().max_millicredits, credits(60));
        assert_eq!(n.changes[0].after.unwrap().max_millicredits, credits(75));
        assert_eq!(n.other_changes, 0);
        let n = env.ledger.price_notice(&backend, Some(&org)).await.unwrap().expect("a notice");
        assert_eq!(n.applies_at_ms, effective, "no plan: from the date itself");
        assert!(n.changes.is_empty(), "nothing used from this wallet");
        assert_eq!(n.other_changes, 1);

        // After the date: the wallet on no plan pays 75, the subscriber still 60.
        env.clock.set(effective + DAY_MS);
        assert_eq!(env.ledger.quote(&backend, &image_2k(Some(&org))).await.unwrap().hold_millicredits, credits(75));
        assert_eq!(env.ledger.quote(&member, &image_2k(None)).await.unwrap().hold_millicredits, credits(60));
        assert!(env.ledger.price_notice(&backend, Some(&org)).await.unwrap().is_none());
        assert!(env.ledger.price_notice(&member, None).await.unwrap().is_some());
        assert!(env.ledger.card_json(&member).await.unwrap().contains(r#""2k": 60"#));
        assert_eq!(env.ledger.workspace(&backend.workspace_id).await.unwrap().card.version, "v2");

        // From the renewal: 75 for the subscriber too, and no notice.
        env.clock.set(creditkit_ledger::time::add_months(T0, 1) + 1);
        assert_eq!(env.ledger.quote(&member, &image_2k(None)).await.unwrap().hold_millicredits, credits(75));
        assert!(env.ledger.price_notice(&member, None).await.unwrap().is_none());
        assert!(env.ledger.card_json(&member).await.unwrap().contains(r#""2k": 75"#));
        env.ledger.audit(&plan_wallet).await.unwrap();
    };

    a_cheaper_version_needs_no_notice => |store| async move {
        let env = env(store).await;
        let (backend, _) = env.workspace(&dearer(), None).await;
        let op = Principal::operator(&backend.workspace_id);
        let cheaper = dearer().replace(r#""2k": 75"#, r#""2k": 50"#);
        let up = env.ledger.upload_card(&op, &cheaper, &CardTerms::default()).await.unwrap();
        assert_eq!(up.version.effective_at_ms, None);
        assert_eq!(env.ledger.quote(&backend, &image_2k(None)).await.unwrap().hold_millicredits, credits(50));
        assert!(env.ledger.price_notice(&backend, None).await.unwrap().is_none());
        // A rise uploaded without notice, said so: in force at once.
        let terms = CardTerms { without_notice: true, ..CardTerms::default() };
        env.ledger.upload_card(&op, &dearer(), &terms).await.unwrap();
        assert_eq!(env.ledger.quote(&backend, &image_2k(None)).await.unwrap().hold_millicredits, credits(75));
    };
}
