//! The in-process caches of the browser-session part of the store (see `cookies.rs`).

use std::time::Instant;

use uuid::Uuid;

/// How many cookie digests (and last-seen stamps) each in-process cache remembers.
const CACHE_CAPACITY: usize = 100_000;

/// In-process caches of the browser-session part of the store.
#[derive(Debug)]
pub(super) struct CookieCaches {
    /// Cookie digest → (session id, user id): written once, never changed.
    pub(super) sessions: quick_cache::sync::Cache<String, (Uuid, Uuid)>,
    /// Session id → when this instance last wrote its `last_seen_at`.
    pub(super) seen: quick_cache::sync::Cache<Uuid, Instant>,
}

impl Default for CookieCaches {
    fn default() -> Self {
        Self {
            sessions: quick_cache::sync::Cache::new(CACHE_CAPACITY),
            seen: quick_cache::sync::Cache::new(CACHE_CAPACITY),
        }
    }
}
