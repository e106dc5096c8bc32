//! The registry of named strategies (Passport's `passport.use(name, strategy)`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::chain::Chain;
use crate::error::ConfigError;
use crate::middleware::Authenticator;
use crate::outcome::Outcome;
use crate::request::{AuthRequest, DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT};
use crate::responder::{FailureResponder, JsonResponder};
use crate::strategy::{Authenticate, DynAuthenticate};

/// Strategies registered by name, and the place guards are made from.
///
/// `Passport` is cheap to clone and `Send + Sync`: build it once, before `HttpServer::new`,
/// and build every [`Authenticator`] from it there too, so that a misspelt strategy name stops
/// the program at start-up rather than at the first request.
///
/// # Examples
///
/// ```
/// use passport_actix::{strategy_fn, ConfigError, Outcome, Passport};
///
/// let mut passport = Passport::<u32>::new();
/// passport.register("always", strategy_fn(async |_req| { Outcome::success(1) }));
/// assert!(passport.authenticate("always").is_ok());
/// assert!(matches!(passport.authenticate("jwt"), Err(ConfigError::UnknownStrategy { .. })));
/// ```
pub struct Passport<U> {
    strategies: BTreeMap<String, Arc<dyn DynAuthenticate<U>>>,
    responder: Arc<dyn FailureResponder>,
    body_limit: usize,
    body_read_timeout: Duration,
}

impl<U> Clone for Passport<U> {
    fn clone(&self) -> Self {
        Self {
            strategies: self.strategies.clone(),
            responder: Arc::clone(&self.responder),
            body_limit: self.body_limit,
            body_read_timeout: self.body_read_timeout,
        }
    }
}

impl<U> fmt::Debug for Passport<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passport")
            .field("strategies", &self.strategies.keys().collect::<Vec<_>>())
            .field("body_limit", &self.body_limit)
            .field("body_read_timeout", &self.body_read_timeout)
            .finish_non_exhaustive()
    }
}

impl<U: 'static> Default for Passport<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U: 'static> Passport<U> {
    /// An empty registry with the [`JsonResponder`], an 8 KiB body limit and a 5 s body read
    /// timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Passport;
    ///
    /// let passport = Passport::<String>::new();
    /// assert_eq!(passport.names().count(), 0);
    /// ```
    pub fn new() -> Self {
        Self {
            strategies: BTreeMap::new(),
            responder: Arc::new(JsonResponder),
            body_limit: DEFAULT_BODY_LIMIT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
        }
    }

    /// Registers `strategy` under `name`, replacing (and returning `true` for) an earlier one.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{strategy_fn, Outcome, Passport};
    ///
    /// let mut passport = Passport::<u32>::new();
    /// assert!(!passport.register("anyone", strategy_fn(async |_req| Outcome::success(1))));
    /// assert!(passport.register("anyone", strategy_fn(async |_req| Outcome::Pass)), "replaced");
    /// assert!(passport.contains("anyone"));
    /// ```
    pub fn register(&mut self, name: impl Into<String>, strategy: impl Authenticate<U>) -> bool {
        self.strategies
            .insert(name.into(), Arc::new(strategy))
            .is_some()
    }

    /// Removes the strategy named `name`; `true` if there was one.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{strategy_fn, Outcome, Passport};
    ///
    /// let mut passport = Passport::<u32>::new();
    /// passport.register("anyone", strategy_fn(async |_req| Outcome::success(1)));
    /// assert!(passport.remove("anyone"));
    /// assert!(!passport.contains("anyone"));
    /// ```
    pub fn remove(&mut self, name: &str) -> bool {
        self.strategies.remove(name).is_some()
    }

    /// Whether a strategy named `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.strategies.contains_key(name)
    }

    /// The registered names, sorted.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{strategy_fn, Outcome, Passport};
    ///
    /// let mut passport = Passport::<u32>::new();
    /// passport.register("b", strategy_fn(async |_req| Outcome::Pass));
    /// passport.register("a", strategy_fn(async |_req| Outcome::Pass));
    /// assert_eq!(passport.names().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.strategies.keys().map(String::as_str)
    }

    /// Replaces the responder that turns failures into responses.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::{HttpRequest, HttpResponse};
    /// use passport_actix::{Failure, Passport};
    ///
    /// let mut passport = Passport::<String>::new();
    /// // A closure works as a responder too.
    /// passport.responder(|_req: &HttpRequest, failures: &[Failure]| {
    ///     HttpResponse::build(failures[0].status()).body(failures[0].code().to_owned())
    /// });
    /// ```
    pub fn responder(&mut self, responder: impl FailureResponder) -> &mut Self {
        self.responder = Arc::new(responder);
        self
    }

    /// Sets the largest request body a strategy may read (default 8 KiB); larger bodies get 413.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Passport;
    ///
    /// let mut passport = Passport::<String>::new();
    /// passport.body_limit(16 * 1024);
    /// ```
    pub fn body_limit(&mut self, bytes: usize) -> &mut Self {
        self.body_limit = bytes;
        self
    }

    /// Sets the total time a strategy waits for the whole request body (default 5 s); a body
    /// that stalls or trickles past it gets `408 request_timeout`.
    ///
    /// This bounds the strategy, not the connection: after the response, actix-http drains
    /// the unread rest of a *chunked* body (a `Content-Length` body closes the connection). An
    /// app facing the internet should also put one deadline on every body at the connection
    /// level, as the `passport-server` binary in this crate's repository does: a middleware
    /// that keeps the unread payload alive until the 408 is sent, so that actix closes the
    /// connection instead of draining it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::Passport;
    ///
    /// let mut passport = Passport::<String>::new();
    /// passport.body_limit(4096).body_read_timeout(Duration::from_secs(2));
    /// ```
    pub fn body_read_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.body_read_timeout = timeout;
        self
    }

    /// A middleware that runs the named strategies in order (Passport's `authenticate`).
    ///
    /// Accepts one name (`"jwt"`) or several (`["jwt", "api-key"]`). The chain is resolved now:
    /// an unknown name is an error here, and later changes to the registry do not affect it.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::{test, web, App, HttpResponse};
    /// use passport_actix::{strategy_fn, Failure, Outcome, Passport};
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let mut passport = Passport::<String>::new();
    /// passport.register("header", strategy_fn(async |req| match req.http().headers().get("x-user") {
    ///     Some(v) => Outcome::success(v.to_str().unwrap_or_default().to_owned()),
    ///     None => Outcome::Fail(Failure::missing("no_user", "Who are you?")),
    /// }));
    /// let app = test::init_service(App::new().service(
    ///     web::scope("/api").wrap(passport.authenticate("header").unwrap()).route("/", web::get().to(HttpResponse::Ok)),
    /// )).await;
    /// let res = test::call_service(&app, test::TestRequest::get().uri("/api/").to_request()).await;
    /// assert_eq!(res.status(), 401);
    /// let req = test::TestRequest::get().uri("/api/").insert_header(("x-user", "ada")).to_request();
    /// assert_eq!(test::call_service(&app, req).await.status(), 200);
    /// # });
    /// ```
    pub fn authenticate<N: StrategyNames>(
        &self,
        names: N,
    ) -> Result<Authenticator<U>, ConfigError> {
        Ok(Authenticator::new(self.chain(names)?))
    }

    /// A handle to run strategies from inside a handler and deal with every outcome there
    /// (Passport's custom callback: `passport.authenticate('login', (err, user, info) => …)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{strategy_fn, Outcome, Passport};
    ///
    /// let mut passport = Passport::<u32>::new();
    /// passport.register("login", strategy_fn(async |_req| Outcome::success(1)));
    /// let callback = passport.callback("login").unwrap(); // put it in `web::Data` for the handler
    /// assert!(passport.callback("signup").is_err());
    /// # let _ = callback;
    /// ```
    pub fn callback<N: StrategyNames>(&self, names: N) -> Result<Callback<U>, ConfigError> {
        Ok(Callback {
            chain: Arc::new(self.chain(names)?),
        })
    }

    fn chain<N: StrategyNames>(&self, names: N) -> Result<Chain<U>, ConfigError> {
        let names = names.into_names();
        if names.is_empty() {
            return Err(ConfigError::EmptyChain);
        }
        let steps = names
            .into_iter()
            .map(|name| match self.strategies.get(&name) {
                Some(strategy) => Ok((name, Arc::clone(strategy))),
                None => Err(ConfigError::UnknownStrategy {
                    name,
                    registered: self.names().collect::<Vec<_>>().join(", "),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Chain::new(
            steps,
            Arc::clone(&self.responder),
            self.body_limit,
            self.body_read_timeout,
        ))
    }
}

/// One strategy name or several, as accepted by [`Passport::authenticate`].
///
/// # Examples
///
/// ```
/// use passport_actix::StrategyNames;
///
/// assert_eq!("jwt".into_names(), ["jwt"]);
/// assert_eq!(["jwt", "api-key"].into_names(), ["jwt", "api-key"]);
/// assert_eq!(vec!["jwt".to_owned()].into_names(), ["jwt"]);
/// ```
pub trait StrategyNames {
    /// The names, in chain order.
    fn into_names(self) -> Vec<String>;
}

impl StrategyNames for &str {
    fn into_names(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl StrategyNames for String {
    fn into_names(self) -> Vec<String> {
        vec![self]
    }
}

impl<const N: usize> StrategyNames for [&str; N] {
    fn into_names(self) -> Vec<String> {
        self.iter().map(|s| (*s).to_owned()).collect()
    }
}

impl StrategyNames for &[&str] {
    fn into_names(self) -> Vec<String> {
        self.iter().map(|s| (*s).to_owned()).collect()
    }
}

impl StrategyNames for Vec<String> {
    fn into_names(self) -> Vec<String> {
        self
    }
}

/// Strategies resolved for use inside a handler; see [`Passport::callback`].
///
/// # Examples
///
/// ```
/// use actix_web::{test, web, HttpRequest, HttpResponse};
/// use passport_actix::{strategy_fn, AuthRequest, Callback, Outcome, Passport};
///
/// async fn login(req: HttpRequest, body: web::Payload, login: web::Data<Callback<String>>) -> HttpResponse {
///     match login.run(AuthRequest::from_handler(&req, body)).await {
///         Outcome::Success { user, .. } => HttpResponse::Ok().body(format!("hello {user}")),
///         other => login.respond(&req, other),
///     }
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let mut passport = Passport::<String>::new();
/// passport.register("login", strategy_fn(async |_req| { Outcome::success("ada".to_owned()) }));
/// let login_callback = passport.callback("login").unwrap();
/// let app = test::init_service(actix_web::App::new()
///     .app_data(web::Data::new(login_callback))
///     .route("/login", web::post().to(login))).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
/// assert_eq!(test::read_body(res).await, "hello ada");
/// # });
/// ```
pub struct Callback<U> {
    chain: Arc<Chain<U>>,
}

impl<U> Clone for Callback<U> {
    fn clone(&self) -> Self {
        Self {
            chain: Arc::clone(&self.chain),
        }
    }
}

impl<U: 'static> Callback<U> {
    /// Runs the chain and returns its outcome: the first success, error or redirect; when
    /// none came, the **most specific** failure (all are logged at debug level), or
    /// [`Outcome::Pass`] when every strategy passed. For a
    /// chain of several strategies whose combined challenges you need, guard the route with
    /// [`Passport::authenticate`] instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::{strategy_fn, AuthRequest, Outcome, Passport};
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let mut passport = Passport::<u32>::new();
    /// passport.register("login", strategy_fn(async |_req| Outcome::success(7)));
    /// let callback = passport.callback("login").unwrap();
    /// let req = AuthRequest::with_body(TestRequest::post().to_http_request(), "".into());
    /// assert!(matches!(callback.run(req).await, Outcome::Success { user: 7, .. }));
    /// # });
    /// ```
    pub async fn run(&self, req: AuthRequest) -> Outcome<U> {
        let req = req
            .body_limit(self.chain.body_limit())
            .body_read_timeout(self.chain.body_read_timeout());
        self.chain.run(&req).await.into_outcome()
    }

    /// The default response for a non-success outcome: what the middleware gives for that
    /// single outcome, through the registry's [`FailureResponder`].
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::{strategy_fn, Failure, Outcome, Passport};
    ///
    /// let mut passport = Passport::<u32>::new();
    /// passport.register("login", strategy_fn(async |_req| Outcome::Pass));
    /// let callback = passport.callback("login").unwrap();
    /// let http = TestRequest::post().to_http_request();
    /// let response = callback.respond(&http, Outcome::Fail(Failure::unauthorized("invalid_credentials", "No")));
    /// assert_eq!(response.status(), 401);
    /// ```
    pub fn respond(
        &self,
        req: &actix_web::HttpRequest,
        outcome: Outcome<U>,
    ) -> actix_web::HttpResponse {
        self.chain.respond(req, outcome)
    }
}
