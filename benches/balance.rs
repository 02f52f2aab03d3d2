//! Endpoint pick cost per policy for 10/100/1,000 endpoints, Maglev table build (100 endpoints,
//! 65,537 slots) and ring build (1,024 entries), each group with a naive baseline measured in the
//! same run: modulo hashing (`xxhash64(key) % n`) for picks, filling the same number of slots
//! round-robin for builds. Read the figures as multiples of the baseline.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use meshroute::FastRng;
use meshroute::balance::hash::xxhash64;
use meshroute::balance::least_request::{LeastRequest, LeastRequestConfig};
use meshroute::balance::maglev::Maglev;
use meshroute::balance::random;
use meshroute::balance::ring_hash::{HashFunction, RingHash};
use meshroute::balance::round_robin::RoundRobin;

fn hosts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("10.0.{}.{}:8080", i / 250, i % 250 + 1))
        .collect()
}

fn picks(c: &mut Criterion) {
    let mut group = c.benchmark_group("balance/pick");
    for n in [10usize, 100, 1000] {
        let names = hosts(n);
        let keyed: Vec<(&str, u32)> = names.iter().map(|h| (h.as_str(), 1)).collect();
        let weighted: Vec<u32> = (0..n).map(|i| (i % 3 + 1) as u32).collect();
        let equal = vec![1u32; n];
        let active = vec![0u32; n];
        let mut rng = FastRng::from_seed(1);
        group.bench_with_input(
            BenchmarkId::new("modulo hash (baseline)", n),
            &n,
            |b, &n| b.iter(|| black_box(xxhash64(black_box(b"alice"), 0) % n as u64)),
        );
        group.bench_with_input(BenchmarkId::new("random", n), &n, |b, &n| {
            b.iter(|| black_box(random::pick(n, &mut rng)))
        });
        let mut rr = RoundRobin::new(&equal, 7);
        group.bench_with_input(BenchmarkId::new("round_robin", n), &n, |b, _| {
            b.iter(|| black_box(rr.pick(&mut rng)))
        });
        let mut wrr = RoundRobin::new(&weighted, 7);
        group.bench_with_input(
            BenchmarkId::new("round_robin weighted (EDF)", n),
            &n,
            |b, _| b.iter(|| black_box(wrr.pick(&mut rng))),
        );
        let mut lr = LeastRequest::new(&equal, LeastRequestConfig::default(), 7);
        group.bench_with_input(BenchmarkId::new("least_request P2C", n), &n, |b, _| {
            b.iter(|| black_box(lr.pick(&active, &mut rng)))
        });
        let mut wlr = LeastRequest::new(&weighted, LeastRequestConfig::default(), 7);
        group.bench_with_input(
            BenchmarkId::new("least_request weighted (EDF)", n),
            &n,
            |b, _| b.iter(|| black_box(wlr.pick(&active, &mut rng))),
        );
        let ring = RingHash::build(&keyed, 1024, 8 * 1024 * 1024, HashFunction::XxHash).unwrap();
        group.bench_with_input(
            BenchmarkId::new("ring_hash (hash + lookup)", n),
            &n,
            |b, _| b.iter(|| black_box(ring.pick(xxhash64(black_box(b"alice"), 0), 0))),
        );
        let maglev = Maglev::build(&keyed, 65537).unwrap();
        group.bench_with_input(BenchmarkId::new("maglev (hash + lookup)", n), &n, |b, _| {
            b.iter(|| black_box(maglev.pick(xxhash64(black_box(b"alice"), 0), 0)))
        });
    }
    group.finish();
}

fn builds(c: &mut Criterion) {
    let mut group = c.benchmark_group("balance/build");
    group.sample_size(20);
    let names = hosts(100);
    let keyed: Vec<(&str, u32)> = names.iter().map(|h| (h.as_str(), 1)).collect();
    group.bench_function("fill 65537 slots (baseline)", |b| {
        b.iter(|| black_box((0..65537u32).map(|i| i % 100).collect::<Vec<u32>>()))
    });
    group.bench_function("maglev 100 endpoints, 65537 slots", |b| {
        b.iter(|| black_box(Maglev::build(black_box(&keyed), 65537).unwrap()))
    });
    group.bench_function("fill 1024 slots (baseline)", |b| {
        b.iter(|| {
            black_box(
                (0..1024u64)
                    .map(|i| (i, i % 100))
                    .collect::<Vec<(u64, u64)>>(),
            )
        })
    });
    group.bench_function("ring 100 endpoints, 1024 entries", |b| {
        b.iter(|| {
            black_box(
                RingHash::build(
                    black_box(&keyed),
                    1024,
                    8 * 1024 * 1024,
                    HashFunction::XxHash,
                )
                .unwrap(),
            )
        })
    });
    let maglev = Maglev::build(&keyed, 65537).unwrap();
    println!(
        "maglev table: {} slots, {} byte(s) per slot",
        maglev.table_size(),
        maglev.bytes_per_slot()
    );
    group.finish();
}

criterion_group!(benches, picks, builds);
criterion_main!(benches);
