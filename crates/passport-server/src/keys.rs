//! The access tokens section: `JWT_SECRET`, the signing keys (`JWT_ALGORITHM`,
//! `JWT_PRIVATE_KEY_FILE` and `JWT_VERIFY_KEY_FILES` read into key material), the lifetimes
//! and claims, and the [`JwtConfig`] built from them.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use passport_actix::jwt::{Algorithm, JwtConfig, SigningKey, VerifyingKey};
use secrecy::{ExposeSecret, SecretString};

use crate::configuration::env::{ConfigError, Env, Environment};

/// The shortest `JWT_SECRET` accepted, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = passport_actix::jwt::MIN_HMAC_SECRET_BYTES;

/// The largest key file read, in bytes (a 4096-bit RSA PKCS#8 PEM is about 3.3 KiB).
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// How long a client may cache `/.well-known/jwks.json`. A new verification key must be
/// published at least this long before it signs anything (README, "Keys and rotation").
pub const JWKS_MAX_AGE_SECONDS: u64 = 300;

/// Access tokens.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// `JWT_SECRET` (HS256 only), or a random one for this process.
    pub secret: JwtSecret,
    /// `JWT_ALGORITHM`, `JWT_PRIVATE_KEY_FILE`, `JWT_VERIFY_KEY_FILES`.
    pub keys: KeySettings,
    /// `JWT_TTL_SECONDS`.
    pub ttl: Duration,
    /// `JWT_ISSUER`.
    pub issuer: String,
    /// `JWT_AUDIENCE`.
    pub audience: String,
    /// `JWT_LEEWAY_SECONDS`.
    pub leeway: Duration,
    /// `JWT_MAX_LIFETIME_SECONDS`: the longest `exp - iat` a token accepted may claim.
    pub max_lifetime: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            secret: JwtSecret::Ephemeral {
                secret: random_secret(),
                given_bytes: None,
            },
            keys: KeySettings::default(),
            ttl: Duration::from_secs(3600),
            issuer: "passport-server".to_owned(),
            audience: "passport-api".to_owned(),
            leeway: Duration::from_secs(30),
            max_lifetime: Duration::from_secs(86_400),
        }
    }
}

/// The JWT signing secret: configured, or generated for this process in development.
#[derive(Clone)]
pub enum JwtSecret {
    /// From `JWT_SECRET`.
    Configured(SecretString),
    /// Random, for this process only (`JWT_SECRET` unset or too short).
    Ephemeral {
        /// The generated secret.
        secret: SecretString,
        /// The length of the `JWT_SECRET` refused as too short (`None`: unset).
        given_bytes: Option<usize>,
    },
}

impl JwtSecret {
    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        match self {
            Self::Configured(secret) | Self::Ephemeral { secret, .. } => {
                secret.expose_secret().as_bytes()
            }
        }
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Configured(_) => f.write_str("JwtSecret::Configured([redacted])"),
            Self::Ephemeral { .. } => f.write_str("JwtSecret::Ephemeral([redacted])"),
        }
    }
}

impl TokenSettings {
    /// Reads the section: a `JWT_SECRET` shorter than [`MIN_JWT_SECRET_BYTES`] is replaced by
    /// a random one (refused in production by [`TokenSettings::problems`]).
    pub fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            secret: match env.get("JWT_SECRET") {
                Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => {
                    JwtSecret::Configured(SecretString::from(secret))
                }
                given => JwtSecret::Ephemeral {
                    secret: random_secret(),
                    given_bytes: given.map(|s| s.len()),
                },
            },
            keys: KeySettings::from_lookup(&|name: &str| env.get(name))?,
            ttl: env.seconds("JWT_TTL_SECONDS", default.ttl)?,
            issuer: env.get("JWT_ISSUER").unwrap_or(default.issuer),
            audience: env.get("JWT_AUDIENCE").unwrap_or(default.audience),
            leeway: Duration::from_secs(env.parse(
                "JWT_LEEWAY_SECONDS",
                default.leeway.as_secs(),
                "a number of seconds",
            )?),
            max_lifetime: env.seconds("JWT_MAX_LIFETIME_SECONDS", default.max_lifetime)?,
        })
    }
}

fn random_secret() -> SecretString {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    SecretString::from(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl TokenSettings {
    /// The production rules of this section: a configured `JWT_SECRET` when tokens are signed
    /// with HMAC, and key files no one else can read.
    pub fn problems(&self, environment: Environment) -> Vec<String> {
        let production = environment == Environment::Production;
        let mut problems = Vec::new();
        if let JwtSecret::Ephemeral { given_bytes, .. } = &self.secret
            && production
            && self.keys.is_hmac()
        {
            let got = given_bytes.map_or("unset".to_owned(), |n| format!("{n} bytes"));
            problems.push(format!(
                "JWT_SECRET must be set to at least {MIN_JWT_SECRET_BYTES} bytes when \
                 APP_ENV=production (got {got}); generate one with: openssl rand -base64 48"
            ));
        }
        if production {
            problems.extend(
                self.keys
                    .warnings
                    .iter()
                    .map(|warning| format!("{warning} (required with APP_ENV=production)")),
            );
        }
        problems
    }

    /// The lifetime rule: the server's own tokens must be accepted.
    pub fn lifetime_problem(&self) -> Option<String> {
        (self.max_lifetime < self.ttl).then(|| {
            format!(
                "JWT_MAX_LIFETIME_SECONDS={} must be at least JWT_TTL_SECONDS={} (the server's \
                 own tokens must be accepted)",
                self.max_lifetime.as_secs(),
                self.ttl.as_secs()
            )
        })
    }

    /// Whether tokens are signed with an HMAC secret generated for this process.
    pub fn uses_ephemeral_secret(&self) -> bool {
        self.keys.is_hmac() && matches!(self.secret, JwtSecret::Ephemeral { .. })
    }
}

/// The signing keys read from the settings.
#[derive(Debug, Clone, Default)]
pub struct KeySettings {
    /// `JWT_ALGORITHM`: HS256 (the default, with `JWT_SECRET`), EdDSA, ES256 or RS256.
    pub algorithm: Option<Algorithm>,
    /// `JWT_PRIVATE_KEY_FILE`, read (asymmetric algorithms only).
    pub signing_key: Option<SigningKey>,
    /// `JWT_VERIFY_KEY_FILES`, read: earlier keys still accepted during a rotation.
    pub verify_keys: Vec<VerifyingKey>,
    /// Problems worth a warning at startup, refused with `APP_ENV=production` (key files
    /// readable by group or others).
    pub warnings: Vec<String>,
}

impl KeySettings {
    /// The signing algorithm (HS256 unless `JWT_ALGORITHM` says otherwise).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm.unwrap_or(Algorithm::HS256)
    }

    /// Whether tokens are signed with an HMAC secret (`JWT_SECRET`).
    pub fn is_hmac(&self) -> bool {
        self.signing_key.is_none()
    }

    /// Reads the key settings through `get` (trimmed, non-empty values). A private key file
    /// readable by others is a warning here, refused in production by
    /// [`TokenSettings::problems`].
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let algorithm = match get("JWT_ALGORITHM") {
            None => None,
            Some(value) => Some(parse_algorithm(&value).ok_or(ConfigError::Invalid {
                name: "JWT_ALGORITHM",
                value,
                expected: "HS256, EdDSA, ES256 or RS256",
            })?),
        };
        let mut settings = Self {
            algorithm,
            ..Self::default()
        };
        let private_file = get("JWT_PRIVATE_KEY_FILE");
        let verify_files = get("JWT_VERIFY_KEY_FILES");
        let algorithm = settings.algorithm();
        if algorithm == Algorithm::HS256 {
            for (name, value) in [
                ("JWT_PRIVATE_KEY_FILE", private_file),
                ("JWT_VERIFY_KEY_FILES", verify_files),
            ] {
                if value.is_some() {
                    return Err(key_error(
                        name,
                        "is only used with JWT_ALGORITHM=EdDSA, ES256 or RS256 (it is HS256)",
                    ));
                }
            }
            return Ok(settings);
        }
        let name = "JWT_PRIVATE_KEY_FILE";
        let path = private_file.ok_or_else(|| {
            key_error(
                name,
                "must name a PKCS#8 PEM file when JWT_ALGORITHM is EdDSA, ES256 or RS256 \
                 (create one with: passport-server keygen --alg EdDSA --out jwt-key.pem)",
            )
        })?;
        let pem = read_key_file(name, &path, &mut settings.warnings)?;
        settings.signing_key = Some(
            SigningKey::from_pkcs8_pem_for(algorithm, &pem)
                .map_err(|e| key_error(name, &format!("{path}: {e}")))?,
        );
        let name = "JWT_VERIFY_KEY_FILES";
        for path in verify_files
            .iter()
            .flat_map(|files| files.split(','))
            .map(str::trim)
            .filter(|path| !path.is_empty())
        {
            let pem = read_key_file(name, path, &mut settings.warnings)?;
            let key = VerifyingKey::from_pem(&pem)
                .map_err(|e| key_error(name, &format!("{path}: {e}")))?;
            // The same key listed twice (or the signing key listed again, as happens
            // mid-rotation) is accepted once: its kid is its thumbprint, so same kid, same key.
            let known = settings
                .signing_key
                .iter()
                .map(|k| k.verifying_key())
                .chain(&settings.verify_keys)
                .any(|k| k.kid() == key.kid());
            if known {
                continue;
            }
            settings.verify_keys.push(key);
        }
        Ok(settings)
    }
}

/// The token settings: HS256 with `JWT_SECRET`, or the asymmetric signing key plus the
/// verify-only keys.
pub fn jwt_config(tokens: &TokenSettings) -> anyhow::Result<JwtConfig> {
    let config = match &tokens.keys.signing_key {
        None => JwtConfig::hmac(tokens.secret.expose(), &tokens.issuer, &tokens.audience)?,
        Some(key) => JwtConfig::asymmetric(key.clone(), &tokens.issuer, &tokens.audience)
            .verify_keys(tokens.keys.verify_keys.iter().cloned())?,
    };
    Ok(config.ttl(tokens.ttl).leeway(tokens.leeway))
}

fn parse_algorithm(value: &str) -> Option<Algorithm> {
    [
        ("HS256", Algorithm::HS256),
        ("EdDSA", Algorithm::EdDSA),
        ("ES256", Algorithm::ES256),
        ("RS256", Algorithm::RS256),
    ]
    .into_iter()
    .find(|(name, _)| name.eq_ignore_ascii_case(value))
    .map(|(_, alg)| alg)
}

fn key_error(name: &'static str, message: &str) -> ConfigError {
    ConfigError::Key {
        name,
        message: message.to_owned(),
    }
}

/// Reads a key file, bounded in size. A private key readable by group or others is noted in
/// `warnings`.
fn read_key_file(
    name: &'static str,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<String, ConfigError> {
    let fail = |why: String| key_error(name, &format!("{path}: {why}"));
    let file =
        std::fs::File::open(Path::new(path)).map_err(|e| fail(format!("cannot read: {e}")))?;
    let metadata = file
        .metadata()
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if !metadata.is_file() {
        return Err(fail("not a regular file".to_owned()));
    }
    let mut pem = String::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_string(&mut pem)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if pem.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_KEY_FILE_BYTES} bytes")));
    }
    if pem.contains("PRIVATE KEY-----") && readable_by_others(&metadata) {
        let problem = format!(
            "{name}: {path} holds a private key and is readable by group or others; \
             restrict it with: chmod 600 {path}"
        );
        warnings.push(problem);
    }
    Ok(pem)
}

#[cfg(unix)]
fn readable_by_others(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o044 != 0
}

#[cfg(not(unix))]
fn readable_by_others(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;
    use crate::configuration::Settings;

    /// A private directory removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Self {
            let path = std::env::temp_dir().join(format!("passport-keys-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir(&path).unwrap();
            Self(path)
        }

        fn write(&self, name: &str, text: &str, mode: u32) -> String {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path.to_str().unwrap().to_owned()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        // Production requires MFA_ENCRYPTION_KEY; these tests are about other variables.
        let mfa_key = "MFA_ENCRYPTION_KEY";
        Settings::from_lookup(|name| match (name, map.get(name)) {
            (_, Some(value)) => Some(value.clone()),
            (name, None) if name == mfa_key => Some("42".repeat(32)),
            _ => None,
        })
    }

    fn error(vars: &[(&str, &str)]) -> String {
        settings(vars).unwrap_err().to_string()
    }

    fn pem(alg: Algorithm) -> (SigningKey, String) {
        let key = SigningKey::generate(alg).unwrap();
        let pem = key.to_pkcs8_pem().unwrap().to_string();
        (key, pem)
    }

    #[test]
    fn an_asymmetric_key_signs_and_needs_no_jwt_secret_even_in_production() {
        let dir = Dir::new();
        let (key, text) = pem(Algorithm::EdDSA);
        let (old, old_text) = pem(Algorithm::EdDSA);
        let file = dir.write("key.pem", &text, 0o600);
        let public = dir.write(
            "old.pub.pem",
            &old.verifying_key().to_public_pem().unwrap(),
            0o644,
        );
        let s = settings(&[
            ("APP_ENV", "production"),
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_PRIVATE_KEY_FILE", &file),
            ("JWT_VERIFY_KEY_FILES", &format!(" {public} ,")),
        ])
        .unwrap();
        assert!(!s.uses_ephemeral_secret());
        assert!(
            s.tokens.keys.warnings.is_empty(),
            "{:?}",
            s.tokens.keys.warnings
        );
        let config = jwt_config(&s.tokens).unwrap();
        let kids: Vec<_> = config.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kids, [key.kid(), old.kid()]);
        // A private key is accepted as a verify key too.
        let private_old = dir.write("old.pem", &old_text, 0o600);
        let s = settings(&[
            ("JWT_ALGORITHM", "eddsa"),
            ("JWT_PRIVATE_KEY_FILE", &file),
            ("JWT_VERIFY_KEY_FILES", &private_old),
        ])
        .unwrap();
        assert_eq!(s.tokens.keys.verify_keys[0].kid(), old.kid());
    }

    #[test]
    fn key_problems_name_the_variable() {
        let dir = Dir::new();
        let (key, text) = pem(Algorithm::ES256);
        let file = dir.write("key.pem", &text, 0o600);
        let public = dir.write(
            "pub.pem",
            &key.verifying_key().to_public_pem().unwrap(),
            0o600,
        );
        let junk = dir.write("junk.pem", "hello", 0o600);
        let missing = dir.0.join("missing.pem").to_str().unwrap().to_owned();
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("JWT_ALGORITHM", "PS256")], "JWT_ALGORITHM"),
            (&[("JWT_ALGORITHM", "none")], "JWT_ALGORITHM"),
            (&[("JWT_ALGORITHM", "ES256")], "JWT_PRIVATE_KEY_FILE"),
            (
                &[
                    ("JWT_ALGORITHM", "ES256"),
                    ("JWT_PRIVATE_KEY_FILE", &missing),
                ],
                "JWT_PRIVATE_KEY_FILE",
            ),
            (
                &[("JWT_ALGORITHM", "ES256"), ("JWT_PRIVATE_KEY_FILE", &junk)],
                "JWT_PRIVATE_KEY_FILE",
            ),
            (
                &[
                    ("JWT_ALGORITHM", "ES256"),
                    ("JWT_PRIVATE_KEY_FILE", &public),
                ],
                "JWT_PRIVATE_KEY_FILE",
            ),
            (
                &[("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY_FILE", &file)],
                "JWT_PRIVATE_KEY_FILE",
            ),
            (
                &[("JWT_ALGORITHM", "RS256"), ("JWT_PRIVATE_KEY_FILE", &file)],
                "JWT_PRIVATE_KEY_FILE",
            ),
            (&[("JWT_PRIVATE_KEY_FILE", &file)], "JWT_PRIVATE_KEY_FILE"),
            (&[("JWT_VERIFY_KEY_FILES", &public)], "JWT_VERIFY_KEY_FILES"),
            (
                &[
                    ("JWT_ALGORITHM", "ES256"),
                    ("JWT_PRIVATE_KEY_FILE", &file),
                    ("JWT_VERIFY_KEY_FILES", &missing),
                ],
                "JWT_VERIFY_KEY_FILES",
            ),
            (
                &[
                    ("JWT_ALGORITHM", "ES256"),
                    ("JWT_PRIVATE_KEY_FILE", &file),
                    ("JWT_VERIFY_KEY_FILES", &junk),
                ],
                "JWT_VERIFY_KEY_FILES",
            ),
        ];
        for (vars, name) in cases {
            let message = error(vars);
            assert!(message.contains(name), "{vars:?}: {message}");
            assert!(!message.contains(text.lines().nth(1).unwrap()), "{message}");
        }
    }

    #[test]
    fn a_key_listed_twice_or_the_signing_key_listed_again_is_accepted_once() {
        let dir = Dir::new();
        let (key, text) = pem(Algorithm::ES256);
        let (old, old_text) = pem(Algorithm::ES256);
        let file = dir.write("key.pem", &text, 0o600);
        let public = dir.write(
            "pub.pem",
            &key.verifying_key().to_public_pem().unwrap(),
            0o644,
        );
        let old_file = dir.write("old.pem", &old_text, 0o600);
        let s = settings(&[
            ("JWT_ALGORITHM", "ES256"),
            ("JWT_PRIVATE_KEY_FILE", &file),
            (
                "JWT_VERIFY_KEY_FILES",
                &format!("{public},{old_file},{file},{old_file}"),
            ),
        ])
        .unwrap();
        let kids: Vec<_> = s
            .tokens
            .keys
            .verify_keys
            .iter()
            .map(|k| k.kid().to_owned())
            .collect();
        assert_eq!(kids, [old.kid()]);
        assert_eq!(
            jwt_config(&s.tokens).unwrap().jwks()["keys"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_private_key_readable_by_others_is_a_warning_in_development_and_refused_in_production() {
        let dir = Dir::new();
        let (_, text) = pem(Algorithm::EdDSA);
        for mode in [0o640, 0o604, 0o644] {
            let file = dir.write(&format!("key-{mode:o}.pem"), &text, mode);
            let vars = [
                ("JWT_ALGORITHM", "EdDSA"),
                ("JWT_PRIVATE_KEY_FILE", file.as_str()),
            ];
            let s = settings(&vars).unwrap();
            assert_eq!(s.tokens.keys.warnings.len(), 1, "{mode:o}");
            assert!(s.tokens.keys.warnings[0].contains("chmod 600"));
            let production = [vars[0], vars[1], ("APP_ENV", "production")];
            assert!(
                error(&production).contains("JWT_PRIVATE_KEY_FILE"),
                "{mode:o}"
            );
        }
    }

    #[test]
    fn hs256_stays_the_default_with_an_empty_jwks() {
        let s = settings(&[("JWT_SECRET", &"x".repeat(32))]).unwrap();
        assert_eq!(s.tokens.keys.algorithm(), Algorithm::HS256);
        let config = jwt_config(&s.tokens).unwrap();
        assert_eq!(config.jwks(), serde_json::json!({"keys": []}));
        let explicit =
            settings(&[("JWT_SECRET", &"x".repeat(32)), ("JWT_ALGORITHM", "HS256")]).unwrap();
        assert!(explicit.tokens.keys.is_hmac());
    }
}
