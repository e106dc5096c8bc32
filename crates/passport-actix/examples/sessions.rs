//! A notes-style API with sessions, on the shipped SQLite store: signup, login with a refresh
//! token, refresh, a logout that revokes the session's access tokens at once, a JWT-guarded
//! route, an optional route and an API-key route.
//!
//! ```sh
//! cargo run -p passport-actix --example sessions --features sqlite
//! ```
//!
//! No setup: the database is a new SQLite file in the temporary folder, the JWT secret and
//! the API key are random for this run. `PORT` picks the port (default 8080; 0: any free one).

use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use passport_actix::jwt::{Claims, ExtractJwt, JwtConfig, JwtStrategy, TokenIssuer};
use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
use passport_actix::session::{IssuedSession, Liveness, RefreshToken, Sessions};
use passport_actix::store::sqlx::sqlite::SqliteConnectOptions;
use passport_actix::store::{SqlStore, User, migrate, sqlite};
use passport_actix::{
    AuthRequest, Authenticated, MaybeAuthenticated, Passport, constant_time_eq, read_fields,
};
use serde::{Deserialize, Serialize};

/// The access token's own claim: the session it belongs to.
#[derive(Serialize, Deserialize)]
struct Sid {
    sid: String,
}

struct State {
    sessions: Sessions<Liveness<SqlStore>>,
    issuer: TokenIssuer,
    api_key: String,
}

type Data = web::Data<State>;

fn token_pair(state: &State, user: &User, session: &IssuedSession) -> HttpResponse {
    let sid = Sid {
        sid: session.session_id.clone(),
    };
    match state.issuer.issue(user.id.to_string(), sid) {
        Ok(access) => HttpResponse::Ok().json(serde_json::json!({
            "token": access.token,
            "refresh_token": session.refresh_token.as_str(),
        })),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn signup(user: Authenticated<User>) -> HttpResponse {
    HttpResponse::Created().json(user.user())
}

async fn login(user: Authenticated<User>, state: Data) -> HttpResponse {
    match state.sessions.start(&user.user().id.to_string()).await {
        Ok(session) => token_pair(&state, user.user(), &session),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

async fn refresh(req: HttpRequest, body: web::Payload, state: Data) -> HttpResponse {
    let fields = read_fields(&AuthRequest::from_handler(&req, body), ["refresh_token"]).await;
    let Ok([Some(presented)]) = fields else {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "invalid_request"}));
    };
    match state.sessions.refresh(&presented).await {
        Ok((session, user)) => token_pair(&state, &user, &session),
        Err(_) => HttpResponse::BadRequest().json(serde_json::json!({"error": "invalid_grant"})),
    }
}

async fn logout(user: Authenticated<User>, state: Data) -> HttpResponse {
    let sid = user
        .user()
        .session_id
        .map(|id| id.to_string())
        .unwrap_or_default();
    match state.sessions.revoke(&sid).await {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

async fn notes(user: Authenticated<User>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"owner": user.user(), "notes": []}))
}

async fn hello(user: MaybeAuthenticated<User>) -> HttpResponse {
    let who = user.user().map_or("stranger", |u| u.email.as_str());
    HttpResponse::Ok().json(serde_json::json!({"hello": who}))
}

/// The API-key route: a minimal check (a non-empty key, compared in constant time).
async fn stats(req: HttpRequest, state: Data) -> HttpResponse {
    let given = req.headers().get("x-api-key").map(|v| v.as_bytes());
    match given {
        Some(key) if !key.is_empty() && constant_time_eq(key, state.api_key.as_bytes()) => {
            HttpResponse::Ok().json(serde_json::json!({"service": "ok"}))
        }
        _ => HttpResponse::Unauthorized().json(serde_json::json!({"error": "api_key_invalid"})),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let file = std::env::temp_dir().join(format!("passport-sessions-{}.db", std::process::id()));
    let options = SqliteConnectOptions::new().filename(&file);
    let pool = sqlite::open(options, 4, std::time::Duration::from_secs(5))
        .await
        .map_err(std::io::Error::other)?;
    migrate(&pool).await.map_err(std::io::Error::other)?;
    let store = Arc::new(SqlStore::new(pool));
    // One process makes every change: the liveness cache may be trusted, and a logout
    // through `sessions` forgets the session at once.
    let liveness = Liveness::new(Arc::clone(&store));
    liveness.cache().trust_always();

    let secret = RefreshToken::generate();
    let jwt = JwtConfig::hmac(secret.as_str().as_bytes(), "notes", "notes")
        .map_err(std::io::Error::other)?;
    let hasher = Arc::new(Bcrypt::default());
    let mut passport = Passport::<User>::new();
    passport.register(
        "signup",
        LocalStrategy::new(Mode::Signup, Arc::clone(&store), hasher.clone()),
    );
    let login_strategy = LocalStrategy::new(Mode::Login, Arc::clone(&store), hasher);
    passport.register("login", login_strategy.throttle(Arc::clone(&store)));
    let check = liveness.clone();
    let verify = async move |claims: Claims<Sid>| {
        let user = check.check(&claims.custom.sid, &claims.sub).await?;
        Ok(user.map(|user| User {
            session_id: claims.custom.sid.parse().ok(),
            ..user
        }))
    };
    let bearer = ExtractJwt::from_auth_header_as_bearer_token();
    passport.register("jwt", JwtStrategy::new(jwt.verifier(), bearer, verify));
    let guard = passport
        .authenticate("jwt")
        .map_err(std::io::Error::other)?;
    let optional = passport
        .authenticate("jwt")
        .map_err(std::io::Error::other)?
        .optional();
    let signup_guard = passport
        .authenticate("signup")
        .map_err(std::io::Error::other)?;
    let login_guard = passport
        .authenticate("login")
        .map_err(std::io::Error::other)?;
    let state = web::Data::new(State {
        sessions: Sessions::new(Arc::new(liveness)),
        issuer: jwt.issuer(),
        api_key: RefreshToken::generate().as_str().to_owned(),
    });
    let api_key = state.api_key.clone();

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .service(
                web::resource("/signup")
                    .wrap(signup_guard.clone())
                    .post(signup),
            )
            .service(
                web::resource("/login")
                    .wrap(login_guard.clone())
                    .post(login),
            )
            .route("/token/refresh", web::post().to(refresh))
            .service(web::resource("/logout").wrap(guard.clone()).post(logout))
            .service(web::resource("/notes").wrap(guard.clone()).get(notes))
            .service(web::resource("/hello").wrap(optional.clone()).get(hello))
            .route("/stats", web::get().to(stats))
    })
    .workers(2)
    .bind(("127.0.0.1", port))?;
    let url = format!("http://{}", server.addrs()[0]);
    println!("listening on {url} (database {})", file.display());
    println!("  curl -X POST {url}/signup -d 'email=a@b.co&password=correct horse battery'");
    println!("  curl -X POST {url}/login  -d 'email=a@b.co&password=correct horse battery'");
    println!("  curl {url}/notes -H \"authorization: Bearer $TOKEN\"");
    println!("  curl -X POST {url}/token/refresh -d \"refresh_token=$REFRESH\"");
    println!(
        "  curl -X POST {url}/logout -H \"authorization: Bearer $TOKEN\"   # the token stops working"
    );
    println!("  curl {url}/hello   # optional: with or without a token");
    println!("  curl {url}/stats -H 'x-api-key: {api_key}'");
    server.run().await
}
