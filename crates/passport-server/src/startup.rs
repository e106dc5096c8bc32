//! Building the application from settings; production and tests start it the same way.

use std::net::TcpListener;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::BoxBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest};
use actix_web::http::{Method, header};
use actix_web::middleware::{Condition, DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpServer, web};

use crate::auth::{self, Auth};
use crate::client_ip::ClientIp;
use crate::configuration::Settings;
use crate::errors::{json_errors, not_found};
use crate::rate_limit::RateLimit;
use crate::routes;
use crate::store::Store;
use crate::telemetry::request_span;

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    store: Store,
    limits: Vec<RateLimit>,
}

impl Application {
    /// Connects to the database (applying migrations), registers the strategies and binds
    /// `settings.bind_addr` (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = Store::connect(&settings).await?;
        let auth = auth::build(&settings, store.clone())?;
        let listener = TcpListener::bind(settings.bind_addr).map_err(|e| {
            anyhow::anyhow!("cannot listen on BIND_ADDR={}: {e}", settings.bind_addr)
        })?;
        let port = listener.local_addr()?.port();
        let client_ip = ClientIp::new(settings.trusted_proxies.clone());
        let per_minute = NonZeroU32::new(settings.rate_limit_per_minute).unwrap_or(NonZeroU32::MIN);
        let limits = vec![
            RateLimit::per_minute(per_minute, client_ip.clone()),
            RateLimit::per_minute(per_minute, client_ip),
        ];
        let server = serve(listener, &settings, store.clone(), auth, &limits)?;
        Ok(Self {
            port,
            server,
            store,
            limits,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until SIGINT/SIGTERM (graceful: in-flight requests finish, up to 30 s) or
    /// until [`ServerHandle::stop`], with housekeeping in the background.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let store = self.store;
        let limits = self.limits;
        let housekeeping = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limits.iter().for_each(RateLimit::forget_idle);
                match store.purge_expired_attempts().await {
                    Ok(0) => {}
                    Ok(purged) => tracing::debug!(purged, "expired login attempts purged"),
                    Err(error) => tracing::warn!(%error, "purging login attempts failed"),
                }
            }
        });
        let result = self.server.await;
        housekeeping.abort();
        result
    }
}

fn serve(
    listener: TcpListener,
    settings: &Settings,
    store: Store,
    auth: Auth,
    limits: &[RateLimit],
) -> anyhow::Result<Server> {
    let signup_guard = auth.passport.authenticate("signup")?;
    let jwt_guard = auth.passport.authenticate("jwt")?;
    let bench_guard = auth.passport.authenticate("jwt-stateless")?;
    let origins = settings.cors_allowed_origins.clone();
    let bench_routes = settings.bench_routes;
    let [signup_limit, login_limit] = [limits[0].clone(), limits[1].clone()];
    let store = web::Data::new(store);
    let auth = web::Data::new(auth);

    let mut server = HttpServer::new(move || {
        let signup_limit = signup_limit.clone();
        let login_limit = login_limit.clone();
        App::new()
            .app_data(store.clone())
            .app_data(auth.clone())
            // Innermost first: CORS answers preflights before any route's guard, and its
            // refusals still pass through `json_errors` like every other error.
            .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
            .wrap(json_errors())
            .wrap(DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")))
            .wrap(from_fn(request_span))
            .service(
                web::resource("/signup")
                    .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                        signup_limit.clone().enforce(req, next)
                    }))
                    .route(web::post().to(routes::signup).wrap(signup_guard.clone())),
            )
            .service(
                web::resource("/login")
                    .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                        login_limit.clone().enforce(req, next)
                    }))
                    .route(web::post().to(routes::login)),
            )
            .service(
                web::scope("/user")
                    .wrap(jwt_guard.clone())
                    .route("/profile", web::get().to(routes::profile)),
            )
            .route("/.well-known/jwks.json", web::get().to(routes::jwks))
            .route("/health", web::get().to(routes::health))
            .route("/ready", web::get().to(routes::ready))
            .configure(|cfg| {
                if bench_routes {
                    cfg.route("/bench/plain", web::get().to(routes::bench_plain))
                        .route("/bench/db", web::get().to(routes::bench_db))
                        .service(
                            web::resource("/bench/guarded")
                                .wrap(bench_guard.clone())
                                .route(web::get().to(routes::bench_guarded)),
                        );
                }
            })
            .default_service(web::to(not_found))
    })
    .shutdown_timeout(30)
    .listen(listener)?;
    if settings.workers > 0 {
        server = server.workers(settings.workers);
    }
    Ok(server.run())
}

fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(3600)
}
