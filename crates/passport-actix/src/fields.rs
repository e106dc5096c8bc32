//! Reading named string fields from a JSON or urlencoded request body.

use std::fmt;

use actix_web::HttpMessage;
use actix_web::http::StatusCode;
use serde_json::Value;

use crate::outcome::{Failure, FailureKind};
use crate::request::{AuthRequest, BodyError};

/// Reads the string fields `names` from the request body, in the order asked.
///
/// `application/json` (an object whose fields are strings or `null`) and
/// `application/x-www-form-urlencoded` are accepted; other fields are ignored, and an empty
/// body without a content type reads as no fields. Every refusal is a [`Failure`] a client
/// can act on: `413 payload_too_large`, `408 request_timeout` (the body did not arrive within
/// the read deadline), `415 unsupported_media_type`, `400 malformed_body`
/// (not JSON, not an object, not UTF-8) or `400 invalid_field` (a field that is not a string,
/// or is given twice — a proxy could check one value while the server used the other).
/// A missing field is `None`; deciding whether it is required is the caller's job.
///
/// # Examples
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::{read_fields, AuthRequest};
///
/// # actix_web::rt::System::new().block_on(async {
/// let http = TestRequest::post().insert_header(("content-type", "application/x-www-form-urlencoded"))
///     .to_http_request();
/// let req = AuthRequest::with_body(http, "refresh_token=abc&other=1".into());
/// let [token, missing] = read_fields(&req, ["refresh_token", "scope"]).await.unwrap();
/// assert_eq!(token.as_deref(), Some("abc"));
/// assert_eq!(missing, None);
/// # });
/// ```
pub async fn read_fields<const N: usize>(
    req: &AuthRequest,
    names: [&str; N],
) -> Result<[Option<String>; N], Failure> {
    let body = req.body().await.map_err(|e| match e {
        BodyError::TooLarge { limit } => Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body must not exceed {limit} bytes"),
        )
        .with_kind(FailureKind::InvalidRequest),
        BodyError::TimedOut { .. } => Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request body did not arrive in time",
        )
        .with_kind(FailureKind::InvalidRequest),
        BodyError::Read(_) => {
            Failure::bad_request("malformed_body", "The request body could not be read")
        }
    })?;
    let content_type = req.http().content_type().to_ascii_lowercase();
    match content_type.as_str() {
        "application/json" => from_json(&body, names),
        "application/x-www-form-urlencoded" => from_form(&body, names),
        "" if body.is_empty() => Ok(std::array::from_fn(|_| None)),
        _ => Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send application/json or application/x-www-form-urlencoded",
        )
        .with_kind(FailureKind::InvalidRequest)),
    }
}

fn repeated(key: &str) -> Failure {
    Failure::bad_request(
        "invalid_field",
        format!("The field {key} was given more than once"),
    )
}

fn from_json<const N: usize>(
    body: &[u8],
    names: [&str; N],
) -> Result<[Option<String>; N], Failure> {
    let JsonObject(entries) = serde_json::from_slice(body).map_err(|e| {
        let message = match e.classify() {
            serde_json::error::Category::Data => "The request body must be a JSON object",
            _ => "The request body is not valid JSON",
        };
        Failure::bad_request("malformed_body", message)
    })?;
    let mut found: [Option<Option<String>>; N] = std::array::from_fn(|_| None);
    for (key, value) in entries {
        let Some(slot) = names.iter().position(|name| *name == key) else {
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
        if found[slot].replace(value).is_some() {
            return Err(repeated(&key));
        }
    }
    Ok(found.map(Option::flatten))
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

fn from_form<const N: usize>(
    body: &[u8],
    names: [&str; N],
) -> Result<[Option<String>; N], Failure> {
    if std::str::from_utf8(body).is_err() {
        return Err(Failure::bad_request(
            "malformed_body",
            "The request body is not valid UTF-8",
        ));
    }
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    for (key, value) in form_urlencoded::parse(body) {
        let Some(slot) = names.iter().position(|name| *name == key) else {
            continue;
        };
        if value.contains('\u{FFFD}') {
            return Err(Failure::bad_request(
                "malformed_body",
                format!("The field {key} is not valid UTF-8"),
            ));
        }
        if found[slot].replace(value.into_owned()).is_some() {
            return Err(repeated(&key));
        }
    }
    Ok(found)
}
