//! A real SMTP server on loopback for the mail tests: `tests/smtp/server.py` (Debian's
//! `python3-aiosmtpd`), started by the test on a port of its own, writing each message it
//! accepts to a folder the test reads.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope recipients.
    pub envelope_to: String,
    /// The `To` header.
    pub to: String,
    /// The `Subject` header.
    pub subject: String,
    /// The body (7bit text, as sent).
    pub body: String,
    /// The whole message.
    pub raw: String,
}

impl ReceivedMail {
    fn parse(raw: String) -> Self {
        let text = raw.replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let header = |name: &str| {
            head.lines()
                .find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.eq_ignore_ascii_case(name)
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_default()
        };
        Self {
            envelope_to: header("X-Envelope-To"),
            to: header("To"),
            subject: header("Subject"),
            body: body.to_owned(),
            raw,
        }
    }

    /// Every `http(s)://…` link in the body.
    pub fn links(&self) -> Vec<String> {
        self.body
            .split_whitespace()
            .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
            .map(str::to_owned)
            .collect()
    }

    /// The token of the one link, whose path must be `path`.
    pub fn token(&self, base: &str, path: &str) -> String {
        let links = self.links();
        assert_eq!(links.len(), 1, "exactly one link: {}", self.body);
        let prefix = format!("{base}{path}?token=");
        let token = links[0]
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{} does not start with {prefix}", links[0]));
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{token}"
        );
        assert!(token.len() * 6 >= 128, "{token}");
        token.to_owned()
    }
}

/// The Python that has `aiosmtpd` (Debian's, not a version manager's).
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// A real SMTP server: running, or stopped with its port and folder kept.
pub struct SmtpServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl SmtpServer {
    /// A server listening on a free port.
    pub async fn start() -> Self {
        let mut server = Self::reserve();
        server.run().await;
        server
    }

    /// A port and a folder, with no server yet (an SMTP server that is down).
    pub fn reserve() -> Self {
        let dir =
            std::env::temp_dir().join(format!("passport-smtp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            port: crate::oidc_provider::free_port(),
            dir,
            child: None,
        }
    }

    /// `SMTP_URL` for this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Starts the server on its port (tried for a while: the port may still be closing).
    pub async fn run(&mut self) {
        assert!(self.child.is_none(), "already running");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/smtp/server.py");
        let (port, dir) = (self.port, self.dir.clone());
        let child = tokio::task::spawn_blocking(move || {
            let mut child = Command::new(python())
                .arg(script)
                .arg(port.to_string())
                .arg(&dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start the SMTP server (apt-get install python3-aiosmtpd): {e}")
                });
            let mut line = String::new();
            let stdout = child.stdout.take().unwrap();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            assert_eq!(
                line.trim(),
                "ready",
                "the SMTP server did not start (is python3-aiosmtpd installed?)"
            );
            child
        })
        .await
        .unwrap();
        self.child = Some(child);
    }

    /// Stops the server (the port is closed; mails received so far stay readable).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every message received so far, in arrival order.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| ReceivedMail::parse(std::fs::read_to_string(p).unwrap()))
            .collect()
    }

    /// The messages to `address` so far.
    pub fn mails_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.envelope_to == address)
            .collect()
    }

    /// Waits (up to `limit`) until `address` has received `count` messages; returns them.
    pub async fn wait_for(
        &self,
        address: &str,
        count: usize,
        limit: Duration,
    ) -> Vec<ReceivedMail> {
        let start = Instant::now();
        loop {
            let mails = self.mails_to(address);
            if mails.len() >= count {
                return mails;
            }
            assert!(
                start.elapsed() < limit,
                "{address} got {} mails in {limit:?}, expected {count}",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
