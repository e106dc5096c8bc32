//! The refresh and logout handlers of [`SessionTokens`], ready to mount.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError, Route, web};

use crate::extract::Authenticated;
use crate::fields::read_fields;
use crate::outcome::{Failure, FailureKind, Info};
use crate::request::AuthRequest;
use crate::responder::{error_response, failure_response};
use crate::session::store::SessionStore;
use crate::session::tokens::SessionTokens;

impl<S: SessionStore> SessionTokens<S> {
    /// `POST` refresh (RFC 6749 §6): reads `refresh_token` from a JSON or urlencoded body and
    /// answers [`refresh_response`](Self::refresh_response). Mount it where the clients
    /// expect it: `.route("/token/refresh", tokens.refresh_route())`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use actix_web::{test, App};
    /// use passport_actix::jwt::JwtConfig;
    /// use passport_actix::session::{SessionTokens, Sessions};
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap();
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let tokens = SessionTokens::new(Sessions::new(Arc::new(store)), config.issuer());
    /// let app = test::init_service(App::new().route("/token/refresh", tokens.refresh_route())).await;
    ///
    /// let login = tokens.start(&ada.id.to_string()).await.unwrap();
    /// let refresh = |token: &str| test::TestRequest::post().uri("/token/refresh")
    ///     .set_json(serde_json::json!({ "refresh_token": token })).to_request();
    /// let body: serde_json::Value = test::call_and_read_body_json(&app, refresh(login.session.refresh_token.as_str())).await;
    /// assert!(body["token"].is_string() && body["refresh_token"].is_string());
    /// let forged = test::call_service(&app, refresh("not-a-refresh-token")).await;
    /// assert_eq!(forged.status(), 400);
    /// let body: serde_json::Value = test::read_body_json(forged).await;
    /// assert_eq!(body["error"], "invalid_grant");
    /// # });
    /// ```
    pub fn refresh_route(&self) -> Route {
        let tokens = self.clone();
        web::post().to(move |http: HttpRequest, body: web::Payload| {
            let tokens = tokens.clone();
            async move {
                let req = AuthRequest::from_handler(&http, body);
                tokens.refresh_response(&req).await
            }
        })
    }

    /// The refresh handler's answer, for a handler of your own: `200` with the
    /// [`TokenPair`](super::TokenPair) (`Cache-Control: no-store`); `400 invalid_request`
    /// without `refresh_token`; `400 invalid_grant` for a token that is unknown, used up,
    /// expired, revoked or reused (one body for all); the body's own refusals (`413`, `415`,
    /// `400 malformed_body`, …) as [`read_fields`] words them; `503` or `500` with no detail
    /// when the store or the signing fails.
    pub async fn refresh_response(&self, req: &AuthRequest) -> HttpResponse {
        let presented = match read_fields(req, ["refresh_token"]).await {
            Ok([Some(presented)]) if !presented.is_empty() => presented,
            Ok(_) => {
                return failure_response(&[Failure::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The refresh_token field is required",
                )
                .with_kind(FailureKind::InvalidRequest)]);
            }
            Err(failure) => return failure_response(&[failure]),
        };
        match self.refresh(&presented).await {
            Ok((pair, _)) => pair.respond_to(req.http()),
            Err(error) => error.error_response(),
        }
    }

    /// `POST` logout: revokes the session of the guarded request's token (`204`), so its
    /// access tokens are refused at once when the store is [`Liveness`](super::Liveness)-wrapped
    /// and its refresh tokens get `invalid_grant`. Mount it behind the guard of
    /// [`Liveness::jwt_strategy`](super::Liveness::jwt_strategy), whose user type is the
    /// store's: `web::resource("/logout").wrap(guard).route(tokens.logout_route())`.
    ///
    /// `?scope=` picks what ends, as the server's contract words it: `local` (the default) this
    /// session, `global` every session of the user, `others` every session but this one; any
    /// other scope is `400 invalid_request` and ends nothing. A credential that names no session
    /// (another strategy's) gets `400 invalid_request`; a store failure `503` or `500` with no
    /// detail.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use actix_web::{test, web, App};
    /// use passport_actix::jwt::{ExtractJwt, JwtConfig};
    /// use passport_actix::session::{Liveness, SessionTokens, Sessions};
    /// use passport_actix::store::{MemoryStore, User};
    /// use passport_actix::Passport;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap();
    /// let liveness = Liveness::new(Arc::new(store));
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let tokens = SessionTokens::new(Sessions::new(Arc::new(liveness.clone())), config.issuer());
    /// let mut passport = Passport::<User>::new();
    /// let bearer = ExtractJwt::from_auth_header_as_bearer_token();
    /// passport.register("jwt", liveness.jwt_strategy(config.verifier(), bearer));
    /// let guard = passport.authenticate("jwt").unwrap();
    /// let app = test::init_service(App::new()
    ///     .service(web::resource("/logout").wrap(guard).route(tokens.logout_route()))).await;
    ///
    /// let phone = tokens.start(&ada.id.to_string()).await.unwrap();
    /// let laptop = tokens.start(&ada.id.to_string()).await.unwrap();
    /// let logout = |token: &str, query: &str| test::TestRequest::post().uri(&format!("/logout{query}"))
    ///     .insert_header(("authorization", format!("Bearer {token}"))).to_request();
    /// let odd = test::call_service(&app, logout(&phone.access.token, "?scope=everything")).await;
    /// assert_eq!(odd.status(), 400);
    /// assert_eq!(test::call_service(&app, logout(&phone.access.token, "")).await.status(), 204);
    /// assert_eq!(test::call_service(&app, logout(&phone.access.token, "")).await.status(), 401, "the token died with its session");
    /// assert_eq!(test::call_service(&app, logout(&laptop.access.token, "?scope=global")).await.status(), 204);
    /// assert_eq!(test::call_service(&app, logout(&laptop.access.token, "")).await.status(), 401);
    /// # });
    /// ```
    pub fn logout_route(&self) -> Route
    where
        S::User: Clone,
    {
        let tokens = self.clone();
        web::post().to(move |req: HttpRequest, user: Authenticated<S::User>| {
            let tokens = tokens.clone();
            async move { tokens.logout_response(&req, user.info()).await }
        })
    }

    /// The logout handler's answer for a request authenticated with `info` (see
    /// [`logout_route`](Self::logout_route)).
    async fn logout_response(&self, req: &HttpRequest, info: &Info) -> HttpResponse {
        let invalid = |description: &'static str| {
            failure_response(&[Failure::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                description,
            )
            .with_kind(FailureKind::InvalidRequest)])
        };
        let Some(session_id) = info.session_id() else {
            return invalid("This credential belongs to no session");
        };
        let Ok(query) = web::Query::<Vec<(String, String)>>::from_query(req.query_string()) else {
            return invalid("The query string cannot be read");
        };
        let mut scopes = query.iter().filter(|(name, _)| name == "scope");
        let scope = match (scopes.next(), scopes.next()) {
            (None, _) => LogoutScope::Local,
            (Some((_, value)), None) => match value.as_str() {
                "local" => LogoutScope::Local,
                "global" => LogoutScope::Global,
                "others" => LogoutScope::Others,
                _ => return invalid("The scope must be local, global or others"),
            },
            (Some(_), Some(_)) => return invalid("Only one scope may be given"),
        };
        let ended = match (scope, info.subject_id()) {
            (LogoutScope::Local, _) => self.revoke(session_id).await.map(drop),
            (LogoutScope::Global, Some(user)) => {
                self.sessions().revoke_all(user, None).await.map(drop)
            }
            (LogoutScope::Others, Some(user)) => self
                .sessions()
                .revoke_all(user, Some(session_id))
                .await
                .map(drop),
            (_, None) => return invalid("This credential names no user"),
        };
        match ended {
            Ok(()) => HttpResponse::NoContent().finish(),
            Err(error) => {
                let error = error.into_strategy_error("revoking sessions at logout");
                tracing::error!(error = %error.chain(), "logout failed");
                error_response(&error)
            }
        }
    }
}

/// What a logout ends (`?scope=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogoutScope {
    /// The request's session.
    Local,
    /// Every session of the user.
    Global,
    /// Every session of the user but the request's.
    Others,
}
