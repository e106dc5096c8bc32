//! A notes API on the shipped SQLite store: signup, login with a refresh token, refresh, a
//! logout that revokes the session's access tokens at once, a JWT-guarded route, an optional
//! route and an API-key route. `cargo run -p passport-actix --example sessions -F sqlite`
//! needs no setup (a new SQLite file in the temporary folder, a random JWT secret and API
//! key); `PORT` picks the port (default 8080; 0: any free one).

use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use passport_actix::api_key::ApiKeyStrategy;
use passport_actix::jwt::{Claims, ExtractJwt, JwtConfig, JwtStrategy, TokenIssuer};
use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
use passport_actix::session::{IssuedSession, Liveness, RefreshToken, Sessions};
use passport_actix::store::sqlx::sqlite::SqliteConnectOptions;
use passport_actix::store::{SqlStore, User, migrate, sqlite};
use passport_actix::{
    AuthRequest, Authenticated, Authenticator, MaybeAuthenticated, Passport, read_fields,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Clone, Serialize, Deserialize)]
struct Sid {
    sid: String,
}
struct State {
    sessions: Sessions<Liveness<SqlStore>>,
    issuer: TokenIssuer,
}

type Data = web::Data<State>;
fn token_pair(state: &State, user: &User, session: &IssuedSession) -> HttpResponse {
    let sid = session.session_id.clone();
    match state.issuer.issue(user.id.to_string(), Sid { sid }) {
        Ok(access) => HttpResponse::Ok().json(json!({
            "token": access.token,
            "refresh_token": session.refresh_token.as_str(),
        })),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
async fn signup_route(user: Authenticated<User>) -> HttpResponse {
    HttpResponse::Created().json(user.user())
}
async fn login_route(user: Authenticated<User>, state: Data) -> HttpResponse {
    match state.sessions.start(&user.user().id.to_string()).await {
        Ok(session) => token_pair(&state, user.user(), &session),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}
async fn refresh(req: HttpRequest, body: web::Payload, state: Data) -> HttpResponse {
    let fields = read_fields(&AuthRequest::from_handler(&req, body), ["refresh_token"]).await;
    let Ok([Some(presented)]) = fields else {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_request"}));
    };
    match state.sessions.refresh(&presented).await {
        Ok((session, user)) => token_pair(&state, &user, &session),
        Err(_) => HttpResponse::BadRequest().json(json!({"error": "invalid_grant"})),
    }
}
async fn logout(user: Authenticated<User>, state: Data) -> HttpResponse {
    let sid = user.user().session_id.unwrap_or_default().to_string();
    match state.sessions.revoke(&sid).await {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}
async fn notes(user: Authenticated<User>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"owner": user.user(), "notes": []}))
}
async fn hello(user: MaybeAuthenticated<User>) -> HttpResponse {
    let who = user.user().map_or("stranger", |u| u.email.as_str());
    HttpResponse::Ok().json(json!({"hello": who}))
}

/// The API-key route: the caller is the service the key names.
async fn stats(service: Authenticated<String>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"service": service.user()}))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::temp_dir().join(format!("passport-sessions-{}.db", std::process::id()));
    let options = SqliteConnectOptions::new().filename(&file);
    let pool = sqlite::open(options, 4, std::time::Duration::from_secs(5)).await?;
    migrate(&pool).await?;
    let store = Arc::new(SqlStore::new(pool));
    // One process makes every change, so the cache is trusted; a logout through it forgets.
    let liveness = Liveness::new(Arc::clone(&store));
    liveness.cache().trust_always();

    let jwt = JwtConfig::hmac(RefreshToken::generate().as_str(), "notes", "notes")?;
    let hasher = Arc::new(Bcrypt::default());
    let mut passport = Passport::<User>::new();
    let signup = LocalStrategy::new(Mode::Signup, Arc::clone(&store), hasher.clone());
    passport.register("signup", signup);
    let login = LocalStrategy::new(Mode::Login, Arc::clone(&store), hasher);
    passport.register("login", login.throttle(Arc::clone(&store)));
    let check = liveness.clone();
    let verify = async move |claims: Claims<Sid>| {
        let user = check.check(&claims.custom.sid, &claims.sub).await?;
        Ok(user.map(|u| u.in_session(claims.custom.sid.parse().ok())))
    };
    let bearer = ExtractJwt::from_auth_header_as_bearer_token();
    passport.register("jwt", JwtStrategy::new(jwt.verifier(), bearer, verify));
    let jwt_guard = passport.authenticate("jwt")?;
    let optional = passport.authenticate("jwt")?.optional();
    let signup_guard = passport.authenticate("signup")?;
    let login_guard = passport.authenticate("login")?;
    let state = web::Data::new(State {
        sessions: Sessions::new(Arc::new(liveness)),
        issuer: jwt.issuer(),
    });
    let api_key = RefreshToken::generate().as_str().to_owned();
    let mut services = Passport::<String>::new();
    services.register(
        "api-key",
        ApiKeyStrategy::header("x-api-key", &api_key, "stats".into())?,
    );
    let key_guard = services.authenticate("api-key")?;

    let port: u16 = std::env::var("PORT").map_or(Ok(8080), |p| p.parse())?;
    let server = HttpServer::new(move || {
        let at = |path: &str, guard: &Authenticator<User>| web::resource(path).wrap(guard.clone());
        App::new()
            .app_data(state.clone())
            .service(at("/signup", &signup_guard).post(signup_route))
            .service(at("/login", &login_guard).post(login_route))
            .route("/token/refresh", web::post().to(refresh))
            .service(at("/logout", &jwt_guard).post(logout))
            .service(at("/notes", &jwt_guard).get(notes))
            .service(at("/hello", &optional).get(hello))
            .service(web::resource("/stats").wrap(key_guard.clone()).get(stats))
    })
    .workers(2)
    .bind(("127.0.0.1", port))?;
    let url = format!("http://{}", server.addrs()[0]);
    println!("listening on {url} (database {})", file.display());
    println!("  curl -X POST {url}/signup -d 'email=a@b.co&password=correct horse battery'");
    println!("  curl -X POST {url}/login  -d 'email=a@b.co&password=correct horse battery'");
    println!("  curl {url}/notes -H \"authorization: Bearer $TOKEN\"");
    println!("  curl -X POST {url}/token/refresh -d \"refresh_token=$REFRESH\"");
    println!("  curl -X POST {url}/logout -H \"authorization: Bearer $TOKEN\"  # revokes $TOKEN");
    println!("  curl {url}/hello   # optional: with or without a token");
    println!("  curl {url}/stats -H 'x-api-key: {api_key}'");
    Ok(server.run().await?)
}
