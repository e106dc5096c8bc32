//! Email normalization: look-alike spellings of one address (fullwidth, IDN, redundant quotes)
//! are one account, and rows stored under the older rule keep working.

use passport_e2e::{Backend, Captured, TestApp, on_both_backends};

const PASSWORD: &str = "correct horse battery";

on_both_backends!(
    look_alike_spellings_of_a_taken_address_are_409,
    idn_domains_are_stored_in_their_ascii_form,
    rows_stored_under_the_older_rule_are_renormalized_once_and_keep_logging_in,
);

async fn look_alike_spellings_of_a_taken_address_are_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup("abc@example.com", PASSWORD).await.status(), 201);
    for alike in [
        "ＡＢＣ@example.com",
        "abc@ｅｘａｍｐｌｅ.com",
        "ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "\"abc\"@example.com",
    ] {
        let response = Captured::from(app.signup(alike, PASSWORD).await).await;
        response.assert_error(409, "email_taken");
        // And each spelling logs in to the one account.
        assert_eq!(app.login(alike, PASSWORD).await.status(), 200, "{alike}");
    }
    assert_eq!(app.signup("abc@exämple.com", PASSWORD).await.status(), 201);
    let response = Captured::from(app.signup("abc@xn--exmple-cua.com", PASSWORD).await).await;
    response.assert_error(409, "email_taken");
    let quoted = Captured::from(app.signup("\"a b\"@example.com", PASSWORD).await).await;
    quoted.assert_error(422, "invalid_email");
}

async fn idn_domains_are_stored_in_their_ascii_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = Captured::from(app.signup("Ada@EXÄMPLE.com", PASSWORD).await).await;
    assert_eq!(response.status, 201, "{}", response.body);
    assert_eq!(response.json()["user"]["email"], "ada@xn--exmple-cua.com");
}

async fn rows_stored_under_the_older_rule_are_renormalized_once_and_keep_logging_in(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.signup("template@example.com", PASSWORD).await.status(),
        201
    );
    let pool = app.db.pool().await;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'template@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    // Rows as the older rule (trim + lower-case) stored them, and the marker not yet written.
    let legacy = [
        "ａｂｃ@example.com",
        "ada@exämple.com",
        "\"bob\"@example.com",
        // Its new form is taken by another account: left as it is.
        "ｔｅｍｐｌａｔｅ@example.com",
    ];
    for email in legacy {
        sqlx::query(&format!(
            "INSERT INTO users (id, email, password_hash) VALUES ('{}', '{email}', '{hash}')",
            uuid::Uuid::new_v4()
        ))
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("DELETE FROM data_migrations")
        .execute(&pool)
        .await
        .unwrap();

    // The next start renormalizes them.
    let restarted = app.spawn_sharing(|_| {}).await;
    let mut stored: Vec<String> = sqlx::query_scalar("SELECT email FROM users")
        .fetch_all(&pool)
        .await
        .unwrap();
    stored.sort();
    let mut expected = vec![
        "abc@example.com",
        "ada@xn--exmple-cua.com",
        "bob@example.com",
        "template@example.com",
        "ｔｅｍｐｌａｔｅ@example.com",
    ];
    expected.sort();
    assert_eq!(stored, expected);
    let marked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(marked, 1, "the data migration is recorded, so it runs once");

    for spelling in [
        "ABC@example.com",
        "ａｂｃ@example.com",
        "ada@exämple.com",
        "\"bob\"@example.com",
    ] {
        assert_eq!(
            restarted.login(spelling, PASSWORD).await.status(),
            200,
            "{spelling}"
        );
    }
    drop(restarted);
}
