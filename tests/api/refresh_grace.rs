//! Contract v3, "Refresh, tightened" (issue 20, defect 3): within the grace a used-up refresh
//! token presented again gets the same new refresh token as the first time, on any instance,
//! so a stolen copy cannot fork the session into two chains; the second holder to use the
//! shared token after the grace trips reuse detection. The grace runs on the database's clock:
//! moving a use time back in the database is the grace passing, without a sleep.

use passport_e2e::{Backend, TestApp, claims_of, on_both_backends};
use serde_json::Value;

on_both_backends!(
    a_retry_within_the_grace_gets_the_same_new_refresh_token_on_any_instance,
    the_second_holder_of_the_shared_token_trips_reuse_detection_after_the_grace,
);

const PASSWORD: &str = "correct horse battery";

fn refresh_token(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn a_retry_within_the_grace_gets_the_same_new_refresh_token_on_any_instance(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let other = app.spawn_sharing(|_| {}).await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let presented = refresh_token(&login);

    let first = app.refresh(&presented).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let retry = app.refresh(&presented).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    let elsewhere = other.refresh(&presented).await;
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    let new_token = refresh_token(&first.json());
    assert_ne!(new_token, presented);
    assert_eq!(
        refresh_token(&retry.json()),
        new_token,
        "a retry gets what it missed"
    );
    assert_eq!(
        refresh_token(&elsewhere.json()),
        new_token,
        "the same on another instance of the database"
    );
    let sid = claims_of(login["token"].as_str().unwrap())["sid"].clone();
    assert_eq!(
        claims_of(retry.json()["token"].as_str().unwrap())["sid"],
        sid
    );
    let pool = app.db.pool().await;
    let unused: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) AS n FROM refresh_tokens WHERE used_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap(),
        "n",
    );
    assert_eq!(unused, 1, "the session holds one chain, one unused token");
    other.stop().await;
}

async fn the_second_holder_of_the_shared_token_trips_reuse_detection_after_the_grace(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    // The owner and a thief present the same token inside the grace: both get one token.
    let owner = app.refresh(&refresh_token(&login)).await.json();
    let thief = app.refresh(&refresh_token(&login)).await.json();
    assert_eq!(refresh_token(&owner), refresh_token(&thief));
    // The owner moves on; then the grace passes (by the database's clock).
    let moved_on = app.refresh(&refresh_token(&owner)).await;
    assert_eq!(moved_on.status, 200);
    let pool = app.db.pool().await;
    sqlx::query("UPDATE refresh_tokens SET used_at = used_at - 60000 WHERE used_at IS NOT NULL")
        .execute(&pool)
        .await
        .unwrap();
    // The thief's copy is used up and past its grace: theft, the session is revoked.
    app.refresh(&refresh_token(&thief))
        .await
        .assert_error(400, "invalid_grant");
    app.refresh(&refresh_token(&moved_on.json()))
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        app.profile_status(moved_on.json()["token"].as_str().unwrap())
            .await,
        401
    );
}
