//! The session-aware JWT strategy: a token's `sid` checked through [`Liveness`] on every
//! request, so a revoked session's access tokens are refused at once — no verify callback to
//! write.

use crate::error::StoreError;
use crate::jwt::{Claims, ExtractJwt, JwtStrategy, JwtVerifier};
use crate::session::liveness::{Liveness, SessionLoader};
use crate::session::tokens::SessionClaims;

impl<L: SessionLoader> Liveness<L> {
    /// A JWT strategy whose tokens must name a live session of their subject: the token's
    /// `sid` goes through this check (cache → ticket → store), and the store's user is the
    /// request's user ([`SessionLoader::in_session`]: the shipped stores'
    /// `store::User` carries the session id).
    ///
    /// Refused with `401` and a `Bearer` challenge, like every other bad token: a token
    /// without `sid` (`token_claim_missing`), and one whose session is unknown, revoked,
    /// expired or another user's (`token_subject_unknown`). A success's
    /// [`Info::session_id`](crate::Info::session_id) names the session, which is what
    /// [`SessionTokens::logout_route`](super::SessionTokens::logout_route) revokes. The
    /// strategy is a plain [`JwtStrategy`]: `.realm(…)` and the other settings apply.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use actix_web::{test, web, App, HttpResponse};
    /// use passport_actix::jwt::{ExtractJwt, JwtConfig};
    /// use passport_actix::session::{Liveness, SessionTokens, Sessions};
    /// use passport_actix::store::{MemoryStore, User};
    /// use passport_actix::{Authenticated, Passport};
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap();
    /// let liveness = Liveness::new(Arc::new(store));
    /// liveness.cache().trust_always(); // one process: every revocation goes through `liveness`
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let tokens = SessionTokens::new(Sessions::new(Arc::new(liveness.clone())), config.issuer());
    ///
    /// let mut passport = Passport::<User>::new();
    /// let bearer = ExtractJwt::from_auth_header_as_bearer_token();
    /// passport.register("jwt", liveness.jwt_strategy(config.verifier(), bearer));
    /// let app = test::init_service(App::new().service(
    ///     web::resource("/me").wrap(passport.authenticate("jwt").unwrap()).to(
    ///         |user: Authenticated<User>| async move { HttpResponse::Ok().body(user.email.clone()) },
    ///     ),
    /// )).await;
    /// let me = |token: &str| test::TestRequest::get().uri("/me")
    ///     .insert_header(("authorization", format!("Bearer {token}"))).to_request();
    ///
    /// let login = tokens.start(&ada.id.to_string()).await.unwrap();
    /// assert_eq!(test::call_and_read_body(&app, me(&login.access.token)).await, "ada@example.com");
    /// tokens.revoke(&login.session.session_id).await.unwrap(); // logout
    /// assert_eq!(test::call_service(&app, me(&login.access.token)).await.status(), 401);
    ///
    /// let no_session = config.issuer().issue(ada.id.to_string(), ()).unwrap().token;
    /// assert_eq!(test::call_service(&app, me(&no_session)).await.status(), 401);
    /// # });
    /// ```
    // The verify callback is an async closure, whose type has no name to alias.
    #[allow(clippy::type_complexity)]
    pub fn jwt_strategy(
        &self,
        verifier: JwtVerifier,
        extractor: ExtractJwt,
    ) -> JwtStrategy<
        SessionClaims,
        L::User,
        impl AsyncFn(Claims<SessionClaims>) -> Result<Option<L::User>, StoreError>
        + Send
        + Sync
        + 'static
        + use<L>,
    > {
        let liveness = self.clone();
        let verify = async move |claims: Claims<SessionClaims>| {
            // Never `None` here: the strategy refuses a token without `sid` first.
            let Some(session_id) = claims.custom.sid else {
                return Ok(None);
            };
            let user = liveness.check(&session_id, &claims.sub).await?;
            Ok(user.map(|user| L::in_session(user, &session_id)))
        };
        JwtStrategy::new(verifier, extractor, verify)
            .session_claim(|claims| claims.custom.sid.clone())
    }
}
