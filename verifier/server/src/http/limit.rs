//! Per-client request rate limits: a token bucket per API client (`[server].client_rate_per_minute`,
//! `client_burst`), on this node. A request over the limit is answered 429 with `Retry-After`.
//!
//! Pure over the time it is given; buckets exist only for authenticated clients, so their number
//! is bounded by the clients table.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Token buckets keyed by client id.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute on average, `burst` at once.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client` at `now`, or says how long until one is free.
    pub fn check(&self, client: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, at) = buckets.entry(client.to_owned()).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds_per_client() {
        let limiter = RateLimiter::new(60, 3);
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.check("a", t0).is_ok()));
        let wait = limiter.check("a", t0).expect_err("the burst is spent");
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
        assert!(limiter.check("b", t0).is_ok(), "another client has its own bucket");
        assert!(limiter.check("a", t0 + Duration::from_millis(1001)).is_ok(), "one a second comes back");
        assert!(limiter.check("a", t0 + Duration::from_millis(1002)).is_err());
        assert_eq!(limiter.check("a", t0 + Duration::from_secs(100)), Ok(()), "refilled, capped at the burst");
        assert!((0..2).all(|_| limiter.check("a", t0 + Duration::from_secs(100)).is_ok()));
        assert!(limiter.check("a", t0 + Duration::from_secs(100)).is_err());
    }
}
