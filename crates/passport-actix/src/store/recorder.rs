//! [`RotationRecorder`]: a row of the application's own (an audit row, say), written in a
//! refresh-token rotation's own statement (PostgreSQL) or transaction (SQLite), so that the
//! rotation and the row happen together or not at all.

/// A row an application writes with each refresh-token rotation of
/// [`SqlStore::rotate_refresh_token_recorded`](super::SqlStore::rotate_refresh_token_recorded),
/// in the rotation's own transaction: the row is never lost, never written without its
/// rotation, and a rotation whose row cannot be written does not happen — but for a reuse,
/// whose session is revoked all the same (a stolen token ends its session whatever the state
/// of the application's table; the lost row is logged as an error). Over a
/// [`Liveness`](crate::session::Liveness), call its
/// `rotate_refresh_token_recorded`, which also forgets a revoked session from the cache.
///
/// [`record`](Self::record) writes one data-modifying statement — typically
/// `INSERT INTO … SELECT … FROM rotation WHERE …` — that reads the rotation's result as a
/// relation named `rotation`, of one row:
///
/// | column | what |
/// | --- | --- |
/// | `outcome` | `'rotated'`, `'reuse'` (the session was revoked), `'unknown'` or `'cap'` (nothing changed) |
/// | `session_id` | the session (`UUID` on PostgreSQL, its text on SQLite); `NULL` for `unknown` and `cap` |
/// | `user_id` | its user (the same types); `NULL` for `unknown` and `cap` |
///
/// On PostgreSQL the statement is a data-modifying `WITH` clause of the rotation's single
/// statement (`WITH rotation AS (… passport_rotate_refresh_token(…)), recorded AS (your
/// statement) SELECT …`): no extra round trip. On SQLite it runs inside the rotation's write
/// transaction, before its commit, after a `WITH rotation(…) AS (VALUES …)` holding the
/// result.
///
/// Its SQL text can only be `&'static str` ([`RecordStatement::sql`]) and its values are
/// bound parameters ([`RecordStatement::bind`]): a request's data never becomes SQL. Write SQL
/// both backends accept if the application runs on both.
///
/// A rotation retried because its connection was lost after the commit may write the row
/// twice (at least once, never lost); a retry inside the reuse grace is a rotation of its own
/// and writes its own row.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use std::sync::Arc;
/// use passport_actix::session::Sessions;
/// use passport_actix::local::{Created, PasswordHash, UserStore};
/// use passport_actix::store::{RecordStatement, RotationRecorder, SqlStore, migrate, sqlx};
///
/// /// One row per refresh, with the client's address.
/// struct RefreshLog {
///     client: String,
/// }
///
/// impl RotationRecorder for RefreshLog {
///     fn record(&self, statement: &mut RecordStatement<'_>) {
///         statement
///             .sql("INSERT INTO refresh_log (session_id, outcome, client) SELECT rotation.session_id, rotation.outcome, ")
///             .bind(self.client.as_str())
///             .sql(" FROM rotation WHERE rotation.outcome IN ('rotated', 'reuse')");
///     }
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
/// migrate(&pool).await.unwrap();
/// sqlx::query("CREATE TABLE refresh_log (session_id TEXT, outcome TEXT, client TEXT)")
///     .execute(&pool)
///     .await
///     .unwrap();
/// let store = SqlStore::new(pool.clone());
/// let Created::User(ada) = store.create_user("ada@example.com", &PasswordHash::new("$2b$…")).await.unwrap() else {
///     unreachable!()
/// };
/// let sessions = Sessions::new(Arc::new(store.clone()));
/// let login = sessions.start(&ada.id.to_string()).await.unwrap();
///
/// let log = RefreshLog { client: "192.0.2.7".into() };
/// let (refreshed, _) = sessions
///     .refresh_with(login.refresh_token.as_str(), async |rotation| {
///         store.rotate_refresh_token_recorded(rotation, &log).await
///     })
///     .await
///     .unwrap();
///
/// let (session, client): (String, String) =
///     sqlx::query_as("SELECT session_id, client FROM refresh_log").fetch_one(&pool).await.unwrap();
/// assert_eq!((session.as_str(), client.as_str()), (refreshed.session_id.as_str(), "192.0.2.7"));
/// # });
/// # }
/// ```
pub trait RotationRecorder: Send + Sync {
    /// Writes the statement that records the rotation into `statement` (see the trait's
    /// documentation). Called once per attempt, so it must write the same statement each time.
    fn record(&self, statement: &mut RecordStatement<'_>);
}

/// The statement a [`RotationRecorder`] writes: static SQL text and bound values, in order.
///
/// # Examples
///
/// See [`RotationRecorder`].
pub struct RecordStatement<'a> {
    builder: Builder<'a>,
}

/// The backend's query builder the statement is written into.
enum Builder<'a> {
    #[cfg(feature = "postgres")]
    Postgres(&'a mut sqlx::QueryBuilder<'static, sqlx::Postgres>),
    #[cfg(feature = "sqlite")]
    Sqlite(&'a mut sqlx::QueryBuilder<'static, sqlx::Sqlite>),
}

impl std::fmt::Debug for RecordStatement<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordStatement").finish_non_exhaustive()
    }
}

impl<'a> RecordStatement<'a> {
    #[cfg(feature = "postgres")]
    pub(super) fn postgres(builder: &'a mut sqlx::QueryBuilder<'static, sqlx::Postgres>) -> Self {
        Self {
            builder: Builder::Postgres(builder),
        }
    }

    #[cfg(feature = "sqlite")]
    pub(super) fn sqlite(builder: &'a mut sqlx::QueryBuilder<'static, sqlx::Sqlite>) -> Self {
        Self {
            builder: Builder::Sqlite(builder),
        }
    }

    /// Appends SQL text. Only `&'static str`: text written in the program, never a value.
    pub fn sql(&mut self, text: &'static str) -> &mut Self {
        match &mut self.builder {
            #[cfg(feature = "postgres")]
            Builder::Postgres(builder) => {
                builder.push(text);
            }
            #[cfg(feature = "sqlite")]
            Builder::Sqlite(builder) => {
                builder.push(text);
            }
        }
        self
    }

    /// Appends a placeholder bound to `value` (text, an integer or a boolean, or `None` for
    /// `NULL`).
    pub fn bind(&mut self, value: impl Into<RecordValue>) -> &mut Self {
        let RecordValue(value) = value.into();
        match &mut self.builder {
            #[cfg(feature = "postgres")]
            Builder::Postgres(builder) => {
                match value {
                    Value::Text(text) => builder.push_bind(text),
                    Value::Int(int) => builder.push_bind(int),
                    Value::Bool(flag) => builder.push_bind(flag),
                };
            }
            #[cfg(feature = "sqlite")]
            Builder::Sqlite(builder) => {
                match value {
                    Value::Text(text) => builder.push_bind(text),
                    Value::Int(int) => builder.push_bind(int),
                    Value::Bool(flag) => builder.push_bind(flag),
                };
            }
        }
        self
    }
}

/// A value a [`RecordStatement`] binds: from a `&str`, `String`, `i64`, `bool` or an `Option`
/// of one (`None` is `NULL`).
///
/// # Examples
///
/// ```
/// use passport_actix::store::RecordValue;
///
/// let values: [RecordValue; 3] = ["192.0.2.7".into(), 1_700_000_000_000_i64.into(), None::<&str>.into()];
/// assert_eq!(values.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordValue(Value);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
}

impl From<&str> for RecordValue {
    fn from(value: &str) -> Self {
        Self(Value::Text(Some(value.to_owned())))
    }
}

impl From<String> for RecordValue {
    fn from(value: String) -> Self {
        Self(Value::Text(Some(value)))
    }
}

impl From<Option<&str>> for RecordValue {
    fn from(value: Option<&str>) -> Self {
        Self(Value::Text(value.map(str::to_owned)))
    }
}

impl From<Option<String>> for RecordValue {
    fn from(value: Option<String>) -> Self {
        Self(Value::Text(value))
    }
}

impl From<i64> for RecordValue {
    fn from(value: i64) -> Self {
        Self(Value::Int(Some(value)))
    }
}

impl From<Option<i64>> for RecordValue {
    fn from(value: Option<i64>) -> Self {
        Self(Value::Int(value))
    }
}

impl From<bool> for RecordValue {
    fn from(value: bool) -> Self {
        Self(Value::Bool(Some(value)))
    }
}

impl From<Option<bool>> for RecordValue {
    fn from(value: Option<bool>) -> Self {
        Self(Value::Bool(value))
    }
}
