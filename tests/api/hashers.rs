//! `PASSWORD_HASHER=bcrypt|argon2id`: new hashes use the configured scheme, and a login with a
//! hash of the other scheme verifies it and stores it again under the configured one — both
//! ways, on both backends.

use passport_e2e::{Backend, TestApp, on_both_backends};

on_both_backends!(hashes_migrate_from_bcrypt_to_argon2id_and_back_at_login);

const PASSWORD: &str = "correct horse battery";
const EMAIL: &str = "ada@example.com";

async fn stored_hash(app: &TestApp) -> String {
    let pool = app.db.pool().await;
    sqlx::query_scalar::<_, String>("SELECT password_hash FROM users WHERE email = $1")
        .bind(EMAIL)
        .fetch_one(&pool)
        .await
        .unwrap()
}

fn argon2id(env: &mut std::collections::HashMap<String, String>) {
    env.insert("PASSWORD_HASHER".into(), "argon2id".into());
    env.insert("ARGON2_MEMORY_KIB".into(), "1024".into());
    env.insert("ARGON2_ITERATIONS".into(), "1".into());
}

async fn hashes_migrate_from_bcrypt_to_argon2id_and_back_at_login(backend: Backend) {
    let app = TestApp::spawn(backend).await; // the default: bcrypt
    assert_eq!(app.signup(EMAIL, PASSWORD).await.status(), 201);
    let bcrypt = stored_hash(&app).await;
    assert!(bcrypt.starts_with("$2"), "{bcrypt}");

    let argon = app.spawn_sharing(argon2id).await;
    assert_eq!(
        argon.login(EMAIL, "wrong horse battery").await.status(),
        401
    );
    assert_eq!(
        stored_hash(&app).await,
        bcrypt,
        "a failed login changes nothing"
    );
    assert_eq!(argon.login(EMAIL, PASSWORD).await.status(), 200);
    let upgraded = stored_hash(&app).await;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
        "{upgraded}"
    );
    assert_eq!(
        argon.login(EMAIL, PASSWORD).await.status(),
        200,
        "the new hash works"
    );
    assert_eq!(
        stored_hash(&app).await,
        upgraded,
        "no rehash when nothing changed"
    );
    // New accounts get argon2id at once.
    assert_eq!(
        argon.signup("bob@example.com", PASSWORD).await.status(),
        201
    );
    drop(argon);

    let back = app.spawn_sharing(|_| {}).await;
    assert_eq!(back.login(EMAIL, PASSWORD).await.status(), 200);
    let again = stored_hash(&app).await;
    assert!(again.starts_with("$2b$04$"), "back to bcrypt: {again}");
    assert_eq!(back.login(EMAIL, PASSWORD).await.status(), 200);
    assert_eq!(back.login("bob@example.com", PASSWORD).await.status(), 200);
}
