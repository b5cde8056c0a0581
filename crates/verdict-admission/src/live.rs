//! The webhook's evaluation environment — a judge and its settings, built once from a configuration and
//! shared by `Arc` — and its replacement while serving when the files it was built from change. A request
//! takes the environment current when it arrives and keeps it to the end, so it is decided under one
//! configuration; a configuration that does not load leaves the running one in place, because an error
//! must never loosen a decision (DESIGN.md rule 2).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::decision::{ImageJudge, Settings};

/// One configuration's judge and settings, immutable once built.
pub struct Evaluator<J> {
    /// Judges each image.
    pub judge: J,
    /// Mode, budget, exempt namespaces.
    pub settings: Settings,
    /// Which configuration this is: 1 at start, one more per applied reload.
    pub generation: u64,
}

/// What a rebuild yields: the new judge and settings, and the files they were built from (watched next).
pub type Rebuilt<J> = (J, Settings, Vec<PathBuf>);

/// The current evaluation environment, swapped whole on reload.
pub struct LiveEvaluator<J> {
    current: RwLock<Arc<Evaluator<J>>>,
    generation: AtomicU64,
    /// Why the last update (a changed file, a new bundle) was not applied, until one is.
    refusal: RwLock<Option<String>>,
}

impl<J: ImageJudge + 'static> LiveEvaluator<J> {
    /// The environment built at start-up (generation 1).
    pub fn new(judge: J, settings: Settings) -> Arc<Self> {
        Arc::new(LiveEvaluator {
            current: RwLock::new(Arc::new(Evaluator { judge, settings, generation: 1 })),
            generation: AtomicU64::new(1),
            refusal: RwLock::new(None),
        })
    }

    /// Notes that an update was refused (the running environment stays), for `/readyz` to report.
    pub fn refused(&self, why: String) {
        *self.refusal.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(why);
    }

    /// Why the last update was refused, if it was and none has been applied since.
    pub fn last_refusal(&self) -> Option<String> {
        self.refusal.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The environment to decide the next request with.
    pub fn current(&self) -> Arc<Evaluator<J>> {
        // A panic while holding the lock cannot leave a half-built environment: the value is an Arc.
        Arc::clone(&self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Makes `judge` and `settings` current for every request that arrives from now on; returns the new
    /// generation. Requests already being decided finish under the environment they started with.
    pub fn replace(&self, judge: J, settings: Settings) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let next = Arc::new(Evaluator { judge, settings, generation });
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        *self.refusal.write().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        generation
    }

    /// Watches `files` (polled every `interval`, on a thread of its own): when their contents differ from
    /// `seen`, `rebuild` builds a new environment from them, which becomes current; when it fails, the
    /// running environment stays and the failure is logged and counted
    /// (`verdict_admission_config_reloads_total{outcome="refused"}`) once per distinct content.
    ///
    /// `seen` must have been read before the current environment was built from the files: a change
    /// made while it was being built then still differs, and is applied.
    pub fn watch<F>(
        self: &Arc<Self>,
        files: Vec<PathBuf>,
        seen: SourceContents,
        interval: Duration,
        rebuild: F,
    ) where
        F: Fn() -> Result<Rebuilt<J>, String> + Send + 'static,
    {
        let live = Arc::clone(self);
        let mut seen = seen.0;
        let spawned = std::thread::Builder::new().name("verdict-config-watch".to_owned()).spawn(move || {
            let mut files = files;
            loop {
                std::thread::sleep(interval);
                let now = snapshot(&files);
                if now == seen {
                    continue;
                }
                // Whatever happens, this content has been handled: a refused one is not retried (or
                // logged again) until the files change once more.
                seen = now;
                match rebuild() {
                    Ok((judge, settings, watched)) => {
                        let generation = live.replace(judge, settings);
                        metrics::counter!("verdict_admission_config_reloads_total", "outcome" => "applied")
                            .increment(1);
                        tracing::info!(generation, "admission configuration reloaded");
                        if watched != files {
                            // New files, read by the rebuild before they could be compared: compare
                            // against nothing, so the next round builds from contents read first.
                            files = watched;
                            seen = Vec::new();
                        }
                    }
                    Err(err) => {
                        metrics::counter!("verdict_admission_config_reloads_total", "outcome" => "refused")
                            .increment(1);
                        live.refused(format!("the changed configuration does not load: {err}"));
                        tracing::error!(
                            generation = live.current().generation,
                            "the changed admission configuration does not load; still serving the previous one: {err}"
                        );
                    }
                }
            }
        });
        if let Err(err) = spawned {
            tracing::error!("cannot watch the admission configuration for changes: {err}");
        }
    }
}

/// The contents of the files an environment is built from, to tell whether any changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceContents(Vec<Option<Vec<u8>>>);

impl SourceContents {
    /// Reads `files` now (`None` for one that cannot be read).
    pub fn read(files: &[PathBuf]) -> Self {
        SourceContents(snapshot(files))
    }
}

fn snapshot(files: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    files.iter().map(|file| std::fs::read(file).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Judgement, Mode};

    struct Fixed(bool);

    impl ImageJudge for Fixed {
        async fn judge(&self, _image: &str) -> Judgement {
            Judgement {
                allowed: self.0,
                reasons: if self.0 { vec![] } else { vec!["no".into()] },
                ..Judgement::default()
            }
        }
    }

    fn settings(mode: Mode) -> Settings {
        Settings { mode, ..Settings::default() }
    }

    #[test]
    fn a_request_keeps_the_environment_it_started_with() {
        let live = LiveEvaluator::new(Fixed(false), settings(Mode::Enforce));
        let held = live.current();
        assert_eq!(live.replace(Fixed(true), settings(Mode::Audit)), 2);
        assert_eq!((held.generation, held.settings.mode), (1, Mode::Enforce));
        assert_eq!((live.current().generation, live.current().settings.mode), (2, Mode::Audit));
    }

    #[test]
    fn a_changed_file_is_rebuilt_and_a_broken_one_keeps_the_running_environment() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("mode");
        std::fs::write(&file, "audit").unwrap_or_else(|e| panic!("{e}"));
        let live = LiveEvaluator::new(Fixed(false), settings(Mode::Enforce));
        let watched = file.clone();
        let seen = SourceContents::read(std::slice::from_ref(&file));
        live.watch(vec![file.clone()], seen, Duration::from_millis(20), move || {
            let text = std::fs::read_to_string(&watched).map_err(|e| e.to_string())?;
            let mode = match text.trim() {
                "audit" => Mode::Audit,
                "warn" => Mode::Warn,
                other => return Err(format!("unknown mode {other:?}")),
            };
            Ok((Fixed(true), settings(mode), vec![watched.clone()]))
        });
        let wait_for = |generation: u64| {
            for _ in 0..250 {
                if live.current().generation == generation {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("generation {generation} never became current");
        };
        std::fs::write(&file, "warn").unwrap_or_else(|e| panic!("{e}"));
        wait_for(2);
        assert_eq!(live.current().settings.mode, Mode::Warn);
        std::fs::write(&file, "loud").unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!((live.current().generation, live.current().settings.mode), (2, Mode::Warn));
        std::fs::write(&file, "audit").unwrap_or_else(|e| panic!("{e}"));
        wait_for(3);
        assert_eq!(live.current().settings.mode, Mode::Audit);
    }

    #[test]
    fn a_change_made_while_the_first_environment_was_built_is_applied() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("mode");
        std::fs::write(&file, "enforce").unwrap_or_else(|e| panic!("{e}"));
        let seen = SourceContents::read(std::slice::from_ref(&file));
        // Written after the read, before the watcher starts: the environment may predate it.
        std::fs::write(&file, "audit").unwrap_or_else(|e| panic!("{e}"));
        let live = LiveEvaluator::new(Fixed(false), settings(Mode::Enforce));
        live.watch(vec![file.clone()], seen, Duration::from_millis(20), move || {
            Ok((Fixed(true), settings(Mode::Audit), vec![file.clone()]))
        });
        for _ in 0..250 {
            if live.current().generation == 2 {
                assert_eq!(live.current().settings.mode, Mode::Audit);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the change was lost");
    }
}
