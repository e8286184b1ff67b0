//! A sliding-window count of attempts per client address, in memory: the pseudonym form's limit. (Sign-in throttling
//! is the store's, kept in the database with its audit.)

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses remembered before the idle ones are forgotten, so the map cannot grow without bound.
const MAX_ADDRESSES: usize = 10_000;

/// At most `max` attempts per address within `window`.
pub(crate) struct Limiter {
    max: usize,
    window: Duration,
    seen: Mutex<HashMap<Option<IpAddr>, VecDeque<Instant>>>,
}

impl Limiter {
    /// A limiter of `max` attempts per `window`.
    pub fn new(max: usize, window: Duration) -> Limiter {
        Limiter { max, window, seen: Mutex::default() }
    }

    /// Count an attempt from `address` at `now`: `Err` with the time until one is allowed again when the address has
    /// used its attempts (a refused attempt is not counted). Clients without a known address share one count.
    pub fn attempt(&self, address: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let mut seen = self.seen.lock().expect("the limiter's lock is never poisoned: nothing in it panics");
        if seen.len() >= MAX_ADDRESSES {
            seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        let times = seen.entry(address).or_default();
        while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            times.pop_front();
        }
        if times.len() >= self.max {
            let oldest = *times.front().expect("a full window has a first attempt");
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_attempts_per_window_and_no_more() {
        let l = Limiter::new(2, Duration::from_secs(60));
        let (a, b) = (Some("192.0.2.1".parse().unwrap()), Some("192.0.2.2".parse().unwrap()));
        let t = Instant::now();
        assert!(l.attempt(a, t).is_ok());
        assert!(l.attempt(a, t + Duration::from_secs(10)).is_ok());
        assert_eq!(l.attempt(a, t + Duration::from_secs(20)), Err(Duration::from_secs(40)));
        // Another address has its own count; the first gets one back when its first attempt leaves the window.
        assert!(l.attempt(b, t + Duration::from_secs(20)).is_ok());
        assert!(l.attempt(a, t + Duration::from_secs(60)).is_ok());
        assert!(l.attempt(a, t + Duration::from_secs(61)).is_err());
    }
}
