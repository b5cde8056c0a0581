//! A loaded Rego policy and its evaluation under Kosli's contract.

use std::num::NonZeroU32;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::Duration;

use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value};
use serde::Serialize;

use crate::engine::{add_policy, new_engine};
use crate::error::{EngineMessage, RegoError};
use crate::unsupported::unsupported_calls;
use crate::watchdog::{Evaluating, Watch};

/// Limits on one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget; past it the evaluation is an error.
    pub timeout: Duration,
}

/// Caps the memory the whole process may allocate while Rego evaluates (`None`: no cap). regorus counts
/// every allocation through its allocator and stops an evaluation that goes over with
/// [`RegoError::MemoryLimit`]. The cap is process-wide, so it is set once, by the program, not per
/// evaluation.
pub fn set_memory_limit(bytes: Option<u64>) {
    regorus::set_global_memory_limit(bytes);
}

impl Default for Limits {
    fn default() -> Self {
        Limits { timeout: Duration::from_secs(5) }
    }
}

/// The outcome of a policy that evaluated: `allow`, and when denied the `violations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The value of `data.policy.allow`.
    pub allow: bool,
    /// The strings of `data.policy.violations`, sorted; `None` when allowed (violations are not read).
    /// Empty when denied by a policy without (or with an undefined) `violations` rule.
    pub violations: Option<Vec<String>>,
}

/// A Rego policy that parsed and satisfies the contract, ready to evaluate many times.
#[derive(Clone)]
pub struct RegoPolicy {
    engine: Engine,
}

impl std::fmt::Debug for RegoPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoPolicy").finish_non_exhaustive()
    }
}

/// Maps a regorus evaluation error to OPA's error code, so users (and scripts) coming from OPA recognise it.
fn opa_code(message: &str) -> &'static str {
    if message.contains("is unsafe") {
        "rego_unsafe_var_error"
    } else if message.contains("could not find function") || message.contains("not supported") {
        "rego_type_error"
    } else if message.contains("recursion") {
        "rego_recursion_error"
    } else {
        "eval_error"
    }
}

pub(crate) fn compile_error(error: &anyhow::Error) -> RegoError {
    let text = format!("{error:#}");
    if text.contains("execution exceeded time limit") {
        // Reported by the caller with the configured limit.
        return RegoError::Timeout { limit: Duration::ZERO };
    }
    if text.contains("exceeded memory limit") {
        return RegoError::MemoryLimit { limit: regorus::global_memory_limit().unwrap_or_default() };
    }
    let parsed = EngineMessage::parse(&text);
    // regorus appends its internal scope dump to unsafe-variable errors; it means nothing to a user.
    let message = parsed.message.split(" (path [").next().unwrap_or_default().to_owned();
    let message = match message.strip_prefix("could not find function ") {
        Some(name) => format!("builtin {name} is not supported"),
        None => message,
    };
    RegoError::Compile {
        code: opa_code(&message),
        location: parsed.location,
        message,
        snippet: parsed.snippet,
    }
}

impl RegoPolicy {
    /// Parses `source` (named `file` in messages) and checks the contract: `package policy`, an `allow`
    /// rule.
    pub fn load(file: &str, source: &str) -> Result<Self, RegoError> {
        let mut engine = new_engine();
        let package = add_policy(&mut engine, file, source).map_err(|err| {
            let parsed = EngineMessage::parse(&format!("{err:#}"));
            match parsed.location {
                Some(location) => {
                    RegoError::Parse { location, message: parsed.message, snippet: parsed.snippet }
                }
                None => RegoError::Compile {
                    location: None,
                    code: "rego_parse_error",
                    message: parsed.message,
                    snippet: String::new(),
                },
            }
        })?;
        let found = package.strip_prefix("data.").unwrap_or(&package);
        if found != "policy" {
            return Err(RegoError::Package { found: found.to_owned() });
        }
        match engine.has_declared_rule_rooted_at(file, "allow") {
            Ok(true) => {}
            Ok(false) => return Err(RegoError::NoAllow),
            Err(err) => return Err(compile_error(&err)),
        }
        if let Some(module) = engine.get_modules().first().cloned()
            && let Some(error) = unsupported_calls(&module, file).into_iter().next()
        {
            return Err(error);
        }
        let mut policy = RegoPolicy { engine };
        policy.prepare()?;
        Ok(policy)
    }

    /// The same policy with `params` as `data.params`. Binding parameters once (rather than per
    /// evaluation) keeps the engine's analysis of the policy, which adding data invalidates, shared by
    /// every evaluation.
    pub fn with_params(&self, params: Value) -> Result<Self, RegoError> {
        let mut engine = self.engine.clone();
        let mut data = Value::new_object();
        if let Ok(map) = data.as_object_mut() {
            map.insert(Value::from("params"), params);
        }
        engine.add_data(data).map_err(|err| RegoError::Input(format!("failed to use --params: {err:#}")))?;
        let mut policy = RegoPolicy { engine };
        policy.prepare()?;
        Ok(policy)
    }

    /// Runs regorus's analysis of the modules now (a trivial query triggers it), so clones made for each
    /// evaluation start prepared instead of repeating it.
    fn prepare(&mut self) -> Result<(), RegoError> {
        self.engine.eval_query("true".to_owned(), false).map(|_| ()).map_err(|err| compile_error(&err))
    }

    /// Evaluates the policy on `input` within `limits` (parameters are bound with
    /// [`RegoPolicy::with_params`]). It runs on the calling thread — a hand-off to another thread cost
    /// more than a small policy's whole evaluation — under regorus's execution timer, which stops an
    /// evaluation that keeps interpreting past the budget, and under `catch_unwind`, so a panic in the
    /// engine is an error. A result that arrives after the budget is a timeout all the same, and the
    /// [`crate::watchdog`] reports an evaluation stuck in one long builtin call.
    pub fn evaluate(&self, input: Value, limits: &Limits) -> Result<Decision, RegoError> {
        let mut engine = self.engine.clone();
        let timeout = limits.timeout;
        let watch = Watch::start(timeout);
        let outcome = {
            let _evaluating = Evaluating::enter();
            catch_unwind(AssertUnwindSafe(|| run(&mut engine, input, timeout)))
        };
        let overran = watch.overran();
        drop(watch);
        match outcome {
            Ok(Err(RegoError::Timeout { .. })) => Err(RegoError::Timeout { limit: timeout }),
            _ if overran => Err(RegoError::Timeout { limit: timeout }),
            Ok(result) => result,
            Err(panic) => Err(RegoError::Panic { message: panic_message(panic.as_ref()) }),
        }
    }

    /// [`RegoPolicy::evaluate`] on a thread of its own: the budget then holds as a hard limit even inside
    /// one long builtin call, at the price of a thread hand-off (tens of microseconds). For callers that
    /// must get an answer within the budget whatever the policy does, with no deadline of their own.
    pub fn evaluate_isolated(&self, input: Value, limits: &Limits) -> Result<Decision, RegoError> {
        let mut engine = self.engine.clone();
        let timeout = limits.timeout;
        with_budget(timeout, move || run(&mut engine, input, timeout))
    }
}

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// The evaluation worker of the calling thread. Starting a thread per evaluation costs tens of
    /// microseconds, more than a small policy's evaluation; a worker per calling thread keeps that cost
    /// to a channel round trip while evaluations on different threads still run in parallel.
    static WORKER: std::cell::RefCell<Option<mpsc::Sender<Job>>> = const { std::cell::RefCell::new(None) };
}

fn start_worker() -> Result<mpsc::Sender<Job>, RegoError> {
    let (sender, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("rego-eval".to_owned())
        .spawn(move || {
            // Ends when the sender is dropped: when its owner thread ends, or abandons it after a timeout.
            for job in jobs {
                job();
            }
        })
        .map_err(|err| RegoError::Input(format!("cannot start the evaluation thread: {err}")))?;
    Ok(sender)
}

/// Runs `job` on the calling thread's evaluation worker under `catch_unwind`, waiting at most `timeout`:
/// a job that overruns is a [`RegoError::Timeout`] (even inside one long builtin call, which regorus's
/// cooperative timer cannot interrupt), and a panic is a [`RegoError::Panic`]. A worker that overran is
/// abandoned — the next job gets a fresh one — and finishes on its own; regorus's own timer, set to the
/// same budget, stops it at its next check.
pub(crate) fn with_budget<T: Send + 'static>(
    timeout: Duration,
    job: impl FnOnce() -> Result<T, RegoError> + Send + 'static,
) -> Result<T, RegoError> {
    let (sender, receiver) = mpsc::channel();
    let job: Job = Box::new(move || {
        let outcome = catch_unwind(AssertUnwindSafe(job));
        // The receiver may have given up waiting; nothing to do then.
        let _ = sender.send(outcome);
    });
    WORKER.with(|slot| -> Result<(), RegoError> {
        let mut slot = slot.borrow_mut();
        let worker = match slot.take() {
            Some(worker) => worker,
            None => start_worker()?,
        };
        match worker.send(job) {
            Ok(()) => {
                *slot = Some(worker);
                Ok(())
            }
            Err(mpsc::SendError(job)) => {
                let fresh = start_worker()?;
                fresh.send(job).map_err(|_| RegoError::Input("the evaluation thread is gone".to_owned()))?;
                *slot = Some(fresh);
                Ok(())
            }
        }
    })?;
    let outcome = receiver.recv_timeout(timeout);
    if matches!(outcome, Err(mpsc::RecvTimeoutError::Timeout)) {
        // The worker is stuck on the overrunning job: abandon it.
        WORKER.with(|slot| slot.borrow_mut().take());
    }
    match outcome {
        Ok(Ok(Err(RegoError::Timeout { .. }))) | Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(RegoError::Timeout { limit: timeout })
        }
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(RegoError::Panic { message: panic_message(panic.as_ref()) }),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(RegoError::Panic { message: "the evaluation thread ended without a result".to_owned() })
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_owned()
    }
}

fn run(engine: &mut Engine, input: Value, timeout: Duration) -> Result<Decision, RegoError> {
    // regorus checks its own timer cooperatively; the caller's recv_timeout is the hard limit.
    let check_interval = NonZeroU32::new(256).unwrap_or(NonZeroU32::MIN);
    engine.set_execution_timer_config(ExecutionTimerConfig { limit: timeout, check_interval });
    engine.set_input(input);
    let allow = engine.eval_rule("data.policy.allow".to_owned()).map_err(|err| compile_error(&err))?;
    let allow = match allow {
        Value::Bool(allow) => allow,
        Value::Undefined => return Err(RegoError::AllowUndefined),
        other => return Err(RegoError::AllowNotBoolean { found: describe(&other) }),
    };
    if allow {
        return Ok(Decision { allow, violations: None });
    }
    let violations = engine.eval_rule("data.policy.violations".to_owned());
    let violations = match violations {
        Ok(value) => strings(&value)?,
        // A policy without a `violations` rule denies with no messages.
        Err(err) if format!("{err:#}").contains("not a valid rule path") => Vec::new(),
        Err(err) => return Err(compile_error(&err)),
    };
    Ok(Decision { allow, violations: Some(violations) })
}

fn strings(value: &Value) -> Result<Vec<String>, RegoError> {
    let items: Vec<&Value> = match value {
        Value::Undefined => return Ok(Vec::new()),
        Value::Set(set) => set.iter().collect(),
        Value::Array(array) => array.iter().collect(),
        other => return Err(RegoError::ViolationsInvalid { found: describe(other) }),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(text) => out.push(text.to_string()),
            other => {
                return Err(RegoError::ViolationsInvalid {
                    found: format!("a set containing {}", describe(other)),
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Set(_) => "a set",
        Value::Object(_) => "an object",
        Value::Undefined => "undefined",
    };
    match value.to_json_str() {
        Ok(json) if json.len() <= 60 => format!("{kind} ({json})"),
        _ => kind.to_owned(),
    }
}

#[cfg(test)]
mod panic_tests {
    use super::*;

    /// A panic inside the engine (regorus had them, e.g. `strings.count(s, "")` before verdict replaced
    /// it) is an evaluation error, never a crash and never an allow.
    #[test]
    fn a_panic_in_the_engine_is_an_error() {
        let mut engine = Engine::new();
        engine
            .add_extension(
                "boom".to_owned(),
                0,
                Box::new(|_: Vec<Value>| -> anyhow::Result<Value> { panic!("boom") }),
            )
            .unwrap();
        engine
            .add_policy("policy.rego".to_owned(), "package policy\nallow if { boom() }\n".to_owned())
            .unwrap();
        let policy = RegoPolicy { engine };
        let err = policy.evaluate(Value::new_object(), &Limits::default()).unwrap_err();
        assert!(matches!(err, RegoError::Panic { .. }), "{err}");
    }
}
