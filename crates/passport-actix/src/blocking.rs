//! A bounded pool for CPU-heavy work (password hashing) kept off the async executor.

use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use crate::error::StrategyError;

/// Runs blocking closures on tokio's blocking threads, at most `permits` at a time.
///
/// Password hashing is deliberately slow; running it on the async executor would stall every
/// other request on that worker, and running unboundedly many at once would only queue them in
/// the OS scheduler. The default pool (shared by every strategy in the process) allows one
/// hash per CPU core.
#[derive(Clone, Debug)]
pub struct BlockingPool {
    permits: Arc<Semaphore>,
}

impl BlockingPool {
    /// A pool that runs at most `concurrency` closures at once.
    pub fn new(concurrency: NonZeroUsize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.get())),
        }
    }

    /// The process-wide pool, sized to the number of CPU cores.
    pub fn shared() -> Self {
        static SHARED: OnceLock<BlockingPool> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
                Self::new(cores)
            })
            .clone()
    }

    /// How many closures may run at once.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Runs `work` on a blocking thread once a permit is free, and waits for its result.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StrategyError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| StrategyError::internal("blocking pool closed", e))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| StrategyError::internal("blocking task failed", e))
    }
}

impl Default for BlockingPool {
    fn default() -> Self {
        Self::shared()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn runs_work_off_the_calling_thread() {
        let pool = BlockingPool::new(NonZeroUsize::MIN);
        let caller = std::thread::current().id();
        let worker = pool.run(|| std::thread::current().id()).await.unwrap();
        assert_ne!(caller, worker);
        assert_eq!(pool.available(), 1, "the permit is given back");
    }
}
