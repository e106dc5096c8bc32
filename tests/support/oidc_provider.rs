//! panva's `oidc-provider` (npm, OpenID Certified), run by `node tests/oidc/provider.js` on a
//! free loopback port, for the end-to-end OpenID Connect tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

/// The client registered at the provider.
pub const CLIENT_ID: &str = "passport";
/// Its secret.
pub const CLIENT_SECRET: &str = "passport-client-secret";

/// A running provider; killed when dropped.
pub struct OidcProvider {
    child: Child,
    port: u16,
    redirect_uri: String,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

impl OidcProvider {
    /// Starts the provider for a client whose callback is `redirect_uri`, or `None` when Node
    /// or the npm packages are missing outside CI (under `CI=true` that is a failure).
    ///
    /// Its port is reserved in advance (the issuer URL names it), so another test may take it
    /// before Node binds it: then Node exits at once and a fresh port is tried (three at most).
    pub fn start(redirect_uri: &str) -> Option<Self> {
        Self::installed()?;
        let mut tried = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            match Self::launch(port, redirect_uri) {
                Ok(provider) => return Some(provider),
                Err(why) => tried.push(why),
            }
        }
        panic!("the OpenID provider did not start: {}", tried.join("; "))
    }

    /// Starts the provider on `port` (a restart on the same port rotates its signing key).
    pub fn start_on(port: u16, redirect_uri: &str) -> Option<Self> {
        Self::installed()?;
        Some(Self::launch(port, redirect_uri).unwrap_or_else(|why| panic!("{why}")))
    }

    /// `Some(())` when Node and the npm packages are there; outside CI, `None` (the test is
    /// skipped, saying why); under `CI=true`, a panic.
    fn installed() -> Option<()> {
        let installed = dir()
            .join("node_modules/oidc-provider/package.json")
            .exists();
        let node = Command::new("node").arg("--version").output().is_ok();
        if installed && node {
            return Some(());
        }
        let why = format!(
            "the OpenID provider is not installed (node: {node}, tests/oidc/node_modules: \
             {installed}); run `npm ci` in tests/oidc"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
        None
    }

    /// Runs `node provider.js` on `port` until it prints `ready`, or says why it did not.
    fn launch(port: u16, redirect_uri: &str) -> Result<Self, String> {
        let mut child = Command::new("node")
            .arg("provider.js")
            .current_dir(dir())
            .env("PORT", port.to_string())
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URI", redirect_uri)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("ready ") {
                    let _ = tx.send(());
                }
            }
        });
        let waited = rx.recv_timeout(Duration::from_secs(20));
        if waited.is_ok() {
            return Ok(Self {
                child,
                port,
                redirect_uri: redirect_uri.to_owned(),
            });
        }
        let _ = child.kill();
        let status = child
            .wait()
            .map_or_else(|e| e.to_string(), |s| s.to_string());
        Err(match waited {
            // Its output ended before `ready`: it exited (a port taken in the meantime).
            Err(RecvTimeoutError::Disconnected) => {
                format!("node exited before listening on port {port} ({status})")
            }
            _ => format!("the OpenID provider was not ready on port {port} after 20 s"),
        })
    }

    /// The issuer URL.
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops it and starts it again on the same port with a new signing key.
    pub fn restart_with_a_new_key(mut self) -> Self {
        self.stop();
        Self::start_on(self.port, &self.redirect_uri)
            .unwrap_or_else(|| panic!("the provider vanished"))
    }

    /// Stops it (its port then refuses connections).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `action` of the first `<form … action="…">` in `html`.
pub fn form_action(html: &str) -> Option<String> {
    let form = &html[html.find("<form")?..];
    let start = form.find("action=\"")? + "action=\"".len();
    let end = form[start..].find('"')?;
    Some(form[start..start + end].replace("&amp;", "&"))
}

/// The hidden inputs (`name`, `value`) of the first form in `html`.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let Some(start) = html.find("<form") else {
        return Vec::new();
    };
    let form = &html[start
        ..html[start..]
            .find("</form>")
            .map_or(html.len(), |e| start + e)];
    let attr = |tag: &str, name: &str| {
        let key = format!("{name}=\"");
        let s = tag.find(&key)? + key.len();
        let e = tag[s..].find('"')?;
        Some(tag[s..s + e].to_owned())
    };
    form.split("<input")
        .skip(1)
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default())))
        .collect()
}
