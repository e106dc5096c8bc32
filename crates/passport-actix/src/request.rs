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
///
/// # Examples
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::{AuthRequest, BodyError};
///
/// # actix_web::rt::System::new().block_on(async {
/// let req = AuthRequest::with_body(TestRequest::post().to_http_request(), "x".repeat(100).into());
/// // A body already in memory is returned as it is; a streamed one is held to the limit.
/// assert!(req.body().await.is_ok());
/// let (http, payload) = TestRequest::post().set_payload("x".repeat(100)).to_http_parts();
/// let req = AuthRequest::new(http, payload).body_limit(10);
/// assert!(matches!(req.body().await, Err(BodyError::TooLarge { limit: 10 })));
/// # });
/// ```
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
///
/// # Examples
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::AuthRequest;
///
/// # actix_web::rt::System::new().block_on(async {
/// let (http, payload) = TestRequest::post()
///     .uri("/login?next=/home")
///     .insert_header(("x-api-key", "k"))
///     .set_payload("email=ada%40example.com")
///     .to_http_parts();
/// let req = AuthRequest::new(http, payload);
/// assert_eq!(req.http().query_string(), "next=/home");
/// assert_eq!(req.http().headers().get("x-api-key").unwrap(), "k");
/// assert_eq!(req.body().await.unwrap(), "email=ada%40example.com");
/// assert_eq!(req.body().await.unwrap(), "email=ada%40example.com", "read once, kept");
/// # });
/// ```
pub struct AuthRequest {
    http: HttpRequest,
    body_limit: usize,
    body_timeout: Duration,
    payload: RefCell<Option<Payload>>,
    body: RefCell<Option<Bytes>>,
}

impl AuthRequest {
    /// Wraps a request and its (not yet read) payload.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::AuthRequest;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let (http, payload) = TestRequest::post().set_payload("hello").to_http_parts();
    /// let req = AuthRequest::new(http, payload);
    /// assert_eq!(req.body().await.unwrap(), "hello");
    /// # });
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::AuthRequest;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let req = AuthRequest::with_body(TestRequest::post().to_http_request(), "token=abc".into());
    /// assert_eq!(req.body().await.unwrap(), "token=abc");
    /// # });
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::{AuthRequest, BodyError};
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let (http, payload) = TestRequest::post().set_payload("0123456789").to_http_parts();
    /// let req = AuthRequest::new(http, payload).body_limit(4);
    /// assert!(matches!(req.body().await, Err(BodyError::TooLarge { limit: 4 })));
    /// # });
    /// ```
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Sets the total time [`body`](Self::body) waits for the whole body (default
    /// [`DEFAULT_BODY_READ_TIMEOUT`]); past it the read fails with [`BodyError::TimedOut`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_web::test::TestRequest;
    /// use passport_actix::AuthRequest;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let (http, payload) = TestRequest::post().set_payload("quick").to_http_parts();
    /// let req = AuthRequest::new(http, payload).body_read_timeout(Duration::from_secs(1));
    /// assert_eq!(req.body().await.unwrap(), "quick");
    /// # });
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::AuthRequest;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let (http, payload) = TestRequest::post().set_payload(r#"{"email":"ada@example.com"}"#).to_http_parts();
    /// let req = AuthRequest::new(http, payload);
    /// let body = req.body().await.unwrap();
    /// assert!(body.starts_with(b"{"));
    /// # });
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use futures_util::StreamExt;
    /// use passport_actix::AuthRequest;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let (http, payload) = TestRequest::post().set_payload("kept for the handler").to_http_parts();
    /// let req = AuthRequest::new(http, payload);
    /// req.body().await.unwrap();
    /// let mut payload = req.into_payload();
    /// assert_eq!(payload.next().await.unwrap().unwrap(), "kept for the handler");
    /// # });
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::{web, HttpRequest, HttpResponse};
    /// use passport_actix::AuthRequest;
    ///
    /// async fn handler(req: HttpRequest, body: web::Payload) -> HttpResponse {
    ///     let auth = AuthRequest::from_handler(&req, body);
    ///     match auth.body().await {
    ///         Ok(bytes) => HttpResponse::Ok().body(format!("{} bytes", bytes.len())),
    ///         Err(_) => HttpResponse::BadRequest().finish(),
    ///     }
    /// }
    /// # let _ = actix_web::App::new().route("/", web::post().to(handler));
    /// ```
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
