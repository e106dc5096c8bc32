//! Account enumeration through `POST /login`: an unknown email and a wrong password must be
//! indistinguishable in status, bytes and time.
//!
//! This is a test of *logical* timing, not a performance assertion. What makes a login slow
//! is one bcrypt verification; the two failure paths differ only in whether it runs against
//! the user's hash or against the dummy hash of the strategy. If a regression skips hashing
//! for unknown users ("the user doesn't exist, fail fast"), an unknown email answers in the
//! time of two database queries, a small fraction of a bcrypt verification, and the relative
//! difference of the medians goes to ~1.0 on any machine, fast or slow. With both paths
//! hashing, it stays near 0. So the bound (0.5) compares the server with itself, measured
//! interleaved in the same moments, and does not depend on how fast the machine is; a
//! sensitivity check makes sure hashing really dominates, so that the test could see the
//! regression at all.

use std::time::{Duration, Instant};

use passport_e2e::{Backend, Captured, TestApp, median};
use serde_json::json;

const ROUNDS: usize = 40;

async fn timed_login(app: &TestApp, email: &str, password: &str) -> (Captured, Duration) {
    let start = Instant::now();
    let response = app.login(email, password).await;
    let captured = Captured::from(response).await;
    (captured, start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_email_and_a_wrong_password_take_the_same_time_and_bytes() {
    // bcrypt dominates the cost of a login.
    same_time_and_bytes(&[("BCRYPT_COST", "8")]).await;
}

/// The same under argon2id: the dummy hash follows the configured scheme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_argon2id_an_unknown_email_and_a_wrong_password_take_the_same_time_and_bytes() {
    same_time_and_bytes(&[
        ("PASSWORD_HASHER", "argon2id"),
        ("ARGON2_MEMORY_KIB", "8192"),
        ("ARGON2_ITERATIONS", "2"),
    ])
    .await;
}

async fn same_time_and_bytes(settings: &[(&str, &str)]) {
    let app = TestApp::spawn_with(Backend::Postgres, |env| {
        for (name, value) in settings {
            env.insert((*name).into(), (*value).into());
        }
        // Forty wrong passwords for one account must all be verified, never throttled.
        env.insert("LOGIN_MAX_FAILURES".into(), "1000".into());
    })
    .await;
    assert_eq!(
        app.signup("real@example.com", "correct horse battery")
            .await
            .status(),
        201
    );

    // Warm up connections, the pool and the hashing threads.
    for i in 0..3 {
        timed_login(
            &app,
            &format!("warmup{i}@example.com"),
            "wrong horse battery",
        )
        .await;
        timed_login(&app, "real@example.com", "wrong horse battery").await;
    }

    let reference = timed_login(&app, "real@example.com", "wrong horse battery")
        .await
        .0;
    reference.assert_error(401, "invalid_credentials");
    let mut unknown = Vec::with_capacity(ROUNDS);
    let mut wrong = Vec::with_capacity(ROUNDS);
    // The floor: a login refused before any database call or hash (no password).
    let mut floor = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS {
        // Alternate which goes first, so drift in the machine's load hits both alike.
        let ghost = format!("ghost{i}@example.com");
        let (a, b) = if i % 2 == 0 {
            let a = timed_login(&app, &ghost, "wrong horse battery").await;
            (
                a,
                timed_login(&app, "real@example.com", "wrong horse battery").await,
            )
        } else {
            let b = timed_login(&app, "real@example.com", "wrong horse battery").await;
            (timed_login(&app, &ghost, "wrong horse battery").await, b)
        };
        for (what, captured) in [("unknown email", &a.0), ("wrong password", &b.0)] {
            assert_eq!(
                captured.status, reference.status,
                "{what}, round {i}: {}",
                captured.body
            );
            assert_eq!(captured.body, reference.body, "{what}, round {i}");
        }
        unknown.push(a.1);
        wrong.push(b.1);

        let start = Instant::now();
        let bare = app.post_json("/login", &json!({ "email": ghost })).await;
        assert_eq!(bare.status(), 400);
        floor.push(start.elapsed());
    }

    let (unknown, wrong, floor) = (median(&mut unknown), median(&mut wrong), median(&mut floor));
    let report = format!(
        "medians: unknown email {:.2} ms, wrong password {:.2} ms, no hashing {:.2} ms",
        unknown * 1e3,
        wrong * 1e3,
        floor * 1e3
    );
    eprintln!("{report}");
    assert!(
        wrong > 3.0 * floor,
        "hashing does not dominate a login here, so the test could not see the regression: {report}"
    );
    let difference = (unknown - wrong).abs() / wrong;
    assert!(
        difference < 0.5,
        "an unknown email answers measurably faster or slower than a wrong password ({:.0} %), \
         which tells an attacker which emails are registered: {report}",
        difference * 100.0
    );
}

/// Security round 3 (issue 20, defect 4): with `PASSWORD_HASHER=argon2id` and bcrypt rows
/// left from before the switch, a wrong password on a bcrypt row — short, or longer than
/// bcrypt's 72 bytes (which bcrypt cannot have hashed) — takes the time of an unknown email.
/// Every "no" pays one verification of each scheme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_database_with_bcrypt_and_argon2_rows_every_no_takes_the_same_time() {
    let argon2 = [
        ("PASSWORD_HASHER", "argon2id"),
        ("ARGON2_MEMORY_KIB", "8192"),
        ("ARGON2_ITERATIONS", "2"),
        ("BCRYPT_COST", "8"),
        ("LOGIN_MAX_FAILURES", "1000"),
    ];
    // The rows of the bcrypt days, then the switch to argon2id.
    let bcrypt_days = TestApp::spawn_with(Backend::Postgres, |env| {
        env.insert("BCRYPT_COST".into(), "8".into());
    })
    .await;
    assert_eq!(
        bcrypt_days
            .signup("legacy@example.com", "correct horse battery")
            .await
            .status(),
        201
    );
    let app = bcrypt_days
        .spawn_sharing(|env| {
            for (name, value) in argon2 {
                env.insert(name.into(), value.into());
            }
        })
        .await;
    assert_eq!(
        app.signup("modern@example.com", "correct horse battery")
            .await
            .status(),
        201
    );
    let long = "a wrong passphrase that is much longer than bcrypt's limit of seventy-two bytes";
    assert!(long.len() > 72);

    let timed = |email: String, password: &'static str| {
        let app = &app;
        async move {
            let start = Instant::now();
            let captured = Captured::from(app.login(&email, password).await).await;
            (captured, start.elapsed())
        }
    };
    for i in 0..2 {
        timed(format!("warmup{i}@example.com"), long).await;
        timed("legacy@example.com".into(), long).await;
    }
    let cases: [(&str, &str, &'static str); 4] = [
        ("unknown email", "", "wrong horse battery"),
        (
            "wrong short password, bcrypt row",
            "legacy@example.com",
            "wrong horse battery",
        ),
        (
            "wrong long password, bcrypt row",
            "legacy@example.com",
            long,
        ),
        (
            "wrong password, argon2 row",
            "modern@example.com",
            "wrong horse battery",
        ),
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    let reference = timed("ghost@example.com".into(), "wrong horse battery")
        .await
        .0;
    reference.assert_error(401, "invalid_credentials");
    for round in 0..16 {
        for k in 0..cases.len() {
            // Rotate the order each round, so drift in the machine's load hits all alike.
            let k = (k + round) % cases.len();
            let (what, email, password) = cases[k];
            let email = match email {
                "" => format!("ghost{round}@example.com"),
                known => known.to_owned(),
            };
            let (captured, took) = timed(email, password).await;
            assert_eq!(
                captured.status, reference.status,
                "{what}: {}",
                captured.body
            );
            assert_eq!(captured.body, reference.body, "{what}");
            samples[k].push(took);
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    let report = cases
        .iter()
        .zip(&medians)
        .map(|((what, _, _), m)| format!("{what} {:.2} ms", m * 1e3))
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!("medians: {report}");
    for (k, (what, _, _)) in cases.iter().enumerate().skip(1) {
        let difference = (medians[0] - medians[k]).abs() / medians[0];
        assert!(
            difference < 0.5,
            "{what} answers measurably faster or slower than an unknown email ({:.0} %): {report}",
            difference * 100.0
        );
    }
}
