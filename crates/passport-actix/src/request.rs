//! The request as a strategy sees it: headers, query string and a body that stays readable.

use std::cell::RefCell;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use thiserror::Error;

/// The default largest body a strategy may read: 8 KiB, far above any credential form.
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024;

/// Why a body could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is larger than the configured limit.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The connection failed or the body was malformed on the wire.
    #[error("the request body could not be read")]
    Read(#[source] actix_web::error::PayloadError),
}

/// A request under authentication.
///
/// Strategies read headers and the query string through [`AuthRequest::http`] and the body
/// through [`AuthRequest::body`]. A body read here is handed back to the handler afterwards,
/// so a handler behind the middleware can still extract `web::Json` or `web::Form`.
pub struct AuthRequest {
    http: HttpRequest,
    body_limit: usize,
    payload: RefCell<Option<Payload>>,
    body: RefCell<Option<Bytes>>,
}

impl AuthRequest {
    /// Wraps a request and its (not yet read) payload.
    pub fn new(http: HttpRequest, payload: Payload) -> Self {
        Self {
            http,
            body_limit: DEFAULT_BODY_LIMIT,
            payload: RefCell::new(Some(payload)),
            body: RefCell::new(None),
        }
    }

    /// Wraps a request whose body is already in memory (tests, custom callbacks).
    pub fn with_body(http: HttpRequest, body: Bytes) -> Self {
        Self {
            http,
            body_limit: DEFAULT_BODY_LIMIT,
            payload: RefCell::new(None),
            body: RefCell::new(Some(body)),
        }
    }

    /// Sets the largest body [`body`](Self::body) will read.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// The underlying actix request: headers, query string, cookies, app data.
    pub fn http(&self) -> &HttpRequest {
        &self.http
    }

    /// Reads the whole body (once; later calls return the same bytes).
    ///
    /// A `Content-Length` above the limit is refused before anything is read.
    pub async fn body(&self) -> Result<Bytes, BodyError> {
        if let Some(body) = self.body.borrow().as_ref() {
            return Ok(body.clone());
        }
        let limit = self.body_limit;
        let declared = self
            .http
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > limit) {
            return Err(BodyError::TooLarge { limit });
        }
        let taken = self.payload.borrow_mut().take();
        let Some(mut payload) = taken else {
            return Ok(Bytes::new());
        };
        let mut buf = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(BodyError::Read)?;
            if buf.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        let body = buf.freeze();
        *self.body.borrow_mut() = Some(body.clone());
        Ok(body)
    }

    /// Gives the payload back for the handler: the bytes read so far, or the untouched stream.
    pub fn into_payload(self) -> Payload {
        if let Some(body) = self.body.into_inner() {
            return Payload::from(body);
        }
        self.payload.into_inner().unwrap_or(Payload::None)
    }

    /// Builds from what an actix handler receives (for custom callbacks).
    pub fn from_handler(http: &HttpRequest, payload: web::Payload) -> Self {
        Self::new(http.clone(), payload.into_inner())
    }
}
