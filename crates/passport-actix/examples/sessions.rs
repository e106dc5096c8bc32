//! A notes API on the shipped SQLite store: signup, login with a refresh token, refresh, a
//! logout that revokes the session's access tokens at once, a JWT-guarded route, an optional
//! route and an API-key route. `cargo run -p passport-actix --example sessions -F sqlite`
//! needs no setup (a new SQLite file in the temporary folder, a random JWT secret and API
//! key); `PORT` picks the port (default 8080; 0: any free one).

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use passport_actix::api_key::ApiKeyStrategy;
use passport_actix::jwt::{ExtractJwt, JwtConfig};
use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
use passport_actix::session::{
    Liveness, RefreshToken, SessionTokens, Sessions, TokenPair, TokenPairError,
};
use passport_actix::store::sqlx::sqlite::SqliteConnectOptions;
use passport_actix::store::{SqlStore, User, migrate, sqlite};
use passport_actix::{Authenticated, Authenticator, MaybeAuthenticated, Passport};
use serde_json::json;

/// Issues a session's access and refresh tokens; serves refresh and logout.
type Tokens = web::Data<SessionTokens<Liveness<SqlStore>>>;

async fn signup_route(user: Authenticated<User>) -> HttpResponse {
    HttpResponse::Created().json(user.user())
}

/// A login starts a session: `{"token", "token_type", "expires_in", "refresh_token"}`.
async fn login_route(
    user: Authenticated<User>,
    tokens: Tokens,
) -> Result<TokenPair, TokenPairError> {
    tokens.start(&user.id.to_string()).await
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
    // The session check of every guarded request. One process makes every change, so its
    // cache is trusted: a logout through it forgets the session at once.
    let liveness = Liveness::new(Arc::clone(&store));
    liveness.cache().trust_always();
    let jwt = JwtConfig::hmac(RefreshToken::generate().as_str(), "notes", "notes")?;
    let sessions = Sessions::new(Arc::new(liveness.clone()));
    let tokens = web::Data::new(SessionTokens::new(sessions, jwt.issuer()));

    let hasher = Arc::new(Bcrypt::default());
    let mut passport = Passport::<User>::new();
    let signup = LocalStrategy::new(Mode::Signup, Arc::clone(&store), hasher.clone());
    passport.register("signup", signup);
    let login = LocalStrategy::new(Mode::Login, Arc::clone(&store), hasher);
    passport.register("login", login.throttle(Arc::clone(&store)));
    // Tokens must name a live session: revoked, expired or without `sid` → 401.
    let bearer = ExtractJwt::from_auth_header_as_bearer_token();
    passport.register("jwt", liveness.jwt_strategy(jwt.verifier(), bearer));
    let jwt_guard = passport.authenticate("jwt")?;
    let optional = passport.authenticate("jwt")?.optional();
    let signup_guard = passport.authenticate("signup")?;
    let login_guard = passport.authenticate("login")?;

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
            .app_data(tokens.clone())
            .service(at("/signup", &signup_guard).post(signup_route))
            .service(at("/login", &login_guard).post(login_route))
            .route("/token/refresh", tokens.refresh_route())
            .service(at("/logout", &jwt_guard).route(tokens.logout_route()))
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
