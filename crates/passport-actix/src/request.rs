//! The request as a strategy sees it: headers, query string and a body that stays readable.

use std::cell::RefCell;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use thiserror::Error;

/// The default largest body a strategy may read: 8 KiB, far above any credential form.
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024;

/// The default total time a strategy waits for a whole body: 5 seconds, from the first read.
///
/// A credential form arrives in one packet; a client that stalls or trickles its body for
/// longer is cut off, so it cannot hold a connection (and a file descriptor) forever.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// The whole body did not arrive within the deadline (a stalled or trickling client).
    #[error("the request body did not arrive within {timeout:?}")]
    TimedOut {
        /// The deadline.
        timeout: Duration,
    },
}

/// A request under authentication.
///
/// Strategies read headers and the query string through [`AuthRequest::http`] and the body
/// through [`AuthRequest::body`]. A body read here is handed back to the handler afterwards,
/// so a handler behind the middleware can still extract `web::Json` or `web::Form`.
pub struct AuthRequest {
    http: HttpRequest,
    body_limit: usize,
    body_timeout: Duration,
    payload: RefCell<Option<Payload>>,
    body: RefCell<Option<Bytes>>,
}

impl AuthRequest {
    /// Wraps a request and its (not yet read) payload.
    pub fn new(http: HttpRequest, payload: Payload) -> Self {
        Self {
            http,
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_READ_TIMEOUT,
            payload: RefCell::new(Some(payload)),
            body: RefCell::new(None),
        }
    }

    /// Wraps a request whose body is already in memory (tests, custom callbacks).
    pub fn with_body(http: HttpRequest, body: Bytes) -> Self {
        Self {
            http,
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_READ_TIMEOUT,
            payload: RefCell::new(None),
            body: RefCell::new(Some(body)),
        }
    }

    /// Sets the largest body [`body`](Self::body) will read.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Sets the total time [`body`](Self::body) waits for the whole body (default
    /// [`DEFAULT_BODY_READ_TIMEOUT`]); past it the read fails with [`BodyError::TimedOut`].
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The underlying actix request: headers, query string, cookies, app data.
    pub fn http(&self) -> &HttpRequest {
        &self.http
    }

    /// Reads the whole body (once; later calls return the same bytes).
    ///
    /// A `Content-Length` above the limit is refused before anything is read, and the whole
    /// body must arrive within the read timeout (one deadline for all of it, not per chunk).
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
        let read = async {
            let mut buf = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(read_error)?;
                if buf.len() + chunk.len() > limit {
                    return Err(BodyError::TooLarge { limit });
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(buf.freeze())
        };
        let timeout = self.body_timeout;
        let body = match tokio::time::timeout(timeout, read).await {
            Ok(result) => result?,
            Err(_) => return Err(BodyError::TimedOut { timeout }),
        };
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
    ///
    /// The body limit and read timeout are the defaults; [`Callback::run`](crate::Callback::run)
    /// applies its `Passport`'s own.
    pub fn from_handler(http: &HttpRequest, payload: web::Payload) -> Self {
        Self::new(http.clone(), payload.into_inner())
    }
}

/// A payload error, or [`BodyError::TimedOut`] when a deadline set further out (an I/O error of
/// kind `TimedOut` in the stream, e.g. from a server-wide body deadline) ended the read.
fn read_error(error: actix_web::error::PayloadError) -> BodyError {
    use actix_web::error::PayloadError;
    match &error {
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => BodyError::TimedOut {
            timeout: Duration::ZERO,
        },
        _ => BodyError::Read(error),
    }
}
