//! Estimates per second for each example card: `cargo bench -p creditkit-pricing`.
//! Criterion reports time per estimate and throughput in estimates/s ("elem/s").

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use creditkit_pricing::{estimate, parse_card, Request};
    use criterion::{black_box, Criterion, Throughput};

    const CASES: &[(&str, &str, &str)] = &[
        (
            "kappax",
            include_str!("../../../examples/ratecards/kappax.json"),
            r#"{"action":"chat_turn","params":{"model":"kappax-agent","input_tokens":200}}"#,
        ),
        (
            "campaigns",
            include_str!("../../../examples/ratecards/campaigns.json"),
            r#"{"action":"campaign_creation","params":{"platforms":3,"weeks":4,"posts_per_week":5}}"#,
        ),
        (
            "landing",
            include_str!("../../../examples/ratecards/landing.json"),
            r#"{"action":"landing_page","params":{"sections":10,"rewrites":15,"images_1k":3}}"#,
        ),
        (
            "kumari",
            include_str!("../../../examples/ratecards/kumari.json"),
            r#"{"action":"compare_mode","params":{"models":4}}"#,
        ),
        (
            "kopai",
            include_str!("../../../examples/ratecards/kopai.json"),
            r#"{"action":"message","quantity":3,"params":{"agent":"seo-writer","messages_used":4}}"#,
        ),
    ];

    pub(super) fn benches(c: &mut Criterion) {
        let mut g = c.benchmark_group("estimate");
        g.throughput(Throughput::Elements(1));
        for (name, card, request) in CASES {
            let card = parse_card(card).unwrap();
            let request = Request::from_json(request).unwrap();
            g.bench_function(*name, |b| {
                b.iter(|| estimate(black_box(&card), black_box(&request)).unwrap())
            });
        }
        g.finish();
        let mut g = c.benchmark_group("parse_card");
        for (name, card, _) in CASES {
            g.throughput(Throughput::Bytes(card.len() as u64));
            g.bench_function(*name, |b| b.iter(|| parse_card(black_box(card)).unwrap()));
        }
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, native::benches);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
