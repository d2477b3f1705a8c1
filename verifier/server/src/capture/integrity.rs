//! Stream integrity (issue 12, layer 3): what one connection's frames say about where they come
//! from, apart from their pixels. A live camera never sends the same JPEG twice (sensor noise
//! changes every frame), its capture times only move forwards, and they keep pace with the
//! arrival clock; a replayed or injected stream often breaks one of these.
//!
//! Pure: the socket loop feeds each analysed frame's SHA-256 (hex), the page's capture time and the
//! arrival instant, and asks for the verdict.

use std::collections::HashSet;
use std::time::{Duration, Instant};

/// `[capture]`'s integrity limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegrityConfig {
    /// Frames byte for byte equal to an earlier one tolerated (a camera that stalls for a moment
    /// can repeat one); one more is a replay.
    pub max_repeated_frames: usize,
    /// How far the page's capture clock may run apart from the arrival clock, since the first
    /// frame of the connection.
    pub max_clock_drift: Duration,
    /// Capture times going backwards tolerated; one more is a replay.
    pub max_backwards: usize,
}

/// Why the stream is not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Frames equal byte for byte to earlier ones.
    RepeatedFrames,
    /// Capture times that went backwards.
    TimeBackwards,
    /// The capture clock and the arrival clock ran apart.
    ClockDrift,
}

impl Violation {
    /// For the log (no holder data).
    pub fn as_str(self) -> &'static str {
        match self {
            Violation::RepeatedFrames => "repeated_frames",
            Violation::TimeBackwards => "time_backwards",
            Violation::ClockDrift => "clock_drift",
        }
    }
}

/// One connection's frames, as far as integrity goes.
#[derive(Debug)]
pub struct StreamIntegrity {
    config: IntegrityConfig,
    seen: HashSet<String>,
    repeated: usize,
    backwards: usize,
    first: Option<(f64, Instant)>,
    last_captured: Option<f64>,
}

impl StreamIntegrity {
    /// A new connection's record.
    pub fn new(config: IntegrityConfig) -> StreamIntegrity {
        StreamIntegrity { config, seen: HashSet::new(), repeated: 0, backwards: 0, first: None, last_captured: None }
    }

    /// One analysed frame: its bytes' SHA-256 (hex), the page's capture time (ms, when it said), and
    /// when it arrived. Returns the violation once the stream is no longer trusted.
    pub fn observe(&mut self, sha256: &str, captured_at_ms: Option<f64>, arrived: Instant) -> Option<Violation> {
        if !self.seen.insert(sha256.to_owned()) {
            self.repeated += 1;
            if self.repeated > self.config.max_repeated_frames {
                return Some(Violation::RepeatedFrames);
            }
        }
        let captured = captured_at_ms?;
        if self.last_captured.is_some_and(|last| captured < last) {
            self.backwards += 1;
            if self.backwards > self.config.max_backwards {
                return Some(Violation::TimeBackwards);
            }
        }
        self.last_captured = Some(captured);
        let (c0, a0) = *self.first.get_or_insert((captured, arrived));
        let page = (captured - c0) / 1000.0;
        let server = arrived.saturating_duration_since(a0).as_secs_f64();
        if (page - server).abs() > self.config.max_clock_drift.as_secs_f64() {
            return Some(Violation::ClockDrift);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: IntegrityConfig =
        IntegrityConfig { max_repeated_frames: 2, max_clock_drift: Duration::from_secs(5), max_backwards: 0 };

    fn hash(i: u8) -> &'static str {
        ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"][usize::from(i % 10)]
    }

    /// Distinct hashes for long runs.
    fn unique(i: u8) -> String {
        format!("{i:064x}")
    }

    #[test]
    fn a_live_stream_passes() {
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        let mut s = StreamIntegrity::new(CONFIG);
        for i in 0..100u8 {
            // 150 ms a frame, with up to 400 ms of network jitter on the way.
            let jitter = Duration::from_millis(u64::from(i % 5) * 100);
            let at = t0 + Duration::from_millis(150 * u64::from(i)) + jitter;
            assert_eq!(s.observe(&unique(i), Some(1000.0 + 150.0 * f64::from(i)), at), None, "frame {i}");
        }
    }

    #[test]
    fn a_stalled_camera_may_repeat_a_frame_a_replayed_loop_may_not() {
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        let mut s = StreamIntegrity::new(CONFIG);
        let mut verdicts = Vec::new();
        for i in 0..6u8 {
            let at = t0 + Duration::from_millis(150 * u64::from(i));
            // A loop of three frames.
            verdicts.push(s.observe(hash(i % 3), Some(150.0 * f64::from(i)), at));
        }
        assert_eq!(verdicts, vec![None, None, None, None, None, Some(Violation::RepeatedFrames)]);
    }

    #[test]
    fn time_going_backwards_or_running_apart_is_refused() {
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        let mut s = StreamIntegrity::new(CONFIG);
        assert_eq!(s.observe(hash(1), Some(5000.0), t0), None);
        assert_eq!(s.observe(hash(2), Some(4000.0), t0 + Duration::from_millis(150)), Some(Violation::TimeBackwards));
        // A recording played faster than real time: 30 s of capture in 3 s.
        let mut fast = StreamIntegrity::new(CONFIG);
        let verdicts: Vec<_> = (0..20u8)
            .map(|i| {
                fast.observe(&unique(i), Some(1500.0 * f64::from(i)), t0 + Duration::from_millis(150 * u64::from(i)))
            })
            .collect();
        assert!(verdicts.contains(&Some(Violation::ClockDrift)), "{verdicts:?}");
        // No capture times at all: only repeats can be judged.
        let mut bare = StreamIntegrity::new(CONFIG);
        assert_eq!(bare.observe(hash(1), None, t0), None);
    }
}
