//! The audit vocabulary: what happened ([`Event`]), how it ended ([`EventOutcome`]) and the
//! [`Entry`] that carries them. A leaf: the audit trail writes entries, the metrics count them.

use uuid::Uuid;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `signup`: an account was created.
    Signup,
    /// `login`: a password login (outcome `success`, `failure` or `throttled`).
    Login,
    /// `token_refresh`: a refresh token was exchanged for a new pair.
    Refresh,
    /// `refresh_token_reuse`: a used refresh token came back; its session was revoked.
    RefreshReuse,
    /// `logout`: sessions were ended (the detail is the scope).
    Logout,
    /// `password_change`: the password was changed (or the re-authentication failed).
    PasswordChange,
    /// `account_deletion`: the account was deleted (or the re-authentication failed).
    AccountDeletion,
    /// `mfa_enroll`: a TOTP secret was issued, pending confirmation (or the password failed).
    MfaEnroll,
    /// `mfa_enable`: TOTP was confirmed (the other sessions ended), or a wrong code.
    MfaEnable,
    /// `mfa_disable`: TOTP was removed, or a wrong code.
    MfaDisable,
    /// `mfa_challenge`: a right first factor of a TOTP user; an `mfa_token` was issued.
    MfaChallenge,
    /// `mfa_login`: the second step of a login (`success`, `failure`, `throttled`).
    MfaLogin,
    /// `step_up_required`: a sensitive route refused a session without `otp` (RFC 9470).
    StepUp,
    /// `password_reset`: a password was set with a reset link (or the link was refused).
    PasswordReset,
    /// `magic_link_login`: a login with a magic link (or the link was refused).
    MagicLinkLogin,
    /// `email_verification`: an address was confirmed (or the link or password refused).
    EmailVerification,
    /// `session_deletion`: one session was ended from the sessions list
    /// (`DELETE /user/sessions/{id}`).
    SessionDeletion,
}

impl Event {
    /// The name stored in `audit_events.event`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Login => "login",
            Self::Refresh => "token_refresh",
            Self::RefreshReuse => "refresh_token_reuse",
            Self::Logout => "logout",
            Self::PasswordChange => "password_change",
            Self::AccountDeletion => "account_deletion",
            Self::MfaEnroll => "mfa_enroll",
            Self::MfaEnable => "mfa_enable",
            Self::MfaDisable => "mfa_disable",
            Self::MfaChallenge => "mfa_challenge",
            Self::MfaLogin => "mfa_login",
            Self::StepUp => "step_up_required",
            Self::PasswordReset => "password_reset",
            Self::MagicLinkLogin => "magic_link_login",
            Self::EmailVerification => "email_verification",
            Self::SessionDeletion => "session_deletion",
        }
    }

    /// Whether this is a second-factor event (counted in `passport_mfa_events_total`).
    pub fn is_mfa(self) -> bool {
        matches!(
            self,
            Self::MfaEnroll
                | Self::MfaEnable
                | Self::MfaDisable
                | Self::MfaChallenge
                | Self::MfaLogin
                | Self::StepUp
        )
    }
}

/// How an audited event ended: the `outcome` column of the audit trail. Not to be confused
/// with `passport_actix::Outcome`, a strategy's decision about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// The operation succeeded.
    Success,
    /// Wrong credentials.
    Failure,
    /// Refused by the account's login throttle.
    Throttled,
    /// A session was revoked as stolen.
    Revoked,
}

impl EventOutcome {
    /// The name stored in `audit_events.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Throttled => "throttled",
            Self::Revoked => "revoked",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Entry {
    /// What happened.
    pub event: Event,
    /// How it ended.
    pub outcome: EventOutcome,
    /// A short, non-secret detail (the logout scope, a failure code).
    pub detail: Option<&'static str>,
    /// The user, when known. For a reuse detection it is read from the session.
    pub user_id: Option<Uuid>,
    /// The session, when known.
    pub session_id: Option<Uuid>,
}

impl Entry {
    /// An entry with no detail, user or session yet.
    pub fn new(event: Event, outcome: EventOutcome) -> Self {
        Self {
            event,
            outcome,
            detail: None,
            user_id: None,
            session_id: None,
        }
    }

    /// With this user.
    pub fn user(mut self, id: Uuid) -> Self {
        self.user_id = Some(id);
        self
    }

    /// With this session (ignored if `id` is not a UUID).
    pub fn session(mut self, id: Option<&str>) -> Self {
        self.session_id = id.and_then(|id| Uuid::parse_str(id).ok());
        self
    }

    /// With this detail.
    pub fn detail(mut self, detail: &'static str) -> Self {
        self.detail = Some(detail);
        self
    }
}
