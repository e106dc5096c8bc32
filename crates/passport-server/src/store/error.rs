//! Sorting sqlx errors into "unavailable, retry later" and everything else.

use std::error::Error as StdError;

use passport_actix::StoreError;

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

/// Whether `error` is a unique-constraint violation (a duplicate email).
pub(super) fn is_unique_violation(error: &(dyn StdError + Send + Sync + 'static)) -> bool {
    match error.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(db)) => db.is_unique_violation(),
        _ => false,
    }
}

/// Whether `error` says the connection itself is gone (so the statement did not run on a live
/// session and the call may be repeated on another connection): I/O and protocol errors,
/// PostgreSQL class 08 (connection exception) and 57P01–57P03 (the backend was terminated).
pub(super) fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(io) => io.kind() != std::io::ErrorKind::TimedOut,
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}
