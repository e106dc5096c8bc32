//! `cargo run --release`: start the auth server.

use std::process::ExitCode;

use passport_server::configuration::{self, Environment, Settings};
use passport_server::connections;
use passport_server::startup::Application;
use passport_server::telemetry;

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|command| command == "keygen") {
        return passport_server::keygen::run(&args[1..]);
    }
    // `.env` first, so that RUST_LOG and LOG_FORMAT written there shape the logs too.
    let dotenv = configuration::load_dotenv();
    telemetry::init();
    let settings = match dotenv.and_then(|()| Settings::from_env()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("passport-server: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    if settings.uses_ephemeral_secret() {
        tracing::warn!(
            "JWT_SECRET is unset or shorter than 32 bytes: using a RANDOM key for this process only. \
             Tokens will not survive a restart or work across instances. Set JWT_SECRET (at least 32 bytes) \
             before going to production (APP_ENV=production refuses to start without it)."
        );
    }
    match connections::raise_file_limit() {
        Ok(limit) => tracing::debug!(limit, "open-file limit raised to the hard limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
    for warning in &settings.tokens.keys.warnings {
        tracing::warn!("{warning}");
    }
    if settings.environment == Environment::Development {
        tracing::info!("running in development mode (set APP_ENV=production in production)");
    }
    let app = match Application::build(settings.clone()).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("passport-server: cannot start: {error:#}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(
        address = %settings.server.bind_addr.ip(),
        port = app.port(),
        database = settings.database.url.kind(),
        data = %settings.database.url.location(),
        "passport-server listening"
    );
    if let (Some(addr), Some(port)) = (settings.server.metrics_addr, app.metrics_port()) {
        tracing::info!(address = %addr.ip(), port, "metrics at GET /metrics (keep this port private)");
    }
    match app.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("passport-server stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("passport-server: server error: {error}");
            ExitCode::from(1)
        }
    }
}
