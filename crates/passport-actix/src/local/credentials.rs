//! Reading a username and password from a JSON or urlencoded body.

use std::fmt;

use actix_web::HttpMessage;
use actix_web::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::outcome::{Failure, FailureKind};
use crate::request::{AuthRequest, BodyError};

/// Which body fields hold the username and the password (passport-local's
/// `usernameField`/`passwordField`; default `email` and `password`).
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
    pub async fn from_request(req: &AuthRequest, fields: &FieldNames) -> Result<Self, Failure> {
        let body = req.body().await.map_err(|e| match e {
            BodyError::TooLarge { limit } => Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body must not exceed {limit} bytes"),
            )
            .kind(FailureKind::InvalidRequest),
            BodyError::TimedOut { .. } => Failure::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request body did not arrive in time",
            )
            .kind(FailureKind::InvalidRequest),
            BodyError::Read(_) => {
                Failure::bad_request("malformed_body", "The request body could not be read")
            }
        })?;
        let content_type = req.http().content_type().to_ascii_lowercase();
        let (username, password) = match content_type.as_str() {
            "application/json" => from_json(&body, fields)?,
            "application/x-www-form-urlencoded" => from_form(&body, fields)?,
            "" if body.is_empty() => (None, None),
            _ => {
                return Err(Failure::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Send application/json or application/x-www-form-urlencoded",
                )
                .kind(FailureKind::InvalidRequest));
            }
        };
        match (username, password) {
            (Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => {
                Ok(Self {
                    username,
                    password: SecretString::from(password),
                })
            }
            _ => Err(Failure::missing_credentials(format!(
                "Missing credentials: both {} and {} are required",
                fields.username, fields.password
            ))),
        }
    }

    /// The password bytes (for hashing).
    pub fn password_bytes(&self) -> &[u8] {
        self.password.expose_secret().as_bytes()
    }
}

type Fields = (Option<String>, Option<String>);

fn from_json(body: &[u8], fields: &FieldNames) -> Result<Fields, Failure> {
    let JsonObject(entries) = serde_json::from_slice(body).map_err(|e| {
        let message = match e.classify() {
            serde_json::error::Category::Data => "The request body must be a JSON object",
            _ => "The request body is not valid JSON",
        };
        Failure::bad_request("malformed_body", message)
    })?;
    let mut username = None;
    let mut password = None;
    for (key, value) in entries {
        let slot = if key == fields.username {
            &mut username
        } else if key == fields.password {
            &mut password
        } else {
            continue;
        };
        let value = match value {
            Value::Null => None,
            Value::String(s) => Some(s),
            _ => {
                return Err(Failure::bad_request(
                    "invalid_field",
                    format!("The field {key} must be a string"),
                ));
            }
        };
        // A repeated key would let a proxy check one value while the server uses another.
        if slot.replace(value).is_some() {
            return Err(Failure::bad_request(
                "invalid_field",
                format!("The field {key} was given more than once"),
            ));
        }
    }
    Ok((username.flatten(), password.flatten()))
}

/// A JSON object's entries in order, duplicates kept (a `Map` would silently keep the last).
struct JsonObject(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for JsonObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = JsonObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonObject, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(2));
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(JsonObject(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

fn from_form(body: &[u8], fields: &FieldNames) -> Result<Fields, Failure> {
    if std::str::from_utf8(body).is_err() {
        return Err(Failure::bad_request(
            "malformed_body",
            "The request body is not valid UTF-8",
        ));
    }
    let mut username = None;
    let mut password = None;
    for (key, value) in form_urlencoded::parse(body) {
        let slot = if key == fields.username.as_str() {
            &mut username
        } else if key == fields.password.as_str() {
            &mut password
        } else {
            continue;
        };
        if value.contains('\u{FFFD}') {
            return Err(Failure::bad_request(
                "malformed_body",
                format!("The field {key} is not valid UTF-8"),
            ));
        }
        if slot.replace(value.into_owned()).is_some() {
            return Err(Failure::bad_request(
                "invalid_field",
                format!("The field {key} was given more than once"),
            ));
        }
    }
    Ok((username, password))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use bytes::Bytes;

    use super::*;

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
        assert_eq!(err.failure_kind(), FailureKind::MissingCredentials);
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
