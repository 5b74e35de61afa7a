//! The cost of one password check and one hash, with `HashParams::default()` (OWASP's
//! Argon2id settings: 19 MiB, 2 passes, 1 lane): what a login costs a hashing worker,
//! and so how many logins a second one worker can take.
//!
//! Each iteration is tens of milliseconds, so the sample is small and the warm-up
//! short: the whole run takes about 20 s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

use parley::password::{Credential, HashParams, Hasher, Password};

fn argon2id_defaults(c: &mut Criterion) {
    let hasher = Hasher::new(HashParams::default()).expect("default parameters");
    let password = Password::new("correct horse battery staple".to_owned());
    let credential = Credential::Phc(hasher.hash(&password).expect("hash"));

    let mut group = c.benchmark_group("argon2id defaults");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("verify right password", |b| {
        b.iter(|| {
            let verdict = hasher.verify(Some(black_box(&credential)), black_box(&password));
            assert!(verdict.ok);
        })
    });
    // An unknown name runs the dummy verification: it should cost the same.
    group.bench_function("verify unknown name", |b| {
        b.iter(|| hasher.verify(black_box(None), black_box(&password)))
    });
    group.bench_function("hash", |b| {
        b.iter(|| hasher.hash(black_box(&password)).expect("hash"))
    });
    group.finish();
}

criterion_group!(benches, argon2id_defaults);
criterion_main!(benches);
