//! `verifier mrz ...`: MRZ text parsing and validation.
//!
//! The output is for the operator's scripts: it carries the holder's fields in clear on stdout,
//! which is why nothing here logs.

use anyhow::Context;
use clap::Subcommand;
use mrz::{Date, MrzRead};
use serde::Serialize;

/// MRZ subcommands.
#[derive(Debug, Subcommand)]
pub enum MrzCommand {
    /// Parse and validate MRZ text lines: format, fields, check digits and acceptance.
    Parse {
        /// The reference date for expiry and birth-date centuries (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD")]
        at: Option<String>,
        /// The MRZ lines, top to bottom.
        #[arg(required = true)]
        lines: Vec<String>,
    },
}

/// The wire form of a parsed MRZ.
#[derive(Debug, Serialize)]
pub struct MrzOut {
    format: &'static str,
    valid: bool,
    kind: &'static str,
    document_code: String,
    issuing_state: String,
    document_number: String,
    surname: String,
    given_names: String,
    names_truncated: bool,
    nationality: Option<String>,
    birth_date: Option<String>,
    expiry_date: Option<String>,
    expiry_basis: Option<&'static str>,
    issue_date: Option<String>,
    sex: Option<&'static str>,
    optional_data: Vec<String>,
    checks: Vec<CheckOut>,
    corrections: Vec<CorrectionOut>,
    acceptance: AcceptanceOut,
}

#[derive(Debug, Serialize)]
struct CheckOut {
    field: &'static str,
    passed: bool,
}

#[derive(Debug, Serialize)]
struct CorrectionOut {
    line: usize,
    column: usize,
    from: char,
    to: char,
}

#[derive(Debug, Serialize)]
struct AcceptanceOut {
    accepted: bool,
    reasons: Vec<String>,
}

impl From<&MrzRead> for MrzOut {
    fn from(r: &MrzRead) -> Self {
        MrzOut {
            format: r.format.as_str(),
            valid: r.valid,
            kind: r.kind.as_str(),
            document_code: r.document_code.clone(),
            issuing_state: r.issuing_state.clone(),
            document_number: r.document_number.expose().clone(),
            surname: r.surname.expose().clone(),
            given_names: r.given_names.expose().clone(),
            names_truncated: r.names_truncated,
            nationality: r.nationality.clone(),
            birth_date: r.birth_date.as_ref().map(|d| d.expose().to_string()),
            expiry_date: r.expiry.as_ref().map(|e| e.date.to_string()),
            expiry_basis: r.expiry.as_ref().map(|e| e.basis.as_str()),
            issue_date: r.issue_date.map(|d| d.to_string()),
            sex: r.sex.map(|s| s.as_str()),
            optional_data: r.optional_data.expose().clone(),
            checks: r.checks.iter().map(|c| CheckOut { field: c.field.as_str(), passed: c.passed }).collect(),
            corrections: r
                .corrections
                .iter()
                .map(|c| CorrectionOut { line: c.line, column: c.column, from: c.from, to: c.to })
                .collect(),
            acceptance: AcceptanceOut {
                accepted: r.acceptance.accepted,
                reasons: r.acceptance.reasons.iter().map(ToString::to_string).collect(),
            },
        }
    }
}

/// `--at` as a date, or today's UTC date.
pub fn reference_date(at: Option<&str>) -> anyhow::Result<Date> {
    match at {
        Some(text) => Date::from_iso(text).with_context(|| format!("--at {text:?} is not a YYYY-MM-DD date")),
        None => {
            let now = humantime::format_rfc3339(std::time::SystemTime::now()).to_string();
            Date::from_iso(&now[..10]).with_context(|| format!("the system clock gives {now}"))
        }
    }
}

/// Runs an MRZ subcommand.
pub fn run(command: MrzCommand) -> anyhow::Result<()> {
    match command {
        MrzCommand::Parse { at, lines } => {
            let today = reference_date(at.as_deref())?;
            let read = mrz::parse(&lines, today).context("not a machine-readable zone")?;
            crate::cli::print_json(&MrzOut::from(&read))
        }
    }
}
