//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3) as values, not strings.

use std::borrow::Cow;
use std::fmt;

/// One `WWW-Authenticate` challenge: a scheme and its parameters, rendered with proper
/// quoting (a `"` or `\` in a value is escaped, control characters are dropped), so no value
/// can break out of its parameter or the header.
///
/// # Examples
///
/// ```
/// use passport_actix::Challenge;
///
/// let challenge = Challenge::bearer("api").error("invalid_token").description(r#"the "exp" passed"#);
/// assert_eq!(
///     challenge.to_string(),
///     r#"Bearer realm="api", error="invalid_token", error_description="the \"exp\" passed""#
/// );
/// // A challenge written by hand is taken as it is.
/// assert_eq!(Challenge::from("ApiKey").to_string(), "ApiKey");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge(Repr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    Typed {
        scheme: Cow<'static, str>,
        params: Vec<(Cow<'static, str>, String)>,
    },
    Raw(String),
}

impl Challenge {
    /// A challenge for `scheme` with no parameters yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Challenge;
    ///
    /// assert_eq!(Challenge::new("ApiKey").to_string(), "ApiKey");
    /// assert_eq!(Challenge::new("ApiKey").param("realm", "api").to_string(), r#"ApiKey realm="api""#);
    /// ```
    pub fn new(scheme: impl Into<Cow<'static, str>>) -> Self {
        Self(Repr::Typed {
            scheme: scheme.into(),
            params: Vec::new(),
        })
    }

    /// `Bearer realm="<realm>"` (RFC 6750).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Challenge;
    ///
    /// assert_eq!(Challenge::bearer("api").to_string(), r#"Bearer realm="api""#);
    /// ```
    pub fn bearer(realm: &str) -> Self {
        Self::new("Bearer").param("realm", realm)
    }

    /// Adds `name="value"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Challenge;
    ///
    /// let challenge = Challenge::new("ApiKey").param("realm", "a \"quoted\" realm");
    /// assert_eq!(challenge.to_string(), r#"ApiKey realm="a \"quoted\" realm""#);
    /// ```
    pub fn param(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        match &mut self.0 {
            Repr::Typed { params, .. } => params.push((name.into(), value.into())),
            Repr::Raw(raw) => {
                let rendered = render_param(&name.into(), &value.into());
                raw.push_str(if raw.contains(' ') { ", " } else { " " });
                raw.push_str(&rendered);
            }
        }
        self
    }

    /// Adds the RFC 6750 `error` code (`invalid_request`, `invalid_token`, …).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Challenge;
    ///
    /// assert_eq!(Challenge::bearer("api").error("invalid_token").to_string(), r#"Bearer realm="api", error="invalid_token""#);
    /// ```
    pub fn error(self, code: impl Into<String>) -> Self {
        self.param("error", code)
    }

    /// Adds the RFC 6750 `error_description`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Challenge;
    ///
    /// let challenge = Challenge::new("Bearer").error("invalid_token").description("The token expired");
    /// assert_eq!(challenge.to_string(), r#"Bearer error="invalid_token", error_description="The token expired""#);
    /// ```
    pub fn description(self, text: impl Into<String>) -> Self {
        self.param("error_description", text)
    }
}

fn render_param(name: &str, value: &str) -> String {
    let mut out = String::with_capacity(name.len() + value.len() + 3);
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Raw(raw) => f.write_str(raw),
            Repr::Typed { scheme, params } => {
                f.write_str(scheme)?;
                for (i, (name, value)) in params.iter().enumerate() {
                    f.write_str(if i == 0 { " " } else { ", " })?;
                    f.write_str(&render_param(name, value))?;
                }
                Ok(())
            }
        }
    }
}

impl From<&'static str> for Challenge {
    fn from(raw: &'static str) -> Self {
        Self(Repr::Raw(raw.to_owned()))
    }
}

impl From<String> for Challenge {
    fn from(raw: String) -> Self {
        Self(Repr::Raw(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_break_out_of_their_quotes() {
        let c = Challenge::bearer("a\"b\\c\r\nd").error("x");
        assert_eq!(c.to_string(), r#"Bearer realm="a\"b\\cd", error="x""#);
    }

    #[test]
    fn parameters_can_be_added_to_a_raw_challenge() {
        assert_eq!(
            Challenge::from("ApiKey")
                .param("realm", "api")
                .error("invalid_key")
                .to_string(),
            r#"ApiKey realm="api", error="invalid_key""#
        );
    }
}
