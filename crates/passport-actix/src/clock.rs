//! The wall clock, read in one place: the time since the Unix epoch in the units each caller
//! stores (whole seconds for JWT claims and TOTP, milliseconds for stores, fractional seconds
//! for deadlines).
//!
//! A clock set before 1970 reads as the epoch itself (zero), never as a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time elapsed since the Unix epoch (zero if the system clock is set before it).
///
/// # Examples
///
/// ```
/// use passport_actix::clock;
///
/// assert!(clock::since_epoch().as_secs() > 1_700_000_000, "after November 2023");
/// ```
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Whole seconds since the Unix epoch: the unit of JWT `iat`/`exp`/`nbf` (RFC 7519) and of
/// TOTP time steps.
///
/// # Examples
///
/// ```
/// use passport_actix::clock;
///
/// assert!(clock::now_secs() > 1_700_000_000, "after November 2023");
/// ```
pub fn now_secs() -> u64 {
    since_epoch().as_secs()
}

/// Milliseconds since the Unix epoch, as stores keep instants (`i64`, saturating).
///
/// # Examples
///
/// ```
/// use passport_actix::clock;
///
/// let now = clock::now_ms();
/// assert!(now > 1_700_000_000_000, "after November 2023");
/// ```
pub fn now_ms() -> i64 {
    i64::try_from(since_epoch().as_millis()).unwrap_or(i64::MAX)
}

/// Seconds since the Unix epoch with their fraction (for deadlines compared with a
/// database's `extract(epoch …)`).
///
/// # Examples
///
/// ```
/// use passport_actix::clock;
///
/// let now = clock::now_secs_f64();
/// assert!(now > 1_700_000_000.0 && now.fract() >= 0.0);
/// ```
pub fn now_secs_f64() -> f64 {
    since_epoch().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_units_read_the_same_clock() {
        let (secs, ms, fractional) = (now_secs(), now_ms(), now_secs_f64());
        let ms_as_secs = u64::try_from(ms / 1000).unwrap_or(0);
        // Read one after another, so each may be later than the one before, never earlier.
        assert!(ms_as_secs >= secs, "{ms} ms vs {secs} s");
        assert!(fractional >= secs as f64, "{fractional} vs {secs}");
    }
}
