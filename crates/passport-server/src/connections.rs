//! Defences for the connection layer: a total deadline on every request body, a cap on
//! concurrent connections per client address, and a file-descriptor limit raised at start.
//!
//! A request head is bounded by actix's own `client_request_timeout`; what it does not bound
//! is the body, which a client may stall or trickle for ever. [`body_deadline`] gives every
//! body one deadline (any extractor then sees a `TimedOut` error and the client a JSON `408`,
//! its connection closed), and [`ConnectionCap`] stops one address from holding more than its
//! share of the process's file descriptors.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use futures_util::Stream;
use ipnet::IpNet;
use passport_actix::ErrorBody;

use crate::client_ip::rate_limit_key;

/// The body deadline [`body_deadline`] applies, registered as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout(pub Duration);

/// Middleware: the whole request body must arrive within the [`BodyReadTimeout`] registered as
/// app data (default 5 s) of the request head.
///
/// Past the deadline the payload stream yields an I/O error of kind `TimedOut`: the
/// `passport-actix` strategies answer `408 request_timeout`, and so do `web::Json` and
/// `web::Form` with the [`json_config`] / [`form_config`] registered. Either way the response
/// closes the connection.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let timeout = req
        .app_data::<BodyReadTimeout>()
        .map_or(passport_actix::DEFAULT_BODY_READ_TIMEOUT, |t| t.0);
    let payload = req.take_payload();
    let held = Rc::new(RefCell::new(None));
    if !matches!(payload, Payload::None) {
        req.set_payload(Payload::from(deadline_stream(
            payload,
            timeout,
            Rc::clone(&held),
        )));
    }
    let mut res = next.call(req).await?;
    let timed_out = held.borrow_mut().take();
    if timed_out.is_none() && res.status() != StatusCode::REQUEST_TIMEOUT {
        return Ok(res.map_into_boxed_body());
    }
    res.response_mut()
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    // The unread payload rides along with the response: while it is alive, actix sees an
    // unfinished body and closes the connection after the response instead of draining a
    // chunked body that may trickle for ever.
    Ok(res.map_body(|_, body| {
        BoxBody::new(Holding {
            body: BoxBody::new(body),
            _payload: timed_out,
        })
    }))
}

/// A response body that keeps an unread request payload alive until it is sent.
struct Holding {
    body: BoxBody,
    _payload: Option<Payload>,
}

impl MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<web::Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

type PayloadStream = Pin<Box<dyn Stream<Item = Result<web::Bytes, PayloadError>>>>;

/// The payload, failing with `TimedOut` once `timeout` has passed; the unread rest is then
/// moved into `held`.
fn deadline_stream(
    inner: Payload,
    timeout: Duration,
    held: Rc<RefCell<Option<Payload>>>,
) -> PayloadStream {
    let mut sleep = Box::pin(tokio::time::sleep(timeout));
    let mut inner = Some(inner);
    Box::pin(futures_util::stream::poll_fn(move |cx| {
        let Some(payload) = inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(payload).poll_next(cx) {
            Poll::Ready(None) => {
                inner = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    *held.borrow_mut() = inner.take();
                    Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request body did not arrive in time",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }))
}

/// `web::Json` settings whose payload errors keep their meaning: a body past the deadline is
/// `408 request_timeout` (not a generic 400), an oversized one `413`.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _req| match &error {
            actix_web::error::JsonPayloadError::Payload(payload) if is_timeout(payload) => {
                timeout_error(error)
            }
            _ => error.into(),
        })
}

/// `web::Form` settings: like [`json_config`], a body past the deadline is `408`.
pub fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default()
        .limit(limit)
        .error_handler(|error, _req| match &error {
            actix_web::error::UrlencodedError::Payload(payload) if is_timeout(payload) => {
                timeout_error(error)
            }
            _ => error.into(),
        })
}

fn is_timeout(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(io) if io.kind() == io::ErrorKind::TimedOut)
}

fn timeout_error(cause: impl std::fmt::Debug + std::fmt::Display + 'static) -> actix_web::Error {
    let response = ErrorBody::new("request_timeout", "The request body did not arrive in time")
        .response(StatusCode::REQUEST_TIMEOUT);
    actix_web::error::InternalError::from_response(cause, response).into()
}

/// Counts live connections per client address (IPv4 address or IPv6 /64) and refuses the
/// requests of connections past the cap with `429 too_many_connections`, closing them.
///
/// Connections are counted when accepted ([`on_connect`](Self::on_connect), registered with
/// `HttpServer::on_connect`) and uncounted when closed. A connection from a trusted proxy is
/// never capped (every client behind it shares its address).
#[derive(Debug, Clone)]
pub struct ConnectionCap {
    inner: Arc<CapInner>,
}

#[derive(Debug)]
struct CapInner {
    max_per_address: usize,
    trusted: Vec<IpNet>,
    live: Mutex<HashMap<IpAddr, usize>>,
}

/// A counted connection, stored in its connection data; dropping it (the connection closed)
/// gives the slot back.
#[derive(Debug)]
struct Slot {
    cap: Arc<CapInner>,
    key: IpAddr,
    over_cap: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut live = self.cap.live.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = live.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                live.remove(&self.key);
            }
        }
    }
}

impl ConnectionCap {
    /// At most `max_per_address` concurrent connections per client address; peers inside
    /// `trusted` (reverse proxies) are not capped.
    pub fn new(max_per_address: usize, trusted: Vec<IpNet>) -> Self {
        Self {
            inner: Arc::new(CapInner {
                max_per_address,
                trusted,
                live: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// For `HttpServer::on_connect`: counts the new connection.
    pub fn on_connect(&self, connection: &dyn Any, data: &mut Extensions) {
        let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let Ok(peer) = stream.peer_addr() else {
            return;
        };
        let ip = peer.ip().to_canonical();
        if self.inner.trusted.iter().any(|net| net.contains(&ip)) {
            return;
        }
        let key = rate_limit_key(ip);
        let mut live = self
            .inner
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = live.entry(key).or_insert(0);
        *count += 1;
        let over_cap = *count > self.inner.max_per_address;
        drop(live);
        data.insert(Slot {
            cap: Arc::clone(&self.inner),
            key,
            over_cap,
        });
    }

    /// How many connections from `ip` are open (for tests and diagnostics).
    pub fn live(&self, ip: IpAddr) -> usize {
        let live = self
            .inner
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        live.get(&rate_limit_key(ip)).copied().unwrap_or(0)
    }

    /// Middleware: a request on a connection past its address's cap gets `429` (with
    /// `Retry-After` and the JSON body) and its connection is closed, its body never read.
    pub async fn enforce(
        req: ServiceRequest,
        next: Next<impl MessageBody>,
    ) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
        let over_cap = req.conn_data::<Slot>().is_some_and(|slot| slot.over_cap);
        if !over_cap {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body);
        }
        if let Some(slot) = req.conn_data::<Slot>() {
            tracing::warn!(client = %slot.key, "too many connections from one address");
        }
        let mut response = ErrorBody::new(
            "too_many_connections",
            "Too many open connections from this address; close some and try again",
        )
        .response(StatusCode::TOO_MANY_REQUESTS);
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        response
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
        Ok(req.into_response(response).map_into_right_body())
    }
}

/// Raises this process's soft limit on open files to its hard limit, so the connection caps
/// above, not an accidental default of 1024, decide how many clients are served. Returns the
/// new soft limit.
pub fn raise_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

#[cfg(test)]
mod tests {
    use actix_web::dev::Service;
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test};
    use futures_util::StreamExt;
    use serde_json::Value;

    use super::*;

    /// A body whose first bytes arrive and whose rest never does.
    fn stalled_payload() -> Payload {
        let first = futures_util::stream::once(async { Ok(web::Bytes::from_static(b"{\"a\":")) });
        Payload::from(Box::pin(first.chain(futures_util::stream::pending())) as PayloadStream)
    }

    #[actix_web::test]
    async fn framework_extractors_get_a_json_408_past_the_deadline() {
        let app = test::init_service(
            App::new()
                .app_data(BodyReadTimeout(Duration::from_millis(200)))
                .app_data(json_config(1024))
                .app_data(form_config(1024))
                .wrap(from_fn(body_deadline))
                .route(
                    "/json",
                    web::post().to(|_: web::Json<Value>| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/form",
                    web::post().to(|_: web::Form<Vec<(String, String)>>| async {
                        HttpResponse::Ok().finish()
                    }),
                ),
        )
        .await;
        for (path, content_type) in [
            ("/json", "application/json"),
            ("/form", "application/x-www-form-urlencoded"),
        ] {
            let (req, _) = test::TestRequest::post()
                .uri(path)
                .insert_header(("content-type", content_type))
                .to_request()
                .replace_payload(stalled_payload());
            let res = app.call(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT, "{path}");
            assert_eq!(
                res.response().head().connection_type(),
                actix_web::http::ConnectionType::Close,
                "{path}"
            );
            let body: Value = test::read_body_json(res).await;
            assert_eq!(body["error"], "request_timeout", "{path}");
        }
    }

    #[actix_web::test]
    async fn a_body_within_the_deadline_is_untouched() {
        let app = test::init_service(
            App::new()
                .app_data(BodyReadTimeout(Duration::from_secs(5)))
                .wrap(from_fn(body_deadline))
                .route(
                    "/json",
                    web::post().to(|body: web::Json<Value>| async move {
                        HttpResponse::Ok().json(body.into_inner())
                    }),
                ),
        )
        .await;
        let req = test::TestRequest::post()
            .uri("/json")
            .set_json(serde_json::json!({ "a": 1 }))
            .to_request();
        let body: Value = test::call_and_read_body_json(&app, req).await;
        assert_eq!(body["a"], 1);
    }
}
