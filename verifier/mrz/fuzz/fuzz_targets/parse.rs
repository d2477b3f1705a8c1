//! Fuzz target: arbitrary bytes, split into lines, through `mrz::parse`. Owns no logic beyond
//! the split and a consistency assertion; any panic is a bug (STYLE.md, Errors).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').collect();
    let today = mrz::Date::new(2026, 11, 25).expect("2026-11-25 is a valid date");
    if let Ok(read) = mrz::parse(&lines, today) {
        assert_eq!(read.valid, read.checks.iter().all(|c| c.passed) && read.invalid_characters.is_empty());
        let _ = mrz::AcceptancePolicy::standard().evaluate(&read, today);
    }
});
