//! A bounded cache of tokens whose signature and claims were already verified.

use std::sync::Arc;

use quick_cache::sync::Cache;

use crate::jwt::claims::Claims;

/// The default number of verified tokens remembered per strategy.
pub const DEFAULT_VERIFIED_TOKEN_CACHE: usize = 10_000;

/// Tokens that passed full verification, keyed by their exact bytes.
///
/// Clients send the same token for its whole life, so re-checking its HMAC and re-parsing its
/// JSON on every request is repeated work. Only a token that passed every check is stored, so
/// a forged one can never be served from here, and a hit still has its `exp`/`nbf` checked
/// against the clock (the rest of a token cannot change without changing its bytes, and the
/// key cannot change during the process). The user is still loaded by the verify callback on
/// every request, so deleting a user still revokes their tokens at once.
pub(crate) struct VerifiedTokens<C> {
    cache: Cache<String, Arc<Claims<C>>>,
}

impl<C: Clone> VerifiedTokens<C> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            cache: Cache::new(capacity),
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Claims<C>>> {
        self.cache.get(token)
    }

    pub(crate) fn insert(&self, token: &str, claims: &Claims<C>) {
        self.cache
            .insert(token.to_owned(), Arc::new(claims.clone()));
    }

    pub(crate) fn remove(&self, token: &str) {
        self.cache.remove(token);
    }
}
