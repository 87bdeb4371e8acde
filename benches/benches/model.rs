//! Model throughput: entity encode/decode (postcard beside JSON), SOATE parsing,
//! de-duplication keys, and the indicator report.
//!
//! `cargo bench -p kenesh-benches --bench model`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kenesh_model::indicators::{IndicatorConfig, compute};
use kenesh_model::{FiscalYear, Issue, SoateCode, text};

fn entities(c: &mut Criterion) {
    let records = kenesh_report::demo_records(1, 2_000, FiscalYear(2024));
    let issues: Vec<Issue> = records.issues.clone();
    let bytes: Vec<Vec<u8>> = issues
        .iter()
        .map(|i| postcard::to_allocvec(i).unwrap())
        .collect();
    let total: usize = bytes.iter().map(Vec::len).sum();
    let json: Vec<String> = issues
        .iter()
        .map(|i| serde_json::to_string(i).unwrap())
        .collect();
    let json_total: usize = json.iter().map(String::len).sum();
    println!(
        "{} issues: postcard {total} B, JSON {json_total} B",
        issues.len()
    );

    let mut g = c.benchmark_group("issue");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("postcard_encode", |b| {
        b.iter(|| {
            issues
                .iter()
                .map(|i| postcard::to_allocvec(black_box(i)).unwrap().len())
                .sum::<usize>()
        })
    });
    g.bench_function("postcard_decode", |b| {
        b.iter(|| {
            bytes
                .iter()
                .map(|x| {
                    postcard::from_bytes::<Issue>(black_box(x))
                        .unwrap()
                        .supporters
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.throughput(Throughput::Bytes(json_total as u64));
    g.bench_function("json_encode", |b| {
        b.iter(|| {
            issues
                .iter()
                .map(|i| serde_json::to_string(black_box(i)).unwrap().len())
                .sum::<usize>()
        })
    });
    g.bench_function("json_decode", |b| {
        b.iter(|| {
            json.iter()
                .map(|x| {
                    serde_json::from_str::<Issue>(black_box(x))
                        .unwrap()
                        .supporters
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

fn text_and_codes(c: &mut Criterion) {
    let names = [
        "Жапаров",
        "Zhaparov",
        "Үсөнбаев",
        "Usenbaev",
        "Чыңгыз Айтматов",
        "Kyrgyzbaev",
    ];
    let mut g = c.benchmark_group("text");
    g.throughput(Throughput::Elements(names.len() as u64));
    g.bench_function("dedup_key", |b| {
        b.iter(|| {
            names
                .iter()
                .map(|n| text::dedup_key(black_box(n)).as_str().len())
                .sum::<usize>()
        })
    });
    g.finish();
    let codes = [
        "41705410000010",
        "41711201000000",
        "41708222000000",
        "41705214801000",
    ];
    let mut g = c.benchmark_group("soate");
    g.throughput(Throughput::Elements(codes.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            codes
                .iter()
                .filter_map(|s| black_box(s).parse::<SoateCode>().ok())
                .count()
        })
    });
    g.finish();
}

fn report(c: &mut Criterion) {
    let fy = FiscalYear(2024);
    let mut g = c.benchmark_group("indicators");
    for people in [400usize, 4_000] {
        let records = kenesh_report::demo_records(1, people, fy);
        g.throughput(Throughput::Elements(people as u64));
        g.bench_function(format!("compute_and_publish_{people}_people"), |b| {
            b.iter(|| compute(black_box(&records), fy, &IndicatorConfig::default()).publish())
        });
    }
    g.finish();
}

criterion_group!(benches, entities, text_and_codes, report);
criterion_main!(benches);
