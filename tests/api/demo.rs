//! `GET /demo`: mounted in development (or with `DEMO=true`), and driven in a real browser
//! (headless Chromium over WebDriver) loaded from another origin than the API: the tutorial's
//! flow works when `CORS_ALLOWED_ORIGINS` names that origin, and the browser blocks every call
//! when it does not.

use std::path::PathBuf;

use fantoccini::Locator;
use passport_e2e::browser::{Browser, StaticSite};
use passport_e2e::passport_server::demo::PAGE;
use passport_e2e::{Backend, Captured, TestApp};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

/// Where the screenshot of the demo page goes (the README shows it).
fn screenshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/demo.png")
}

/// One request/response pair as the page shows it.
struct Exchange {
    step: String,
    /// The HTTP status, or `network-error`.
    status: String,
    /// The response as displayed: `<status> <reason>\n\n<body>`, or the error text.
    response: String,
}

impl Exchange {
    /// The displayed response body, parsed.
    fn json(&self) -> Value {
        let (_, body) = self
            .response
            .split_once("\n\n")
            .unwrap_or_else(|| panic!("no body shown: {}", self.response));
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
    }
}

/// The demo page open in the browser, driven through its buttons.
struct DemoPage<'a> {
    browser: &'a Browser,
    shown: usize,
}

impl<'a> DemoPage<'a> {
    /// Opens `url` and fills in the credentials.
    async fn open(browser: &'a Browser, url: &str, email: &str) -> Self {
        browser.client.goto(url).await.unwrap();
        for (id, value) in [("email", email), ("password", PASSWORD)] {
            let input = browser.wait_for(&format!("#{id}")).await;
            input.clear().await.unwrap();
            input.send_keys(value).await.unwrap();
        }
        Self { browser, shown: 0 }
    }

    /// The page's own origin, as the browser sees it.
    async fn origin(&self) -> String {
        let origin = self
            .browser
            .client
            .execute("return location.origin", vec![])
            .await
            .unwrap();
        origin.as_str().unwrap().to_owned()
    }

    /// Clicks the step's button and waits until the page shows the answer.
    async fn run(&mut self, step: &str) -> Exchange {
        self.browser
            .client
            .find(Locator::Id(step))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.shown += 1;
        let item = self
            .browser
            .wait_for(&format!(
                "#log > li:nth-child({}):not([data-status=\"pending\"])",
                self.shown
            ))
            .await;
        let exchange = Exchange {
            step: item.attr("data-step").await.unwrap().unwrap_or_default(),
            status: item.attr("data-status").await.unwrap().unwrap_or_default(),
            response: item
                .find(Locator::Css(".response-body"))
                .await
                .unwrap()
                .prop("textContent")
                .await
                .unwrap()
                .unwrap_or_default(),
        };
        assert_eq!(exchange.step, step);
        exchange
    }

    /// Everything the page shows.
    async fn text(&self) -> String {
        let body = self
            .browser
            .client
            .find(Locator::Css("body"))
            .await
            .unwrap();
        body.prop("textContent").await.unwrap().unwrap_or_default()
    }
}

/// Users, sessions and audit events in the app's database.
async fn rows(app: &TestApp) -> [i64; 3] {
    let pool = app.db.pool().await;
    let mut counts = [0; 3];
    for (count, table) in counts.iter_mut().zip(["users", "sessions", "audit_events"]) {
        *count = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_on_another_origin_walks_the_flow_when_cors_allows_that_origin() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = StaticSite::serve(PAGE);
    let origin = site.origin.clone();
    let app = TestApp::spawn_with(Backend::Postgres, |env| {
        env.insert("CORS_ALLOWED_ORIGINS".into(), origin);
    })
    .await;
    let email = "grace@example.com";
    let mut page = DemoPage::open(
        &browser,
        &format!("{}/?api={}", site.origin, app.address),
        email,
    )
    .await;
    assert_eq!(page.origin().await, site.origin);
    assert_ne!(site.origin, app.address, "two origins");

    let signup = page.run("signup").await;
    assert_eq!(signup.status, "201", "{}", signup.response);
    assert_eq!(signup.json()["user"]["email"], email);

    let login = page.run("login").await;
    assert_eq!(login.status, "200", "{}", login.response);
    let first = login.json();
    assert_eq!(first["token_type"], "Bearer");

    let profile = page.run("profile").await;
    assert_eq!(profile.status, "200", "{}", profile.response);
    assert_eq!(profile.json()["user"]["email"], email);
    assert_eq!(profile.json()["token"], first["token"]);

    let refresh = page.run("refresh").await;
    assert_eq!(refresh.status, "200", "{}", refresh.response);
    let second = refresh.json();
    assert_ne!(second["token"], first["token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    // The page now sends the refreshed access token.
    let profile = page.run("profile").await;
    assert_eq!(profile.status, "200", "{}", profile.response);
    assert_eq!(profile.json()["token"], second["token"]);

    let logout = page.run("logout").await;
    assert_eq!(logout.status, "204", "{}", logout.response);
    let refused = page.run("profile").await;
    assert_eq!(refused.status, "401", "{}", refused.response);
    assert!(
        refused.json()["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{}",
        refused.response
    );

    let shown = page.text().await;
    assert!(shown.contains("POST /signup"), "the requests are shown");
    assert!(!shown.contains(PASSWORD), "the password is never shown");
    // The session really ended on the server.
    app.refresh(second["refresh_token"].as_str().unwrap())
        .await
        .assert_error(400, "invalid_grant");

    // The whole page in one picture: a viewport as tall as the page, scrolled to the top.
    let size = browser
        .client
        .execute(
            "window.scrollTo(0, 0); \
             return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]",
            vec![],
        )
        .await
        .unwrap();
    let [page, chrome] = [0, 1].map(|i| size[i].as_u64().unwrap());
    let height = u32::try_from((page + chrome).clamp(600, 4000)).unwrap();
    browser.client.set_window_size(1100, height).await.unwrap();
    let png = browser.client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    // Written when missing or asked for, so that a test run leaves the worktree clean.
    let path = screenshot_path();
    if !path.exists() || std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &png).unwrap();
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_blocks_the_demo_page_when_its_origin_is_not_allowed() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = StaticSite::serve(PAGE);
    let app = TestApp::spawn_with(Backend::Postgres, |env| {
        env.insert(
            "CORS_ALLOWED_ORIGINS".into(),
            "https://app.example.com".into(),
        );
    })
    .await;
    let email = "mallory@example.com";
    let mut page = DemoPage::open(
        &browser,
        &format!("{}/?api={}", site.origin, app.address),
        email,
    )
    .await;
    for step in ["signup", "login"] {
        let blocked = page.run(step).await;
        assert_eq!(blocked.status, "network-error", "{}", blocked.response);
        assert!(
            blocked.response.contains("CORS_ALLOWED_ORIGINS"),
            "{}",
            blocked.response
        );
    }
    assert_eq!(
        rows(&app).await,
        [0, 0, 0],
        "no user, session or audit event: the server's state is unchanged"
    );

    // The same server is up and answers the same page from its own origin (`/demo`).
    let mut same_origin = DemoPage::open(&browser, &app.url("/demo"), email).await;
    assert_eq!(same_origin.origin().await, app.address);
    let signup = same_origin.run("signup").await;
    assert_eq!(signup.status, "201", "{}", signup.response);
    assert_eq!(rows(&app).await[0], 1);

    // Served by the API, the page cannot be pointed elsewhere: its CSP stops the call in the
    // browser before anything is sent (not even a preflight reaches the other origin).
    let before = site.requests();
    let mut crafted = DemoPage::open(
        &browser,
        &format!("{}?api={}", app.url("/demo"), site.origin),
        email,
    )
    .await;
    let stopped = crafted.run("signup").await;
    assert_eq!(stopped.status, "network-error", "{}", stopped.response);
    assert_eq!(site.requests(), before, "nothing reached {}", site.origin);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_is_served_in_development_and_off_in_production_unless_enabled() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let page = Captured::from(app.client.get(app.url("/demo")).send().await.unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body, PAGE);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    // Served by the API, the page may call this server only (a crafted `?api=` link cannot
    // send a visitor's password elsewhere) and loads nothing from elsewhere.
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!page.body.contains(external), "{external} in /demo");
    }

    let production = |demo: Option<&'static str>| {
        TestApp::spawn_with(Backend::Sqlite, move |env| {
            env.insert("APP_ENV".into(), "production".into());
            env.insert("BCRYPT_COST".into(), "10".into());
            if let Some(demo) = demo {
                env.insert("DEMO".into(), demo.into());
            }
        })
    };
    let documented = |app: &TestApp| {
        let request = app.client.get(app.url("/openapi.json"));
        async move {
            let response = request
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET /openapi.json: {e:?}"));
            let doc = Captured::from(response).await;
            assert_eq!(doc.status, 200, "GET /openapi.json: {}", doc.body);
            doc.json()["paths"].get("/demo").is_some()
        }
    };
    assert!(documented(&app).await);
    let off = production(None).await;
    Captured::from(off.client.get(off.url("/demo")).send().await.unwrap())
        .await
        .assert_error(404, "not_found");
    assert!(!documented(&off).await);
    let on = production(Some("true")).await;
    let page = on.client.get(on.url("/demo")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(documented(&on).await);
}
