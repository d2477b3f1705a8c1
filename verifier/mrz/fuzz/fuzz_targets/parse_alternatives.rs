//! Fuzz target: arbitrary bytes as scored OCR alternatives through `mrz::parse_alternatives`.
//! Lines are split on `\n`; each position takes 3 bytes: a first choice, a second choice and
//! the second choice's score (the first scores 0.5, so either may win). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines: Vec<Vec<Vec<(u8, f32)>>> = data
        .split(|&b| b == b'\n')
        .map(|line| {
            line.chunks(3)
                .map(|p| match *p {
                    [a, b, s] => vec![(a, 0.5), (b, f32::from(s) / 255.0)],
                    [a, b] => vec![(a, 0.5), (b, f32::NAN)],
                    _ => p.iter().map(|&a| (a, 1.0)).collect(),
                })
                .collect()
        })
        .collect();
    let today = mrz::Date::new(2026, 11, 25).expect("2026-11-25 is a valid date");
    if let Ok(read) = mrz::parse_alternatives(&lines, today, 1.0) {
        assert_eq!(read.valid, read.checks.iter().all(|c| c.passed) && read.invalid_characters.is_empty());
        let _ = mrz::AcceptancePolicy::standard().evaluate(&read, today);
    }
});
