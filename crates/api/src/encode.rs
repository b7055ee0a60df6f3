//! The request bodies and event details a browser writes, as JSON without serde
//! ([`creditkit_pricing::ToJson`]); the server reads them with its serde derives, and
//! the tests check that it reads back exactly what was written.

use creditkit_pricing::wire_names;

use crate::{Actor, BalanceState, CapPeriod, CapScope};

wire_names! {
    Actor {
        Operator = "operator", ApiKey = "api_key", Owner = "owner", Admin = "admin",
        Member = "member", Viewer = "viewer",
    }
    CapScope { Wallet = "wallet", Member = "member", Project = "project" }
    CapPeriod { Day = "day", Week = "week", Month = "month", Cycle = "cycle" }
    BalanceState { Ok = "ok", Low = "low", Critical = "critical" }
}

#[cfg(test)]
mod tests {
    use creditkit_pricing::{Item, Request, ToJson};
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    use crate::*;

    /// Written without serde, read back by serde: the same value, and the same
    /// document serde would write (key order aside).
    fn round<T: ToJson + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(v: T) {
        let text = v.to_json_string();
        let back: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back, v, "{text}");
        let ours: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(ours, serde_json::to_value(&v).unwrap(), "{text}");
    }

    #[test]
    fn every_browser_body_reads_back_as_written() {
        let request = Request {
            items: vec![
                Item::new("chat")
                    .param("model", "gpt-4o")
                    .param("input_text", "a \"quoted\"\nline 🙂"),
                Item::new("image").quantity(3),
            ],
        };
        for (wallet, project, stream) in [(None, None, None), (Some("w"), Some("p"), Some(64))] {
            round(QuoteRequest {
                wallet_id: wallet.map(Into::into),
                request: request.clone(),
                project: project.map(Into::into),
                stream: stream.map(|first_output_tokens| StreamStart {
                    first_output_tokens,
                }),
                conversation_id: project.map(|p| format!("chat-{p}")),
            });
        }
        round(PayoutRequest {
            amount_millicredits: 100_000,
        });
        round(Thresholds {
            low_threshold_millicredits: 100_000,
            critical_threshold_millicredits: 10_000,
        });
        round(HoldRequest {
            quote_id: "q_1".into(),
        });
        round(CheckoutRequest::default());
        round(CheckoutRequest {
            pack_id: Some("large".into()),
            plan_id: Some("pro".into()),
            quantity: Some(2),
            wallet_id: Some("w".into()),
            return_url: Some("https://app.example/after?x=1".into()),
            save_card: Some(true),
        });
        round(AutoTopUpRequest {
            wallet_id: Some("w".into()),
            below_credits: 100,
            pack_id: "medium".into(),
            quantity: Some(2),
            max_per_month: 3,
            max_amount_minor_per_month: Some(10_000),
        });
        round(AutoTopUpRequest::default());
        for scope in [CapScope::Wallet, CapScope::Member, CapScope::Project] {
            for period in [
                CapPeriod::Day,
                CapPeriod::Week,
                CapPeriod::Month,
                CapPeriod::Cycle,
            ] {
                let subject = (scope != CapScope::Wallet).then(|| "s".to_string());
                round(NewCap {
                    scope,
                    subject: subject.clone(),
                    wallet_id: subject.clone(),
                    limit_millicredits: 5000,
                    period,
                });
                round(Cap {
                    id: "cap".into(),
                    wallet_id: "w".into(),
                    scope,
                    subject,
                    limit_millicredits: 1,
                    period,
                    period_start_ms: -1,
                    resets_at_ms: 2,
                    spent_millicredits: 3,
                    reserved_millicredits: 4,
                    left_millicredits: 5,
                });
            }
        }
    }
}
