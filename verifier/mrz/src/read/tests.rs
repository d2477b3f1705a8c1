//! Format-level tests of `parse` and `parse_alternatives`: ICAO 9303 specimens, synthetic
//! documents for the other layouts, every check digit, names, dates, the French expiry rule,
//! long document numbers, the policy, corrections and errors.
//!
//! Specimens are ICAO's or synthetic; `?` in a test line is replaced by the check digit the
//! layout puts there (composite last), so a test can state every other character.

use super::*;
use crate::check_digit::check_digit;
use crate::correct;
use crate::policy::{Acceptance, AcceptancePolicy, ReasonCode};

/// The doubt margin these tests read with (one score unit: the service's single-frame setting,
/// `mrz.reader.recognition.doubt_margin`); the tests set their scores around it.
const DOUBT: f32 = 1.0;

/// The standard policy's reasons for `read` on day `today`, as their codes print.
fn reasons(read: &MrzRead, today: Date) -> Vec<String> {
    AcceptancePolicy::standard().evaluate(read, today).reasons().iter().map(ToString::to_string).collect()
}

/// Fills `?` check digits of `lines` under the layout they are detected as.
fn fill(lines: &[&str]) -> Vec<String> {
    fill_as(Layout::detect(&lines.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>()), lines)
}

/// Fills `?` check digits of `lines` under `layout`.
fn fill_as(layout: Option<Layout>, lines: &[&str]) -> Vec<String> {
    let mut reading: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    if let Some(layout) = layout {
        // Composite checks come last in every layout's table, after the digits they cover.
        for spec in layout.checks() {
            let check = correct::resolve(spec, &reading);
            let (line, col) = check.digit;
            if reading[line][col] == b'?' {
                let covered: Vec<u8> = check.over.iter().map(|&(l, c)| reading[l][c]).collect();
                reading[line][col] = check_digit(&covered).expect("test lines use the MRZ alphabet");
            }
        }
    }
    reading.into_iter().map(|l| String::from_utf8(l).expect("test lines are ASCII")).collect()
}

fn summary(r: &MrzRead, today: Date) -> String {
    let date = |d: Option<Date>| d.map_or_else(|| "-".to_string(), |d| d.to_string());
    let expiry = r.expiry.map_or_else(|| "-".to_string(), |e| format!("{} {}", e.date, e.basis.as_str()));
    let checks: Vec<String> =
        r.checks.iter().map(|c| format!("{}:{}", c.field.as_str(), if c.passed { "ok" } else { "FAIL" })).collect();
    let acceptance = AcceptancePolicy::standard().evaluate(r, today);
    let reasons = reasons(r, today);
    let corrections: Vec<String> =
        r.corrections.iter().map(|c| format!("{}:{}:{}>{}", c.line, c.column, c.from, c.to)).collect();
    format!(
        "{} {} code={} state={} number={} nationality={}\n\
         names={}|{} truncated={}\n\
         birth={} sex={} expiry={} issue={}\n\
         optional={}\n\
         checks={} valid={}\n\
         accepted={} reasons={}\n\
         corrections={}",
        r.format.as_str(),
        r.kind.as_str(),
        r.document_code,
        r.issuing_state,
        r.document_number.expose(),
        r.nationality.as_deref().unwrap_or("-"),
        r.surname.expose(),
        r.given_names.expose(),
        r.names_truncated,
        date(r.birth_date.map(Sensitive::into_exposed)),
        r.sex.map_or("-", |s| s.as_str()),
        expiry,
        date(r.issue_date),
        r.optional_data.expose().join("|"),
        checks.join(" "),
        r.valid,
        acceptance.is_accepted(),
        reasons.join(" "),
        corrections.join(" "),
    )
}

/// Parses `lines` (with `?` check digits filled) on day `today` and compares the summary, or
/// the error, with `expect` (leading whitespace of each line ignored).
fn check(lines: &[&str], today: &str, expect: &str) {
    let today = Date::from_iso(today).expect("test today is a valid ISO date");
    let lines = fill(lines);
    let got = match parse(&lines, today) {
        Ok(read) => summary(&read, today),
        Err(e) => format!("error: {e}"),
    };
    let expect: Vec<&str> = expect.trim().lines().map(str::trim).collect();
    assert_eq!(got, expect.join("\n"), "\nlines: {lines:?}");
}

const TD3_1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
const TD3_2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

#[test]
fn td3_icao_specimen() {
    check(
        &[TD3_1, TD3_2],
        "2011-06-01",
        "td3 passport code=P state=UTO number=L898902C3 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2012-04-15 printed issue=-
         optional=ZE184226B
         checks=document_number:ok birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=",
    );
    check(
        &[TD3_1, TD3_2],
        "2026-11-25",
        "td3 passport code=P state=UTO number=L898902C3 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2012-04-15 printed issue=-
         optional=ZE184226B
         checks=document_number:ok birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=true
         accepted=false reasons=document.specimen document.expired
         corrections=",
    );
}

#[test]
fn td1_icao_specimen() {
    check(
        &["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"],
        "2012-04-15",
        "td1 identity_card code=I state=UTO number=D23145890 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2012-04-15 printed issue=-
         optional=|
         checks=document_number:ok birth_date:ok expiry_date:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=",
    );
}

#[test]
fn td2_card_issued_by_france_is_not_the_legacy_french_card() {
    // `IDFRA` starts both; the layout whose check digits pass wins, with no "corrections".
    let lines =
        fill_as(Some(Layout::Td2), &["IDFRAGARCON<<MARIE<EVE<ELOISE<<<<<<<", "AN8790069?FRA620214?F290520?<<<<<<<?"]);
    let read = parse(&lines, Date::new(2026, 1, 1).expect("valid")).expect("parses");
    assert_eq!(read.format, Format::Td2);
    assert!(read.valid);
    assert!(read.corrections.is_empty());
    // The legacy card itself still reads as such (its own checks pass, TD2's do not).
    let read =
        parse(&[FR_1, "0503751123452CAMILLE<MARIE<7006159F4"], Date::new(2010, 1, 1).expect("valid")).expect("parses");
    assert_eq!((read.format, read.valid), (Format::FrId, true));
    // A card printed with a composite check digit that fits only if its last line-1 character
    // were `I`: text input may take the confusable partner (check digits choose), but a clearly
    // recognised `1` is not swapped to make the check pass.
    let lines = ["IDFRADARCY<LE<GOFF<FRANCOIS<<<133741", "2003133173793MARIE<EVE<<BEA9805242F5"];
    let read = parse(&lines, Date::new(2026, 1, 1).expect("valid")).expect("parses");
    assert_eq!((read.format, read.valid, read.corrections.len()), (Format::FrId, true, 1));
    let scored: Vec<Vec<Vec<(u8, f32)>>> =
        lines.iter().map(|l| l.bytes().map(|c| vec![(c, 0.0), (b'<', -9.0)]).collect()).collect();
    let read = parse_alternatives(&scored, Date::new(2026, 1, 1).expect("valid"), DOUBT).expect("parses");
    assert_eq!((read.format, read.valid, read.corrections.len()), (Format::FrId, false, 0));
}

#[test]
fn td2_icao_specimen() {
    check(
        &["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"],
        "2012-04-16",
        "td2 identity_card code=I state=UTO number=D23145890 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2012-04-15 printed issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok composite:ok valid=true
         accepted=false reasons=document.specimen document.expired
         corrections=",
    );
}

#[test]
fn visa_specimens() {
    check(
        &["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"],
        "1995-01-01",
        "mrva visa code=V state=UTO number=L8988901C nationality=XXX
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1940-09-07 sex=F expiry=1996-12-10 printed issue=-
         optional=6ZE184226B
         checks=document_number:ok birth_date:ok expiry_date:ok valid=true
         accepted=false reasons=document.visa_refused document.specimen
         corrections=",
    );
    check(
        &["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"],
        "1995-01-01",
        "mrvb visa code=V state=UTO number=L8988901C nationality=XXX
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1940-09-07 sex=F expiry=1996-12-10 printed issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok valid=true
         accepted=false reasons=document.visa_refused document.specimen
         corrections=",
    );
}

#[test]
fn long_document_numbers_overflow_into_optional_data() {
    // ICAO 9303 part 5, 4.2.2 note j: `D23145890734`, check digit 9.
    check(
        &["I<UTOD23145890<7349<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"],
        "2012-01-01",
        "td1 identity_card code=I state=UTO number=D23145890734 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2012-04-15 printed issue=-
         optional=|
         checks=document_number:ok birth_date:ok expiry_date:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=",
    );
    // With more optional data after the number's filler, and a wrong overflow check digit.
    check(
        &["I<UTOD23145890<7341<AB12<<<<<<", "7408122F1204159UTO<<<<<<<<<<<?", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"],
        "2012-01-01",
        "td1 identity_card code=I state=UTO number=D23145890734 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2012-04-15 printed issue=-
         optional=AB12|
         checks=document_number:FAIL birth_date:ok expiry_date:ok composite:ok valid=false
         accepted=false reasons=document.specimen mrz.check_digit_failed(document_number)
         corrections=",
    );
    // TD2, same rule (ICAO 9303 part 6).
    check(
        &["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D23145890<UTO7408122F12041597349<<<2"],
        "2012-01-01",
        "td2 identity_card code=I state=UTO number=D23145890734 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2012-04-15 printed issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=",
    );
}

// A TD3 whose number and personal number hold no confusable character, so no search can
// "repair" a deliberately wrong digit: fields, then `?` for digits the test does not set.
fn td3(number_check: &str, birth_check: &str, expiry_check: &str, personal_check: &str) -> [String; 2] {
    let line2 =
        format!("C4X7M9347{number_check}UTO740812{birth_check}F120415{expiry_check}AC7X34<<<<<<<<{personal_check}?");
    [TD3_1.to_string(), line2]
}

#[test]
fn every_check_digit_failure_is_named() {
    let cases = [
        (
            td3("8", "?", "?", "?"),
            "document_number:FAIL birth_date:ok expiry_date:ok optional_data:ok composite:ok",
            "document_number",
        ),
        (
            td3("?", "3", "?", "?"),
            "document_number:ok birth_date:FAIL expiry_date:ok optional_data:ok composite:ok",
            "birth_date",
        ),
        (
            td3("?", "?", "0", "?"),
            "document_number:ok birth_date:ok expiry_date:FAIL optional_data:ok composite:ok",
            "expiry_date",
        ),
        (
            td3("?", "?", "?", "5"),
            "document_number:ok birth_date:ok expiry_date:ok optional_data:FAIL composite:ok",
            "optional_data",
        ),
    ];
    for (lines, checks, field) in cases {
        let today = "2011-01-01";
        let lines = fill(&[&lines[0], &lines[1]]);
        let read = parse(&lines, Date::from_iso(today).expect("valid")).expect("an MRZ");
        let got: Vec<String> = read
            .checks
            .iter()
            .map(|c| format!("{}:{}", c.field.as_str(), if c.passed { "ok" } else { "FAIL" }))
            .collect();
        assert_eq!(got.join(" "), checks);
        assert!(!read.valid);
        assert_eq!(
            reasons(&read, Date::from_iso(today).expect("valid")),
            ["document.specimen".to_string(), format!("mrz.check_digit_failed({field})")]
        );
        assert!(read.corrections.is_empty(), "{:?}", read.corrections);
    }
    // The composite, last: everything else right.
    let [l1, l2] = td3("?", "?", "?", "?");
    let mut l2 = fill(&[&l1, &l2])[1].clone().into_bytes();
    l2[43] = if l2[43] == b'1' { b'2' } else { b'1' };
    let l2 = String::from_utf8(l2).expect("ASCII");
    let today = Date::new(2011, 1, 1).expect("valid");
    let read = parse(&[l1.as_str(), l2.as_str()], today).expect("an MRZ");
    assert_eq!(reasons(&read, today), ["document.specimen", "mrz.check_digit_failed(composite)"]);
}

#[test]
fn names() {
    // Compound surname, three given names.
    check(
        &["P<UTODE<LA<CRUZ<<JOSE<MARIA<ANA<<<<<<<<<<<<<", "C4X7M9347?UTO740812?M120415?<<<<<<<<<<<<<<<?"],
        "2011-01-01",
        "td3 passport code=P state=UTO number=C4X7M9347 nationality=UTO
         names=DE LA CRUZ|JOSE MARIA ANA truncated=false
         birth=1974-08-12 sex=M expiry=2012-04-15 printed issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=",
    );
    // Only a surname; sex `<` is unspecified; the empty personal number's check digit is `<`.
    check(
        &["P<UTOERIKSSON<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", "C4X7M9347?UTO740812?<120415?<<<<<<<<<<<<<<<?"],
        "2011-01-01",
        "td3 passport code=P state=UTO number=C4X7M9347 nationality=UTO
         names=ERIKSSON| truncated=false
         birth=1974-08-12 sex=X expiry=2012-04-15 printed issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=",
    );
    // Name field filled to the last position: may be truncated.
    check(
        &["P<UTOABCDEFGHIJKLMNOPQRSTUVWXYZ<<ANNA<MARIAZ", "C4X7M9347?UTO740812?X120415?<<<<<<<<<<<<<<0?"],
        "2011-01-01",
        "td3 passport code=P state=UTO number=C4X7M9347 nationality=UTO
         names=ABCDEFGHIJKLMNOPQRSTUVWXYZ|ANNA MARIAZ truncated=true
         birth=1974-08-12 sex=X expiry=2012-04-15 printed issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=",
    );
}

#[test]
fn dates_and_centuries() {
    // Born "261126" seen on 2026-11-25: 1926, not tomorrow. Expiry "761231": 1976, not 2076.
    check(
        &[TD3_1, "C4X7M9347?UTO261126?F761231?<<<<<<<<<<<<<<<?"],
        "2026-11-25",
        "td3 passport code=P state=UTO number=C4X7M9347 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1926-11-26 sex=F expiry=1976-12-31 printed issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=true
         accepted=false reasons=document.specimen document.expired
         corrections=",
    );
    // Expiry "361231" on the same day: 2036, valid. Born today.
    check(
        &[TD3_1, "C4X7M9347?UTO261125?F361231?<<<<<<<<<<<<<<<?"],
        "2026-11-25",
        "td3 passport code=P state=UTO number=C4X7M9347 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=2026-11-25 sex=F expiry=2036-12-31 printed issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=",
    );
    // Valid through the expiry day itself.
    check(
        &[TD3_1, "C4X7M9347?UTO740812?F261125?<<<<<<<<<<<<<<<?"],
        "2026-11-25",
        "td3 passport code=P state=UTO number=C4X7M9347 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2026-11-25 printed issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=",
    );
    // Dates that are not calendar dates (ICAO's `<<` for an unknown day included), with
    // matching check digits: the document cannot be checked.
    check(
        &[TD3_1, "C4X7M9347?UTO7408<<?F261331?<<<<<<<<<<<<<<<?"],
        "2026-11-25",
        "td3 passport code=P state=UTO number=C4X7M9347 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=- sex=F expiry=- issue=-
         optional=
         checks=document_number:ok birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=true
         accepted=false reasons=document.specimen mrz.field_invalid(birth_date) mrz.field_invalid(expiry_date)
         corrections=",
    );
}

const FR_1: &str = "IDFRAMARTIN<<<<<<<<<<<<<<<<<<<751234";

#[test]
fn french_id_card_before_2021() {
    // Synthetic card, digits computed independently: issued March 2005 to an adult.
    let l2 = "0503751123452CAMILLE<MARIE<7006159F4";
    check(
        &[FR_1, l2],
        "2019-01-01",
        "fr_id identity_card code=ID state=FRA number=050375112345 nationality=FRA
         names=MARTIN|CAMILLE MARIE truncated=false
         birth=1970-06-15 sex=F expiry=2020-03-01 fr_id_extended_15y issue=2005-03-01
         optional=751234
         checks=document_number:ok birth_date:ok composite:ok valid=true
         accepted=true reasons=
         corrections=",
    );
    check(
        &[FR_1, l2],
        "2026-11-25",
        "fr_id identity_card code=ID state=FRA number=050375112345 nationality=FRA
         names=MARTIN|CAMILLE MARIE truncated=false
         birth=1970-06-15 sex=F expiry=2020-03-01 fr_id_extended_15y issue=2005-03-01
         optional=751234
         checks=document_number:ok birth_date:ok composite:ok valid=true
         accepted=false reasons=document.expired
         corrections=",
    );
    // Issued 2005 to a minor (14): 10 years.
    check(
        &[FR_1, "050375112345?CAMILLE<MARIE<900615?F?"],
        "2014-01-01",
        "fr_id identity_card code=ID state=FRA number=050375112345 nationality=FRA
         names=MARTIN|CAMILLE MARIE truncated=false
         birth=1990-06-15 sex=F expiry=2015-03-01 fr_id_issue_10y issue=2005-03-01
         optional=751234
         checks=document_number:ok birth_date:ok composite:ok valid=true
         accepted=true reasons=
         corrections=",
    );
    // Issued 2003 to an adult: 10 years.
    check(
        &[FR_1, "030375112345?CAMILLE<MARIE<700615?M?"],
        "2014-01-01",
        "fr_id identity_card code=ID state=FRA number=030375112345 nationality=FRA
         names=MARTIN|CAMILLE MARIE truncated=false
         birth=1970-06-15 sex=M expiry=2013-03-01 fr_id_issue_10y issue=2003-03-01
         optional=751234
         checks=document_number:ok birth_date:ok composite:ok valid=true
         accepted=false reasons=document.expired
         corrections=",
    );
    // The final digit covers line 1 too: a changed administrative code (with no confusable
    // character the search could try) breaks it. An issue month 13 leaves the expiry unknown.
    // Given names that fill their field may be truncated.
    check(
        &["IDFRAMARTIN<<<<<<<<<<<<<<<<<<<7A3C4X", "051375112345?CAMILLEMARIEAN700615?M4"],
        "2014-01-01",
        "fr_id identity_card code=ID state=FRA number=051375112345 nationality=FRA
         names=MARTIN|CAMILLEMARIEAN truncated=true
         birth=1970-06-15 sex=M expiry=- issue=-
         optional=7A3C4X
         checks=document_number:ok birth_date:ok composite:FAIL valid=false
         accepted=false reasons=mrz.check_digit_failed(composite) mrz.field_invalid(issue_date)
         corrections=",
    );
}

#[test]
fn french_id_card_since_2021_is_td1() {
    check(
        &["IDFRAX4RTBPFW4?<<<<<<<<<<<<<<<", "9007138F3002119FRA<<<<<<<<<<<?", "MARTIN<<MAELYS<GAELLE<MARIE<<<"],
        "2026-11-25",
        "td1 identity_card code=ID state=FRA number=X4RTBPFW4 nationality=FRA
         names=MARTIN|MAELYS GAELLE MARIE truncated=false
         birth=1990-07-13 sex=F expiry=2030-02-11 printed issue=-
         optional=|
         checks=document_number:ok birth_date:ok expiry_date:ok composite:ok valid=true
         accepted=true reasons=
         corrections=",
    );
}

#[test]
fn driving_licences_are_recognised_and_refused() {
    check(
        &["D1FRA13AA000026181231MARTIN<<9"],
        "2011-06-01",
        "dl driving_licence code=D1 state=FRA number=13AA00002 nationality=-
         names=MARTIN| truncated=false
         birth=- sex=- expiry=2018-12-31 printed issue=-
         optional=
         checks=document_number:ok composite:ok valid=true
         accepted=false reasons=document.driving_licence_refused
         corrections=",
    );
    check(
        &["D<NLD12345678901234567890ABCDE"],
        "2011-06-01",
        "dl driving_licence code=D state=NLD number= nationality=-
         names=| truncated=false
         birth=- sex=- expiry=- issue=-
         optional=
         checks= valid=true
         accepted=false reasons=document.driving_licence_refused
         corrections=",
    );
    check(
        &["AAA001D<<", "FACHE305142128097<<800126<<<<<", "MARCHAND<<FABIENNE<<<<<<<<<<<<"],
        "2026-11-25",
        "dl driving_licence code=FA state=CHE number=AAA001D nationality=-
         names=MARCHAND|FABIENNE truncated=false
         birth=1980-01-26 sex=- expiry=- issue=-
         optional=
         checks= valid=true
         accepted=false reasons=document.driving_licence_refused
         corrections=",
    );
}

#[test]
fn residence_permits_are_refused() {
    check(
        &["IRFRAC4X7M9347?<<<<<<<<<<<<<<<", "7408122F3001019MAR<<<<<<<<<<<?", "BENALI<<SARA<<<<<<<<<<<<<<<<<<"],
        "2026-11-25",
        "td1 residence_permit code=IR state=FRA number=C4X7M9347 nationality=MAR
         names=BENALI|SARA truncated=false
         birth=1974-08-12 sex=F expiry=2030-01-01 printed issue=-
         optional=|
         checks=document_number:ok birth_date:ok expiry_date:ok composite:ok valid=true
         accepted=false reasons=document.residence_permit_refused
         corrections=",
    );
}

#[test]
fn ocr_confusions_are_corrected_by_field() {
    check(
        &["1<UT0D2314S8907<<<<<<<<<<<<<<<", "74O8122F12O4159UT0<<<<<<<<<<<6", "ER1KSS0N<<ANNA<MAR1A<<<<<<K<<<"],
        "2012-01-01",
        "td1 identity_card code=I state=UTO number=D23145890 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2012-04-15 printed issue=-
         optional=|
         checks=document_number:ok birth_date:ok expiry_date:ok composite:ok valid=true
         accepted=false reasons=document.specimen
         corrections=0:0:1>I 0:4:0>O 0:10:S>5 1:2:O>0 1:10:O>0 1:17:0>O 2:2:1>I 2:6:0>O 2:18:1>I 2:26:K><",
    );
    // Several single changes would pass the number's check digit: nothing is guessed.
    check(
        &[TD3_1, "L898902C37UTO7408122F1204159ZE184226B<<<<<1?"],
        "2011-06-01",
        "td3 passport code=P state=UTO number=L898902C3 nationality=UTO
         names=ERIKSSON|ANNA MARIA truncated=false
         birth=1974-08-12 sex=F expiry=2012-04-15 printed issue=-
         optional=ZE184226B
         checks=document_number:FAIL birth_date:ok expiry_date:ok optional_data:ok composite:ok valid=false
         accepted=false reasons=document.specimen mrz.check_digit_failed(document_number)
         corrections=",
    );
}

#[test]
fn scored_alternatives_let_check_digits_choose() {
    let today = Date::new(2011, 6, 1).expect("valid");
    let mut lines: Vec<Vec<Vec<(u8, f32)>>> =
        [TD3_1, TD3_2].iter().map(|l| l.bytes().map(|c| vec![(c, 0.9), (b'<', 0.01)]).collect()).collect();
    // Birth date "740812", position 16 ("8"): the OCR preferred `B`, then `3`, then `8`. The
    // class rules out `B`; `3` fails the birth check digit; `8` passes.
    lines[1][16] = vec![(b'B', 0.5), (b'3', 0.3), (b'8', 0.2)];
    // Position 0 of line 1 offers lowercase junk first: ignored.
    lines[0][0] = vec![(b'p', 0.9), (b'P', 0.8)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert!(read.valid, "{:?}", read.checks);
    assert_eq!(read.corrections, [Correction { line: 1, column: 16, from: 'B', to: '8' }]);
    assert_eq!(read.birth_date.map(Sensitive::into_exposed), Date::new(1974, 8, 12));

    // A position with nothing in the alphabet is an invalid character there: the format still
    // stands, the read is not valid, and the position and its field are named.
    lines[0][3] = vec![(0xE9, 1.0), (b'a', 0.5)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("still an MRZ");
    assert_eq!((read.format, read.valid), (Format::Td3, false));
    assert_eq!(read.invalid_characters, [InvalidCharacter { line: 0, column: 3, field: Some(Field::IssuingState) }]);
    assert!(!read.is_trustworthy());
    lines[0][3] = vec![];
    let read = parse_alternatives(&lines, today, DOUBT).expect("still an MRZ");
    assert_eq!(read.invalid_characters, [InvalidCharacter { line: 0, column: 3, field: Some(Field::IssuingState) }]);
}

#[test]
fn state_and_nationality_must_be_known_codes() {
    let today = Date::new(2011, 6, 1).expect("valid");
    let mut lines: Vec<Vec<Vec<(u8, f32)>>> =
        [TD3_1, TD3_2].iter().map(|l| l.bytes().map(|c| vec![(c, 0.9)]).collect()).collect();
    // Issuing state `UTO` read as `DTO` (no such code), with `U` the second choice.
    lines[0][2] = vec![(b'D', 0.6), (b'U', 0.4)];
    // Nationality `UTO` read `UTQ`, with `O` and `D` behind it: `UTD` is no code either.
    lines[1][12] = vec![(b'Q', 0.7), (b'D', 0.6), (b'O', 0.5)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert_eq!((read.issuing_state.as_str(), read.nationality.as_deref()), ("UTO", Some("UTO")));
    assert_eq!(
        read.corrections,
        [Correction { line: 0, column: 2, from: 'D', to: 'U' }, Correction { line: 1, column: 12, from: 'Q', to: 'O' }]
    );
    // With no known code among the alternatives, the reading stays and the policy says why.
    lines[0][2] = vec![(b'D', 0.6)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert_eq!(read.issuing_state, "DTO");
    let reasons = reasons(&read, today);
    assert!(reasons.contains(&"mrz.field_invalid(issuing_state)".to_string()), "{reasons:?}");
    assert_eq!(read.invalid_fields, [Field::IssuingState]);
    assert!(!read.is_trustworthy());
    // Germany's one-letter code is known.
    let german = ["P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<", "C01X00T478D<<6408125F2702283<<<<<<<<<<<<<<<4"];
    let today = Date::new(2020, 1, 1).expect("valid");
    let read = parse(&german, today).expect("an MRZ");
    assert_eq!(AcceptancePolicy::standard().evaluate(&read, today), Acceptance::Accepted);
}

#[test]
fn gapped_names_and_numbers_are_malformed() {
    assert!(!gapped_name("ERIKSSON<<ANNA<MARIA<<<<<<<"));
    assert!(!gapped_name("<<<<<<"));
    assert!(gapped_name("GRZESKIEW<<<<<LUKASZ<<<<<<"));
    assert!(gapped_name("ERIKSSON<<<ANNA"));
    assert!(!gapped_number("L898902C3") && !gapped_number("D2314<<<<"));
    assert!(gapped_number("2G<H<TCZO"));
    // A TD2 whose name lost letters to glare: every check passes, the policy still refuses.
    let lines = fill(&["I<UTOERIKSS<<<<<ANNA<MARIA<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<?"]);
    let today = Date::new(2011, 6, 1).expect("valid");
    let read = parse(&lines, today).expect("parses");
    assert!(read.valid && !read.is_trustworthy());
    assert_eq!(reasons(&read, today), ["document.specimen", "mrz.field_invalid(names)"]);
}

#[test]
fn doubtful_unchecked_positions_make_a_valid_read_untrustworthy() {
    let today = Date::new(2011, 6, 1).expect("valid");
    let mut lines: Vec<Vec<Vec<(u8, f32)>>> =
        [TD3_1, TD3_2].iter().map(|l| l.bytes().map(|c| vec![(c, 0.0), (b'<', -9.0)]).collect()).collect();
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert!(read.valid && read.is_trustworthy() && read.doubtful == 0);
    // The `A` of ANNA (a name, which no check digit covers) nearly read as `R`.
    lines[0][15] = vec![(b'A', 0.0), (b'R', -0.4)];
    // A close call inside the checked birth date does not count: its check digit settles it.
    lines[1][14] = vec![(b'4', 0.0), (b'9', -0.1)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert!(read.valid && !read.is_trustworthy());
    assert_eq!(read.doubtful, 1);

    // A checked field is doubtful when another reading passes its check digit nearly as
    // cheaply: `L` and `8` (document number positions 0 and 3, both weight 7) swapped keep the
    // check digit, and the OCR nearly preferred the swap.
    lines[0][15] = vec![(b'A', 0.0), (b'<', -9.0)];
    lines[1][14] = vec![(b'4', 0.0), (b'<', -9.0)];
    lines[1][0] = vec![(b'L', 0.0), (b'8', -0.3)];
    lines[1][3] = vec![(b'8', 0.0), (b'L', -0.3)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert_eq!(read.document_number.expose(), "L898902C3");
    assert!(read.valid && !read.is_trustworthy());
    assert_eq!(read.doubtful, 1);
    // With the swap far less likely, the check digit settles it.
    lines[1][0] = vec![(b'L', 0.0), (b'8', -2.0)];
    assert!(parse_alternatives(&lines, today, DOUBT).expect("an MRZ").is_trustworthy());

    // A correction against a fairly sure first choice (the birth date's `8` read as `3`, `8`
    // 1.5 behind) passes the check but waits for another frame: the print may be what is wrong.
    lines[1][16] = vec![(b'3', 0.0), (b'8', -1.5)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert_eq!(read.corrections, [Correction { line: 1, column: 16, from: '3', to: '8' }]);
    assert!(read.valid && !read.is_trustworthy());
    // Nearly a tie: the check digit settles it.
    lines[1][16] = vec![(b'3', 0.0), (b'8', -0.5)];
    assert!(parse_alternatives(&lines, today, DOUBT).expect("an MRZ").is_trustworthy());
}

#[test]
fn text_that_is_not_an_mrz() {
    check(&["p<UTO"], "2011-01-01", "error: no MRZ layout has lines of lengths [5]");
    check(&["P<UTO ERIK"], "2011-01-01", "error: no MRZ layout has lines of lengths [10]");
    check(&[], "2011-01-01", "error: no MRZ layout has lines of lengths []");
    check(&[TD3_1, &TD3_2[1..]], "2011-01-01", "error: no MRZ layout has lines of lengths [44, 43]");
    check(&[TD3_1, TD3_2, TD3_2], "2011-01-01", "error: no MRZ layout has lines of lengths [44, 44, 44]");
    // Blank lines and surrounding whitespace (a CR, say) are skipped.
    let today = Date::new(2011, 6, 1).expect("valid");
    let read = parse(&["", TD3_1, "  ", &format!(" {TD3_2}\r\n")], today).expect("an MRZ");
    assert!(read.valid);
}

#[test]
fn issue_14_characters_outside_the_alphabet_are_invalid_at_their_position() {
    let today = Date::new(2011, 6, 1).expect("valid");
    // A `?` from an OCR engine in the birth date, a lower-case letter in the name, an accented
    // capital (one character, two bytes) in the surname: the format is still TD3.
    let l1 = TD3_1.replacen("ANNA", "AnNA", 1).replacen("ERIKSSON", "ÉRIKSSON", 1);
    let l2 = TD3_2.replacen("740812", "74?812", 1);
    let read = parse(&[l1.as_str(), l2.as_str()], today).expect("still an MRZ");
    assert_eq!((read.format, read.valid), (Format::Td3, false));
    let at: Vec<(usize, usize, Option<Field>)> =
        read.invalid_characters.iter().map(|c| (c.line, c.column, c.field)).collect();
    assert_eq!(at, [(0, 5, Some(Field::Names)), (0, 16, Some(Field::Names)), (1, 15, Some(Field::BirthDate))]);
    assert!(!read.is_trustworthy());
    let reasons = reasons(&read, today);
    assert!(reasons.contains(&"mrz.invalid_character(birth_date)".to_string()), "{reasons:?}");
    assert!(reasons.contains(&"mrz.check_digit_failed(birth_date)".to_string()), "{reasons:?}");
    // The first letter in lower case: the layout is still recognised by it.
    let lower = TD3_1.replacen('P', "p", 1);
    let read = parse(&[lower.as_str(), TD3_2], today).expect("still an MRZ");
    assert_eq!(read.format, Format::Td3);
    assert_eq!(read.invalid_characters, [InvalidCharacter { line: 0, column: 0, field: None }]);
}

#[test]
fn issue_14_overflowed_numbers_pass_with_or_without_the_filler() {
    let today = Date::new(2011, 6, 1).expect("valid");
    // ICAO's TD1 example: number D23145890734, check digit 9 over the twelve characters.
    let icao = ["I<UTOD23145890<7349<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"];
    let read = parse(&icao, today).expect("an MRZ");
    let number = read.checks.iter().find(|c| c.field == Field::DocumentNumber).expect("a number check");
    assert_eq!((number.passed, number.overflow), (true, Some(OverflowRule::WithoutFiller)));
    assert_eq!(read.document_number.expose(), "D23145890734");
    // Number D23145890736: its check digit is 1 over the number alone, 3 with the `<` after
    // the ninth character counted, as some states compute it.
    let l2 = |l1: &str| fill_as(Some(Layout::Td1), &[l1, "7408122F1204159UTO<<<<<<<<<<<?", icao[2]])[1].clone();
    for (digit, rule) in [('1', Some(OverflowRule::WithoutFiller)), ('3', Some(OverflowRule::WithFiller)), ('5', None)]
    {
        let l1 = format!("I<UTOD23145890<736{digit}<<<<<<<<<<<");
        // Sure readings, so that no confusion can be corrected to make a check pass.
        let lines: Vec<Vec<Vec<(u8, f32)>>> = [l1.clone(), l2(&l1), icao[2].to_owned()]
            .iter()
            .map(|l| l.bytes().map(|c| vec![(c, 0.0)]).collect())
            .collect();
        let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
        let number = read.checks.iter().find(|c| c.field == Field::DocumentNumber).expect("a number check");
        assert_eq!((number.passed, number.overflow), (rule.is_some(), rule), "check digit {digit}");
        assert_eq!(read.document_number.expose(), "D23145890736");
        assert_eq!(read.valid, rule.is_some(), "{:?}", read.checks);
    }
    // A number that did not overflow names no rule.
    let read = parse(&[TD3_1, TD3_2], today).expect("an MRZ");
    assert!(read.checks.iter().all(|c| c.overflow.is_none()));
}

#[test]
fn issue_14_icao_specimens_are_never_accepted() {
    let today = Date::new(2011, 6, 1).expect("valid");
    let read = parse(&[TD3_1, TD3_2], today).expect("an MRZ");
    assert!(read.is_trustworthy());
    assert_eq!(reasons(&read, today), ["document.specimen"]);
    // The same passport issued by a real state is accepted.
    let real = [TD3_1.replace("UTO", "FRA"), TD3_2.replace("UTO", "FRA")];
    assert_eq!(
        AcceptancePolicy::standard().evaluate(&parse(&real, today).expect("an MRZ"), today),
        Acceptance::Accepted
    );
    // A nationality of UTO alone is enough; XXA (stateless, a real ICAO code) is not a specimen.
    let holder = [real[0].clone(), real[1].replacen("FRA", "UTO", 1)];
    assert_eq!(reasons(&parse(&holder, today).expect("an MRZ"), today), ["document.specimen"]);
    let stateless = [real[0].clone(), real[1].replacen("FRA", "XXA", 1)];
    assert!(reasons(&parse(&stateless, today).expect("an MRZ"), today).is_empty());
}

#[test]
fn the_french_card_prefix_is_never_corrected_to_satisfy_a_check() {
    // A composite check digit that passes only if line 1 read `IOFRA`: the layout was
    // recognised by `IDFRA`, so the check fails rather than the prefix changing.
    let l1 = FR_1.replacen("IDFRA", "IOFRA", 1);
    let l2 = "0503751123452CAMILLE<MARIE<7006159F?";
    let filled = fill_as(Some(Layout::FrId), &[&l1, l2]);
    let today = Date::new(2019, 1, 1).expect("valid");
    let mut lines: Vec<Vec<Vec<(u8, f32)>>> =
        [FR_1, filled[1].as_str()].iter().map(|l| l.bytes().map(|c| vec![(c, 0.9)]).collect()).collect();
    lines[0][1] = vec![(b'D', 0.5), (b'O', 0.45)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert_eq!(read.format, Format::FrId);
    assert!(!read.valid, "{:?}", read.corrections);
    assert!(read.corrections.iter().all(|c| (c.line, c.column) != (0, 1)), "{:?}", read.corrections);
    // `1DFRA` on a valid card: the prefix is recognised through the confusion and stands.
    let valid = fill_as(Some(Layout::FrId), &[FR_1, l2]);
    lines[1] = valid[1].bytes().map(|c| vec![(c, 0.9)]).collect();
    lines[0][0] = vec![(b'1', 0.5)];
    lines[0][1] = vec![(b'D', 0.5)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert!(read.valid, "{:?}", read.checks);
    assert_eq!(read.corrections, [Correction { line: 0, column: 0, from: '1', to: 'I' }]);
}

#[test]
fn a_sex_position_holding_no_sex_makes_the_read_untrustworthy() {
    // Position 20 of a TD3's second line is covered by no check digit: a `7` there (no
    // candidate in the class) leaves every check passing, but the read cannot stand.
    let today = Date::new(2011, 6, 1).expect("valid");
    let mut lines: Vec<Vec<Vec<(u8, f32)>>> =
        [TD3_1, TD3_2].iter().map(|l| l.bytes().map(|c| vec![(c, 0.9)]).collect()).collect();
    assert!(parse_alternatives(&lines, today, DOUBT).expect("an MRZ").is_trustworthy());
    lines[1][20] = vec![(b'7', 0.9)];
    let read = parse_alternatives(&lines, today, DOUBT).expect("an MRZ");
    assert!(read.valid, "{:?}", read.checks);
    assert_eq!(read.sex, None);
    assert!(!read.is_trustworthy());
    let acceptance = AcceptancePolicy::standard().evaluate(&read, today);
    assert!(
        acceptance.reasons().iter().any(|r| r.code == ReasonCode::FieldInvalid && r.field == Some(Field::Sex)),
        "{acceptance:?}"
    );
}
