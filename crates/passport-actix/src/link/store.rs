//! Where links live: the [`LinkStore`] trait, an in-memory store, and the rules over a store.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::token::{LinkPurpose, LinkToken, LinkTokenHash};
use crate::clock::now_ms;
use crate::error::StoreError;

/// A link to save: only the hash of its token, whose user, what for, and until when.
#[derive(Debug, Clone)]
pub struct NewLink<U> {
    /// The digest of the token the link carries.
    pub token_hash: LinkTokenHash,
    /// What the link is for.
    pub purpose: LinkPurpose,
    /// The user the link acts for.
    pub user: U,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When it stops working, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// Storage for one-time links, implemented by the application over its database.
///
/// The rules a store must keep:
/// - [`save_link`](Self::save_link) makes every older unused link of the same user and
///   purpose invalid (the newest link supersedes the others);
/// - [`use_link`](Self::use_link) is atomic: of two concurrent uses of one token, one gets
///   the user and the other `None`.
///
/// A server that mails the link should write the link and the mail in one transaction (a
/// transactional outbox), so that a link exists if and only if its mail will be sent.
///
/// # Examples
///
/// [`MemoryLinkStore`] is a complete implementation.
pub trait LinkStore: Send + Sync + 'static {
    /// The user a link acts for.
    type User: Clone + Send + 'static;

    /// Saves `link`, superseding older unused links of the same user and purpose.
    fn save_link(&self, link: &NewLink<Self::User>)
    -> impl Future<Output = Result<(), StoreError>>;

    /// Uses up the link with this hash if it is of `purpose`, unused, not superseded and not
    /// expired at `now_ms`: its user, else `None`. A used link never works again.
    fn use_link(
        &self,
        token_hash: &LinkTokenHash,
        purpose: LinkPurpose,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<Self::User>, StoreError>>;
}

/// An in-memory [`LinkStore`] (one process, lost at exit): for tests and examples.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::link::{LinkPurpose, MemoryLinkStore, OneTimeLinks};
///
/// # actix_web::rt::System::new().block_on(async {
/// let links = OneTimeLinks::new(Arc::new(MemoryLinkStore::new()));
/// let old = links.issue(7u32, LinkPurpose::PasswordReset).await.unwrap();
/// let new = links.issue(7u32, LinkPurpose::PasswordReset).await.unwrap();
/// assert_eq!(links.redeem(old.as_str(), LinkPurpose::PasswordReset).await.unwrap(), None);
/// assert_eq!(links.redeem(new.as_str(), LinkPurpose::PasswordReset).await.unwrap(), Some(7));
/// # });
/// ```
#[derive(Debug)]
pub struct MemoryLinkStore<U> {
    links: Mutex<HashMap<LinkTokenHash, Entry<U>>>,
}

#[derive(Debug)]
struct Entry<U> {
    purpose: LinkPurpose,
    user: U,
    expires_at_ms: i64,
    live: bool,
}

impl<U> MemoryLinkStore<U> {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            links: Mutex::new(HashMap::new()),
        }
    }
}

impl<U> Default for MemoryLinkStore<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U: Clone + PartialEq + Send + 'static> LinkStore for MemoryLinkStore<U> {
    type User = U;

    async fn save_link(&self, link: &NewLink<U>) -> Result<(), StoreError> {
        let mut links = self
            .links
            .lock()
            .map_err(|_| StoreError::other("poisoned lock"))?;
        for entry in links.values_mut() {
            if entry.purpose == link.purpose && entry.user == link.user {
                entry.live = false;
            }
        }
        links.insert(
            link.token_hash.clone(),
            Entry {
                purpose: link.purpose,
                user: link.user.clone(),
                expires_at_ms: link.expires_at_ms,
                live: true,
            },
        );
        Ok(())
    }

    async fn use_link(
        &self,
        token_hash: &LinkTokenHash,
        purpose: LinkPurpose,
        now_ms: i64,
    ) -> Result<Option<U>, StoreError> {
        let mut links = self
            .links
            .lock()
            .map_err(|_| StoreError::other("poisoned lock"))?;
        let Some(entry) = links.get_mut(token_hash) else {
            return Ok(None);
        };
        if !entry.live || entry.purpose != purpose || entry.expires_at_ms <= now_ms {
            return Ok(None);
        }
        entry.live = false;
        Ok(Some(entry.user.clone()))
    }
}

/// The rules of one-time links over a [`LinkStore`]: a lifetime per purpose (default: one
/// hour for a reset, fifteen minutes for a magic link, a day for a verification).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use passport_actix::link::{LinkPurpose, MemoryLinkStore, OneTimeLinks};
///
/// let links = OneTimeLinks::new(Arc::new(MemoryLinkStore::<String>::new()))
///     .ttl(LinkPurpose::PasswordReset, Duration::from_secs(600));
/// assert_eq!(links.lifetime(LinkPurpose::PasswordReset), Duration::from_secs(600));
/// assert_eq!(links.lifetime(LinkPurpose::MagicLogin), Duration::from_secs(900));
/// ```
#[derive(Debug)]
pub struct OneTimeLinks<S> {
    store: Arc<S>,
    ttl: HashMap<LinkPurpose, Duration>,
}

impl<S> Clone for OneTimeLinks<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            ttl: self.ttl.clone(),
        }
    }
}

impl<S: LinkStore> OneTimeLinks<S> {
    /// Links in `store`, with the default lifetimes.
    pub fn new(store: Arc<S>) -> Self {
        let ttl = HashMap::from([
            (LinkPurpose::PasswordReset, Duration::from_secs(3600)),
            (LinkPurpose::MagicLogin, Duration::from_secs(900)),
            (LinkPurpose::EmailVerification, Duration::from_secs(86_400)),
        ]);
        Self { store, ttl }
    }

    /// Links of `purpose` live for `ttl`.
    pub fn ttl(mut self, purpose: LinkPurpose, ttl: Duration) -> Self {
        self.ttl.insert(purpose, ttl);
        self
    }

    /// How long a link of `purpose` lives.
    pub fn lifetime(&self, purpose: LinkPurpose) -> Duration {
        self.ttl
            .get(&purpose)
            .copied()
            .unwrap_or(Duration::from_secs(900))
    }

    /// A new link for `user`, and the record to save (for stores that save it themselves,
    /// inside a transaction of their own).
    pub fn prepare(&self, user: S::User, purpose: LinkPurpose) -> (LinkToken, NewLink<S::User>) {
        let token = LinkToken::generate();
        let now = now_ms();
        let ttl = i64::try_from(self.lifetime(purpose).as_millis()).unwrap_or(i64::MAX);
        let link = NewLink {
            token_hash: token.hash(),
            purpose,
            user,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(ttl),
        };
        (token, link)
    }

    /// Issues and saves a new link for `user` (older unused ones of this purpose die); the
    /// token is what to put in the link, never to be stored.
    pub async fn issue(
        &self,
        user: S::User,
        purpose: LinkPurpose,
    ) -> Result<LinkToken, StoreError> {
        let (token, link) = self.prepare(user, purpose);
        self.store.save_link(&link).await?;
        Ok(token)
    }

    /// Uses up a presented token of `purpose`: its user, or `None` for an unknown, used,
    /// superseded, expired or malformed token (never reaching the store for the latter).
    pub async fn redeem(
        &self,
        presented: &str,
        purpose: LinkPurpose,
    ) -> Result<Option<S::User>, StoreError> {
        let Some(hash) = LinkTokenHash::of_presented(presented) else {
            return Ok(None);
        };
        self.store.use_link(&hash, purpose, now_ms()).await
    }

    /// The store.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> OneTimeLinks<MemoryLinkStore<&'static str>> {
        OneTimeLinks::new(Arc::new(MemoryLinkStore::new()))
    }

    #[actix_web::test]
    async fn a_link_works_once_and_only_for_its_purpose() {
        let links = links();
        let token = links
            .issue("ada", LinkPurpose::EmailVerification)
            .await
            .unwrap();
        for other in [LinkPurpose::MagicLogin, LinkPurpose::PasswordReset] {
            assert_eq!(links.redeem(token.as_str(), other).await.unwrap(), None);
        }
        let purpose = LinkPurpose::EmailVerification;
        assert_eq!(
            links.redeem(token.as_str(), purpose).await.unwrap(),
            Some("ada")
        );
        assert_eq!(links.redeem(token.as_str(), purpose).await.unwrap(), None);
    }

    #[actix_web::test]
    async fn a_newer_link_supersedes_older_ones_of_the_same_user_and_purpose_only() {
        let links = links();
        let old = links.issue("ada", LinkPurpose::MagicLogin).await.unwrap();
        let other_user = links.issue("bob", LinkPurpose::MagicLogin).await.unwrap();
        let other_purpose = links
            .issue("ada", LinkPurpose::PasswordReset)
            .await
            .unwrap();
        let new = links.issue("ada", LinkPurpose::MagicLogin).await.unwrap();
        let magic = LinkPurpose::MagicLogin;
        assert_eq!(links.redeem(old.as_str(), magic).await.unwrap(), None);
        assert_eq!(
            links.redeem(new.as_str(), magic).await.unwrap(),
            Some("ada")
        );
        assert_eq!(
            links.redeem(other_user.as_str(), magic).await.unwrap(),
            Some("bob")
        );
        let reset = LinkPurpose::PasswordReset;
        assert_eq!(
            links.redeem(other_purpose.as_str(), reset).await.unwrap(),
            Some("ada")
        );
    }

    #[actix_web::test]
    async fn an_expired_link_is_refused() {
        let links = links().ttl(LinkPurpose::MagicLogin, Duration::ZERO);
        let token = links.issue("ada", LinkPurpose::MagicLogin).await.unwrap();
        assert_eq!(
            links
                .redeem(token.as_str(), LinkPurpose::MagicLogin)
                .await
                .unwrap(),
            None
        );
    }

    #[actix_web::test]
    async fn malformed_tokens_never_reach_the_store() {
        let links = links();
        for presented in ["", "x", &"A".repeat(44), &"A".repeat(100_000)] {
            assert_eq!(
                links
                    .redeem(presented, LinkPurpose::MagicLogin)
                    .await
                    .unwrap(),
                None
            );
        }
    }
}
