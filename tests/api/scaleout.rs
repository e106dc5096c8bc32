//! Scale-out: three server instances behind a real load balancer (HAProxy, round-robin) and a
//! real transaction pooler (PgBouncer, `pool_mode = transaction`) in front of PostgreSQL, as an
//! operator deploys them (`DATABASE_POOL_MODE=transaction`, `DATABASE_DIRECT_URL` for the
//! migrations and `LISTEN`). The acceptance flows run through the balancer; what must be
//! counted once (the per-address limit, the account throttle) is counted once across the
//! instances; a revocation is honoured by every instance within a second; and the pooler
//! restarted under the running servers is healed from without restarting them.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use passport_e2e::scaleout::{Daemon, Daemons, PgUrl, haproxy, pgbouncer};
use passport_e2e::{Backend, Captured, TestDatabase, TestInstance, test_env, within};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
/// The contract's bound on revocation propagation.
const PROPAGATION: Duration = Duration::from_secs(1);
/// `RATE_LIMIT_PER_MINUTE` of these instances: a multiple of 3, so a round-robin spreads one
/// address's budget evenly and no instance alone would reach it.
const PER_MINUTE: usize = 6;
/// `LOGIN_MAX_FAILURES`.
const MAX_FAILURES: usize = 3;

/// A client address no request of this test has used yet (for requests repeated while
/// waiting, which must not run into the per-address limit).
fn fresh_address() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("10.77.{}.{}", n / 250, n % 250 + 1)
}

/// The balancer's address and a client that sends each request as coming from `address`
/// (`X-Forwarded-For`, believed by the instances from the balancer on loopback only).
struct Balancer {
    base: String,
    client: reqwest::Client,
}

impl Balancer {
    async fn post(&self, from: &str, path: &str, body: &Value) -> Captured {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-forwarded-for", from)
            .json(body)
            .send()
            .await
            .unwrap();
        Captured::from(response).await
    }

    async fn credentials(&self, from: &str, path: &str, email: &str, password: &str) -> Captured {
        self.post(from, path, &json!({ "email": email, "password": password }))
            .await
    }

    async fn profile(&self, token: &str) -> u16 {
        self.client
            .get(format!("{}/user/profile", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn logout(&self, token: &str) -> u16 {
        self.client
            .post(format!("{}/logout", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// How many `route` requests `instance` has answered, from its metrics listener.
async fn answered(instance: &TestInstance, route: &str) -> f64 {
    let port = instance.metrics_port.unwrap();
    let text = instance
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let label = format!("route=\"{route}\"");
    text.lines()
        .filter(|line| line.starts_with("passport_http_requests_total{") && line.contains(&label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The instance environment: the pooler as `DATABASE_URL`, PostgreSQL itself as
/// `DATABASE_DIRECT_URL`.
fn instance_env(pooled: &str, direct: &str) -> HashMap<String, String> {
    let mut env = test_env(pooled);
    for (key, value) in [
        ("DATABASE_POOL_MODE", "transaction"),
        ("DATABASE_DIRECT_URL", direct),
        ("DATABASE_MAX_CONNECTIONS", "3"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_PER_MINUTE", &PER_MINUTE.to_string()),
        ("LOGIN_MAX_FAILURES", &MAX_FAILURES.to_string()),
        ("METRICS_ADDR", "127.0.0.1:0"),
    ] {
        env.insert(key.to_owned(), value.to_owned());
    }
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_haproxy_and_a_transaction_pooling_pgbouncer() {
    let Some(daemons) = Daemons::find() else {
        return;
    };
    let db = TestDatabase::create(Backend::Postgres).await;
    let upstream = PgUrl::parse(&db.url);
    // Fewer server connections than the instances' pools hold together (3 × 3): PgBouncer
    // multiplexes their transactions.
    let mut pooler: Daemon = pgbouncer(&daemons.pgbouncer, &upstream, 4).unwrap();
    let pooled = upstream.through(pooler.port);
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(TestInstance::start(instance_env(&pooled, &db.url)).await);
    }
    let ports: Vec<u16> = instances.iter().map(|i| i.port).collect();
    let balancer_daemon = haproxy(&daemons.haproxy, &ports).unwrap();
    let lb = Balancer {
        base: format!("http://127.0.0.1:{}", balancer_daemon.port),
        client: reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
    };

    // Signup, login, refresh, logout through the balancer (the pooler under every call).
    let signup = lb
        .credentials("198.51.100.1", "/signup", "alice@example.com", PASSWORD)
        .await;
    assert_eq!(signup.status, 201, "signup: {}", signup.body);
    let login = lb
        .credentials("198.51.100.1", "/login", "alice@example.com", PASSWORD)
        .await;
    assert_eq!(login.status, 200, "login: {}", login.body);
    let first = login.json();
    for _ in 0..3 {
        assert_eq!(lb.profile(first["token"].as_str().unwrap()).await, 200);
    }
    let refreshed = lb
        .post(
            "198.51.100.1",
            "/token/refresh",
            &json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    assert_eq!(refreshed.status, 200, "refresh: {}", refreshed.body);
    let pair = refreshed.json();
    let token = pair["token"].as_str().unwrap().to_owned();
    // Every instance has the session cached (and its listener up) before the logout.
    for instance in &instances {
        for _ in 0..3 {
            assert_eq!(instance.profile_status(&token).await, 200);
        }
    }
    assert_eq!(lb.logout(&token).await, 204);
    for (i, instance) in instances.iter().enumerate() {
        within(PROPAGATION, || async {
            instance.profile_status(&token).await == 401
        })
        .await
        .unwrap_or_else(|| panic!("instance {i} still accepts a logged-out token"));
    }
    let after = lb
        .post(
            "198.51.100.1",
            "/token/refresh",
            &json!({ "refresh_token": pair["refresh_token"] }),
        )
        .await;
    after.assert_error(400, "invalid_grant");

    // The account throttle is counted once: MAX_FAILURES wrong passwords spread over the
    // instances (from as many addresses), then even the right one is refused.
    let bob = lb
        .credentials("198.51.100.2", "/signup", "bob@example.com", PASSWORD)
        .await;
    assert_eq!(bob.status, 201, "{}", bob.body);
    for i in 0..MAX_FAILURES {
        let wrong = lb
            .credentials(
                &format!("198.51.100.{}", 10 + i),
                "/login",
                "bob@example.com",
                "wrong horse battery",
            )
            .await;
        assert_eq!(wrong.status, 401, "failure {}: {}", i + 1, wrong.body);
    }
    let throttled = lb
        .credentials("198.51.100.20", "/login", "bob@example.com", PASSWORD)
        .await;
    throttled.assert_error(429, "too_many_attempts");

    // The per-address limit is counted once: PER_MINUTE logins from one address, spread over
    // the three instances (each sees a third of them), then the next is refused.
    let before: Vec<f64> = futures_util::future::join_all(
        instances
            .iter()
            .map(|instance| answered(instance, "/login")),
    )
    .await;
    for i in 0..PER_MINUTE {
        let response = lb
            .credentials(
                "203.0.113.7",
                "/login",
                &format!("nobody{i}@example.com"),
                "wrong horse battery",
            )
            .await;
        assert_eq!(response.status, 401, "login {}: {}", i + 1, response.body);
    }
    let after: Vec<f64> = futures_util::future::join_all(
        instances
            .iter()
            .map(|instance| answered(instance, "/login")),
    )
    .await;
    for (i, (before, after)) in before.iter().zip(&after).enumerate() {
        assert!(
            after - before >= 1.0 && after - before < PER_MINUTE as f64,
            "instance {i} answered {} of the {PER_MINUTE} logins: the balancer must spread them",
            after - before
        );
    }
    let limited = lb
        .credentials("203.0.113.7", "/login", "alice@example.com", PASSWORD)
        .await;
    limited.assert_error(429, "rate_limited");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert!(!limited.body.contains("token"), "{}", limited.body);
    // Another address still has its whole budget.
    let other = lb
        .credentials("203.0.113.8", "/login", "alice@example.com", PASSWORD)
        .await;
    assert_eq!(other.status, 200, "{}", other.body);

    // The pooler dies and comes back on the same port: the instances' pools heal on their own.
    pooler.kill();
    let down = Captured::from(instances[0].signup("during@example.com", PASSWORD).await).await;
    down.assert_error(503, "service_unavailable");
    pooler.start().unwrap();
    for (i, instance) in instances.iter().enumerate() {
        let healed = within(Duration::from_secs(10), || async {
            let ready = instance.client.get(instance.url("/ready")).send().await;
            ready.is_ok_and(|r| r.status() == 200)
        })
        .await;
        assert!(
            healed.is_some(),
            "instance {i} did not reconnect through the pooler"
        );
        let email = format!("after{i}@example.com");
        let signup = Captured::from(instance.signup(&email, PASSWORD).await).await;
        assert_eq!(signup.status, 201, "instance {i}: {}", signup.body);
        let login = Captured::from(instance.login(&email, PASSWORD).await).await;
        assert_eq!(login.status, 200, "instance {i}: {}", login.body);
    }
    // And through the balancer again, once its checks see the instances ready.
    let back = within(Duration::from_secs(10), || async {
        lb.credentials(&fresh_address(), "/login", "after0@example.com", PASSWORD)
            .await
            .status
            == 200
    })
    .await;
    assert!(back.is_some(), "the balancer did not route logins again");

    // An instance dies while requests are in flight (stopped at once, its connections
    // dropped, once the first of a burst of signups has been answered): each signup either
    // succeeded or failed whole, and the balancer goes on with the two others.
    let victim = instances.pop().unwrap();
    let mut burst: futures_util::stream::FuturesUnordered<_> = (0..9)
        .map(|i| {
            let lb = &lb;
            async move {
                let email = format!("burst{i}@example.com");
                let status = lb
                    .client
                    .post(format!("{}/signup", lb.base))
                    .header("x-forwarded-for", format!("192.0.2.{i}"))
                    .json(&json!({ "email": email, "password": PASSWORD }))
                    .send()
                    .await
                    .map(|r| r.status().as_u16());
                (i, email, status)
            }
        })
        .collect();
    let mut answers = vec![burst.next().await.unwrap()];
    drop(victim);
    while let Some(answer) = burst.next().await {
        answers.push(answer);
    }
    for (i, email, status) in answers {
        let login = lb
            .credentials(&format!("192.0.2.{i}"), "/login", &email, PASSWORD)
            .await;
        match status {
            Ok(201) => assert_eq!(login.status, 200, "{email}: {}", login.body),
            // Failed in flight (the balancer's 502/503, or the connection dropped): the account
            // exists whole or not at all.
            _ => assert!(
                [200, 401].contains(&login.status),
                "{email} after {status:?}: {} {}",
                login.status,
                login.body
            ),
        }
    }
    let steady = within(Duration::from_secs(5), || async {
        let mut all = true;
        for _ in 0..4 {
            let status = lb
                .credentials(&fresh_address(), "/login", "after0@example.com", PASSWORD)
                .await
                .status;
            all &= status == 200;
        }
        all
    })
    .await;
    assert!(
        steady.is_some(),
        "the balancer did not settle on the two live instances"
    );

    drop(balancer_daemon);
    for instance in &instances {
        instance.stop().await;
    }
}

/// Without the daemons (so it runs everywhere): two instances on one PostgreSQL database share
/// one per-address budget on each limited route, and the 429 is the usual one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_share_one_per_address_budget() {
    let a = passport_e2e::TestApp::spawn_with(Backend::Postgres, |env| {
        env.insert("RATE_LIMIT_PER_MINUTE".into(), "4".into());
    })
    .await;
    let b = a
        .spawn_sharing(|env| {
            env.insert("RATE_LIMIT_PER_MINUTE".into(), "4".into());
        })
        .await;
    for i in 0..4 {
        let instance = if i % 2 == 0 { &*a } else { &b };
        let status = instance
            .login(&format!("nobody{i}@example.com"), "wrong horse battery")
            .await
            .status();
        assert_eq!(status, 401, "login {} is within the budget", i + 1);
    }
    for instance in [&*a, &b] {
        let refused = Captured::from(instance.login("x@example.com", PASSWORD).await).await;
        refused.assert_error(429, "rate_limited");
        let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!(
            (1..=60).contains(&retry_after),
            "Retry-After: {retry_after}"
        );
    }
    // Signup has a budget of its own.
    let signup = Captured::from(b.signup("fresh@example.com", PASSWORD).await).await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    drop(b);
}
