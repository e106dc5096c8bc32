//! `GET /openapi.json`: a valid OpenAPI 3.1 document whose operations are exactly the routes
//! the server mounts.

use std::collections::BTreeSet;

use passport_e2e::{Backend, Captured, TestApp};
use serde_json::Value;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Paths probed besides the documented ones: plausible routes that must not exist.
const UNDOCUMENTED: [&str; 13] = [
    "/",
    "/metrics",
    "/bench/plain",
    "/bench/db",
    "/bench/guarded",
    "/bench/bare",
    "/user/profile/extra",
    "/token",
    "/register",
    "/users",
    "/admin",
    "/.well-known/openid-configuration",
    "/openapi.yaml",
];

async fn document(app: &TestApp) -> Value {
    let response = Captured::from(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    response.json()
}

/// Every `$ref` in `value`.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => found.push(r.clone()),
                    _ => refs(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_valid_openapi_3_1_with_both_encodings_errors_and_token_transports() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = document(&app).await;
    let text = serde_json::to_string(&doc).unwrap();

    // It parses as an OpenAPI 3.1 document.
    let spec = oas3::from_json(&text).unwrap_or_else(|e| panic!("not OpenAPI 3.1: {e}"));
    assert!(spec.openapi.starts_with("3.1."), "version {}", spec.openapi);

    // Every reference resolves.
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in &found {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling {r}");
    }

    // Both token transports are security schemes.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["secret_token"]["type"], "apiKey");
    assert_eq!(schemes["secret_token"]["in"], "query");
    assert_eq!(schemes["secret_token"]["name"], "secret_token");
    assert_eq!(schemes["session_cookie"]["type"], "apiKey");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");

    // The error schema is {error, message}.
    let error = &doc["components"]["schemas"]["Error"];
    let required: BTreeSet<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, BTreeSet::from(["error", "message"]));

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            // Bodies in both encodings.
            if let Some(body) = operation.get("requestBody") {
                let content = body["content"].as_object().unwrap();
                assert!(content.contains_key("application/json"), "{name}");
                assert!(
                    content.contains_key("application/x-www-form-urlencoded"),
                    "{name}"
                );
            }
            // Every 4xx/5xx answers the error schema.
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{name}");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{name} {status}"
                    );
                }
            }
            // Guarded routes name both transports.
            if ["/logout", "/user", "/user/profile", "/user/password"].contains(&path.as_str())
                || path.starts_with("/user/sessions")
            {
                let security = serde_json::to_string(&operation["security"]).unwrap();
                assert!(
                    security.contains("bearer")
                        && security.contains("secret_token")
                        && security.contains("session_cookie"),
                    "{name}: {security}"
                );
            }
        }
    }
}

/// Probes every documented path (its `{provider}` as `provider`) and every path of
/// `undocumented` with each method: the routed ones must be exactly the documented operations.
async fn assert_documented_is_mounted(app: &TestApp, provider: &str, undocumented: &[&str]) {
    let doc = document(app).await;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(|method| (method.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(documented.len() >= 11, "{documented:?}");
    assert_eq!(
        app.signup("probe@example.com", "correct horse battery")
            .await
            .status(),
        201
    );

    // (as documented, as requested)
    let paths: BTreeSet<(String, String)> = documented
        .iter()
        .map(|(_, path)| (path.clone(), path.replace("{provider}", provider)))
        .chain(
            UNDOCUMENTED
                .iter()
                .chain(undocumented)
                .map(|p| ((*p).to_owned(), (*p).to_owned())),
        )
        .collect();
    let mut mounted = BTreeSet::new();
    for (path, probe) in &paths {
        for method in METHODS {
            // A fresh token per probe (a probe of /logout ends its session), no body: a
            // mounted route answers anything but the router's 404 and 405.
            let token = app
                .login_pair("probe@example.com", "correct horse battery")
                .await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let response = Captured::from(
                app.client
                    .request(method.parse().unwrap(), app.url(probe))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let routed = match response.status {
                405 => false,
                404 => response.json()["error"] != "not_found",
                _ => true,
            };
            if routed {
                mounted.insert((method.to_owned(), path.clone()));
            }
        }
    }
    assert_eq!(mounted, documented, "mounted (left) vs documented (right)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mounted_route_is_documented_and_nothing_else() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Without OpenID providers, their routes are neither mounted nor documented.
    assert_documented_is_mounted(&app, "op", &["/auth/op", "/auth/op/callback"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_openid_providers_their_routes_are_documented_and_mounted() {
    // Discovery happens at first use: an issuer nobody listens on is enough to mount them.
    let issuer = format!(
        "http://127.0.0.1:{}",
        passport_e2e::oidc_provider::free_port()
    );
    let app = TestApp::spawn_with(Backend::Sqlite, move |env| {
        for (k, v) in [
            ("OIDC_PROVIDERS", "op,other"),
            ("OIDC_OP_ISSUER", issuer.as_str()),
            ("OIDC_OP_CLIENT_ID", "passport"),
            ("OIDC_OP_REDIRECT_URL", "http://127.0.0.1/auth/op/callback"),
            ("OIDC_OTHER_ISSUER", issuer.as_str()),
            ("OIDC_OTHER_CLIENT_ID", "passport"),
            (
                "OIDC_OTHER_REDIRECT_URL",
                "http://127.0.0.1/auth/other/callback",
            ),
        ] {
            env.insert(k.to_owned(), v.to_owned());
        }
    })
    .await;
    let doc = document(&app).await;
    oas3::from_json(doc.to_string()).unwrap_or_else(|e| panic!("not OpenAPI 3.1: {e}"));
    for path in ["/auth/{provider}", "/auth/{provider}/callback"] {
        let parameters = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let provider = parameters
            .iter()
            .find(|p| p["name"] == "provider")
            .unwrap_or_else(|| panic!("{path}: no provider parameter"));
        assert_eq!(provider["in"], "path");
        assert_eq!(
            provider["schema"]["enum"],
            serde_json::json!(["op", "other"]),
            "{path}: the configured names"
        );
    }
    assert_documented_is_mounted(&app, "op", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_are_served_offline_in_development_and_off_in_production_unless_enabled() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let page = Captured::from(app.client.get(app.url("/docs")).send().await.unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    assert!(
        page.body.contains("openapi.json"),
        "the page renders the document"
    );
    // No external asset: no absolute URL, no protocol-relative URL.
    for external in ["http:", "https:", "//cdn", "src=\"//", "href=\"//"] {
        assert!(!page.body.contains(external), "{external} in /docs");
    }
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'self'")),
        "the browser is told to load nothing from elsewhere"
    );

    let production = |docs: Option<&'static str>| {
        TestApp::spawn_with(Backend::Sqlite, move |env| {
            env.insert("APP_ENV".into(), "production".into());
            env.insert("BCRYPT_COST".into(), "10".into());
            if let Some(docs) = docs {
                env.insert("DOCS".into(), docs.into());
            }
        })
    };
    let off = production(None).await;
    Captured::from(off.client.get(off.url("/docs")).send().await.unwrap())
        .await
        .assert_error(404, "not_found");
    assert!(document(&off).await["paths"].get("/docs").is_none());
    let on = production(Some("true")).await;
    let page = on.client.get(on.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(document(&on).await["paths"].get("/docs").is_some());
}
