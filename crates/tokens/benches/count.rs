//! Native token counting speed: full count and one keystroke in the middle of 10k chars.
//! Throughput is reported by criterion in MiB/s (`Throughput::Bytes`).

use std::sync::Arc;

use creditkit_tokens::{Bpe, Encoding, Incremental};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const TEXT: &str = include_str!("../tests/corpus/mixed_10k.txt");

fn counting(c: &mut Criterion) {
    let mut g = c.benchmark_group("count");
    g.throughput(Throughput::Bytes(TEXT.len() as u64));
    for enc in Encoding::ALL {
        let bpe = Bpe::embedded(enc);
        g.bench_with_input(BenchmarkId::new("full", enc), TEXT, |b, t| {
            b.iter(|| bpe.count(black_box(t)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("keystroke");
    for enc in Encoding::ALL {
        let bpe = Arc::new(Bpe::from_asset(enc, Bpe::asset_bytes(enc)).unwrap());
        let mut inc = Incremental::new(bpe);
        inc.set(TEXT).unwrap();
        let mid = (0..=TEXT.len() / 2)
            .rev()
            .find(|&i| TEXT.is_char_boundary(i))
            .unwrap();
        let (with_x, without) = {
            let mut s = TEXT.to_string();
            s.insert(mid, 'x');
            (s, TEXT.to_string())
        };
        // Type a character, then delete it: two keystrokes per iteration.
        g.bench_function(BenchmarkId::new("type_and_delete_mid", enc), |b| {
            b.iter(|| {
                inc.set(black_box(&with_x)).unwrap();
                inc.set(black_box(&without)).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, counting);
criterion_main!(benches);
