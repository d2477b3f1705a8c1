//! When a failed delivery is tried again, and when it is given up: exponential backoff with
//! jitter, capped, and a maximum age after which the delivery is dead-lettered.
//!
//! Pure: the random draw and the clock are arguments.

use std::time::Duration;

/// The retry schedule (`[delivery]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure (before jitter).
    pub base: Duration,
    /// The longest wait between two attempts.
    pub max: Duration,
    /// A delivery still failing this long after its decision is dead-lettered.
    pub max_age: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again after this wait.
    After(Duration),
    /// Give up: the delivery is dead-lettered (visible in the API and metrics, retried only on
    /// request).
    Dead,
}

impl Backoff {
    /// After `attempts` failed attempts (1 for the first failure), with the delivery `age` old
    /// and `unit` a uniform draw in `[0, 1)`: the wait is `base * 2^(attempts - 1)`, capped at
    /// `max`, of which the second half is jittered ("equal jitter": retries of many deliveries
    /// spread out, yet each waits at least half its step). Dead once the next attempt would fall
    /// after `max_age`.
    pub fn after_failure(&self, attempts: u32, age: Duration, unit: f64) -> Retry {
        let step = self.base.saturating_mul(1u32.checked_shl(attempts.saturating_sub(1).min(30)).unwrap_or(u32::MAX));
        let step = step.min(self.max);
        let wait = step / 2 + step.mul_f64(unit.clamp(0.0, 1.0) / 2.0);
        if age.saturating_add(wait) > self.max_age { Retry::Dead } else { Retry::After(wait) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff =
        Backoff { base: Duration::from_secs(2), max: Duration::from_secs(600), max_age: Duration::from_secs(86_400) };

    #[test]
    fn waits_double_within_their_jitter_up_to_the_cap() {
        let wait = |n, unit| match B.after_failure(n, Duration::ZERO, unit) {
            Retry::After(w) => w,
            Retry::Dead => panic!("not dead at age 0"),
        };
        assert_eq!((wait(1, 0.0), wait(1, 0.999_999).as_millis()), (Duration::from_secs(1), 1999));
        assert_eq!(
            (wait(2, 0.0), wait(3, 0.0), wait(4, 0.5)),
            (Duration::from_secs(2), Duration::from_secs(4), Duration::from_secs(12))
        );
        assert_eq!(wait(20, 0.0), Duration::from_secs(300), "capped at max, half of it fixed");
        assert_eq!(wait(u32::MAX, 1.0), Duration::from_secs(600));
    }

    #[test]
    fn a_delivery_past_its_maximum_age_is_dead() {
        assert_eq!(B.after_failure(5, Duration::from_secs(86_000), 0.0), Retry::After(Duration::from_secs(16)));
        assert_eq!(B.after_failure(12, Duration::from_secs(86_000), 0.0), Retry::After(Duration::from_secs(300)));
        assert_eq!(B.after_failure(12, Duration::from_secs(86_200), 0.0), Retry::Dead);
        assert_eq!(B.after_failure(1, Duration::from_secs(90_000), 0.0), Retry::Dead);
    }
}
