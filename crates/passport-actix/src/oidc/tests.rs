use super::*;
use crate::jwt::{Audience, Claims};

fn id_claims(aud: Audience, azp: Option<&str>, nonce: Option<&str>) -> Claims<IdTokenExtra> {
    Claims {
        sub: "u1".into(),
        iss: "https://op.example".into(),
        aud,
        iat: 0,
        exp: 0,
        nbf: None,
        jti: None,
        custom: IdTokenExtra {
            nonce: nonce.map(str::to_owned),
            azp: azp.map(str::to_owned),
            email: None,
            email_verified: None,
            name: None,
            rest: serde_json::Map::new(),
        },
    }
}

#[test]
fn the_nonce_must_be_this_flows() {
    let one = Audience::One("app".into());
    assert!(check_id_token_claims(&id_claims(one.clone(), None, Some("n1")), "app", "n1").is_ok());
    assert!(check_id_token_claims(&id_claims(one.clone(), None, Some("n2")), "app", "n1").is_err());
    assert!(check_id_token_claims(&id_claims(one, None, None), "app", "n1").is_err());
}

#[test]
fn azp_must_name_this_client_and_is_required_with_several_audiences() {
    let many = Audience::Many(vec!["app".into(), "other".into()]);
    assert!(check_id_token_claims(&id_claims(many.clone(), None, Some("n")), "app", "n").is_err());
    assert!(
        check_id_token_claims(
            &id_claims(many.clone(), Some("other"), Some("n")),
            "app",
            "n"
        )
        .is_err()
    );
    assert!(check_id_token_claims(&id_claims(many, Some("app"), Some("n")), "app", "n").is_ok());
    let one = Audience::One("app".into());
    assert!(check_id_token_claims(&id_claims(one, Some("other"), Some("n")), "app", "n").is_err());
}

const DISCOVERY: &str = r#"{
    "issuer": "https://op.example",
    "authorization_endpoint": "https://op.example/auth",
    "token_endpoint": "https://op.example/token",
    "jwks_uri": "https://op.example/jwks",
    "code_challenge_methods_supported": ["S256"]
}"#;

#[test]
fn discovery_checks_the_issuer_and_the_endpoints() {
    let metadata = discovery::parse(DISCOVERY.as_bytes(), "https://op.example");
    assert_eq!(
        metadata.map(|m| m.token_endpoint).ok().as_deref(),
        Some("https://op.example/token")
    );
    assert!(matches!(
        discovery::parse(DISCOVERY.as_bytes(), "https://evil.example"),
        Err(OidcError::BadDiscovery(_))
    ));
    let plain = DISCOVERY.replace("https://op.example/token", "http://op.example/token");
    assert!(discovery::parse(plain.as_bytes(), "https://op.example").is_err());
    let no_s256 = DISCOVERY.replace(r#"["S256"]"#, r#"["plain"]"#);
    assert!(discovery::parse(no_s256.as_bytes(), "https://op.example").is_err());
    assert!(discovery::parse(b"{}", "https://op.example").is_err());
}

#[test]
fn urls_must_be_https_or_loopback_http() {
    assert!(discovery::check_url("https://op.example").is_ok());
    assert!(discovery::check_url("http://127.0.0.1:8080").is_ok());
    assert!(discovery::check_url("http://localhost:8080").is_ok());
    assert!(discovery::check_url("http://[::1]:8080").is_ok());
    assert!(discovery::check_url("http://op.example").is_err());
    assert!(discovery::check_url("ftp://op.example").is_err());
}

#[test]
fn config_refuses_a_short_cookie_key_and_plain_http() {
    assert!(matches!(
        OidcConfig::new("https://op.example", "app", "https://app/cb", &[0; 31]),
        Err(OidcError::ShortCookieKey)
    ));
    assert!(OidcConfig::new("http://op.example", "app", "https://app/cb", &[0; 32]).is_err());
    let config = OidcConfig::new("https://op.example/", "app", "https://app/cb", &[0; 32]);
    assert_eq!(
        config.as_ref().map(OidcConfig::issuer).ok(),
        Some("https://op.example")
    );
    let printed = format!(
        "{:?}",
        config.map(|c| c.client_secret(SecretString::from("top-secret-value")))
    );
    assert!(!printed.contains("top-secret-value"), "{printed}");
}

#[test]
fn scopes_always_include_openid_once() {
    let config = OidcConfig::new("https://op.example", "app", "https://app/cb", &[0; 32])
        .map(|c| c.scopes(["email", "openid", "", "email"]));
    assert_eq!(
        config.map(|c| c.scopes).ok(),
        Some(vec!["openid".into(), "email".into()])
    );
}

#[test]
fn the_query_keeps_the_first_of_each_parameter() {
    let query = Query::parse("code=a&state=s1&state=s2&x=1");
    assert_eq!(query.code.as_deref(), Some("a"));
    assert_eq!(query.state.as_deref(), Some("s1"));
    assert!(query.is_callback());
    assert!(!Query::parse("next=/home").is_callback());
    assert!(Query::parse("error=access_denied").is_callback());
}
