//! Opening the SQLite file (with the library's settings for it) and its migrations.

use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;

use crate::configuration::DatabaseSettings;

/// The pool on the file of `options` (`DATABASE_URL`; created with its folder if missing),
/// with the migrations applied.
pub(super) async fn connect(
    options: &SqliteConnectOptions,
    settings: &DatabaseSettings,
) -> anyhow::Result<SqlitePool> {
    let file = options.get_filename().display().to_string();
    if let Some(dir) = options
        .get_filename()
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("cannot create the database folder {}: {e}", dir.display())
        })?;
    }
    let pool = passport_actix::store::sqlite::open(
        options.clone(),
        settings.max_connections,
        settings.timeout,
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot open the SQLite database {file}: {e}"))?;
    sqlx::migrate!("./migrations-sqlite")
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply the SQLite migrations: {e}"))?;
    Ok(pool)
}
