//! Reading a username and password from a JSON or urlencoded body.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::fields::read_fields;
use crate::outcome::Failure;
use crate::request::AuthRequest;

/// Which body fields hold the username and the password (passport-local's
/// `usernameField`/`passwordField`; default `email` and `password`).
///
/// # Examples
///
/// ```
/// use passport_actix::local::FieldNames;
///
/// let fields = FieldNames::default();
/// assert_eq!((fields.username.as_str(), fields.password.as_str()), ("email", "password"));
/// let custom = FieldNames { username: "login".into(), password: "secret".into() };
/// # let _ = custom;
/// ```
#[derive(Debug, Clone)]
pub struct FieldNames {
    /// The username field.
    pub username: String,
    /// The password field.
    pub password: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        Self {
            username: "email".to_owned(),
            password: "password".to_owned(),
        }
    }
}

/// A username and password as submitted. The password is a [`SecretString`]: it is zeroed on
/// drop and never printed by `Debug`.
///
/// # Examples
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::AuthRequest;
/// use passport_actix::local::{Credentials, FieldNames};
///
/// # actix_web::rt::System::new().block_on(async {
/// let http = TestRequest::post().insert_header(("content-type", "application/json")).to_http_request();
/// let req = AuthRequest::with_body(http, r#"{"email":"ada@example.com","password":"hunter2!"}"#.into());
/// let credentials = Credentials::from_request(&req, &FieldNames::default()).await.unwrap();
/// assert_eq!(credentials.username, "ada@example.com");
/// assert_eq!(credentials.password_bytes(), b"hunter2!");
/// assert!(!format!("{credentials:?}").contains("hunter2"));
/// # });
/// ```
pub struct Credentials {
    /// The username as submitted (not yet normalized).
    pub username: String,
    /// The password.
    pub password: SecretString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl Credentials {
    /// Reads credentials from the request body.
    ///
    /// `application/json` (an object with string fields) and
    /// `application/x-www-form-urlencoded` are accepted; other fields are ignored. A missing or
    /// empty field is passport-local's `400 "Missing credentials"`; anything malformed is
    /// another 4xx with a reason (400, 413 or 415).
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::AuthRequest;
    /// use passport_actix::local::{Credentials, FieldNames};
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let http = TestRequest::post().insert_header(("content-type", "application/x-www-form-urlencoded")).to_http_request();
    /// let req = AuthRequest::with_body(http, "email=ada%40example.com".into());
    /// let failure = Credentials::from_request(&req, &FieldNames::default()).await.unwrap_err();
    /// assert_eq!(failure.status(), 400);
    /// assert_eq!(failure.code(), "missing_credentials");
    /// # });
    /// ```
    pub async fn from_request(req: &AuthRequest, fields: &FieldNames) -> Result<Self, Failure> {
        let [username, password] =
            read_fields(req, [fields.username.as_str(), fields.password.as_str()]).await?;
        match (username, password) {
            (Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => {
                Ok(Self {
                    username,
                    password: SecretString::from(password),
                })
            }
            (username, password) => Err(Failure::missing_credentials(
                missing_message(
                    req,
                    fields,
                    username.is_some_and(|u| !u.is_empty()),
                    password.is_some_and(|p| !p.is_empty()),
                )
                .await,
            )),
        }
    }

    /// The password bytes (for hashing).
    pub fn password_bytes(&self) -> &[u8] {
        self.password.expose_secret().as_bytes()
    }
}

/// Names what is missing, and the usual cause: JSON sent as a form (curl's `-d` default).
async fn missing_message(
    req: &AuthRequest,
    fields: &FieldNames,
    has_username: bool,
    has_password: bool,
) -> String {
    use actix_web::HttpMessage;
    let looks_like_json = req
        .body()
        .await
        .is_ok_and(|body| body.trim_ascii_start().starts_with(b"{"));
    if !has_username
        && !has_password
        && looks_like_json
        && req.http().content_type() == "application/x-www-form-urlencoded"
    {
        return "Missing credentials: the body looks like JSON but was sent as a form \
                (Content-Type: application/x-www-form-urlencoded); send Content-Type: application/json"
            .to_owned();
    }
    match (has_username, has_password) {
        (false, false) => format!(
            "Missing credentials: both {} and {} are required",
            fields.username, fields.password
        ),
        (false, true) => format!("Missing credentials: {} is required", fields.username),
        _ => format!("Missing credentials: {} is required", fields.password),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use bytes::Bytes;

    use actix_web::http::StatusCode;

    use super::*;
    use crate::outcome::FailureKind;

    async fn parse(content_type: &str, body: &'static str) -> Result<Credentials, Failure> {
        let http = TestRequest::post()
            .insert_header(("content-type", content_type))
            .to_http_request();
        let req = AuthRequest::with_body(http, Bytes::from_static(body.as_bytes()));
        Credentials::from_request(&req, &FieldNames::default()).await
    }

    #[actix_rt::test]
    async fn reads_json_and_form_bodies() {
        let json = parse(
            "application/json",
            r#"{"email":"a@b.co","password":"pw","is_admin":true}"#,
        )
        .await
        .unwrap();
        assert_eq!(json.username, "a@b.co");
        assert_eq!(json.password_bytes(), b"pw");
        let form = parse(
            "application/x-www-form-urlencoded; charset=utf-8",
            "email=a%40b.co&password=correct+horse",
        )
        .await
        .unwrap();
        assert_eq!(form.username, "a@b.co");
        assert_eq!(form.password_bytes(), b"correct horse");
    }

    #[actix_rt::test]
    async fn missing_fields_are_missing_credentials() {
        let err = parse("application/json", r#"{"email":"a@b.co"}"#)
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(err.kind(), FailureKind::MissingCredentials);
        let err = parse("application/json", r#"{"email":"a@b.co","password":""}"#)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "missing_credentials");
    }

    #[actix_rt::test]
    async fn malformed_bodies_say_why() {
        assert_eq!(
            parse("application/json", "{").await.unwrap_err().code(),
            "malformed_body"
        );
        assert_eq!(
            parse("application/json", "[1]").await.unwrap_err().code(),
            "malformed_body"
        );
        assert_eq!(
            parse("application/json", r#"{"email":1,"password":"x"}"#)
                .await
                .unwrap_err()
                .code(),
            "invalid_field"
        );
        assert_eq!(
            parse(
                "application/x-www-form-urlencoded",
                "email=a&email=b&password=x"
            )
            .await
            .unwrap_err()
            .code(),
            "invalid_field"
        );
        assert_eq!(
            parse(
                "application/json",
                r#"{"email":"a@b.co","email":"c@d.co","password":"x"}"#
            )
            .await
            .unwrap_err()
            .code(),
            "invalid_field",
            "a repeated JSON key is refused like a repeated form field"
        );
        let err = parse("text/plain", "email=a").await.unwrap_err();
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn debug_never_prints_the_password() {
        let creds = Credentials {
            username: "a@b.co".into(),
            password: SecretString::from("hunter22"),
        };
        assert!(!format!("{creds:?}").contains("hunter22"));
    }
}
