//! Running strategies in order, with Passport's chain semantics.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse};

use crate::error::StrategyError;
use crate::outcome::{Failure, FailureKind, Info, Outcome, Redirect};
use crate::request::AuthRequest;
use crate::responder::FailureResponder;
use crate::strategy::Authenticate;

/// Strategies resolved by name, in order, with the responder that answers for them.
pub(crate) struct Chain<U> {
    steps: Vec<(String, Arc<dyn Authenticate<U>>)>,
    responder: Arc<dyn FailureResponder>,
    body_limit: usize,
    body_read_timeout: Duration,
}

/// What a whole chain decided.
pub(crate) enum ChainResult<U> {
    Success {
        user: U,
        info: Info,
    },
    Pass,
    Error(StrategyError),
    Redirect(Redirect),
    /// Every strategy failed; never empty.
    Failed(Vec<Failure>),
}

impl<U> ChainResult<U> {
    pub(crate) fn into_outcome(self) -> Outcome<U> {
        match self {
            Self::Success { user, info } => Outcome::Success { user, info },
            Self::Pass => Outcome::Pass,
            Self::Error(error) => Outcome::Error(error),
            Self::Redirect(redirect) => Outcome::Redirect(redirect),
            Self::Failed(mut failures) => {
                let index = crate::responder::most_specific(&failures);
                Outcome::Fail(failures.swap_remove(index))
            }
        }
    }

    /// Whether every failure only says "no credentials were given".
    pub(crate) fn only_missing_credentials(failures: &[Failure]) -> bool {
        failures
            .iter()
            .all(|f| f.failure_kind() == FailureKind::MissingCredentials)
    }
}

impl<U: 'static> Chain<U> {
    pub(crate) fn new(
        steps: Vec<(String, Arc<dyn Authenticate<U>>)>,
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

    /// Runs the strategies in order: the first success, pass, error or redirect ends the
    /// chain; failures pile up.
    pub(crate) async fn run(&self, req: &AuthRequest) -> ChainResult<U> {
        let mut failures = Vec::new();
        for (name, strategy) in &self.steps {
            match strategy.authenticate(req).await {
                Outcome::Success { user, mut info } => {
                    info.set_strategy(name);
                    tracing::debug!(strategy = %name, "authenticated");
                    return ChainResult::Success { user, info };
                }
                Outcome::Fail(failure) => {
                    tracing::debug!(
                        strategy = %name,
                        code = failure.code(),
                        reason = failure.internal_reason().unwrap_or(""),
                        "authentication failed"
                    );
                    failures.push(failure);
                }
                Outcome::Pass => return ChainResult::Pass,
                Outcome::Error(error) => {
                    tracing::error!(strategy = %name, error = %error.chain(), "authentication error");
                    return ChainResult::Error(error);
                }
                Outcome::Redirect(redirect) => return ChainResult::Redirect(redirect),
            }
        }
        ChainResult::Failed(failures)
    }

    /// The response for failures, errors and redirects; success and pass have none.
    pub(crate) fn respond_result(&self, req: &HttpRequest, result: ChainResult<U>) -> HttpResponse {
        match result {
            ChainResult::Failed(failures) => self.responder.failures(req, &failures),
            ChainResult::Error(error) => self.responder.error(req, &error),
            ChainResult::Redirect(redirect) => redirect.into_response(),
            ChainResult::Success { .. } | ChainResult::Pass => HttpResponse::NoContent().finish(),
        }
    }

    pub(crate) fn respond(&self, req: &HttpRequest, outcome: Outcome<U>) -> HttpResponse {
        let result = match outcome {
            Outcome::Success { user, info } => ChainResult::Success { user, info },
            Outcome::Fail(failure) => ChainResult::Failed(vec![failure]),
            Outcome::Pass => ChainResult::Pass,
            Outcome::Error(error) => ChainResult::Error(error),
            Outcome::Redirect(redirect) => ChainResult::Redirect(redirect),
        };
        self.respond_result(req, result)
    }
}
