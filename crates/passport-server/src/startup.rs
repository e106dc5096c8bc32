//! Building the application from settings; production and tests start it the same way.

use std::num::NonZeroU32;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::BoxBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest};
use actix_web::http::{Method, header};
use actix_web::middleware::{Condition, DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpServer, web};

use crate::audit::Audit;
use crate::auth::{self, Auth};
use crate::client_ip::ClientIp;
use crate::configuration::Settings;
use crate::connections::{self, BodyReadTimeout, ConnectionCap};
use crate::errors::{json_errors, not_found};
use crate::metrics::{self, Metrics};
use crate::openapi::{self, OpenApiJson};
use crate::rate_limit::RateLimit;
use crate::revocation::RevocationListener;
use crate::routes;
use crate::store::Store;
use crate::telemetry::request_span;

/// The per-address rate limits, one per route (each address has its own budget on each).
struct RateLimits {
    signup: RateLimit,
    login: RateLimit,
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    metrics_server: Option<(Server, u16)>,
    audit: Audit,
    server: Server,
    store: Store,
    limits: RateLimits,
    settings: Settings,
    mail: crate::mail::Mail,
    mailer: crate::mail::outbox::Mailer,
}

impl Application {
    /// Connects to the database (applying migrations), registers the strategies and binds
    /// `settings.server.bind_addr` (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_hashing(settings, None).await
    }

    /// [`build`](Self::build), hashing passwords on `hashing` instead of the process's shared
    /// pool when given (an embedder's own threads; tests that hold the one thread of a pool
    /// of their own to order a login against another request deterministically).
    pub async fn build_with_hashing(
        settings: Settings,
        hashing: Option<passport_actix::BlockingPool>,
    ) -> anyhow::Result<Self> {
        let store = Store::connect(&settings).await?;
        let shared_hashing =
            passport_actix::BlockingPool::shared_with_nice(settings.passwords.hash_thread_nice);
        let metrics = Metrics::new(store.clone(), shared_hashing)
            .map_err(|e| anyhow::anyhow!("cannot register the metrics: {e}"))?;
        let hashing = hashing.unwrap_or_else(|| metrics.hashing_pool());
        let auth = auth::build(&settings, store.clone(), hashing)?;
        let client_ip = ClientIp::new(settings.server.trusted_proxies.clone());
        let audit = Audit::new(store.clone(), client_ip.clone(), metrics.clone());
        let per_minute =
            NonZeroU32::new(settings.rate_limits.per_minute).unwrap_or(NonZeroU32::MIN);
        let mail = crate::mail::Mail::new(
            settings.mail.clone(),
            store.clone(),
            &metrics,
            RateLimit::shared("mail", per_minute, client_ip.clone(), &store),
        )?;
        let mailer = crate::mail::outbox::Mailer::from_settings(&settings.mail)?;
        let limits = RateLimits {
            signup: RateLimit::shared("signup", per_minute, client_ip.clone(), &store),
            login: RateLimit::shared("login", per_minute, client_ip, &store),
        };
        let (server, port) = serve(
            &settings,
            store.clone(),
            auth,
            audit.clone(),
            metrics.clone(),
            &limits,
            mail.clone(),
        )?;
        let metrics_server = match settings.server.metrics_addr {
            Some(addr) => Some(serve_metrics(addr, metrics)?),
            None => None,
        };
        Ok(Self {
            port,
            metrics_server,
            audit,
            server,
            store,
            limits,
            settings,
            mail,
            mailer,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when `METRICS_ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(_, port)| *port)
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until SIGINT/SIGTERM (graceful: in-flight requests finish, up to 30 s; a second
    /// SIGINT forces the stop) or until [`ServerHandle::stop`], with housekeeping in the
    /// background.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let signals = tokio::spawn(stop_on_signals(self.server.handle()));
        let store = self.store;
        let limits = self.limits;
        let audit = self.audit;
        let audit_retention = self.settings.audit.retention;
        let revocations = RevocationListener::start(&self.settings.database, &store)
            .map_err(std::io::Error::other)?;
        let mail = self.mail;
        let outbox =
            tokio::spawn(crate::mail::outbox::Worker::new(mail.clone(), self.mailer).run());
        let housekeeping = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limits.signup.forget_idle();
                limits.login.forget_idle();
                match store.purge_rate_limits().await {
                    Ok(0) => {}
                    Ok(purged) => tracing::debug!(purged, "full rate-limit buckets purged"),
                    Err(error) => tracing::warn!(%error, "purging rate-limit buckets failed"),
                }
                mail.housekeeping().await;
                match store.purge_expired_attempts().await {
                    Ok(0) => {}
                    Ok(purged) => tracing::debug!(purged, "expired login attempts purged"),
                    Err(error) => tracing::warn!(%error, "purging login attempts failed"),
                }
                match store.purge_sessions().await {
                    Ok(0) => {}
                    Ok(purged) => {
                        tracing::debug!(purged, "ended sessions and old refresh tokens purged")
                    }
                    Err(error) => tracing::warn!(%error, "purging sessions failed"),
                }
                if let Some(retention) = audit_retention {
                    match audit.purge(retention).await {
                        Ok(0) => {}
                        Ok(purged) => tracing::debug!(purged, "old audit events purged"),
                        Err(error) => tracing::warn!(%error, "purging audit events failed"),
                    }
                }
            }
        });
        let metrics_server = self.metrics_server.map(|(server, _)| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let result = self.server.await;
        if let Some((task, handle)) = metrics_server {
            handle.stop(false).await;
            task.abort();
        }
        housekeeping.abort();
        outbox.abort();
        signals.abort();
        drop(revocations);
        result
    }
}

/// SIGINT (Ctrl-C) and SIGTERM both stop the server gracefully (actix's own handling makes
/// SIGINT a forced stop); a second SIGINT while stopping forces it.
async fn stop_on_signals(handle: ServerHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!("cannot listen for SIGINT/SIGTERM; stop the server with SIGKILL");
        return;
    };
    let name = tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    };
    tracing::info!(
        signal = name,
        "stopping gracefully: in-flight requests finish (up to 30 s); SIGINT again forces it"
    );
    tokio::select! {
        () = handle.stop(true) => {}
        _ = interrupt.recv() => {
            tracing::warn!("second SIGINT: stopping now");
            handle.stop(false).await;
        }
    }
}

/// Binds through actix (so `LISTEN_BACKLOG` applies; a `std` listener is stuck at 128) and
/// returns the server with its port.
fn serve(
    settings: &Settings,
    store: Store,
    auth: Auth,
    audit: Audit,
    metrics: Metrics,
    limits: &RateLimits,
    mail: crate::mail::Mail,
) -> anyhow::Result<(Server, u16)> {
    let signup_guard = auth.passport.authenticate("signup")?;
    // Every route that takes an access token takes the session cookie too.
    let jwt_guard = auth
        .passport
        .authenticate(["jwt", crate::browser::SESSION_STRATEGY])?;
    let bench_guard = auth.passport.authenticate("jwt-stateless")?;
    let origins = settings.cors.allowed_origins.clone();
    let bench_routes = settings.server.bench_routes;
    // The floor route verifies HS256 only (the load script's configuration).
    let bare_verifier = (bench_routes && settings.tokens.keys.is_hmac()).then(|| {
        web::Data::new(routes::BareVerifier::new(
            settings.tokens.secret.expose(),
            &settings.tokens.issuer,
            &settings.tokens.audience,
        ))
    });
    let (signup_limit, login_limit) = (limits.signup.clone(), limits.login.clone());
    let providers = web::Data::new(crate::oidc::Providers::build(&settings.oidc)?);
    let store = web::Data::new(store);
    let auth = web::Data::new(auth);
    let audit = web::Data::new(audit);
    let metrics = web::Data::new(metrics);
    let mail = web::Data::new(mail);
    let openapi_json = web::Data::new(OpenApiJson(openapi::document(settings)));
    let docs = settings.server.docs;
    let demo = settings.server.demo;
    let openid = !settings.oidc.providers.is_empty();
    let body_read_timeout = settings.server.body_read_timeout;
    let connection_cap = ConnectionCap::new(
        settings.server.max_connections_per_address,
        settings.server.trusted_proxies.clone(),
    );

    let mut server = HttpServer::new(move || {
        let signup_limit = signup_limit.clone();
        let login_limit = login_limit.clone();
        // A callback is a login: it shares /login's per-address limit; so does the second step.
        let callback_limit = login_limit.clone();
        let second_step_limit = login_limit.clone();
        // EMAIL_VERIFICATION=required: signup answers 202 whether or not the address has an
        // account (crate::mail); else the v1 signup strategy.
        let signup_route =
            if mail.settings.email_verification == crate::mail::EmailVerification::Required {
                web::post().to(crate::mail::routes::signup_pending)
            } else {
                web::post().to(routes::signup).wrap(signup_guard.clone())
            };
        let mail_routes = mail.clone();
        App::new()
            .app_data(mail.clone())
            .app_data(store.clone())
            .app_data(auth.clone())
            .app_data(providers.clone())
            .app_data(audit.clone())
            .app_data(metrics.clone())
            .app_data(openapi_json.clone())
            .app_data(BodyReadTimeout(body_read_timeout))
            .app_data(connections::json_config(passport_actix::DEFAULT_BODY_LIMIT))
            .app_data(connections::form_config(passport_actix::DEFAULT_BODY_LIMIT))
            // Innermost first: CORS answers preflights before any route's guard, and its
            // refusals still pass through `json_errors` like every other error.
            .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
            // Outside CORS, whose refusal of an unlisted Origin would come first: cross-site
            // requests that the session cookie would authenticate or set get the contract's 403.
            .wrap(from_fn(crate::browser::cross_site_guard))
            .wrap(json_errors())
            .wrap(DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")))
            .wrap(from_fn(connections::body_deadline))
            .wrap(from_fn(ConnectionCap::enforce))
            .wrap(from_fn(routes::head_as_get))
            .wrap(from_fn(request_span))
            .wrap(from_fn(metrics::track))
            .service(
                web::resource("/signup")
                    .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                        signup_limit.clone().enforce(req, next)
                    }))
                    .route(signup_route),
            )
            .service(
                web::resource("/login")
                    .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                        login_limit.clone().enforce(req, next)
                    }))
                    .route(web::post().to(routes::login)),
            )
            .service(web::resource("/token/refresh").route(web::post().to(routes::refresh)))
            .service(
                web::resource("/logout")
                    .wrap(jwt_guard.clone())
                    .route(web::post().to(routes::logout)),
            )
            .service(
                // Resources (not bare routes), so a wrong method is 405 with `Allow`.
                web::scope("/user")
                    .wrap(jwt_guard.clone())
                    .service(web::resource("").route(web::delete().to(routes::delete_account)))
                    .service(web::resource("/profile").route(web::get().to(routes::profile)))
                    .service(
                        web::resource("/password").route(web::post().to(routes::change_password)),
                    )
                    .service(
                        web::resource("/mfa/totp")
                            .route(web::post().to(routes::enroll_totp))
                            .route(web::delete().to(routes::disable_totp)),
                    )
                    .service(
                        web::resource("/mfa/totp/confirm")
                            .route(web::post().to(routes::confirm_totp)),
                    )
                    .service(web::resource("/sessions").route(web::get().to(routes::list_sessions)))
                    .service(
                        web::resource("/sessions/{id}")
                            .route(web::delete().to(routes::delete_session)),
                    ),
            )
            .service(
                web::resource("/login/mfa")
                    .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                        second_step_limit.clone().enforce(req, next)
                    }))
                    .route(web::post().to(routes::login_mfa)),
            )
            .configure(move |cfg| {
                // Mounted only when providers are configured (the OpenAPI document says so).
                if openid {
                    cfg.service(
                        web::resource("/auth/{provider}").route(web::get().to(routes::oidc_begin)),
                    )
                    .service(
                        web::resource("/auth/{provider}/callback")
                            .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                                callback_limit.clone().enforce(req, next)
                            }))
                            .route(web::get().to(routes::oidc_callback)),
                    );
                }
            })
            .configure(move |cfg| crate::mail::routes::mount(cfg, &mail_routes))
            .route("/.well-known/jwks.json", web::get().to(routes::jwks))
            .route("/health", web::get().to(routes::health))
            .route("/ready", web::get().to(routes::ready))
            .route("/openapi.json", web::get().to(openapi::openapi_json))
            .configure(|cfg| {
                if docs {
                    cfg.route("/docs", web::get().to(openapi::docs));
                }
                if demo {
                    cfg.route("/demo", web::get().to(crate::demo::page));
                }
            })
            .configure(|cfg| {
                if bench_routes {
                    cfg.route("/bench/plain", web::get().to(routes::bench_plain))
                        .route("/bench/db", web::get().to(routes::bench_db))
                        .service(
                            web::resource("/bench/guarded")
                                .wrap(bench_guard.clone())
                                .route(web::get().to(routes::bench_guarded)),
                        );
                    if let Some(verifier) = &bare_verifier {
                        cfg.service(
                            web::resource("/bench/bare")
                                .app_data(verifier.clone())
                                .route(web::get().to(routes::bench_bare)),
                        );
                    }
                }
            })
            .default_service(web::to(not_found))
    })
    .on_connect(move |connection, data| connection_cap.on_connect(connection, data))
    .shutdown_timeout(30)
    .disable_signals()
    .backlog(settings.server.listen_backlog)
    .bind(settings.server.bind_addr)
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on BIND_ADDR={}: {e}",
            settings.server.bind_addr
        )
    })?;
    let port = server
        .addrs()
        .first()
        .map(|addr| addr.port())
        .ok_or_else(|| {
            anyhow::anyhow!("BIND_ADDR={} bound no socket", settings.server.bind_addr)
        })?;
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    Ok((server.run(), port))
}

/// The metrics listener: `GET /metrics` and nothing else (JSON 404 elsewhere).
fn serve_metrics(addr: std::net::SocketAddr, metrics: Metrics) -> anyhow::Result<(Server, u16)> {
    let metrics = web::Data::new(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .wrap(json_errors())
            .route("/metrics", web::get().to(metrics::serve_metrics))
            .default_service(web::to(not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(addr)
    .map_err(|e| anyhow::anyhow!("cannot listen on METRICS_ADDR={addr}: {e}"))?;
    let port = server
        .addrs()
        .first()
        .map(|addr| addr.port())
        .ok_or_else(|| anyhow::anyhow!("METRICS_ADDR={addr} bound no socket"))?;
    Ok((server.run(), port))
}

fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST, Method::DELETE])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(3600)
}
