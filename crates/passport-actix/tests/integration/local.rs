//! The local strategy (signup and login) over an in-memory user store and login throttle.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{App, HttpResponse, test, web};
use bytes::Bytes;
use passport_actix::local::{
    Attempt, Bcrypt, Created, INVALID_CREDENTIALS, LocalStrategy, LoginThrottle, Mode,
    PasswordHash, PasswordHasher, StoredCredentials, UserStore,
};
use passport_actix::{
    AuthRequest, Authenticated, BlockingPool, Callback, ErrorBody, Outcome, Passport, StoreError,
};
use serde::Serialize;
use serde_json::{Value, json};

const GOOD_PASSWORD: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------------------------
// In-memory store and throttle
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
struct User {
    id: u64,
    email: String,
}

/// Users in a `Mutex<HashMap>`, with call counters and a switch that makes it unavailable.
#[derive(Default)]
struct MemoryUsers {
    users: Mutex<HashMap<String, (User, PasswordHash)>>,
    finds: AtomicUsize,
    creates: AtomicUsize,
    down: AtomicBool,
    /// A password change that commits right after the next `find_for_login` has read the
    /// old hash (a deterministic interleaving of a login and a concurrent change).
    change_after_find: Mutex<Option<PasswordHash>>,
    /// Emails of users with a second factor (`UserStore::has_second_factor`).
    second_factor: Mutex<Vec<String>>,
}

impl MemoryUsers {
    fn calls(&self) -> (usize, usize) {
        (
            self.finds.load(Ordering::SeqCst),
            self.creates.load(Ordering::SeqCst),
        )
    }

    fn hash_of(&self, email: &str) -> Option<PasswordHash> {
        self.users
            .lock()
            .unwrap()
            .get(email)
            .map(|(_, hash)| hash.clone())
    }

    fn len(&self) -> usize {
        self.users.lock().unwrap().len()
    }
}

fn store_down() -> StoreError {
    StoreError::unavailable(std::io::Error::other("connection pool timed out"))
}
impl UserStore for MemoryUsers {
    type User = User;

    async fn find_for_login(
        &self,
        username: &str,
    ) -> Result<Option<StoredCredentials<User>>, StoreError> {
        self.finds.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(store_down());
        }
        let mut users = self.users.lock().unwrap();
        let found = users.get(username).map(|(user, hash)| StoredCredentials {
            user: user.clone(),
            password_hash: hash.clone(),
        });
        if let Some(changed) = self.change_after_find.lock().unwrap().take()
            && let Some(entry) = users.get_mut(username)
        {
            entry.1 = changed;
        }
        Ok(found)
    }

    async fn create_user(
        &self,
        username: &str,
        password_hash: &PasswordHash,
    ) -> Result<Created<User>, StoreError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(store_down());
        }
        let mut users = self.users.lock().unwrap();
        if users.contains_key(username) {
            return Ok(Created::AlreadyExists);
        }
        let user = User {
            id: users.len() as u64 + 1,
            email: username.to_owned(),
        };
        users.insert(username.to_owned(), (user.clone(), password_hash.clone()));
        Ok(Created::User(user))
    }

    async fn update_password_hash(
        &self,
        user: &User,
        verified: &PasswordHash,
        password_hash: &PasswordHash,
    ) -> Result<bool, StoreError> {
        let mut users = self.users.lock().unwrap();
        match users.get_mut(&user.email) {
            Some(entry) if entry.1.as_str() == verified.as_str() => {
                entry.1 = password_hash.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn has_second_factor(&self, user: &User) -> Result<bool, StoreError> {
        Ok(self.second_factor.lock().unwrap().contains(&user.email))
    }
}

/// Allows `limit` attempts per username, then throttles for 30 seconds.
struct MemoryThrottle {
    limit: usize,
    attempts: Mutex<HashMap<String, usize>>,
    clears: AtomicUsize,
}

impl MemoryThrottle {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            attempts: Mutex::new(HashMap::new()),
            clears: AtomicUsize::new(0),
        }
    }

    fn attempts(&self, username: &str) -> usize {
        self.attempts
            .lock()
            .unwrap()
            .get(username)
            .copied()
            .unwrap_or(0)
    }
}
impl LoginThrottle for MemoryThrottle {
    async fn register_attempt(&self, username: &str) -> Result<Attempt, StoreError> {
        let mut attempts = self.attempts.lock().unwrap();
        let count = attempts.entry(username.to_owned()).or_insert(0);
        *count += 1;
        if *count > self.limit {
            Ok(Attempt::Throttled {
                retry_after: Duration::from_secs(30),
            })
        } else {
            Ok(Attempt::Allowed)
        }
    }

    async fn clear(&self, username: &str) -> Result<(), StoreError> {
        self.clears.fetch_add(1, Ordering::SeqCst);
        self.attempts.lock().unwrap().remove(username);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The app under test
// ---------------------------------------------------------------------------------------------

fn hasher() -> Arc<Bcrypt> {
    Arc::new(Bcrypt::new(4).unwrap())
}

struct Harness {
    users: Arc<MemoryUsers>,
    throttle: Arc<MemoryThrottle>,
    passport: Passport<User>,
}

/// `signup` and `login` strategies over fresh in-memory users, throttled after 3 attempts.
fn harness() -> Harness {
    let users = Arc::new(MemoryUsers::default());
    let throttle = Arc::new(MemoryThrottle::new(3));
    let hasher = hasher();
    let mut passport = Passport::<User>::new();
    passport.register(
        "signup",
        LocalStrategy::new(Mode::Signup, Arc::clone(&users), hasher.clone()),
    );
    passport.register(
        "login",
        LocalStrategy::new(Mode::Login, Arc::clone(&users), hasher).throttle(throttle.clone()),
    );
    Harness {
        users,
        throttle,
        passport,
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    challenge: Option<String>,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }

    fn error(&self) -> String {
        serde_json::from_slice::<ErrorBody>(&self.body)
            .unwrap_or_else(|_| panic!("not an error body: {:?}", self.body))
            .error
    }
}

impl Harness {
    /// Sends `req` to `POST /signup` and `POST /login`, guarded by the strategy of that name.
    async fn send(&self, req: test::TestRequest) -> Reply {
        let app = test::init_service(
            App::new()
                .service(
                    web::resource("/signup")
                        .wrap(self.passport.authenticate("signup").unwrap())
                        .route(web::post().to(|user: Authenticated<User>| async move {
                            HttpResponse::Created().json(json!({
                                "user": user.user(),
                                "message": user.info().message(),
                            }))
                        })),
                )
                .service(
                    web::resource("/login")
                        .wrap(self.passport.authenticate("login").unwrap())
                        .route(web::post().to(|user: Authenticated<User>| async move {
                            HttpResponse::Ok().json(json!({
                                "user": user.user(),
                                "message": user.info().message(),
                                "strategy": user.info().strategy(),
                            }))
                        })),
                ),
        )
        .await;
        let res = test::call_service(&app, req.to_request()).await;
        let header = |name: HeaderName| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let status = res.status();
        let retry_after = header(RETRY_AFTER);
        let challenge = header(WWW_AUTHENTICATE);
        let body = test::read_body(res).await;
        Reply {
            status,
            retry_after,
            challenge,
            body,
        }
    }

    async fn signup(&self, email: &str, password: &str) -> Reply {
        self.send(json_post(
            "/signup",
            json!({ "email": email, "password": password }),
        ))
        .await
    }

    async fn login(&self, email: &str, password: &str) -> Reply {
        self.send(json_post(
            "/login",
            json!({ "email": email, "password": password }),
        ))
        .await
    }

    fn callback(&self, name: &str) -> Callback<User> {
        self.passport.callback(name).unwrap()
    }
}

fn json_post(uri: &str, body: Value) -> test::TestRequest {
    test::TestRequest::post().uri(uri).set_json(body)
}

fn form_post(uri: &str, form: &'static str) -> test::TestRequest {
    test::TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(form)
}

/// Runs the `login` strategy through a callback and returns the outcome itself.
async fn login_outcome(harness: &Harness, email: &str, password: &str) -> Outcome<User> {
    let body = json!({ "email": email, "password": password }).to_string();
    let http = test::TestRequest::post()
        .insert_header(("content-type", "application/json"))
        .to_http_request();
    harness
        .callback("login")
        .run(AuthRequest::with_body(http, Bytes::from(body)))
        .await
}

// ---------------------------------------------------------------------------------------------
// Signup
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn signup_creates_a_user_with_a_normalized_email_and_a_bcrypt_hash() {
    let h = harness();
    let reply = h.signup("  Ada@Example.COM ", GOOD_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(
        reply.json(),
        json!({ "user": { "id": 1, "email": "ada@example.com" }, "message": "Signup successful" })
    );
    let hash = h.users.hash_of("ada@example.com").unwrap();
    assert!(hash.as_str().starts_with("$2b$04$"), "bcrypt with cost 4");
    assert!(!hash.as_str().contains(GOOD_PASSWORD));
    assert!(hasher().verify(GOOD_PASSWORD.as_bytes(), &hash).unwrap());
    assert!(
        !reply
            .body
            .windows(GOOD_PASSWORD.len())
            .any(|w| w == GOOD_PASSWORD.as_bytes())
    );
}

#[actix_web::test]
async fn signup_with_a_taken_email_is_409_email_taken_whatever_its_case() {
    let h = harness();
    assert_eq!(
        h.signup("ada@example.com", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
    for email in ["ada@example.com", "ADA@example.com"] {
        let reply = h.signup(email, "another fine passphrase").await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{email}");
        assert_eq!(reply.error(), "email_taken");
    }
    assert_eq!(h.users.len(), 1);
}

#[actix_web::test]
async fn signup_refuses_passwords_that_break_the_policy_with_422_and_a_code() {
    let h = harness();
    let too_long = "a".repeat(73);
    let cases = [
        ("short1", "password_too_short"),
        ("password123", "password_too_common"),
        ("QWERTYUIOP", "password_too_common"),
        (too_long.as_str(), "password_too_long"),
        ("ada.lovelace@example.com", "password_matches_email"),
        ("Ada.Lovelace", "password_matches_email"),
        ("tab\tinside password", "password_invalid_character"),
    ];
    for (password, code) in cases {
        let reply = h.signup("ada.lovelace@example.com", password).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password:?}"
        );
        assert_eq!(reply.error(), code, "{password:?}");
    }
    assert_eq!(
        h.users.calls(),
        (0, 0),
        "the store is never asked to create a refused password"
    );
}

#[actix_web::test]
async fn a_password_of_exactly_72_bytes_can_sign_up_and_log_in() {
    let h = harness();
    let password = "é".repeat(36);
    assert_eq!(password.len(), 72);
    let reply = h.signup("ada@example.com", &password).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(
        h.login("ada@example.com", &password).await.status,
        StatusCode::OK
    );
    let shorter = "é".repeat(35);
    assert_eq!(
        h.login("ada@example.com", &shorter).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn signup_with_an_invalid_email_is_422_invalid_email() {
    let h = harness();
    for email in [
        "not-an-email",
        "ada@localhost",
        "ada lovelace@example.com",
        "@example.com",
    ] {
        let reply = h.signup(email, GOOD_PASSWORD).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        assert_eq!(reply.error(), "invalid_email", "{email}");
    }
    assert_eq!(h.users.calls(), (0, 0));
}

#[actix_web::test]
async fn signup_when_the_store_is_down_is_503() {
    let h = harness();
    h.users.down.store(true, Ordering::SeqCst);
    let reply = h.signup("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error(), "service_unavailable");
    assert!(!String::from_utf8_lossy(&reply.body).contains("pool"));
}

// ---------------------------------------------------------------------------------------------
// Missing and malformed credentials
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn missing_credential_messages_name_the_field_and_the_usual_mistake() {
    let h = harness();
    let message = |reply: &Reply| {
        serde_json::from_slice::<Value>(&reply.body).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let reply = h
        .send(json_post("/login", json!({ "email": "ada@example.com" })))
        .await;
    assert_eq!(message(&reply), "Missing credentials: password is required");
    let reply = h
        .send(json_post("/login", json!({ "password": GOOD_PASSWORD })))
        .await;
    assert_eq!(message(&reply), "Missing credentials: email is required");
    // curl -d '{"email":…}' sends JSON with the form content type.
    let reply = h
        .send(form_post(
            "/login",
            r#"{"email":"ada@example.com","password":"x"}"#,
        ))
        .await;
    assert_eq!(reply.error(), "missing_credentials");
    assert!(
        message(&reply).contains("looks like JSON"),
        "{}",
        message(&reply)
    );
}

#[actix_web::test]
async fn missing_credentials_are_400_without_touching_the_store() {
    let h = harness();
    for uri in ["/signup", "/login"] {
        let requests = [
            test::TestRequest::post().uri(uri),
            json_post(uri, json!({})),
            json_post(uri, json!({ "email": "ada@example.com" })),
            json_post(uri, json!({ "password": GOOD_PASSWORD })),
            json_post(uri, json!({ "email": "ada@example.com", "password": "" })),
            json_post(uri, json!({ "email": "", "password": GOOD_PASSWORD })),
            json_post(uri, json!({ "email": "ada@example.com", "password": null })),
            form_post(uri, "email=ada%40example.com"),
        ];
        for (i, req) in requests.into_iter().enumerate() {
            let reply = h.send(req).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri} #{i}");
            assert_eq!(reply.error(), "missing_credentials", "{uri} #{i}");
        }
    }
    assert_eq!(h.users.calls(), (0, 0));
    assert_eq!(
        h.throttle.attempts("ada@example.com"),
        0,
        "nothing was counted"
    );
}

#[actix_web::test]
async fn malformed_bodies_are_4xx_without_touching_the_store() {
    let h = harness();
    let cases = [
        (
            test::TestRequest::post()
                .uri("/login")
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"email\":"),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            json_post(
                "/login",
                json!({ "email": ["ada@example.com"], "password": "x" }),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            test::TestRequest::post()
                .uri("/login")
                .insert_header(("content-type", "text/plain"))
                .set_payload("ada@example.com:secret"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (req, status, code) in cases {
        let reply = h.send(req).await;
        assert_eq!((reply.status, reply.error().as_str()), (status, code));
    }
    assert_eq!(h.users.calls(), (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn login_with_the_right_password_succeeds_and_clears_the_throttle() {
    let h = harness();
    h.signup("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(
        h.login("ada@example.com", "wrong password here")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.throttle.attempts("ada@example.com"), 1);

    let reply = h.login("  ADA@example.com", GOOD_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        reply.json(),
        json!({
            "user": { "id": 1, "email": "ada@example.com" },
            "message": "Logged in successfully",
            "strategy": "login",
        })
    );
    assert_eq!(h.throttle.attempts("ada@example.com"), 0);
    assert_eq!(h.throttle.clears.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn a_right_password_of_a_user_with_a_second_factor_leaves_the_throttle_count() {
    let h = harness();
    h.signup("ada@example.com", GOOD_PASSWORD).await;
    h.users
        .second_factor
        .lock()
        .unwrap()
        .push("ada@example.com".to_owned());
    for attempt in 1..=3 {
        let reply = h.login("ada@example.com", GOOD_PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(h.throttle.attempts("ada@example.com"), attempt);
    }
    assert_eq!(h.throttle.clears.load(Ordering::SeqCst), 0);
    let throttled = h.login("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn login_accepts_a_urlencoded_form() {
    let h = harness();
    h.signup("ada@example.com", GOOD_PASSWORD).await;
    let reply = h
        .send(form_post(
            "/login",
            "email=ada%40example.com&password=correct+horse+battery+staple",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.json()["user"]["email"], "ada@example.com");

    let reply = h
        .send(form_post(
            "/login",
            "email=ada%40example.com&password=correct+horse",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_wrong_password_and_an_unknown_email_get_byte_identical_responses() {
    let h = harness();
    h.signup("ada@example.com", GOOD_PASSWORD).await;
    let wrong_password = h.login("ada@example.com", "not the right password").await;
    let unknown_email = h
        .login("nobody@example.com", "not the right password")
        .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_password, unknown_email,
        "status, headers and body must not differ"
    );
    assert_eq!(
        serde_json::from_slice::<ErrorBody>(&wrong_password.body).unwrap(),
        ErrorBody::new("invalid_credentials", INVALID_CREDENTIALS)
    );
}

#[actix_web::test]
async fn the_internal_reason_tells_a_wrong_password_from_an_unknown_email() {
    let h = harness();
    h.signup("ada@example.com", GOOD_PASSWORD).await;
    let Outcome::Fail(wrong_password) =
        login_outcome(&h, "ada@example.com", "not the right password").await
    else {
        panic!("expected a failure")
    };
    let Outcome::Fail(unknown_email) =
        login_outcome(&h, "nobody@example.com", "not the right password").await
    else {
        panic!("expected a failure")
    };
    assert_eq!(wrong_password.reason(), Some("wrong password"));
    assert_eq!(unknown_email.reason(), Some("unknown user"));
    assert_eq!(
        (
            wrong_password.status(),
            wrong_password.code(),
            wrong_password.message()
        ),
        (
            unknown_email.status(),
            unknown_email.code(),
            unknown_email.message()
        )
    );
}

#[actix_web::test]
async fn after_too_many_attempts_even_the_right_password_gets_429_with_retry_after() {
    let h = harness();
    h.signup("ada@example.com", GOOD_PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(
            h.login("ada@example.com", "guess guess guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let finds_before = h.users.calls().0;
    assert_eq!(finds_before, 3);

    let reply = h.login("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.error(), "too_many_attempts");
    assert_eq!(reply.retry_after.as_deref(), Some("30"));
    assert_eq!(
        h.users.calls().0,
        finds_before,
        "the store is not asked while throttled"
    );
    assert_eq!(h.throttle.clears.load(Ordering::SeqCst), 0);
}

#[actix_web::test]
async fn the_throttle_counts_unknown_emails_too() {
    let h = harness();
    for _ in 0..3 {
        assert_eq!(
            h.login("nobody@example.com", "guess guess guess")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let reply = h.login("NOBODY@example.com", "guess guess guess").await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "normalized before counting"
    );
    assert_eq!(h.throttle.attempts("nobody@example.com"), 4);
}

#[actix_web::test]
async fn login_with_a_password_over_72_bytes_is_refused_before_the_store() {
    let h = harness();
    let reply = h.login("ada@example.com", &"a".repeat(73)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error(), "password_too_long");
    assert_eq!(h.users.calls(), (0, 0));
}

#[actix_web::test]
async fn login_when_the_store_is_down_is_503() {
    let h = harness();
    h.users.down.store(true, Ordering::SeqCst);
    let reply = h.login("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error(), "service_unavailable");
    assert_eq!(reply.retry_after.as_deref(), Some("1"));
}

#[actix_web::test]
async fn a_full_hashing_queue_turns_logins_and_signups_away_with_503_before_the_store() {
    // A pool whose one admission place is taken (held here, as a login waiting to hash would).
    let pool = BlockingPool::new(NonZeroUsize::MIN).with_admission_limit(NonZeroUsize::MIN);
    let held = pool.try_admit().expect("the only place");
    let users = Arc::new(MemoryUsers::default());
    let throttle = Arc::new(MemoryThrottle::new(3));
    let mut passport = Passport::<User>::new();
    passport.register(
        "signup",
        LocalStrategy::new(Mode::Signup, Arc::clone(&users), hasher()).blocking_pool(pool.clone()),
    );
    passport.register(
        "login",
        LocalStrategy::new(Mode::Login, Arc::clone(&users), hasher())
            .throttle(throttle.clone())
            .blocking_pool(pool.clone()),
    );
    let h = Harness {
        users,
        throttle,
        passport,
    };
    for reply in [
        h.login("ada@example.com", GOOD_PASSWORD).await,
        h.signup("ada@example.com", GOOD_PASSWORD).await,
    ] {
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.error(), "server_busy");
        assert_eq!(reply.retry_after.as_deref(), Some("1"));
    }
    assert_eq!(h.users.calls(), (0, 0), "the store is not read");
    assert_eq!(
        h.throttle.attempts("ada@example.com"),
        0,
        "no attempt is counted"
    );
    // The place comes back: the same requests now go through.
    drop(held);
    assert_eq!(
        h.signup("ada@example.com", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        h.login("ada@example.com", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(pool.admitted(), 0);
}

#[actix_web::test]
async fn a_rehash_never_overwrites_a_password_changed_after_the_login_read_the_old_hash() {
    let harness = harness();
    assert_eq!(
        harness
            .signup("race@example.com", "correct horse")
            .await
            .status,
        StatusCode::CREATED
    );
    // The victim's new password, committed after the attacker's login read the old hash.
    let changed = Bcrypt::new(4)
        .unwrap()
        .hash(b"a brand new passphrase")
        .unwrap();
    *harness.users.change_after_find.lock().unwrap() = Some(changed.clone());

    let mut passport = Passport::<User>::new();
    passport.register(
        "login",
        LocalStrategy::new(
            Mode::Login,
            Arc::clone(&harness.users),
            Arc::new(Bcrypt::new(5).unwrap()), // raised cost: this login rehashes
        ),
    );
    let http = test::TestRequest::post()
        .insert_header(("content-type", "application/json"))
        .to_http_request();
    let body = json!({ "email": "race@example.com", "password": "correct horse" }).to_string();
    let outcome = passport
        .callback("login")
        .unwrap()
        .run(AuthRequest::with_body(http, Bytes::from(body)))
        .await;

    let Outcome::Fail(failure) = outcome else {
        panic!("a login that checked the old password must not succeed: {outcome:?}");
    };
    assert_eq!(failure.code(), "invalid_credentials");
    assert_eq!(
        harness.users.hash_of("race@example.com").unwrap().as_str(),
        changed.as_str(),
        "the new password's hash is kept, not replaced by a hash of the old password"
    );
}

// ---------------------------------------------------------------------------------------------
// Custom field names
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_login_after_the_cost_was_raised_rehashes_the_password_with_the_new_cost() {
    let harness = harness();
    assert_eq!(
        harness
            .signup("old@example.com", "correct horse")
            .await
            .status,
        StatusCode::CREATED
    );
    let stored = |users: &MemoryUsers| {
        users.users.lock().unwrap()["old@example.com"]
            .1
            .as_str()
            .to_owned()
    };
    assert!(stored(&harness.users).starts_with("$2b$04$"));

    let mut passport = Passport::<User>::new();
    let raised = Arc::new(Bcrypt::new(5).unwrap());
    passport.register(
        "login",
        LocalStrategy::new(Mode::Login, Arc::clone(&harness.users), raised),
    );
    let login = |password: &'static str| {
        let http = test::TestRequest::post()
            .insert_header(("content-type", "application/json"))
            .to_http_request();
        let body = json!({ "email": "old@example.com", "password": password }).to_string();
        let callback = passport.callback("login").unwrap();
        async move {
            callback
                .run(AuthRequest::with_body(http, Bytes::from(body)))
                .await
        }
    };
    assert!(matches!(login("wrong horse!").await, Outcome::Fail(_)));
    assert!(
        stored(&harness.users).starts_with("$2b$04$"),
        "a failed login changes nothing"
    );
    assert!(matches!(
        login("correct horse").await,
        Outcome::Success { .. }
    ));
    assert!(
        stored(&harness.users).starts_with("$2b$05$"),
        "{}",
        stored(&harness.users)
    );
    assert!(
        matches!(login("correct horse").await, Outcome::Success { .. }),
        "the new hash verifies"
    );
}

#[actix_web::test]
async fn custom_field_names_are_read_instead_of_email_and_password() {
    let users = Arc::new(MemoryUsers::default());
    let hasher = hasher();
    let mut passport = Passport::<User>::new();
    passport.register(
        "signup",
        LocalStrategy::new(Mode::Signup, Arc::clone(&users), hasher.clone())
            .fields("username", "pw"),
    );
    passport.register(
        "login",
        LocalStrategy::new(Mode::Login, Arc::clone(&users), hasher).fields("username", "pw"),
    );
    let h = Harness {
        users,
        throttle: Arc::new(MemoryThrottle::new(3)),
        passport,
    };

    let reply = h
        .send(json_post(
            "/signup",
            json!({ "username": "ada@example.com", "pw": GOOD_PASSWORD }),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);

    let reply = h
        .send(form_post(
            "/login",
            "username=ada%40example.com&pw=correct+horse+battery+staple",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);

    let reply = h.login("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "the default names are not read"
    );
    assert_eq!(reply.error(), "missing_credentials");
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("username and pw"),
        "{:?}",
        reply.body
    );
}

#[actix_web::test]
async fn login_failures_carry_no_challenge_and_never_echo_the_password() {
    let h = harness();
    let reply = h.login("ada@example.com", "my secret guess").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge, None);
    assert!(!String::from_utf8_lossy(&reply.body).contains("my secret guess"));
}

// ---------------------------------------------------------------------------------------------
// A login without a throttle
// ---------------------------------------------------------------------------------------------

/// A log sink: every line the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps a capture running: the thread's subscriber until dropped.
struct Capturing {
    _guard: tracing::dispatcher::DefaultGuard,
    _dispatchers: [tracing::Dispatch; 2],
}

impl CapturedLogs {
    /// Makes this sink the thread's subscriber until the returned value drops.
    ///
    /// tracing caches each callsite's interest process-wide, and with a single live
    /// dispatcher it asks only the thread that reaches the callsite first: a sibling test
    /// without a subscriber would cache "never" and silence the event here too. A second
    /// live dispatcher makes every such decision ask both, so the capture cannot be starved.
    fn capture() -> (Self, Capturing) {
        let logs = Self::default();
        let sink = logs.clone();
        let capture = tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_writer(move || sink.clone())
                .with_ansi(false)
                .finish(),
        );
        let anchor = tracing::Dispatch::new(tracing_subscriber::registry());
        let guard = tracing::dispatcher::set_default(&capture);
        (
            logs,
            Capturing {
                _guard: guard,
                _dispatchers: [capture, anchor],
            },
        )
    }

    /// What was logged so far.
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[actix_web::test]
async fn a_login_without_a_throttle_warns_once_and_a_throttled_login_never() {
    const WARNING: &str = "without a login throttle";
    let (logs, _capturing) = CapturedLogs::capture();
    let users = Arc::new(MemoryUsers::default());
    let unthrottled = LocalStrategy::new(Mode::Login, Arc::clone(&users), hasher());
    let throttled = LocalStrategy::new(Mode::Login, users, hasher())
        .throttle(Arc::new(MemoryThrottle::new(100)));
    assert!(
        !logs.text().contains(WARNING),
        "not before its first login: {}",
        logs.text()
    );

    for _ in 0..3 {
        let _ = throttled.check_password("ada@example.com", "wrong").await;
    }
    assert!(
        !logs.text().contains(WARNING),
        "a throttled login is quiet: {}",
        logs.text()
    );

    for _ in 0..3 {
        let _ = unthrottled.check_password("ada@example.com", "wrong").await;
    }
    let text = logs.text();
    assert_eq!(
        text.matches(WARNING).count(),
        1,
        "once, not per request: {text}"
    );
    assert!(text.contains("WARN"), "{text}");
}
