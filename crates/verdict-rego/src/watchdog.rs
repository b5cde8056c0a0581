//! The watchdog behind calling-thread evaluation. An evaluation runs on the caller's thread with
//! regorus's own execution timer, which stops any evaluation that keeps interpreting. The rare engine
//! loop that does not check that timer (one long builtin call) cannot be preempted on the calling thread,
//! so one background thread watches every evaluation in flight: whatever happens, a result that arrives
//! after its budget is a timeout (fail closed), and an evaluation still running past its budget plus a
//! grace period is reported to the overrun handler, which a program sets (`verdict`'s CLI exits with the
//! timeout error; a server keeps its own request deadline and only logs).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How often the watchdog looks at the evaluations in flight.
const TICK: Duration = Duration::from_millis(50);

/// What to do when an evaluation overruns its budget by more than the grace period: called on the
/// watchdog's thread with the budget that was exceeded.
pub type OverrunHandler = fn(Duration);

static HANDLER: OnceLock<OverrunHandler> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Sets the process's overrun handler (once; later calls are ignored).
pub fn set_overrun_handler(handler: OverrunHandler) {
    let _ = HANDLER.set(handler);
}

struct Watched {
    deadline: Instant,
    budget: Duration,
    reported: bool,
}

fn registry() -> MutexGuard<'static, BTreeMap<u64, Watched>> {
    static REGISTRY: OnceLock<Mutex<BTreeMap<u64, Watched>>> = OnceLock::new();
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        // Without the thread, evaluations still stop at regorus's timer and late results still fail;
        // only the report of a stuck one is lost.
        let _ = std::thread::Builder::new().name("rego-watchdog".to_owned()).spawn(watch);
    });
    REGISTRY
        .get_or_init(|| Mutex::new(BTreeMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn watch() {
    loop {
        std::thread::sleep(TICK);
        let now = Instant::now();
        let overruns: Vec<Duration> = registry()
            .values_mut()
            .filter(|w| !w.reported && now > w.deadline + grace(w.budget))
            .map(|w| {
                w.reported = true;
                w.budget
            })
            .collect();
        for budget in overruns {
            tracing::error!(?budget, "a Rego evaluation is still running past its time budget");
            if let Some(handler) = HANDLER.get() {
                handler(budget);
            }
        }
    }
}

/// How long past its budget an evaluation may still be finishing before it counts as stuck.
fn grace(budget: Duration) -> Duration {
    (budget / 4).max(Duration::from_millis(100))
}

/// An evaluation being watched; unregistered when dropped.
pub(crate) struct Watch {
    id: u64,
    started: Instant,
    budget: Duration,
}

impl Watch {
    /// Starts watching an evaluation with `budget`.
    pub(crate) fn start(budget: Duration) -> Watch {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        registry().insert(id, Watched { deadline: started + budget, budget, reported: false });
        Watch { id, started, budget }
    }

    /// Whether the evaluation took longer than its budget.
    pub(crate) fn overran(&self) -> bool {
        self.started.elapsed() > self.budget
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        registry().remove(&self.id);
    }
}

thread_local! {
    static EVALUATING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is inside a Rego evaluation: a panic hook uses it to keep engine panics (which
/// become [`crate::RegoError::Panic`]) out of the user's terminal.
pub fn evaluating() -> bool {
    EVALUATING.with(std::cell::Cell::get) || std::thread::current().name() == Some("rego-eval")
}

/// Marks this thread as evaluating until dropped.
pub(crate) struct Evaluating(bool);

impl Evaluating {
    pub(crate) fn enter() -> Evaluating {
        Evaluating(EVALUATING.with(|flag| flag.replace(true)))
    }
}

impl Drop for Evaluating {
    fn drop(&mut self) {
        let previous = self.0;
        EVALUATING.with(|flag| flag.set(previous));
    }
}
