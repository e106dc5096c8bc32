//! Running strategies in order, with Passport's chain semantics.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse};

use crate::outcome::{Failure, FailureKind, Outcome};
use crate::request::AuthRequest;
use crate::responder::FailureResponder;
use crate::strategy::DynAuthenticate;

/// Strategies resolved by name, in order, with the responder that answers for them.
pub(crate) struct Chain<U> {
    steps: Vec<(String, Arc<dyn DynAuthenticate<U>>)>,
    responder: Arc<dyn FailureResponder>,
    body_limit: usize,
    body_read_timeout: Duration,
}

/// What a whole chain decided: the [`Outcome`] of the strategy that ended it, every failure
/// when none succeeded and at least one failed (never empty), or `NoneApplied` when every
/// strategy passed ("not mine").
pub(crate) enum ChainResult<U> {
    Decided(Outcome<U>),
    Failed(Vec<Failure>),
    NoneApplied,
}

impl<U> ChainResult<U> {
    /// One outcome: the decision, or the most specific failure.
    pub(crate) fn into_outcome(self) -> Outcome<U> {
        match self {
            Self::Decided(outcome) => outcome,
            Self::Failed(mut failures) => {
                let index = crate::responder::most_specific(&failures);
                Outcome::Fail(failures.swap_remove(index))
            }
            Self::NoneApplied => Outcome::Pass,
        }
    }

    /// Whether every failure only says "no credentials were given".
    pub(crate) fn only_missing_credentials(failures: &[Failure]) -> bool {
        failures
            .iter()
            .all(|f| f.kind() == FailureKind::MissingCredentials)
    }
}

impl<U: 'static> Chain<U> {
    pub(crate) fn new(
        steps: Vec<(String, Arc<dyn DynAuthenticate<U>>)>,
        responder: Arc<dyn FailureResponder>,
        body_limit: usize,
        body_read_timeout: Duration,
    ) -> Self {
        Self {
            steps,
            responder,
            body_limit,
            body_read_timeout,
        }
    }

    pub(crate) fn body_limit(&self) -> usize {
        self.body_limit
    }

    pub(crate) fn body_read_timeout(&self) -> Duration {
        self.body_read_timeout
    }

    /// Runs the strategies in order: the first success, error or redirect ends the chain;
    /// failures pile up; a pass means "not mine" and the next strategy runs (Passport's
    /// `pass` never authenticates anyone, so a chain of passes decides nothing).
    pub(crate) async fn run(&self, req: &AuthRequest) -> ChainResult<U> {
        let mut failures = Vec::new();
        for (name, strategy) in &self.steps {
            match strategy.authenticate_boxed(req).await {
                Outcome::Success { user, mut info } => {
                    info.set_strategy(name);
                    tracing::debug!(strategy = %name, "authenticated");
                    return ChainResult::Decided(Outcome::Success { user, info });
                }
                Outcome::Fail(failure) => {
                    tracing::debug!(
                        strategy = %name,
                        code = failure.code(),
                        reason = failure.reason().unwrap_or(""),
                        "authentication failed"
                    );
                    failures.push(failure);
                }
                Outcome::Pass => tracing::debug!(strategy = %name, "strategy passed"),
                Outcome::Error(error) => {
                    tracing::error!(strategy = %name, error = %error.chain(), "authentication error");
                    return ChainResult::Decided(Outcome::Error(error));
                }
                Outcome::Redirect(redirect) => {
                    return ChainResult::Decided(Outcome::Redirect(redirect));
                }
            }
        }
        if failures.is_empty() {
            ChainResult::NoneApplied
        } else {
            ChainResult::Failed(failures)
        }
    }

    /// The response for failures, errors and redirects, and the `401` of a required guard
    /// whose strategies all passed; success has none.
    pub(crate) fn respond_result(&self, req: &HttpRequest, result: ChainResult<U>) -> HttpResponse {
        match result {
            ChainResult::Failed(failures) => self.responder.failures(req, &failures),
            ChainResult::NoneApplied => self.responder.failures(req, &[nobody_authenticated()]),
            ChainResult::Decided(outcome) => self.respond(req, outcome),
        }
    }

    pub(crate) fn respond(&self, req: &HttpRequest, outcome: Outcome<U>) -> HttpResponse {
        match outcome {
            Outcome::Fail(failure) => self.responder.failures(req, std::slice::from_ref(&failure)),
            Outcome::Error(error) => self.responder.error(req, &error),
            Outcome::Redirect(redirect) => redirect.into_response(),
            Outcome::Success { .. } | Outcome::Pass => HttpResponse::NoContent().finish(),
        }
    }
}

/// The failure of a required guard whose every strategy passed: no credentials it knows.
pub(crate) fn nobody_authenticated() -> Failure {
    Failure::missing("unauthorized", "Authentication required")
}
