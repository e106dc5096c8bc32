//! An in-process cache of live sessions that knows when it may be trusted.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

/// The default number of sessions remembered.
pub const DEFAULT_LIVENESS_CAPACITY: usize = 100_000;

/// Live sessions seen recently, so a guarded request needs no database round trip to learn
/// that its session is still live.
///
/// The cache is only as good as its invalidations, so every answer is conditional:
///
/// * **Trust.** [`get`](Self::get) answers only while the cache is trusted: always
///   ([`trust_always`](Self::trust_always), for a single process that sees every change
///   itself), or until a deadline that a liveness signal keeps pushing forward
///   ([`trust_until`](Self::trust_until); the server's PostgreSQL listener does this each
///   time its own heartbeat comes back through `LISTEN`). When the signal stops, the cache
///   stops answering and every request goes to the database — slower, never stale.
/// * **Age.** An entry older than [`max_age`](Self::max_age) is not served.
/// * **Races.** A look-up that started before an invalidation must not store what it read:
///   take a [`ticket`](Self::ticket) before reading the database and pass it to
///   [`insert`](Self::insert), which drops the entry if anything was invalidated since.
///
/// Values are kept behind an [`Arc`]; the capacity bounds memory.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use passport_actix::session::LivenessCache;
///
/// let cache = LivenessCache::<String>::new(1_000, Duration::from_secs(60));
/// cache.trust_always();
/// let ticket = cache.ticket();
/// // ... the database says session "s1" of user "u1" is live ...
/// cache.insert(ticket, "s1", "u1", "ada@example.com".to_owned());
/// assert_eq!(cache.get("s1").as_deref().map(String::as_str), Some("ada@example.com"));
///
/// cache.invalidate_user("u1"); // a global logout
/// assert!(cache.get("s1").is_none());
/// ```
pub struct LivenessCache<V> {
    entries: Cache<String, Entry<V>>,
    max_age: Duration,
    always_trusted: AtomicBool,
    /// Milliseconds after `origin` until which the cache is trusted.
    trusted_until: AtomicU64,
    /// Bumped by every invalidation; see [`ticket`](Self::ticket).
    generation: AtomicU64,
    origin: Instant,
}

struct Entry<V> {
    user_id: Arc<str>,
    value: Arc<V>,
    stored_at: Instant,
}

impl<V> Clone for Entry<V> {
    fn clone(&self) -> Self {
        Self {
            user_id: Arc::clone(&self.user_id),
            value: Arc::clone(&self.value),
            stored_at: self.stored_at,
        }
    }
}

/// Proof of when a database read started; see [`LivenessCache::ticket`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use passport_actix::session::LivenessCache;
///
/// let cache = LivenessCache::<()>::new(100, Duration::from_secs(60));
/// cache.trust_always();
/// let ticket = cache.ticket(); // before reading the database
/// cache.invalidate("s1");      // a logout lands meanwhile
/// cache.insert(ticket, "s1", "u1", ());
/// assert!(cache.get("s1").is_none(), "what was read before the logout is not kept");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

impl<V> fmt::Debug for LivenessCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LivenessCache")
            .field("entries", &self.entries.len())
            .field("max_age", &self.max_age)
            .field("trusted", &self.is_trusted())
            .finish()
    }
}

impl<V> LivenessCache<V> {
    /// A cache of up to `capacity` sessions, each served for at most `max_age`. It starts
    /// untrusted.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use passport_actix::session::LivenessCache;
    ///
    /// let cache = LivenessCache::<String>::new(10_000, Duration::from_secs(300));
    /// assert!(!cache.is_trusted(), "untrusted until told otherwise");
    /// cache.trust_until(Instant::now() + Duration::from_secs(5));
    /// assert!(cache.is_trusted());
    /// cache.distrust();
    /// assert!(!cache.is_trusted());
    /// ```
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            entries: Cache::new(capacity.max(1)),
            max_age,
            always_trusted: AtomicBool::new(false),
            trusted_until: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            origin: Instant::now(),
        }
    }

    /// The longest an entry is served.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Trusts the cache from now on (one process that makes every change itself).
    pub fn trust_always(&self) {
        self.always_trusted.store(true, Ordering::Release);
    }

    /// Trusts the cache until `deadline` (later calls may extend it).
    pub fn trust_until(&self, deadline: Instant) {
        let ms = self.millis_since_origin(deadline);
        self.trusted_until.fetch_max(ms, Ordering::AcqRel);
    }

    /// Stops trusting the cache now, and forgets every entry.
    pub fn distrust(&self) {
        self.trusted_until.store(0, Ordering::Release);
        self.always_trusted.store(false, Ordering::Release);
        self.clear();
    }

    /// Whether [`get`](Self::get) may answer now.
    pub fn is_trusted(&self) -> bool {
        self.always_trusted.load(Ordering::Acquire)
            || self.trusted_until.load(Ordering::Acquire) > self.millis_since_origin(Instant::now())
    }

    /// The cached value of a live session, if the cache is trusted and the entry fresh.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::session::LivenessCache;
    ///
    /// let cache = LivenessCache::new(100, Duration::from_secs(60));
    /// cache.insert(cache.ticket(), "s1", "u1", 42_u32);
    /// assert!(cache.get("s1").is_none(), "an untrusted cache answers nothing");
    /// cache.trust_always();
    /// assert_eq!(cache.get("s1").as_deref(), Some(&42));
    /// cache.invalidate("s1"); // a logout
    /// assert!(cache.get("s1").is_none());
    /// ```
    pub fn get(&self, session_id: &str) -> Option<Arc<V>> {
        if !self.is_trusted() {
            return None;
        }
        let entry = self.entries.get(session_id)?;
        (entry.stored_at.elapsed() <= self.max_age).then_some(entry.value)
    }

    /// Take before reading the database; hand to [`insert`](Self::insert).
    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    /// Remembers that `session_id` of `user_id` is live with `value`, unless something was
    /// invalidated after `ticket` was taken (the read may predate a revocation).
    pub fn insert(&self, ticket: Ticket, session_id: &str, user_id: &str, value: V) {
        let entry = Entry {
            user_id: Arc::from(user_id),
            value: Arc::new(value),
            stored_at: Instant::now(),
        };
        self.entries.insert(session_id.to_owned(), entry);
        // Checked after inserting: an invalidation that raced with the insert either bumped
        // the generation first (seen here, entry removed) or removed the entry itself.
        if self.generation.load(Ordering::Acquire) != ticket.0 {
            self.entries.remove(session_id);
        }
    }

    /// Forgets one session (revoked or deleted).
    pub fn invalidate(&self, session_id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(session_id);
    }

    /// Forgets every session of one user (global logout, deletion, a changed email).
    pub fn invalidate_user(&self, user_id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.retain(|_, entry| &*entry.user_id != user_id);
    }

    /// Forgets everything (after missing notifications).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::session::LivenessCache;
    ///
    /// let cache = LivenessCache::new(100, Duration::from_secs(60));
    /// cache.trust_always();
    /// cache.insert(cache.ticket(), "s1", "u1", ());
    /// assert_eq!(cache.len(), 1);
    /// cache.clear(); // for example after the notification channel was lost for a while
    /// assert!(cache.is_empty());
    /// ```
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }

    /// How many sessions are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no session is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    fn millis_since_origin(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> LivenessCache<u32> {
        LivenessCache::new(100, Duration::from_secs(60))
    }

    #[test]
    fn an_untrusted_cache_answers_nothing() {
        let cache = cache();
        cache.insert(cache.ticket(), "s", "u", 1);
        assert!(cache.get("s").is_none(), "untrusted at start");
        cache.trust_until(Instant::now() + Duration::from_secs(5));
        assert_eq!(cache.get("s").as_deref(), Some(&1));
        cache.distrust();
        assert!(cache.get("s").is_none());
        cache.trust_always();
        assert!(cache.get("s").is_none(), "distrust also forgot the entries");
    }

    #[test]
    fn trust_lapses_when_the_signal_stops() {
        let cache = cache();
        cache.insert(cache.ticket(), "s", "u", 1);
        cache.trust_until(Instant::now() + Duration::from_millis(30));
        assert!(cache.get("s").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("s").is_none());
    }

    #[test]
    fn a_read_that_predates_an_invalidation_is_not_stored() {
        let cache = cache();
        cache.trust_always();
        let ticket = cache.ticket();
        cache.invalidate("other");
        cache.insert(ticket, "s", "u", 1);
        assert!(cache.get("s").is_none());
        cache.insert(cache.ticket(), "s", "u", 1);
        assert!(cache.get("s").is_some());
    }

    #[test]
    fn entries_expire_and_users_are_invalidated_whole() {
        let cache = LivenessCache::new(100, Duration::from_millis(20));
        cache.trust_always();
        cache.insert(cache.ticket(), "a", "u1", 1);
        cache.insert(cache.ticket(), "b", "u1", 2);
        cache.insert(cache.ticket(), "c", "u2", 3);
        cache.invalidate_user("u1");
        assert!(cache.get("a").is_none() && cache.get("b").is_none());
        assert!(cache.get("c").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get("c").is_none(), "older than max_age");
    }

    #[test]
    fn the_capacity_bounds_memory() {
        let cache = LivenessCache::new(50, Duration::from_secs(60));
        for i in 0..10_000 {
            cache.insert(cache.ticket(), &format!("s{i}"), "u", i);
        }
        assert!(cache.len() <= 100, "{}", cache.len());
    }
}
