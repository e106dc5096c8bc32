//! Authentication method references (RFC 8176) and the step-up challenge (RFC 9470).

use std::fmt;

use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::challenge::Challenge;
use crate::outcome::{Failure, FailureKind};

/// The RFC 8176 methods a login used, in the order they were proven: `["pwd"]` after a
/// password, `["pwd","otp"]` after a password and a one-time code.
///
/// It serializes as a JSON array (the `amr` claim) and is stored as one space-separated
/// string ([`to_stored`](Self::to_stored), [`from_stored`](Self::from_stored)).
///
/// # Examples
///
/// ```
/// use passport_actix::mfa::Amr;
///
/// let amr = Amr::new([Amr::PWD]).with(Amr::OTP);
/// assert!(amr.contains(Amr::OTP));
/// assert_eq!(serde_json::to_string(&amr).unwrap(), r#"["pwd","otp"]"#);
/// assert_eq!(Amr::from_stored(&amr.to_stored()), amr);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amr(Vec<String>);

impl Amr {
    /// `pwd`: a password (RFC 8176 §2).
    pub const PWD: &'static str = "pwd";
    /// `otp`: a one-time password, such as a TOTP code or a single-use recovery code.
    pub const OTP: &'static str = "otp";
    /// `mfa`: several factors (RFC 8176 §2); not added automatically.
    pub const MFA: &'static str = "mfa";
    /// `fed`: a federated login, the user proven by another identity provider (OpenID
    /// Connect). Not in RFC 8176's initial registry (which has no value for "another
    /// provider vouched"); it is the value Microsoft's identity platform uses for the same
    /// meaning, and RFC 8176 §1 lets deployments use values beyond the registry.
    pub const FED: &'static str = "fed";
    /// `email`: possession of a mailbox, proven by a one-time link sent to it (a magic link).
    /// Not in RFC 8176's registry either (RFC 8176 §1 allows deployment values); deliberately
    /// not `otp`, so a mailed link never satisfies a second-factor requirement.
    pub const EMAIL: &'static str = "email";

    /// The methods given, duplicates dropped, order kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::Amr;
    ///
    /// assert_eq!(Amr::new(["pwd", "pwd"]).as_slice(), ["pwd"]);
    /// ```
    pub fn new<I, S>(methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        methods
            .into_iter()
            .fold(Self::default(), |amr, m| amr.with(m))
    }

    /// Adds a method (once).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::Amr;
    ///
    /// assert_eq!(Amr::new(["pwd"]).with("otp").with("otp").as_slice(), ["pwd", "otp"]);
    /// ```
    #[must_use]
    pub fn with(mut self, method: impl Into<String>) -> Self {
        let method = method.into();
        if !method.is_empty() && !self.0.contains(&method) {
            self.0.push(method);
        }
        self
    }

    /// Whether the login used `method`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::Amr;
    ///
    /// assert!(!Amr::new([Amr::PWD]).contains(Amr::OTP));
    /// ```
    pub fn contains(&self, method: &str) -> bool {
        self.0.iter().any(|m| m == method)
    }

    /// The methods, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::Amr;
    ///
    /// assert!(Amr::default().as_slice().is_empty());
    /// ```
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The methods as one space-separated string, for a database column.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::Amr;
    ///
    /// assert_eq!(Amr::new(["pwd", "otp"]).to_stored(), "pwd otp");
    /// ```
    pub fn to_stored(&self) -> String {
        self.0.join(" ")
    }

    /// Reads [`to_stored`](Self::to_stored)'s form back.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::Amr;
    ///
    /// assert_eq!(Amr::from_stored(" fed  otp ").as_slice(), ["fed", "otp"]);
    /// ```
    pub fn from_stored(stored: &str) -> Self {
        Self::new(stored.split_whitespace())
    }

    /// The methods as owned strings (for [`NewSession::amr`](crate::session::NewSession::amr)).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::Amr;
    ///
    /// assert_eq!(Amr::new(["pwd"]).into_vec(), vec!["pwd".to_owned()]);
    /// ```
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl From<Vec<String>> for Amr {
    fn from(methods: Vec<String>) -> Self {
        Self::new(methods)
    }
}

impl fmt::Display for Amr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

/// A user type that knows how its session was authenticated, for
/// [`Authenticator::require_amr`](crate::Authenticator::require_amr) and [`require_amr`].
///
/// # Examples
///
/// ```
/// use passport_actix::mfa::{Amr, Assurance};
///
/// #[derive(Clone)]
/// struct User { id: u64, amr: Amr }
///
/// impl Assurance for User {
///     fn amr(&self) -> &[String] { self.amr.as_slice() }
/// }
/// let user = User { id: 1, amr: Amr::new([Amr::PWD]) };
/// assert_eq!(user.amr(), ["pwd"]);
/// # let _ = user.id;
/// ```
pub trait Assurance {
    /// The RFC 8176 methods the request's session (or token) was authenticated with.
    fn amr(&self) -> &[String];
}

/// RFC 9470's answer to a session that is valid but not strong enough: `401
/// {"error":"insufficient_user_authentication"}` with
/// `WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="…"`.
/// The client should have the user authenticate again with `method` and retry.
///
/// # Examples
///
/// ```
/// use passport_actix::{failure_response, mfa::insufficient_user_authentication};
///
/// let response = failure_response(&[insufficient_user_authentication("otp")]);
/// assert_eq!(response.status(), 401);
/// let challenge = response.headers().get("www-authenticate").unwrap().to_str().unwrap();
/// assert!(challenge.starts_with(r#"Bearer error="insufficient_user_authentication", "#));
/// ```
pub fn insufficient_user_authentication(method: &str) -> Failure {
    let description =
        format!("A login that includes the {method} authentication method is required");
    Failure::new(
        StatusCode::UNAUTHORIZED,
        "insufficient_user_authentication",
        description.clone(),
    )
    .with_kind(FailureKind::InvalidCredentials)
    .with_challenge(
        Challenge::new("Bearer")
            .error("insufficient_user_authentication")
            .description(description),
    )
    .with_reason("step-up required")
}

/// `Ok` when `user`'s session used `method`, else [`insufficient_user_authentication`]:
/// a step-up check for a handler (for example only for users who enrolled a second factor).
///
/// # Examples
///
/// ```
/// use passport_actix::mfa::{Amr, Assurance, require_amr};
///
/// struct User(Amr);
/// impl Assurance for User {
///     fn amr(&self) -> &[String] { self.0.as_slice() }
/// }
/// assert!(require_amr(&User(Amr::new(["pwd", "otp"])), "otp").is_ok());
/// let refused = require_amr(&User(Amr::new(["pwd"])), "otp").unwrap_err();
/// assert_eq!(refused.code(), "insufficient_user_authentication");
/// ```
pub fn require_amr<U: Assurance + ?Sized>(user: &U, method: &str) -> Result<(), Failure> {
    if user.amr().iter().any(|m| m == method) {
        Ok(())
    } else {
        Err(insufficient_user_authentication(method))
    }
}
