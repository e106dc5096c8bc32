//! Sorting sqlx errors into "unavailable, retry later" and everything else.

use crate::StoreError;

/// Maps a sqlx error to a [`StoreError`]: connection trouble is `Unavailable` (503).
pub fn classify(error: sqlx::Error) -> StoreError {
    let unavailable = match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        // PostgreSQL class 08 (connection exception), 57P0x (shutdown), 57014 (statement
        // timeout), 53 (resources), 40001/40P01 (serialization failure, deadlock: retryable);
        // SQLite busy/locked.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("57P")
                || code == "57014"
                || code == "40001"
                || code == "40P01"
                || code.starts_with("53")
                || code == "5"
                || code == "6"
        }),
        _ => false,
    };
    if unavailable {
        StoreError::unavailable(error)
    } else {
        StoreError::other(error)
    }
}

/// A unique constraint the store gives a meaning to, recognized by its name (the
/// migrations give both backends the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// `users_email_lower_key`: the email (case-insensitive) belongs to an account.
    Email,
    /// `users_pkey`: a user with this id exists.
    UserId,
    /// `identities_pkey`: the (issuer, subject) pair is linked to a user.
    Identity,
    /// Any other unique constraint.
    Other,
}

impl Unique {
    fn named(constraint: &str) -> Self {
        match constraint {
            "users_email_lower_key" => Self::Email,
            "users_pkey" => Self::UserId,
            "identities_pkey" => Self::Identity,
            _ => Self::Other,
        }
    }
}

/// Which unique constraint `error` violated, if it is a unique violation.
///
/// PostgreSQL names the constraint (or unique index) in the error
/// ([`sqlx::error::DatabaseError::constraint`]). SQLite does not: its message says
/// `UNIQUE constraint failed: index 'users_email_lower_key'` for an index on an expression,
/// and lists the columns for a key (`UNIQUE constraint failed: users.id`), which
/// `sqlite_constraint` maps to the PostgreSQL name of the same key.
pub fn unique_violation(error: &StoreError) -> Option<Unique> {
    let StoreError::Other(source) = error else {
        return None;
    };
    let Some(sqlx::Error::Database(db)) = source.downcast_ref::<sqlx::Error>() else {
        return None;
    };
    if !db.is_unique_violation() {
        return None;
    }
    let name = db.constraint().or_else(|| sqlite_constraint(db.message()));
    Some(name.map_or(Unique::Other, Unique::named))
}

/// The constraint named by a SQLite unique-violation message (see [`unique_violation`]).
fn sqlite_constraint(message: &str) -> Option<&str> {
    let failed = message.strip_prefix("UNIQUE constraint failed: ")?;
    if let Some(index) = failed.strip_prefix("index '") {
        return index.strip_suffix('\'');
    }
    match failed {
        "users.id" => Some("users_pkey"),
        "identities.issuer, identities.subject" => Some("identities_pkey"),
        _ => None,
    }
}

/// Whether `error` says the connection itself is gone (so the statement did not run on a live
/// session and the call may be repeated on another connection): I/O and protocol errors,
/// PostgreSQL class 08 (connection exception) and 57P01–57P03 (the backend was terminated).
pub fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(io) => io.kind() != std::io::ErrorKind::TimedOut,
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_name_the_same_constraints_as_postgres() {
        for (message, expected) in [
            (
                "UNIQUE constraint failed: index 'users_email_lower_key'",
                Unique::Email,
            ),
            ("UNIQUE constraint failed: users.id", Unique::UserId),
            (
                "UNIQUE constraint failed: identities.issuer, identities.subject",
                Unique::Identity,
            ),
            ("UNIQUE constraint failed: sessions.id", Unique::Other),
        ] {
            let name = sqlite_constraint(message);
            assert_eq!(
                name.map_or(Unique::Other, Unique::named),
                expected,
                "{message}"
            );
        }
        assert_eq!(
            sqlite_constraint("NOT NULL constraint failed: users.email"),
            None
        );
    }
}
