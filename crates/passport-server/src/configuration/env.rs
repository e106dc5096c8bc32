//! The leaf every settings section reads through: [`Env`] (the variables, trimmed, with typed
//! parsers), [`ConfigError`] and [`Environment`] (`APP_ENV`). It imports nothing of the crate.

use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

/// Where the server runs: development is forgiving about secrets, production is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    /// Local development (the default).
    #[default]
    Development,
    /// Production (`APP_ENV=production`).
    Production,
}

impl Environment {
    /// Reads `APP_ENV` (`development`, `dev`, `local`, `test`, or `production`, `prod`).
    pub fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        match env.get("APP_ENV").as_deref() {
            None | Some("development" | "dev" | "local" | "test") => Ok(Self::Development),
            Some("production" | "prod") => Ok(Self::Production),
            Some(other) => Err(ConfigError::Invalid {
                name: "APP_ENV",
                value: other.to_owned(),
                expected: "development or production",
            }),
        }
    }
}

/// A setting that could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A variable holds a value that does not parse or is out of range.
    #[error("invalid {name}={value:?}: {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value (never a secret's).
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A variable whose value is not echoed (a key file, a URL that may hold a password)
    /// cannot be used.
    #[error("invalid {name}: {message}")]
    Key {
        /// The variable.
        name: &'static str,
        /// What is wrong (never the secret).
        message: String,
    },
    /// The `.env` file exists but cannot be read.
    #[error("cannot read .env: {0}")]
    DotEnv(String),
    /// Values that parse but break the rules of `Settings::validate`, one line each.
    #[error("{}", list(.0))]
    Rules(Vec<String>),
}

fn list(problems: &[String]) -> String {
    match problems {
        [one] => one.clone(),
        many => format!("{} problems:\n  - {}", many.len(), many.join("\n  - ")),
    }
}

/// The variables, through a lookup function (the environment, or a map in tests): trimmed,
/// and empty means unset.
#[derive(Clone, Copy)]
pub struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl<'a> Env<'a> {
    /// The variables `lookup` finds.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self(lookup)
    }

    /// The value of `name`, trimmed; `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// `name` parsed, `default` when unset; a value that does not parse is
    /// [`ConfigError::Invalid`] with `expected`.
    pub fn parse<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &'static str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
                name,
                value,
                expected,
            }),
        }
    }

    /// A positive integer (`0` is refused), `default` when unset.
    pub fn positive<T: FromStr + PartialEq + Default>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        let value = self.parse(name, default, "a positive integer")?;
        if value == T::default() {
            return Err(ConfigError::Invalid {
                name,
                value: "0".into(),
                expected: "a positive integer",
            });
        }
        Ok(value)
    }

    /// A positive number of seconds, `default` when unset.
    pub fn seconds(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        let default = u32::try_from(default.as_secs()).unwrap_or(u32::MAX);
        self.positive(name, default)
            .map(|s| Duration::from_secs(u64::from(s)))
    }

    /// A comma-separated list (entries trimmed, empty ones dropped; unset: empty).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}
