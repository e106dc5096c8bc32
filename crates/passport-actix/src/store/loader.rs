//! The session look-up of the liveness check ([`SessionLoader`]), written once for both
//! shipped stores: each reads a live session with its own `live_session`.

use uuid::Uuid;

use super::User;
use crate::StoreError;
use crate::session::{LoadedSession, SessionLoader};

/// Implements [`SessionLoader`] for a shipped store with an inherent
/// `live_session(Uuid) -> Result<Option<(User, i64)>, StoreError>`.
macro_rules! shipped_session_loader {
    ($store:ty) => {
        impl SessionLoader for $store {
            type User = User;

            async fn load_session(
                &self,
                session_id: &str,
            ) -> Result<Option<LoadedSession<User>>, StoreError> {
                // Not a UUID: no session of these stores, and no query.
                let Ok(id) = Uuid::parse_str(session_id) else {
                    return Ok(None);
                };
                Ok(self
                    .live_session(id)
                    .await?
                    .map(|(user, expires_at_ms)| LoadedSession {
                        user_id: user.id.to_string(),
                        user,
                        expires_at_ms,
                    }))
            }

            fn user_id(user: &User) -> String {
                user.id.to_string()
            }

            fn in_session(user: User, session_id: &str) -> User {
                user.in_session(Uuid::parse_str(session_id).ok())
            }
        }
    };
}

#[cfg(feature = "test-util")]
shipped_session_loader!(super::MemoryStore);
#[cfg(any(feature = "postgres", feature = "sqlite"))]
shipped_session_loader!(super::SqlStore);
