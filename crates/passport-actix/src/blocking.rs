//! A bounded pool of low-priority threads for password hashing, off the async executor.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use thread_priority::{ThreadPriority, ThreadPriorityValue};

use crate::error::StrategyError;

/// The default niceness of hashing threads: `2`, a little below the workers (which keep the
/// process's priority).
///
/// Linux shares a contended core by weight (CFS and EEVDF alike): a nice-0 thread weighs 1024,
/// nice 1 820, nice 2 655, nice 4 423, nice 10 110. A hashing thread never waits while logins
/// are queued, whereas a worker also waits on the database and the network, so at equal weight
/// (nice 0) hashing took more than its half: in the load benchmark (one core, one worker and
/// one hashing thread) a login flood met by a flood of guarded requests left the guarded
/// requests 0.40 of their idle throughput (logins 0.60–0.62 of the hashing limit). At nice 2,
/// measured side by side in the same sitting, the guarded requests kept 0.51–0.68 and the
/// logins 0.56–0.60: each about half. A higher niceness favours guarded traffic further (nice
/// 10 starved logins to 0.23 of the hashing limit, p50 3.6 s) and lengthens every admitted
/// login's wait in proportion; 0 gives hashing the workers' own weight. A weight is the one share the kernel enforces for us without privileges (cgroup
/// `cpu.weight` needs them, `SCHED_IDLE` starves like nice 19), and only a lowered priority
/// can be asked for: the niceness is between 0 and 19.
///
/// The niceness is absolute, the value the threads are set to, not an increment: it assumes
/// the usual process at nice 0. In a process already niced at or above it, the threads keep the
/// process's own niceness (a thread may not raise its priority without privileges; the refusal
/// is logged at `debug`), so hashing is then not lowered below the workers.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use passport_actix::{BlockingPool, DEFAULT_HASHING_NICE};
///
/// let pool = BlockingPool::new(NonZeroUsize::MIN);
/// assert_eq!(pool.nice(), DEFAULT_HASHING_NICE);
/// ```
pub const DEFAULT_HASHING_NICE: u8 = 2;

/// The highest niceness a hashing thread may be given (Linux's lowest priority).
pub const MAX_HASHING_NICE: u8 = 19;

/// thread-priority's 0–99 scale for a niceness: the middle of the values its Linux and BSD
/// mapping (`nice = trunc(39 × (1 − p/99)) − 20`, in `f32`) turns into `nice`, so that
/// rounding at either edge of a level cannot land on its neighbour.
fn crossplatform_priority(nice: u8) -> u8 {
    let nice = i32::from(nice.min(MAX_HASHING_NICE));
    let maps_to = |p: u8| (39.0 * (1.0 - f32::from(p) / 99.0)) as i32 - 20;
    let level: Vec<u8> = (0..=99).filter(|&p| maps_to(p) == nice).collect();
    level.get(level.len() / 2).copied().unwrap_or(0)
}

/// Lowers the calling thread to `nice` (nothing for 0: the thread keeps its inherited priority).
fn lower_current_thread(nice: u8) {
    if nice == 0 {
        return;
    }
    let lowered = ThreadPriorityValue::try_from(crossplatform_priority(nice))
        .map_err(|e| e.to_owned())
        .and_then(|p| {
            thread_priority::set_current_thread_priority(ThreadPriority::Crossplatform(p))
                .map_err(|e| e.to_string())
        });
    if let Err(error) = lowered {
        tracing::debug!(%error, "could not lower the hashing thread's priority");
    }
}

/// The default bound on hashing tasks admitted per thread (running or waiting); see
/// [`BlockingPool::admission_limit`]. Deep enough that ordinary bursts (fifty signups at once)
/// are never refused, bounded so that a storm is (at bcrypt cost 12, 64 waiting hashes are
/// ≈ 19 s of one core's work); a server under a login storm wants less (the load benchmark
/// runs with 4).
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use passport_actix::{BlockingPool, DEFAULT_ADMITTED_PER_THREAD};
///
/// let pool = BlockingPool::new(NonZeroUsize::new(2).unwrap());
/// assert_eq!(pool.admission_limit(), 2 * DEFAULT_ADMITTED_PER_THREAD);
/// ```
pub const DEFAULT_ADMITTED_PER_THREAD: usize = 64;

/// Runs CPU-heavy closures (password hashing) on a fixed set of threads, one per core by
/// default, a little below the workers' priority ([`DEFAULT_HASHING_NICE`]) or at a chosen
/// niceness ([`with_nice`](Self::with_nice)).
///
/// Hashing on the async executor would stall every other request on that worker. Here it gets
/// at most as many threads as cores, so a login flood takes at most about half of a core that
/// guarded traffic also wants (see [`DEFAULT_HASHING_NICE`] for the trade and how to favour
/// guarded traffic instead).
///
/// For metrics, without a metrics dependency here: [`queued`](Self::queued) is the queue's
/// depth, cheap to read at scrape time, and [`with_wait_observer`](Self::with_wait_observer)
/// reports how long each closure waited for a thread.
///
/// Work can be queued without bound ([`run`](Self::run)), or through admission control
/// ([`try_admit`](Self::try_admit)): at most [`admission_limit`](Self::admission_limit) tasks
/// are admitted at once, and a caller turned away answers at once (a `503` with
/// `Retry-After`) instead of waiting behind a queue that only grows during a login storm.
/// That keeps the wait of an admitted login bounded (the limit × one hash ÷ threads) and
/// lets a turned-away client come back later rather than hold a connection.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use passport_actix::BlockingPool;
///
/// # actix_web::rt::System::new().block_on(async {
/// let pool = BlockingPool::new(NonZeroUsize::new(2).unwrap());
/// assert_eq!(pool.threads(), 2);
/// let sum = pool.run(|| (1..=100_u64).sum::<u64>()).await.unwrap();
/// assert_eq!(sum, 5050);
/// # });
/// ```
#[derive(Clone)]
pub struct BlockingPool {
    pool: Arc<rayon::ThreadPool>,
    /// The threads' niceness.
    nice: u8,
    /// Closures handed to the pool that have not started yet (shared by every handle).
    queued: Arc<AtomicUsize>,
    /// Told each wait of the closures run through this handle.
    wait_observer: Option<Arc<WaitObserver>>,
    /// Tasks admitted through [`try_admit`](Self::try_admit) and not finished.
    admitted: Arc<AtomicUsize>,
    /// The most tasks admitted at once.
    limit: usize,
    /// Places only [`Priority::Reserved`] admissions may take.
    reserved: usize,
    /// The most places one client key may hold (`usize::MAX`: no cap).
    per_key: usize,
    /// Places held per client key (shared like `admitted`).
    keys: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

/// Which share of a [`BlockingPool`]'s admission limit a task may use; see
/// [`BlockingPool::try_admit_for`].
///
/// # Examples
///
/// ```
/// use passport_actix::Priority;
///
/// assert_ne!(Priority::Normal, Priority::Reserved);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Logins and signups: every place but the reserved share.
    Normal,
    /// Re-authentication of a signed-in user (password change, account deletion, step-up):
    /// the reserved share too, so a flood of logins cannot lock account owners out.
    Reserved,
}

type WaitObserver = dyn Fn(Duration) + Send + Sync;

impl std::fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingPool")
            .field("threads", &self.threads())
            .field("queued", &self.queued())
            .field("wait_observer", &self.wait_observer.is_some())
            .field("admitted", &self.admitted())
            .field("limit", &self.limit)
            .finish()
    }
}

/// A place in a [`BlockingPool`]'s admission limit, held from [`BlockingPool::try_admit`]
/// until the admitted work is done (or this is dropped unused).
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use passport_actix::BlockingPool;
///
/// # actix_web::rt::System::new().block_on(async {
/// let pool = BlockingPool::new(NonZeroUsize::MIN).with_admission_limit(NonZeroUsize::MIN);
/// let place = pool.try_admit().expect("the one place is free");
/// assert!(pool.try_admit().is_none(), "and now taken");
/// assert_eq!(place.run(|| 6 * 7).await.unwrap(), 42);
/// assert_eq!(pool.admitted(), 0, "given back when the work is done");
/// # });
/// ```
#[derive(Debug)]
#[must_use = "dropping an admission gives the place back"]
pub struct Admission {
    pool: BlockingPool,
    key: Option<String>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(key) = self.key.take()
            && let Ok(mut keys) = self.pool.keys.lock()
            && let Some(held) = keys.get_mut(&key)
        {
            *held -= 1;
            if *held == 0 {
                keys.remove(&key);
            }
        }
        self.pool.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admission {
    /// Runs `work` on the pool (see [`BlockingPool::run`]); the place is given back when the
    /// work is done on its thread, not when this future ends: a caller that goes away (a
    /// client that hangs up) does not free a place while its work still waits or runs, so the
    /// limit bounds the queue, not only the connected clients.
    pub async fn run<T, F>(self, work: F) -> Result<T, StrategyError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        pool.run(move || {
            let _place = self;
            work()
        })
        .await
    }
}

impl BlockingPool {
    /// A pool of `threads` threads at [`DEFAULT_HASHING_NICE`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use passport_actix::BlockingPool;
    ///
    /// let pool = BlockingPool::new(NonZeroUsize::MIN);
    /// assert_eq!(pool.threads(), 1);
    /// ```
    pub fn new(threads: NonZeroUsize) -> Self {
        Self::with_nice(threads, DEFAULT_HASHING_NICE)
    }

    /// A pool of `threads` threads at niceness `nice` (0, the workers' priority, to
    /// [`MAX_HASHING_NICE`]; more is taken as the maximum). See [`DEFAULT_HASHING_NICE`] for
    /// what a niceness does to a login flood and to guarded traffic.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use passport_actix::BlockingPool;
    ///
    /// // Guarded requests keep about 71 % of a core a login flood also wants.
    /// let pool = BlockingPool::with_nice(NonZeroUsize::MIN, 4);
    /// assert_eq!(pool.nice(), 4);
    /// ```
    pub fn with_nice(threads: NonZeroUsize, nice: u8) -> Self {
        let nice = nice.min(MAX_HASHING_NICE);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.get())
            .thread_name(|i| format!("passport-hash-{i}"))
            // A panicking task drops its result sender, which `run` reports as an error;
            // without a handler rayon would abort the process.
            .panic_handler(|_| tracing::error!("a hashing task panicked"))
            .start_handler(move |_| lower_current_thread(nice))
            .build()
            .unwrap_or_else(|_| {
                // Building only fails if the OS refuses threads; fall back to rayon's defaults.
                rayon::ThreadPoolBuilder::new()
                    .build()
                    .expect("rayon thread pool")
            });
        Self {
            pool: Arc::new(pool),
            nice,
            queued: Arc::new(AtomicUsize::new(0)),
            wait_observer: None,
            admitted: Arc::new(AtomicUsize::new(0)),
            limit: threads.get().saturating_mul(DEFAULT_ADMITTED_PER_THREAD),
            reserved: 0,
            per_key: usize::MAX,
            keys: Arc::default(),
        }
    }

    /// The same threads with an admission count of its own, letting in at most `limit` tasks
    /// at once through [`try_admit`](Self::try_admit) (running and waiting; default
    /// [`DEFAULT_ADMITTED_PER_THREAD`] × threads). Pools made from the result with `clone`
    /// share its count; two servers in one process each call this and keep their own.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use passport_actix::BlockingPool;
    ///
    /// let pool = BlockingPool::shared().with_admission_limit(NonZeroUsize::new(3).unwrap());
    /// assert_eq!(pool.admission_limit(), 3);
    /// let places: Vec<_> = (0..3).filter_map(|_| pool.try_admit()).collect();
    /// assert_eq!(places.len(), 3);
    /// assert!(pool.try_admit().is_none());
    /// ```
    pub fn with_admission_limit(mut self, limit: NonZeroUsize) -> Self {
        self.admitted = Arc::new(AtomicUsize::new(0));
        self.keys = Arc::default();
        self.limit = limit.get();
        self
    }

    /// Shares of the admission limit: the last `reserved` places are kept for
    /// [`Priority::Reserved`] work (re-authentication), so a flood cannot keep account owners
    /// from changing their password; and once fewer than `per_key` places are left for normal
    /// work, a client key (an address or network, as the caller names it in
    /// [`try_admit_for`](Self::try_admit_for)) already holding `per_key` places is refused,
    /// so the last places go to the other clients and one network flooding the login cannot
    /// take every place. While the pool is not under pressure a single client may use more
    /// (a burst of fifty signups from one address is still served). Call after
    /// [`with_admission_limit`](Self::with_admission_limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use passport_actix::{BlockingPool, Priority};
    ///
    /// let pool = BlockingPool::shared()
    ///     .with_admission_limit(NonZeroUsize::new(4).unwrap())
    ///     .with_admission_shares(NonZeroUsize::new(2).unwrap(), 1);
    /// let a1 = pool.try_admit_for(Some("198.51.100.1"), Priority::Normal).expect("a first place");
    /// let a2 = pool.try_admit_for(Some("198.51.100.1"), Priority::Normal).expect("a second one");
    /// assert!(pool.try_admit_for(Some("198.51.100.1"), Priority::Normal).is_none(), "its share is full");
    /// let b = pool.try_admit_for(Some("203.0.113.9"), Priority::Normal).expect("another client");
    /// assert!(pool.try_admit_for(Some("192.0.2.7"), Priority::Normal).is_none(), "only the reserve is left");
    /// let owner = pool.try_admit_for(None, Priority::Reserved).expect("kept for re-authentication");
    /// # drop((a1, a2, b, owner));
    /// ```
    pub fn with_admission_shares(mut self, per_key: NonZeroUsize, reserved: usize) -> Self {
        self.per_key = per_key.get();
        self.reserved = reserved.min(self.limit.saturating_sub(1));
        self
    }

    /// A place for one task of `priority`, counted against `key`'s share when given (see
    /// [`with_admission_shares`](Self::with_admission_shares)); `None` when the share or the
    /// limit is full.
    pub fn try_admit_for(&self, key: Option<&str>, priority: Priority) -> Option<Admission> {
        let limit = match priority {
            Priority::Normal => self.limit.saturating_sub(self.reserved),
            Priority::Reserved => self.limit,
        };
        let mut keys = match key {
            Some(_) if self.per_key != usize::MAX => Some(self.keys.lock().ok()?),
            _ => None,
        };
        // Work-conserving: a client past its share is refused only once the places left
        // for normal work are fewer than a share, which keeps them for the other clients.
        if let (Some(keys), Some(key)) = (&keys, key)
            && keys.get(key).copied().unwrap_or(0) >= self.per_key
            && self.admitted() >= limit.saturating_sub(self.per_key)
        {
            return None;
        }
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()?;
        let key = match (&mut keys, key) {
            (Some(keys), Some(key)) => {
                *keys.entry(key.to_owned()).or_default() += 1;
                Some(key.to_owned())
            }
            _ => None,
        };
        Some(Admission {
            pool: self.clone(),
            key,
        })
    }

    /// How many tasks may be admitted at once.
    pub fn admission_limit(&self) -> usize {
        self.limit
    }

    /// How many tasks are admitted now.
    pub fn admitted(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// A place for one task, or `None` when [`admission_limit`](Self::admission_limit) tasks
    /// are already admitted (the caller should refuse the request quickly, for example
    /// with [`Failure::busy`](crate::Failure::busy)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use passport_actix::BlockingPool;
    ///
    /// let pool = BlockingPool::shared().with_admission_limit(NonZeroUsize::MIN);
    /// let first = pool.try_admit();
    /// assert!(first.is_some());
    /// assert!(pool.try_admit().is_none());
    /// drop(first);
    /// assert!(pool.try_admit().is_some(), "dropping a place gives it back");
    /// ```
    pub fn try_admit(&self) -> Option<Admission> {
        self.try_admit_for(None, Priority::Normal)
    }

    /// The process-wide pool, one thread per CPU core (as the scheduler allows this process).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::BlockingPool;
    ///
    /// let pool = BlockingPool::shared();
    /// assert!(pool.threads() >= 1);
    /// ```
    pub fn shared() -> Self {
        Self::shared_with_nice(DEFAULT_HASHING_NICE)
    }

    /// The process-wide pool of niceness `nice` (one per niceness asked for, built on first
    /// use), one thread per CPU core; see [`with_nice`](Self::with_nice).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::BlockingPool;
    ///
    /// let pool = BlockingPool::shared_with_nice(4);
    /// assert_eq!(pool.nice(), 4);
    /// assert_eq!(BlockingPool::shared_with_nice(4).threads(), pool.threads());
    /// ```
    pub fn shared_with_nice(nice: u8) -> Self {
        const LEVELS: usize = MAX_HASHING_NICE as usize + 1;
        static SHARED: [OnceLock<BlockingPool>; LEVELS] = [const { OnceLock::new() }; LEVELS];
        let nice = nice.min(MAX_HASHING_NICE);
        SHARED[usize::from(nice)]
            .get_or_init(|| {
                let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
                Self::with_nice(cores, nice)
            })
            .clone()
    }

    /// The threads' niceness (0: the workers' priority).
    pub fn nice(&self) -> u8 {
        self.nice
    }

    /// How many closures may run at once.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// How many closures are waiting for a thread right now, through every handle of this
    /// pool: the depth of the hashing queue (one atomic load).
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// This handle, telling `observer` how long each closure run through it waited for a
    /// thread (from [`run`](Self::run) to the closure's start), on the pool's thread just
    /// before the closure runs. Handles share the threads and the queue; each has its own
    /// observer (or none), so `BlockingPool::shared().with_wait_observer(…)` reports the
    /// waits of its own work only. Keep the observer cheap (a histogram's `observe`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use passport_actix::BlockingPool;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let observed = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&observed);
    /// let pool = BlockingPool::shared()
    ///     .with_wait_observer(move |_wait| { counter.fetch_add(1, Ordering::Relaxed); });
    /// pool.run(|| ()).await.unwrap();
    /// assert_eq!(observed.load(Ordering::Relaxed), 1);
    /// assert_eq!(pool.queued(), 0);
    /// # });
    /// ```
    pub fn with_wait_observer(
        mut self,
        observer: impl Fn(Duration) + Send + Sync + 'static,
    ) -> Self {
        self.wait_observer = Some(Arc::new(observer));
        self
    }

    /// Runs `work` on a pool thread (queueing while all are busy) and waits for its result
    /// without blocking the async executor.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::BlockingPool;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let hashed = BlockingPool::shared().run(|| format!("{:x}", 0xC0FFEE_u32)).await.unwrap();
    /// assert_eq!(hashed, "c0ffee");
    /// # });
    /// ```
    pub async fn run<T, F>(&self, work: F) -> Result<T, StrategyError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let queued = Arc::clone(&self.queued);
        let observer = self.wait_observer.clone();
        queued.fetch_add(1, Ordering::Relaxed);
        let enqueued = Instant::now();
        self.pool.spawn(move || {
            queued.fetch_sub(1, Ordering::Relaxed);
            if let Some(observer) = observer {
                observer(enqueued.elapsed());
            }
            // Nobody waits for the result any more (the request was dropped): skip the work.
            if done.is_closed() {
                return;
            }
            let _ = done.send(work());
        });
        result
            .await
            .map_err(|e| StrategyError::internal("a hashing task failed", e))
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

    /// Field 19 of /proc/thread-self/stat: the calling thread's nice value.
    #[cfg(target_os = "linux")]
    fn current_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[actix_rt::test]
    async fn runs_work_off_the_calling_thread_a_little_below_the_workers_priority_by_default() {
        let pool = BlockingPool::new(NonZeroUsize::MIN);
        let caller = std::thread::current().id();
        let (worker, name) = pool
            .run(|| {
                (
                    std::thread::current().id(),
                    std::thread::current().name().map(str::to_owned),
                )
            })
            .await
            .unwrap();
        assert_ne!(caller, worker);
        assert_eq!(name.as_deref(), Some("passport-hash-0"));
        assert_eq!(pool.threads(), 1);
        assert_eq!(pool.nice(), DEFAULT_HASHING_NICE);
        #[cfg(target_os = "linux")]
        {
            let hashing = pool.run(current_nice).await.unwrap();
            let caller = current_nice();
            if caller == 0 {
                assert_eq!(
                    hashing,
                    i32::from(DEFAULT_HASHING_NICE),
                    "lowered by default"
                );
            } else {
                assert!(
                    hashing >= caller,
                    "hashing nice {hashing} vs caller {caller}"
                );
            }
        }
    }

    #[test]
    fn every_niceness_maps_into_its_own_level_of_thread_prioritys_scale() {
        // thread-priority 3's Linux mapping of its 0..=99 scale to a niceness.
        for nice in 0..=MAX_HASHING_NICE {
            let p = f32::from(crossplatform_priority(nice));
            let mapped = (39.0 * (1.0 - p / 99.0)) as i32 - 20;
            assert_eq!(mapped, i32::from(nice), "nice {nice} (priority {p})");
        }
        assert_eq!(crossplatform_priority(200), crossplatform_priority(19));
    }

    #[cfg(target_os = "linux")]
    #[actix_rt::test]
    async fn with_nice_lowers_the_threads_by_that_much() {
        let caller = current_nice();
        for nice in [4_u8, 10] {
            let pool = BlockingPool::with_nice(NonZeroUsize::MIN, nice);
            let hashing = pool.run(current_nice).await.unwrap();
            // Setting a niceness below the process's own would need privileges: from a
            // process at nice 0 (the usual case) the thread is at exactly `nice`.
            if caller == 0 {
                assert_eq!(hashing, i32::from(nice));
            } else {
                assert!(
                    hashing >= caller,
                    "hashing nice {hashing} vs caller {caller}"
                );
            }
        }
    }

    /// Occupies the one thread of `pool` until the returned sender is used; returns the
    /// occupying task and that sender once the thread is busy.
    async fn hold_the_only_thread(
        pool: &BlockingPool,
    ) -> (
        actix_rt::task::JoinHandle<Result<Result<(), std::sync::mpsc::RecvError>, StrategyError>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (started, is_started) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let pool = pool.clone();
        let holder = actix_rt::spawn(async move {
            pool.run(move || {
                let _ = started.send(());
                released.recv()
            })
            .await
        });
        is_started.await.unwrap();
        (holder, release)
    }

    /// A bounded wait for a spawned task to reach the queue (it queues on its first poll).
    async fn wait_until_queued(pool: &BlockingPool) {
        for _ in 0..100_000 {
            if pool.queued() > 0 {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    #[actix_rt::test]
    async fn the_queue_depth_and_each_wait_are_reported() {
        let waits = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&waits);
        let pool = BlockingPool::new(NonZeroUsize::MIN)
            .with_wait_observer(move |wait| seen.lock().unwrap().push(wait));
        let unobserved = pool.clone().with_wait_observer(|_| {});
        assert_eq!(pool.queued(), 0);

        // The one thread is held until released, so the next closure queues.
        let (first, release) = hold_the_only_thread(&pool).await;
        let second = {
            let pool = unobserved.clone();
            actix_rt::spawn(async move { pool.run(|| 2 + 2).await })
        };
        wait_until_queued(&pool).await;
        assert_eq!(pool.queued(), 1, "seen through every handle");
        assert_eq!(unobserved.queued(), 1);
        release.send(()).unwrap();
        assert!(first.await.unwrap().unwrap().is_ok());
        assert_eq!(second.await.unwrap().unwrap(), 4);
        assert_eq!(pool.queued(), 0);
        assert_eq!(
            waits.lock().unwrap().len(),
            1,
            "only the observed handle's work is reported"
        );
    }

    #[actix_rt::test]
    async fn a_caller_that_goes_away_keeps_its_place_until_the_work_is_done_or_skipped() {
        let pool = BlockingPool::new(NonZeroUsize::MIN).with_admission_limit(NonZeroUsize::MIN);
        // Hold the one thread so the admitted work queues behind it.
        let (blocker, release) = hold_the_only_thread(&pool).await;
        let ran = Arc::new(AtomicUsize::new(0));
        let place = pool.try_admit().expect("the one place");
        let abandoned = {
            let ran = Arc::clone(&ran);
            actix_rt::spawn(place.run(move || ran.fetch_add(1, Ordering::SeqCst)))
        };
        // The admitted work queues, then its caller goes away.
        wait_until_queued(&pool).await;
        assert_eq!(pool.queued(), 1);
        abandoned.abort();
        let _ = abandoned.await;
        assert_eq!(pool.admitted(), 1, "the queued work still holds its place");
        assert!(pool.try_admit().is_none());
        release.send(()).unwrap();
        assert!(blocker.await.unwrap().unwrap().is_ok());
        // The pool's one thread runs tasks in order: once this one is done, the abandoned
        // work has been dequeued, skipped (nobody waits for it) and its place given back.
        assert_eq!(pool.run(|| ()).await.unwrap(), ());
        assert_eq!(pool.admitted(), 0);
        assert_eq!(ran.load(Ordering::SeqCst), 0, "abandoned work is not run");
    }

    #[actix_rt::test]
    async fn admission_refuses_beyond_the_limit_and_frees_places_when_work_ends() {
        let pool = BlockingPool::new(NonZeroUsize::MIN)
            .with_admission_limit(NonZeroUsize::MIN.saturating_add(1));
        assert_eq!(pool.admission_limit(), 2);
        let first = pool.try_admit().expect("a first place");
        let second = pool.try_admit().expect("a second place");
        assert!(pool.try_admit().is_none(), "the limit is full");
        assert_eq!(pool.admitted(), 2);
        // A clone shares the count; a pool with a limit of its own does not.
        assert!(pool.clone().try_admit().is_none());
        let other = pool.clone().with_admission_limit(NonZeroUsize::MIN);
        let held = other.try_admit().expect("its own count");
        assert!(other.try_admit().is_none());
        drop(held);
        drop(first);
        let third = pool.try_admit().expect("a place given back by drop");
        assert_eq!(second.run(|| 6 * 7).await.unwrap(), 42);
        assert_eq!(pool.admitted(), 1, "finished work gives its place back");
        let failed: Result<(), _> = third.run(|| panic!("boom")).await;
        assert!(failed.is_err());
        assert_eq!(pool.admitted(), 0, "so does failed work");
        // Unbounded `run` is not counted.
        assert_eq!(pool.run(|| 1).await.unwrap(), 1);
        assert_eq!(pool.admitted(), 0);
    }

    #[actix_rt::test]
    async fn a_panicking_task_is_an_error_not_a_crash() {
        let pool = BlockingPool::new(NonZeroUsize::MIN);
        let result: Result<(), _> = pool.run(|| panic!("boom")).await;
        assert!(result.is_err());
        assert_eq!(pool.run(|| 2 + 2).await.unwrap(), 4, "the pool still works");
    }
}
