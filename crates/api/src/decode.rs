//! The wire types read from JSON without serde, for the browser: [`FromJson`] (in
//! `creditkit-pricing`, beside its writer) derived on each type (`#[derive(FromJson)]`,
//! from the struct and its serde attributes: no field is listed twice); here what a
//! derive cannot say (enums of names, the error code's fallback, pages) and the tests
//! that read back what serde writes.

use creditkit_pricing::json::Value;

use crate::*;

pub use creditkit_pricing::from_json::{
    field, field_or_default, from_json_text, object, DecodeError, FromJson,
};

impl<T: FromJson> FromJson for Page<T> {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        let o = object(v)?;
        Ok(Page {
            items: field(o, "items")?,
            next_cursor: field(o, "next_cursor")?,
        })
    }
}

/// An enum of names, read by its `parse` (the wire names, as serde writes them).
macro_rules! from_json_names {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Result<Self, DecodeError> {
                v.as_str()
                    .and_then(<$t>::parse)
                    .ok_or_else(|| DecodeError::expected(concat!("a ", stringify!($t), " name"), v))
            }
        }
    )*};
}

from_json_names!(
    WalletKind,
    HoldStatus,
    TransactionKind,
    UsageGroup,
    Role,
    Op,
    CheckoutState,
    PayoutState
);

/// A code this build does not know reads as `Unknown` (`#[serde(other)]`).
impl FromJson for ErrorCode {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        let name = v
            .as_str()
            .ok_or_else(|| DecodeError::expected("an error code", v))?;
        Ok(ErrorCode::parse(name))
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use creditkit_pricing::{Change, Contact, Money, PackQuantity, PriceChange, Renewal, Span};

    use super::*;
    use serde::Serialize;

    /// What serde writes, read back through [`FromJson`].
    fn round<T: Serialize + FromJson + PartialEq + fmt::Debug>(value: T) {
        let text = serde_json::to_string(&value).unwrap();
        let back: T = from_json_text(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back, value, "{text}");
    }

    fn money() -> Money {
        Money {
            currency: "USD".into(),
            amount_minor: 1999,
            display: "19.99".into(),
        }
    }

    fn pack() -> PackOffer {
        PackOffer {
            id: "large".into(),
            name: "Large".into(),
            credits: 20_000,
            price: Some(money()),
            per_credit_micros: Some(35_000),
            per_credit_display: Some("0.035".into()),
            validity_months: Some(12),
            quantity: Some(PackQuantity { min: 10, max: 500 }),
        }
    }

    fn shortfall() -> Shortfall {
        Shortfall {
            balance_millicredits: 1,
            required_millicredits: 5000,
            shortfall_millicredits: 4999,
            pack: Some(PackCover {
                pack: pack(),
                quantity: 2,
                credits: 40_000,
                price: Some(money()),
            }),
            plan: Some(PlanCover {
                id: "pro".into(),
                name: "Pro".into(),
                credits: 5000,
                renewal: Renewal::Once,
                price: None,
            }),
            contact: Some(Contact {
                email: Some("support@example.com".into()),
                url: None,
                beyond_packs: true,
            }),
        }
    }

    fn cap() -> Cap {
        Cap {
            id: "cap_1".into(),
            wallet_id: "w".into(),
            scope: CapScope::Member,
            subject: Some("m_1".into()),
            limit_millicredits: 10_000,
            period: CapPeriod::Cycle,
            period_start_ms: 1,
            resets_at_ms: -2,
            spent_millicredits: 3,
            reserved_millicredits: 4,
            left_millicredits: 5,
        }
    }

    fn transaction(kind: TransactionKind) -> Transaction {
        Transaction {
            seq: 7,
            kind,
            delta_millicredits: -1500,
            earnings_delta_millicredits: 700,
            held_delta_millicredits: 1500,
            grant_id: Some("g".into()),
            hold_id: Some("h".into()),
            member_id: None,
            action: Some("image".into()),
            project: Some("p".into()),
            note: Some("a \"quoted\" note\n".into()),
            created_at_ms: 1_700_000_000_000,
        }
    }

    fn estimate() -> Estimate {
        let line = |kind, model: Option<&str>| Line {
            item: 1,
            action: "chat".into(),
            kind,
            label: "Input tokens – 🙂".into(),
            quantity: 3,
            min_millicredits: 1,
            max_millicredits: 9,
            expected_millicredits: 4,
            model: model.map(Into::into),
            agent: None,
        };
        Estimate {
            min_millicredits: 1,
            max_millicredits: 9,
            expected_millicredits: 4,
            exact: false,
            subtotal: Span {
                min_millicredits: 1,
                max_millicredits: 9,
                expected_millicredits: 4,
            },
            lines: [
                LineKind::Action,
                LineKind::Free,
                LineKind::Infra,
                LineKind::InputTokens,
                LineKind::OutputTokens,
                LineKind::PublisherAddon,
                LineKind::FreeMessage,
            ]
            .into_iter()
            .map(|k| line(k, (k == LineKind::InputTokens).then_some("gpt-4o")))
            .collect(),
            card: CardRef {
                id: "c".into(),
                version: "2".into(),
                hash: "sha256:ab".into(),
            },
        }
    }

    fn balance(last: Option<Transaction>, debt: u64) -> Balance {
        Balance {
            wallet_id: "w".into(),
            kind: WalletKind::Organization,
            balance_millicredits: 10,
            held_millicredits: 2,
            available_millicredits: 8,
            state: BalanceState::Critical,
            low_threshold_millicredits: 100_000,
            critical_threshold_millicredits: 10_000,
            lifetime_used_millicredits: u64::MAX,
            last_transaction: last,
            plan_id: debt.gt(&0).then(|| "pro".to_string()),
            debt_millicredits: debt,
        }
    }

    #[test]
    fn every_client_type_reads_what_serde_writes() {
        round(balance(None, 0));
        for rule in [
            None,
            Some(AutoTopUpRule {
                below_credits: 100,
                pack_id: "starter".into(),
                pack_name: "Starter".into(),
                quantity: 1,
                credits: 50,
                amount_minor: 500,
                currency: "usd".into(),
                max_per_month: 3,
                max_amount_minor_per_month: 5000,
                status: "active".into(),
                failures: 1,
                last_error: Some("Your card was declined.".into()),
                retry_at_ms: Some(1_768_000_000_000),
            }),
        ] {
            round(AutoTopUp {
                wallet_id: "w".into(),
                bounds: AutoTopUpBounds::default(),
                card_saved_at_ms: rule.as_ref().map(|_| 1_767_000_000_000),
                rule,
                this_month_count: 1,
                this_month_amount_minor: 500,
            });
        }
        for plan in [None, Some(Some(1_768_000_000_000)), Some(None)] {
            round(Allowance {
                wallet_id: "w".into(),
                plan: plan.map(|renews_at_ms| PlanStatus {
                    id: "pro".into(),
                    name: "Pro".into(),
                    renewal: if renews_at_ms.is_some() {
                        Renewal::Monthly
                    } else {
                        Renewal::Once
                    },
                    allowance_millicredits: 3_000_000,
                    left_millicredits: 1,
                    renews_at_ms,
                }),
                parts: vec![
                    CreditPart {
                        source: "plan".into(),
                        name: Some("Pro".into()),
                        remaining_millicredits: 1,
                        expires_at_ms: Some(5),
                    },
                    CreditPart {
                        source: "grant".into(),
                        name: None,
                        remaining_millicredits: 2,
                        expires_at_ms: None,
                    },
                ],
            });
        }
        for kind in [
            WalletKind::Workspace,
            WalletKind::Personal,
            WalletKind::Organization,
        ] {
            round(WalletSummary {
                wallet_id: "wal_1".into(),
                kind,
                available_millicredits: 7,
            });
        }
        for (note, after) in [(Some("2K costs more"), Some(75_000)), (None, None)] {
            let change = match after {
                Some(_) => Change::Up,
                None => Change::Removed,
            };
            round(PriceNotice {
                version_no: 2,
                effective_at_ms: 10,
                applies_at_ms: 20,
                note: note.map(str::to_string),
                changes: vec![PriceChange {
                    action: "image".into(),
                    name: "Image generation".into(),
                    variant: "resolution=2k".into(),
                    before: Some(Span {
                        min_millicredits: 60_000,
                        max_millicredits: 60_000,
                        expected_millicredits: 60_000,
                    }),
                    after: after.map(|mc| Span {
                        min_millicredits: mc,
                        max_millicredits: mc,
                        expected_millicredits: mc,
                    }),
                    change,
                    display: "Image generation (resolution=2k): 60 → 75 credits".into(),
                }],
                other_changes: 1,
            });
        }
        for status in [
            CheckoutState::Pending,
            CheckoutState::Paid,
            CheckoutState::Failed,
            CheckoutState::Expired,
        ] {
            round(CheckoutStatus {
                id: "chk_1".into(),
                status,
                credits: 1000,
                amount_minor: 1000,
                currency: "usd".into(),
                pack_id: Some("custom".into()),
                plan_id: None,
                created_at_ms: 5,
                completed_at_ms: (status == CheckoutState::Paid).then_some(6),
            });
        }
        round(ConversationUsage {
            conversation_id: "chat-1".into(),
            turns: 3,
            charged_millicredits: 4_500,
            held_millicredits: 2_000,
        });
        round(AgentOffer {
            id: "seo-writer".into(),
            name: "SEO Writer".into(),
            model_name: "GPT-4o".into(),
            per_message: Span {
                min_millicredits: 1,
                max_millicredits: 3,
                expected_millicredits: 2,
            },
            publisher_addon_millicredits: 500,
            free_messages: 5,
            free_left: 4,
        });
        round(Earnings {
            wallet_id: "w".into(),
            available_millicredits: 1,
            pending_millicredits: 2,
            paid_out_millicredits: 3,
            platform_share_millicredits: 4,
            minimum_payout_millicredits: 100_000,
            payout_available: true,
        });
        round(balance(Some(transaction(TransactionKind::Revoke)), 12));
        round(BalanceEvent {
            wallet_id: "w".into(),
            balance: balance(None, 3),
        });
        round(CheckoutStarted {
            id: "cs".into(),
            url: "https://pay.example/cs?a=1&b=2".into(),
            credits: 1000,
            amount_minor: 999,
            currency: "EUR".into(),
        });
        for scope in [CapScope::Wallet, CapScope::Member, CapScope::Project] {
            for period in [
                CapPeriod::Day,
                CapPeriod::Week,
                CapPeriod::Month,
                CapPeriod::Cycle,
            ] {
                round(Cap {
                    scope,
                    period,
                    subject: (scope != CapScope::Wallet).then(|| "s".into()),
                    ..cap()
                });
            }
        }
        for state in [BalanceState::Ok, BalanceState::Low, BalanceState::Critical] {
            round(Balance {
                state,
                ..balance(None, 0)
            });
        }
        for (streaming, short, c) in [(false, None, None), (true, Some(shortfall()), Some(cap()))] {
            round(Quote {
                id: "q".into(),
                wallet_id: "w".into(),
                estimate: estimate(),
                expires_at_ms: 5,
                hold_millicredits: 9,
                streaming,
                available_millicredits: 0,
                would_exceed: short.is_some(),
                shortfall: short,
                cap: c,
            });
        }
        for stream in [
            None,
            Some(HoldStream {
                confirmed_max_millicredits: 1,
                reserved_output_tokens: 2,
                generated_output_tokens: 3,
                generated_millicredits: 4,
            }),
        ] {
            round(Hold {
                id: "h".into(),
                quote_id: "q".into(),
                wallet_id: "w".into(),
                amount_millicredits: 9,
                status: HoldStatus::Refunded,
                captured_millicredits: stream.as_ref().map(|_| 7),
                expires_at_ms: 1,
                created_at_ms: 0,
                member_id: stream.as_ref().map(|_| "mem_1".into()),
                stream,
            });
        }
        round(Page {
            items: TransactionKind::ALL.map(transaction).to_vec(),
            next_cursor: Some("abc".into()),
        });
        round(Page::<Transaction> {
            items: vec![],
            next_cursor: None,
        });
        round(Usage {
            wallet_id: "w".into(),
            group_by: UsageGroup::Month,
            rows: vec![UsageRow {
                key: "2026-11".into(),
                used_millicredits: 5,
                charges: 1,
            }],
            total_millicredits: 5,
        });
        for role in [Role::Viewer, Role::Member, Role::Admin, Role::Owner] {
            round(vec![Member {
                id: "m".into(),
                name: "Ana".into(),
                role,
                external_id: (role == Role::Admin).then(|| "ext".into()),
                created_at_ms: 3,
            }]);
        }
        for code in ErrorCode::ALL {
            round(ApiError {
                code,
                message: "no".into(),
                path: Some("request.items[0]".into()),
                shortfall: Some(shortfall()),
                cap: Some(cap()),
                retry_after_ms: Some(1000),
            });
        }
        round(ApiError::new(ErrorCode::Internal, "x"));
        round(vec![pack()]);
    }

    #[test]
    fn unknown_codes_and_fields_read_as_serde_reads_them() {
        let e: ApiError =
            from_json_text(r#"{"code":"from_the_future","message":"m","extra":1}"#).unwrap();
        assert_eq!(e.code, ErrorCode::Unknown);
        let err = from_json_text::<Page<Transaction>>(r#"{"items":[{"seq":1}]}"#).unwrap_err();
        assert_eq!(err.path, "items[0].kind");
        assert!(from_json_text::<Balance>("[1]").is_err());
    }
}
