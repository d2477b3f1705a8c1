//! The capture WebSocket's messages (`docs/capture-protocol.md`): pure decoding of what a
//! client sends, and the wire form of what the server sends.
//!
//! Decoding never panics on any input and says what is wrong; the socket code only buffers
//! and calls [`decode_text`]. Wire structs are separate from the session's types and converted
//! by hand.

use serde::{Deserialize, Serialize};
use session::{Instruction, Outcome};

/// A text message from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `hello`: the page's language.
    Hello {
        /// `fr` or `en` (anything else is kept as `en`).
        lang: Lang,
    },
    /// `frame`: describes the next binary message.
    FrameMeta {
        /// The page's sequence number.
        seq: u64,
        /// The page's clock when the frame was drawn, ms.
        captured_at_ms: f64,
    },
    /// `ping`.
    Ping {
        /// Echoed back.
        t: Option<f64>,
    },
}

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// French.
    Fr,
    /// English.
    En,
}

/// Why a text message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Not a JSON object.
    #[error("the message is not a JSON object")]
    NotJson,
    /// No `type`, or one this protocol does not have.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// A field has the wrong type or is out of range.
    #[error("field {0} is missing or malformed")]
    Field(&'static str),
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(rename = "type")]
    kind: Option<String>,
    lang: Option<serde_json::Value>,
    seq: Option<serde_json::Value>,
    captured_at_ms: Option<serde_json::Value>,
    t: Option<serde_json::Value>,
}

/// Decodes one text message. Unknown extra fields are ignored (clients may add their own).
pub fn decode_text(text: &str) -> Result<ClientMessage, ProtocolError> {
    let raw: RawMessage = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v @ serde_json::Value::Object(_)) => serde_json::from_value(v).map_err(|_| ProtocolError::NotJson)?,
        _ => return Err(ProtocolError::NotJson),
    };
    let number = |v: &Option<serde_json::Value>, name| match v {
        Some(serde_json::Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()).ok_or(ProtocolError::Field(name)),
        _ => Err(ProtocolError::Field(name)),
    };
    match raw.kind.as_deref() {
        Some("hello") => {
            let lang = match &raw.lang {
                None => Lang::En,
                Some(serde_json::Value::String(l)) if l.to_ascii_lowercase().starts_with("fr") => Lang::Fr,
                Some(serde_json::Value::String(_)) => Lang::En,
                Some(_) => return Err(ProtocolError::Field("lang")),
            };
            Ok(ClientMessage::Hello { lang })
        }
        Some("frame") => {
            let seq = match &raw.seq {
                Some(serde_json::Value::Number(n)) => n.as_u64().ok_or(ProtocolError::Field("seq"))?,
                _ => return Err(ProtocolError::Field("seq")),
            };
            let captured_at_ms = number(&raw.captured_at_ms, "captured_at_ms")?;
            Ok(ClientMessage::FrameMeta { seq, captured_at_ms })
        }
        Some("ping") => Ok(ClientMessage::Ping { t: raw.t.as_ref().map(|_| number(&raw.t, "t")).transpose()? }),
        Some(other) => Err(ProtocolError::UnknownType(other.chars().take(40).collect())),
        None => Err(ProtocolError::UnknownType(String::new())),
    }
}

/// A message the server sends.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Sent once on connect.
    Ready {
        /// The session.
        session_id: String,
        /// The planned steps.
        steps: Vec<&'static str>,
        /// Largest frame accepted.
        max_frame_bytes: usize,
        /// Send at most one frame per this many ms.
        frame_interval_ms: u64,
        /// The session's remaining budget.
        budget_ms: u64,
        /// `credit`: the server says when it can take the next frame (a `credit` message) and a
        /// page that knows the flow sends one frame per credit, drawn when the credit arrives, so
        /// each frame is fresh and starts its analysis at once. A page that sends without
        /// credit is still served, its frames waiting for the pool (the newest wins).
        flow: &'static str,
    },
    /// Show this colour full-screen around the face oval now, until the next `flash`
    /// (`colour: null`: stop).
    Flash {
        /// The colour's name (`red`, `green`, `blue`, `yellow`, `magenta`, `cyan`), or none.
        colour: Option<&'static str>,
        /// The colour as sRGB, 0-255.
        rgb: Option<[u8; 3]>,
    },
    /// The server can analyse one more frame now: draw and send one.
    Credit {
        /// Frames the page may send (1: one credit is outstanding at a time).
        frames: u32,
    },
    /// What to do now.
    Instruction {
        /// The step.
        step: &'static str,
        /// A hint code.
        code: Option<&'static str>,
        /// The movement asked for.
        challenge: Option<&'static str>,
        /// Which camera.
        camera: &'static str,
        /// 0 to 1.
        progress: f32,
        /// Time left in the step.
        step_remaining_ms: u64,
    },
    /// One analysed frame's hint.
    Feedback {
        /// The page's sequence number of the frame.
        seq: u64,
        /// Its hint.
        code: Option<&'static str>,
        /// From receipt to the end of its analysis.
        latency_ms: u64,
    },
    /// The frame interval the server asks for now.
    Rate {
        /// Milliseconds.
        frame_interval_ms: u64,
    },
    /// A refused message.
    Error {
        /// A stable code.
        code: &'static str,
        /// For developers.
        message: String,
    },
    /// Answers `ping`.
    Pong {
        /// Echoed.
        t: Option<f64>,
    },
    /// The outcome, once.
    Result {
        /// `accepted`, `rejected` or `review`.
        outcome: &'static str,
        /// Reason codes.
        reasons: Vec<&'static str>,
    },
}

impl ServerMessage {
    /// The wire form of a session instruction.
    pub fn instruction(i: &Instruction) -> ServerMessage {
        ServerMessage::Instruction {
            step: i.step.as_str(),
            code: i.code,
            challenge: i.challenge.map(|c| c.as_str()),
            camera: i.camera.as_str(),
            progress: (i.progress * 100.0).round() / 100.0,
            step_remaining_ms: i.step_remaining.as_millis() as u64,
        }
    }

    /// The wire form of a decision's outcome.
    pub fn result(outcome: Outcome, reasons: &[&'static str]) -> ServerMessage {
        ServerMessage::Result { outcome: outcome.as_str(), reasons: reasons.to_vec() }
    }

    /// An error message.
    pub fn error(code: &'static str, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error { code, message: message.into() }
    }

    /// As JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages hold only strings, numbers and arrays")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: Result<ClientMessage, ProtocolError>) {
        assert_eq!(decode_text(text), expect, "{text}");
    }

    #[test]
    fn messages_decode_or_say_what_is_wrong() {
        check(r#"{"type":"hello","lang":"fr-FR"}"#, Ok(ClientMessage::Hello { lang: Lang::Fr }));
        check(r#"{"type":"hello"}"#, Ok(ClientMessage::Hello { lang: Lang::En }));
        check(
            r#"{"type":"frame","seq":3,"captured_at_ms":1234.5,"width":1280}"#,
            Ok(ClientMessage::FrameMeta { seq: 3, captured_at_ms: 1234.5 }),
        );
        check(r#"{"type":"ping","t":7}"#, Ok(ClientMessage::Ping { t: Some(7.0) }));
        check(r#"{"type":"frame","seq":-1,"captured_at_ms":1}"#, Err(ProtocolError::Field("seq")));
        check(r#"{"type":"frame","seq":1}"#, Err(ProtocolError::Field("captured_at_ms")));
        check(r#"{"type":"hello","lang":5}"#, Err(ProtocolError::Field("lang")));
        check(r#"{"type":"launch"}"#, Err(ProtocolError::UnknownType("launch".into())));
        check(r#"{"lang":"fr"}"#, Err(ProtocolError::UnknownType(String::new())));
        check(r#"{"type":5}"#, Err(ProtocolError::NotJson));
        check("[1,2]", Err(ProtocolError::NotJson));
        check("not json", Err(ProtocolError::NotJson));
        check("", Err(ProtocolError::NotJson));
    }

    #[test]
    fn no_input_panics() {
        // A cheap stand-in for fuzzing: every prefix and byte-flip of valid messages.
        let samples = [r#"{"type":"frame","seq":3,"captured_at_ms":1234.5}"#, r#"{"type":"hello","lang":"fr"}"#];
        for s in samples {
            for end in 0..=s.len() {
                let _ = decode_text(&s[..end]);
            }
            for i in 0..s.len() {
                let mut b = s.as_bytes().to_vec();
                b[i] = b[i].wrapping_add(1);
                if let Ok(t) = std::str::from_utf8(&b) {
                    let _ = decode_text(t);
                }
            }
        }
        assert!(decode_text(&format!(r#"{{"type":"frame","seq":1,"captured_at_ms":{}}}"#, "9".repeat(400))).is_err());
    }

    #[test]
    fn server_messages_have_the_documented_shape() {
        let m = ServerMessage::result(Outcome::Review, &["identity.name_mismatch"]);
        assert_eq!(m.to_json(), r#"{"type":"result","outcome":"review","reasons":["identity.name_mismatch"]}"#);
        assert_eq!(ServerMessage::Credit { frames: 1 }.to_json(), r#"{"type":"credit","frames":1}"#);
        let red = ServerMessage::Flash { colour: Some("red"), rgb: Some([255, 0, 0]) };
        assert_eq!(red.to_json(), r#"{"type":"flash","colour":"red","rgb":[255,0,0]}"#);
        assert_eq!(
            ServerMessage::Flash { colour: None, rgb: None }.to_json(),
            r#"{"type":"flash","colour":null,"rgb":null}"#
        );
        let e = ServerMessage::error("frame.too_large", "3000000 bytes");
        assert_eq!(e.to_json(), r#"{"type":"error","code":"frame.too_large","message":"3000000 bytes"}"#);
    }
}
