//! A real browser for the end-to-end tests: Debian's headless Chromium driven over WebDriver
//! (`chromedriver` on a loopback port of the kernel's choosing, `fantoccini` as the client),
//! and a static file server on a loopback port of its own, so that a page is loaded from
//! another origin than the API it calls.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::dev::{ServerHandle, Service};
use actix_web::{App, HttpResponse, HttpServer, web};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// The longest any wait for the browser (a driver start, an element, a response) may take.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The first `name` on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// A headless Chromium session. Dropped without [`close`](Self::close) (a failing test), it
/// still ends the session, so that no Chromium outlives the test, and stops the driver.
pub struct Browser {
    /// The WebDriver client of the session.
    pub client: Client,
    driver: Child,
    /// `http://127.0.0.1:<driver port>/session/<id>`, until the session is closed.
    session: Option<String>,
}

impl Browser {
    /// Starts `chromedriver` on a loopback port and opens a headless Chromium session, or
    /// `None` when `chromium` or `chromedriver` is not installed outside CI (under `CI=true`
    /// that is a failure, never a skip).
    pub async fn start() -> Option<Self> {
        let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver"))
        else {
            let why = "the browser tests need Chromium and its WebDriver on PATH (`chromium` and \
                       `chromedriver`: apt-get install chromium chromium-driver)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{why}");
            }
            eprintln!("SKIPPED: {why}");
            return None;
        };
        // Port 0: the driver binds a port of the kernel's choosing and prints it, so no other
        // test can take the port between its choice and the bind.
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let stdout = driver.stdout.take();
        // Owned from here: killed even if the session below cannot start.
        let mut guard = DriverGuard(Some(driver));
        let port = match stdout {
            Some(stdout) => tokio::task::spawn_blocking(move || driver_port(stdout))
                .await
                .ok()
                .flatten(),
            None => None,
        }
        .unwrap_or_else(|| panic!("chromedriver did not say its port within {PATIENCE:?}"));
        let url = format!("http://127.0.0.1:{port}");
        wait_until_ready(&url, &mut guard).await;

        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    // Containers run the tests as root, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--no-proxy-server",
                    // Loopback only: no background fetches (updates, sync, safe browsing,
                    // metrics), no QUIC, and every host name but the loopback one resolves to
                    // nothing, so the browser sends no traffic off this machine.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-quic",
                    "--disable-domain-reliability",
                    "--disable-client-side-phishing-detection",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    "--no-default-browser-check",
                    "--no-first-run",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    "--window-size=1100,1500",
                ],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver did not open a Chromium session: {e}"));
        let session = client
            .session_id()
            .await
            .unwrap_or_else(|e| panic!("no WebDriver session id: {e}"))
            .map(|id| format!("{url}/session/{id}"));
        let driver = guard.0.take().unwrap_or_else(|| unreachable!("taken once"));
        Some(Self {
            client,
            driver,
            session,
        })
    }

    /// Waits (at most [`PATIENCE`]) for an element matching the CSS `selector`.
    pub async fn wait_for(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector:?} after {PATIENCE:?}: {e}"))
    }

    /// Ends the session (closing Chromium) and stops the driver.
    pub async fn close(mut self) {
        if self.client.clone().close().await.is_ok() {
            self.session = None;
        }
        stop(&mut self.driver);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing the driver would leave its Chromium running: end the session first, with
        // the WebDriver call itself (the test's runtime may be unwinding; a thread of its own
        // may block).
        if let Some(session) = self.session.take() {
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    let client = reqwest::Client::builder().timeout(PATIENCE).build();
                    if let Ok(client) = client {
                        let _ = client.delete(session).send().await;
                    }
                });
            })
            .join();
        }
        stop(&mut self.driver);
    }
}

struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            stop(child);
        }
    }
}

/// The port in chromedriver's "… started successfully on port N." line (waiting at most
/// [`PATIENCE`]); the rest of its output is read and dropped, so it never blocks on a full pipe.
fn driver_port(stdout: ChildStdout) -> Option<u16> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some((_, rest)) = line.split_once("started successfully on port ") {
                let _ = tx.send(rest.trim_end_matches('.').trim().parse::<u16>().ok());
            }
        }
    });
    rx.recv_timeout(PATIENCE).ok().flatten()
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls the driver's `GET /status` until it is ready (bounded by [`PATIENCE`]).
async fn wait_until_ready(url: &str, driver: &mut DriverGuard) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(Ok(Some(status))) = driver.0.as_mut().map(Child::try_wait) {
            panic!("chromedriver exited at start ({status})");
        }
        let ready = match client.get(format!("{url}/status")).send().await {
            Ok(response) => response
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|body| body["value"]["ready"] == true),
            Err(_) => false,
        };
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver was not ready at {url} after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One HTML page served at `/` on a loopback port of its own: an origin that is not the API's.
pub struct StaticSite {
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    requests: Arc<AtomicUsize>,
    handle: ServerHandle,
}

impl StaticSite {
    /// Serves `html` at `GET /` (anything else is 404), counting every request it gets.
    pub fn serve(html: &'static str) -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let server = HttpServer::new(move || {
            let counter = Arc::clone(&counter);
            App::new()
                .wrap_fn(move |req, srv| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    srv.call(req)
                })
                .route(
                    "/",
                    web::get().to(move || async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body(html)
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", 0))
        .unwrap_or_else(|e| panic!("cannot serve the static site: {e}"));
        let port = server
            .addrs()
            .first()
            .map(|addr| addr.port())
            .unwrap_or_else(|| panic!("the static site bound no socket"));
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            origin: format!("http://127.0.0.1:{port}"),
            requests,
            handle,
        }
    }

    /// How many requests (of any method, to any path) the site has received.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for StaticSite {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
