//! One identity verification, as a sans-IO state machine.
//!
//! A [`Session`] takes [`Input`]s (the findings of an analysed frame, or the time) and produces
//! [`Output`]s (instructions for the person, frames to keep as evidence, the [`Decision`]),
//! drained with [`Session::poll_output`] until it returns [`Output::Timeout`], as str0m's `Rtc`
//! does. It never reads the clock, a socket or a file: `now` is an argument, so every test runs
//! on simulated time. Analysing pixels is the caller's job ([`vision`] does it on the rayon
//! pool); [`Session::analysis`] says what the next frame should be analysed for.
//!
//! Steps, each with a time budget inside the session's own: **document** (the MRZ read to a
//! settled consensus, then the acceptance policy; a refused document ends the session),
//! **document front** (a TD1 card's portrait is on the other side; on either side the portraits
//! are held to quality bars and the best fused, [`portraits`]), **face** (the live-face gate,
//! then the multi-frame match against the portrait), **challenge** (a random sequence of head
//! movements, [`challenge`]), then the **decision** ([`Decision`], with the expected identity
//! compared by [`identity`]).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use session::{Input, Output, Session, Step, config::SessionConfig};
//!
//! # #[allow(clippy::disallowed_methods)] // the example's epoch; a session never reads the clock
//! let start = Instant::now();
//! let mut session = Session::new(SessionConfig::example(), None, 7, mrz::Date::new(2026, 12, 1).unwrap(), start);
//! let Output::Instruction(first) = session.poll_output() else { panic!("an instruction first") };
//! assert_eq!(first.step, Step::Document);
//! // Nothing happens for longer than the whole budget: the session ends on its own.
//! session.handle_input(Input::Timeout(start + Duration::from_secs(600)));
//! let decision = std::iter::from_fn(|| match session.poll_output() {
//!     Output::Timeout(_) => None,
//!     other => Some(other),
//! })
//! .find_map(|o| if let Output::Decision(d) = o { Some(d) } else { None })
//! .expect("a decision");
//! assert_eq!(decision.reasons, vec!["session.timeout"]);
//! ```
#![deny(missing_docs)]

pub mod challenge;
pub mod config;
pub mod decision;
pub mod findings;
pub mod flash;
pub mod identity;
mod machine;
pub mod portraits;

pub use decision::{Decision, Outcome};
pub use findings::{FaceFindings, Findings, HeadPose, PortraitFinding};
pub use machine::{Analysis, Camera, EvidenceKind, Input, Instruction, Output, Session, Step};
pub use vision::frame::FrameId;
