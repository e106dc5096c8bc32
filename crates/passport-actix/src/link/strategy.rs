//! The magic-link strategy: a request carrying a link's token logs its user in.

use actix_web::http::StatusCode;

use super::store::{LinkStore, OneTimeLinks};
use super::token::LinkPurpose;
use crate::fields::read_fields;
use crate::outcome::{Failure, FailureKind, Outcome};
use crate::request::AuthRequest;
use crate::strategy::Authenticate;

/// `400 {"error":"invalid_link"}`: the one answer for an unknown, used, expired, superseded,
/// truncated, huge or missing link token, whichever it is.
///
/// # Examples
///
/// ```
/// let failure = passport_actix::link::invalid_link();
/// assert_eq!((failure.status().as_u16(), failure.code()), (400, "invalid_link"));
/// ```
pub fn invalid_link() -> Failure {
    Failure::new(
        StatusCode::BAD_REQUEST,
        "invalid_link",
        "This link is invalid or has expired; ask for a new one",
    )
    .with_kind(FailureKind::InvalidCredentials)
}

/// Logs a user in with a magic link (passport-magic-link's verify step): reads the `token`
/// field (JSON or form body; the field name can be changed) and uses up the
/// [`LinkPurpose::MagicLogin`] link it names. Success is the link's user; anything else is
/// [`invalid_link`]. Sending the link is the application's part: [`OneTimeLinks::issue`] (or
/// [`OneTimeLinks::prepare`] inside its own transaction) and its mailer.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use actix_web::test::TestRequest;
/// use passport_actix::link::{LinkPurpose, MagicLinkStrategy, MemoryLinkStore, OneTimeLinks};
/// use passport_actix::{AuthRequest, Authenticate, Outcome, Passport};
///
/// # actix_web::rt::System::new().block_on(async {
/// let links = OneTimeLinks::new(Arc::new(MemoryLinkStore::new()));
/// let strategy = MagicLinkStrategy::new(links.clone());
/// let token = links.issue("ada".to_owned(), LinkPurpose::MagicLogin).await.unwrap();
/// let request = |token: &str| {
///     let http = TestRequest::post()
///         .insert_header(("content-type", "application/json"))
///         .to_http_request();
///     AuthRequest::with_body(http, format!(r#"{{"token":"{token}"}}"#).into())
/// };
/// assert!(matches!(strategy.authenticate(&request(token.as_str())).await,
///     Outcome::Success { user, .. } if user == "ada"));
/// // Single use.
/// assert!(matches!(strategy.authenticate(&request(token.as_str())).await,
///     Outcome::Fail(f) if f.code() == "invalid_link"));
///
/// // Registered by name like any other strategy.
/// let mut passport = Passport::new();
/// passport.register("magic-link", MagicLinkStrategy::new(links));
/// # });
/// ```
#[derive(Debug)]
pub struct MagicLinkStrategy<S> {
    links: OneTimeLinks<S>,
    field: String,
}

impl<S: LinkStore> MagicLinkStrategy<S> {
    /// A strategy over these links, reading the `token` field.
    pub fn new(links: OneTimeLinks<S>) -> Self {
        Self {
            links,
            field: "token".to_owned(),
        }
    }

    /// Reads the token from `field` instead of `token`.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

impl<S: LinkStore> Authenticate<S::User> for MagicLinkStrategy<S> {
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<S::User> {
        let [token] = match read_fields(req, [self.field.as_str()]).await {
            Ok(fields) => fields,
            // A body too large or too slow keeps its own answer (413, 408); an unreadable one
            // is just a bad link.
            Err(failure) if failure.status() != StatusCode::BAD_REQUEST => {
                return Outcome::Fail(failure);
            }
            Err(_) => return Outcome::Fail(invalid_link()),
        };
        let Some(token) = token else {
            return Outcome::Fail(invalid_link());
        };
        match self.links.redeem(&token, LinkPurpose::MagicLogin).await {
            Ok(Some(user)) => Outcome::success(user),
            Ok(None) => Outcome::Fail(invalid_link().with_reason("unknown, used or expired link")),
            Err(error) => Outcome::Error(error.into_strategy_error("using a magic link")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::test::TestRequest;

    use super::*;
    use crate::link::MemoryLinkStore;

    fn json(body: &str) -> AuthRequest {
        let http = TestRequest::post()
            .insert_header(("content-type", "application/json"))
            .to_http_request();
        AuthRequest::with_body(http, body.to_owned().into())
    }

    #[actix_web::test]
    async fn every_bad_token_gets_the_same_failure() {
        let links = OneTimeLinks::new(Arc::new(MemoryLinkStore::<String>::new()));
        let reset = links
            .issue("ada".into(), LinkPurpose::PasswordReset)
            .await
            .unwrap();
        let strategy = MagicLinkStrategy::new(links);
        let huge = format!(r#"{{"token":"{}"}}"#, "a".repeat(4000));
        let wrong_purpose = format!(r#"{{"token":"{}"}}"#, reset.as_str());
        for body in [
            "{}",
            r#"{"token":""}"#,
            r#"{"token":"abc"}"#,
            &huge,
            &wrong_purpose,
            "not json",
        ] {
            let Outcome::Fail(failure) = strategy.authenticate(&json(body)).await else {
                panic!("{body}: not a failure");
            };
            assert_eq!(
                (failure.status().as_u16(), failure.code()),
                (400, "invalid_link"),
                "{body}"
            );
            assert_eq!(failure.message(), invalid_link().message());
        }
    }
}
