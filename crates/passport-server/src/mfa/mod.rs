//! The second factor (contract v3, "Second factor"): settings, the cipher that keeps TOTP
//! secrets encrypted at rest, and the checks the routes share (enrolment state, step-up,
//! code verification, the pending-login `mfa_token`).
//!
//! The protocol pieces (TOTP, recovery codes, `amr`, the RFC 9470 challenge) live in
//! `passport_actix::mfa`; this module only stores and wires them.

mod cipher;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use passport_actix::clock::now_secs;
use passport_actix::local::{Attempt, LoginThrottle};
use passport_actix::mfa::{Amr, RecoveryCode, Totp, TotpSecret};
use passport_actix::session::RefreshToken;
use passport_actix::{Failure, StoreError, failure_response};
use uuid::Uuid;

pub use cipher::{CipherError, SecretCipher};
pub use settings::{MfaKey, MfaSettings};

use crate::store::{Proof, Store, User};

/// How long an `mfa_token` lives: 300 s (the contract's `expires_in`).
pub const MFA_TOKEN_TTL: Duration = Duration::from_secs(300);
/// Recovery codes handed out at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// What the routes need for the second factor.
#[derive(Clone)]
pub struct Mfa {
    store: Arc<Store>,
    cipher: Arc<SecretCipher>,
    issuer: String,
}

impl std::fmt::Debug for Mfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mfa")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// A pending login's token, as handed to the client, and its hash.
#[derive(Debug)]
pub struct Challenge {
    /// The opaque `mfa_token` (256 bits, base64url).
    pub token: String,
}

/// A code presented by a user: a TOTP code or a recovery code.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    /// Six digits from the authenticator app.
    Totp(&'a str),
    /// One of the recovery codes.
    Recovery(&'a str),
}

impl Mfa {
    /// The second factor over `store`, with the key and issuer of `settings`.
    pub fn new(settings: &MfaSettings, store: Arc<Store>) -> Self {
        if matches!(settings.key, MfaKey::Derived(_)) {
            tracing::warn!(
                "MFA_ENCRYPTION_KEY is unset: TOTP secrets are encrypted with a key derived from \
                 the token signing material (JWT_SECRET or the private key). Set \
                 MFA_ENCRYPTION_KEY before rotating that material, or enrolments will no longer \
                 open (README \"Two-factor\")."
            );
        }
        if matches!(settings.key, MfaKey::Ephemeral(_)) {
            tracing::warn!(
                "MFA_ENCRYPTION_KEY is unset: TOTP secrets are encrypted with a RANDOM key for \
                 this process only, so enrolments will not survive a restart or work across \
                 instances. Set MFA_ENCRYPTION_KEY (32 bytes, base64) before going to production \
                 (or set JWT_SECRET, from which a stable key is derived)."
            );
        }
        Self {
            store,
            cipher: Arc::new(SecretCipher::new(settings)),
            issuer: settings.issuer.clone(),
        }
    }

    /// Whether `user_id` has TOTP enabled (confirmed).
    pub async fn enabled(&self, user_id: Uuid) -> Result<bool, StoreError> {
        self.store.has_totp(user_id).await
    }

    /// Step-up (RFC 9470): for a user with TOTP enabled, a session without `otp` gets
    /// `401 insufficient_user_authentication`. `Ok(())` otherwise.
    pub async fn step_up(&self, user: &User) -> Result<(), HttpResponse> {
        match self.enabled(user.id).await {
            Ok(false) => Ok(()),
            Ok(true) => passport_actix::mfa::require_amr(user, Amr::OTP)
                .map_err(|failure| failure_response(&[failure])),
            Err(error) => Err(crate::errors::unexpected(
                error.into_strategy_error("reading the second factor"),
            )),
        }
    }

    /// Starts (or restarts) enrolment: a new secret, stored encrypted and pending. `None`
    /// when TOTP is already enabled.
    pub async fn begin(&self, user: &User) -> Result<Option<Totp>, MfaError> {
        let secret = TotpSecret::generate();
        let sealed = self.cipher.seal(user.id, secret.expose_bytes())?;
        if !self.store.begin_totp(user.id, &sealed).await? {
            return Ok(None);
        }
        Ok(Some(Totp::new(secret, &self.issuer, &user.email)?))
    }

    /// Confirms a pending enrolment with a code of its secret: stores 10 recovery codes'
    /// hashes, revokes every other session, and returns the codes (shown once). `None`: a
    /// wrong code or nothing pending.
    pub async fn confirm(
        &self,
        user: &User,
        code: &str,
    ) -> Result<Option<Vec<RecoveryCode>>, MfaError> {
        let Some(factor) = self.store.totp_factor(user.id).await? else {
            return Ok(None);
        };
        if factor.confirmed {
            return Ok(None);
        }
        let totp = self.totp(user, &factor.secret)?;
        let Some(step) = totp.verify(code, now_secs(), last_step(factor.last_step)) else {
            return Ok(None);
        };
        let codes = RecoveryCode::generate_set(RECOVERY_CODES);
        let hashes: Vec<String> = codes.iter().map(|c| c.hash().as_str().to_owned()).collect();
        let confirmed = self
            .store
            .confirm_totp(
                user.id,
                &factor.secret,
                step_i64(step),
                &hashes,
                user.session_id,
            )
            .await?;
        Ok(confirmed.map(|revoked| {
            tracing::info!(user_id = %user.id, revoked = revoked.len(), "TOTP enabled");
            codes
        }))
    }

    /// Checks `code` against `user`'s enabled factor outside a login (to disable it): a TOTP
    /// code is recorded as used, a recovery code spent. `false`: wrong, reused or malformed.
    pub async fn check_code(&self, user: &User, code: Code<'_>) -> Result<bool, MfaError> {
        match self.proof(user, code).await? {
            Proof::Step(step) => Ok(self.store.accept_totp_step(user.id, step).await?),
            Proof::RecoveryCode(hash) => Ok(self.store.use_recovery_code(user.id, &hash).await?),
            Proof::Nothing => Ok(false),
        }
    }

    /// What `code` proves for `user`, before it is recorded: the time step it matched, the
    /// hash of a recovery code, or nothing.
    pub async fn proof(&self, user: &User, code: Code<'_>) -> Result<Proof, MfaError> {
        match code {
            Code::Recovery(typed) => Ok(match RecoveryCode::hash_presented(typed) {
                Some(hash) => Proof::RecoveryCode(hash.as_str().to_owned()),
                None => Proof::Nothing,
            }),
            Code::Totp(typed) => {
                let Some(factor) = self.store.totp_factor(user.id).await? else {
                    return Ok(Proof::Nothing);
                };
                if !factor.confirmed {
                    return Ok(Proof::Nothing);
                }
                let totp = self.totp(user, &factor.secret)?;
                Ok(
                    match totp.verify(typed, now_secs(), last_step(factor.last_step)) {
                        Some(step) => Proof::Step(step_i64(step)),
                        None => Proof::Nothing,
                    },
                )
            }
        }
    }

    /// Removes `user`'s factor, recovery codes and pending logins.
    pub async fn disable(&self, user: &User) -> Result<bool, StoreError> {
        self.store.disable_totp(user.id).await
    }

    /// Starts the second step of a login: a new `mfa_token` for `user`, whose first factor
    /// was `first`.
    pub async fn challenge(&self, user: &User, first: &Amr) -> Result<Challenge, StoreError> {
        let token = RefreshToken::generate();
        let ttl_ms = i64::try_from(MFA_TOKEN_TTL.as_millis()).unwrap_or(i64::MAX);
        self.store
            .create_mfa_challenge(token.hash().as_str(), user.id, &first.to_stored(), ttl_ms)
            .await?;
        Ok(Challenge {
            token: token.as_str().to_owned(),
        })
    }

    /// Counts one second-step attempt against the account's login throttle (keyed by its
    /// email, like `/login`).
    pub async fn count_attempt(&self, email: &str) -> Result<Attempt, StoreError> {
        LoginThrottle::register_attempt(&*self.store, email).await
    }

    /// Clears the account's login throttle: a login is complete.
    pub async fn clear_attempts(&self, email: &str) -> Result<(), StoreError> {
        LoginThrottle::clear(&*self.store, email).await
    }

    /// The user of a live `mfa_token`.
    pub async fn challenge_user(&self, token: &str) -> Result<Option<User>, StoreError> {
        match passport_actix::session::RefreshTokenHash::of_presented(token) {
            Some(hash) => self.store.mfa_challenge_user(hash.as_str()).await,
            None => Ok(None),
        }
    }

    /// Uses up the `mfa_token` with `proof` (atomically; see [`Store::redeem_mfa_challenge`]).
    pub async fn redeem(
        &self,
        token: &str,
        user: &User,
        proof: &Proof,
    ) -> Result<crate::store::Redeemed, StoreError> {
        match passport_actix::session::RefreshTokenHash::of_presented(token) {
            Some(hash) => {
                self.store
                    .redeem_mfa_challenge(hash.as_str(), user.id, proof)
                    .await
            }
            None => Ok(crate::store::Redeemed::InvalidGrant),
        }
    }

    /// The TOTP of `user`'s stored (encrypted) secret.
    fn totp(&self, user: &User, sealed: &str) -> Result<Totp, MfaError> {
        let secret = TotpSecret::from_bytes(self.cipher.open(user.id, sealed)?)?;
        Ok(Totp::new(secret, &self.issuer, &user.email)?)
    }
}

/// Why a second-factor operation failed on the server's side (never the user's mistake).
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored secret cannot be decrypted (a wrong or missing `MFA_ENCRYPTION_KEY`).
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The TOTP could not be built.
    #[error(transparent)]
    Totp(#[from] passport_actix::mfa::TotpError),
}

impl MfaError {
    /// The `500`/`503` answer, logged with its cause.
    pub fn response(self) -> HttpResponse {
        match self {
            Self::Store(error) => {
                crate::errors::unexpected(error.into_strategy_error("the second factor"))
            }
            other => {
                tracing::error!(error = %other, "second factor failed");
                passport_actix::ErrorBody::new("internal_error", "An internal error occurred")
                    .response(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// `400 invalid_request`-style failure helper for the routes.
pub fn invalid_code(status: StatusCode) -> HttpResponse {
    failure_response(&[Failure::new(
        status,
        "invalid_code",
        "The code is not valid",
    )])
}

fn last_step(stored: i64) -> Option<u64> {
    u64::try_from(stored).ok()
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}
