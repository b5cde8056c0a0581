//! Verification results remembered by what they depend on: the repository, whether the reference named
//! a digest, the image digest the registry serves now, and the digests of the policies and trust root.
//! A tag that moves gives a new digest and so a new verification; a policy or trust-root change gives
//! new keys, so old results are never used for it. Results that passed are kept for the positive TTL,
//! failures for the (short) negative TTL; the number kept is bounded; concurrent misses for one key
//! share a single verification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::OnceCell;

use crate::config::CacheConfig;
use crate::decision::Judgement;

/// What a result depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// `registry/repository`.
    pub repository: String,
    /// Whether the reference named a digest (rules may require it).
    pub pinned: bool,
    /// The digest the registry serves.
    pub digest: String,
    /// The digest of the policies and trust root in force.
    pub configuration: String,
}

type Slot = Arc<OnceCell<(Judgement, Instant)>>;

/// The cache.
#[derive(Debug)]
pub struct VerificationCache {
    config: CacheConfig,
    slots: Mutex<HashMap<CacheKey, Slot>>,
}

/// Whether a lookup was answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A fresh result was there (or another request was computing it).
    Hit,
    /// It was computed now.
    Miss,
}

impl VerificationCache {
    /// An empty cache with `config`'s TTLs and bound.
    pub fn new(config: CacheConfig) -> Self {
        VerificationCache { config, slots: Mutex::new(HashMap::new()) }
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<CacheKey, Slot>> {
        self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fresh(&self, judgement: &Judgement, stored: Instant) -> bool {
        let ttl = if judgement.allowed { self.config.positive_ttl } else { self.config.negative_ttl };
        stored.elapsed() < ttl
    }

    /// The result for `key`: remembered when fresh, else computed by `verify` (once, whoever else asks
    /// for the same key meanwhile).
    pub async fn get_or_verify<F>(&self, key: CacheKey, verify: F) -> (Judgement, Lookup)
    where
        F: std::future::Future<Output = Judgement>,
    {
        if self.config.max_entries == 0 {
            return (verify.await, Lookup::Miss);
        }
        let slot = {
            let mut slots = self.slots();
            let reusable = slots.get(&key).filter(|slot| match slot.get() {
                Some((judgement, stored)) => self.fresh(judgement, *stored),
                None => true,
            });
            match reusable {
                Some(slot) => Arc::clone(slot),
                None => {
                    if slots.len() >= self.config.max_entries {
                        slots.retain(|_, slot| slot.get().is_none_or(|(j, stored)| self.fresh(j, *stored)));
                        if slots.len() >= self.config.max_entries
                            && let Some(victim) = slots.keys().next().cloned()
                        {
                            slots.remove(&victim);
                        }
                    }
                    let slot: Slot = Arc::new(OnceCell::new());
                    slots.insert(key, Arc::clone(&slot));
                    slot
                }
            }
        };
        let mut computed = false;
        let (judgement, _) = slot
            .get_or_init(|| async {
                computed = true;
                (verify.await, Instant::now())
            })
            .await;
        (judgement.clone(), if computed { Lookup::Miss } else { Lookup::Hit })
    }

    /// How many results are held.
    pub fn len(&self) -> usize {
        self.slots().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn key(digest: &str) -> CacheKey {
        CacheKey {
            repository: "ghcr.io/acme/app".into(),
            pinned: false,
            digest: digest.into(),
            configuration: "p1".into(),
        }
    }

    fn verdict(allowed: bool) -> Judgement {
        Judgement { allowed, digest: None, reasons: Vec::new(), notes: Vec::new() }
    }

    #[tokio::test]
    async fn concurrent_misses_verify_once_and_results_expire_by_outcome() {
        let cache = VerificationCache::new(CacheConfig {
            positive_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_millis(50),
            max_entries: 10,
        });
        let calls = AtomicUsize::new(0);
        let verify = |allowed: bool| {
            let calls = &calls;
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                verdict(allowed)
            }
        };
        let results =
            futures_util::future::join_all((0..8).map(|_| cache.get_or_verify(key("a"), verify(true)))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "eight concurrent requests, one verification");
        assert_eq!(results.iter().filter(|(_, lookup)| *lookup == Lookup::Miss).count(), 1);
        assert!(results.iter().all(|(judgement, _)| judgement.allowed));
        // A failure is remembered only for the negative TTL.
        assert!(!cache.get_or_verify(key("b"), verify(false)).await.0.allowed);
        assert_eq!(cache.get_or_verify(key("b"), verify(true)).await.1, Lookup::Hit);
        tokio::time::sleep(Duration::from_millis(80)).await;
        let (again, lookup) = cache.get_or_verify(key("b"), verify(true)).await;
        assert_eq!((again.allowed, lookup), (true, Lookup::Miss), "the negative entry expired");
        // Another configuration (a policy change) is another key.
        let mut changed = key("a");
        changed.configuration = "p2".into();
        assert_eq!(cache.get_or_verify(changed, verify(false)).await.1, Lookup::Miss);
    }

    #[tokio::test]
    async fn the_cache_is_bounded() {
        let cache = VerificationCache::new(CacheConfig { max_entries: 3, ..CacheConfig::default() });
        for i in 0..10 {
            cache.get_or_verify(key(&format!("d{i}")), async { verdict(true) }).await;
        }
        assert!(cache.len() <= 3, "{}", cache.len());
        let off = VerificationCache::new(CacheConfig { max_entries: 0, ..CacheConfig::default() });
        off.get_or_verify(key("x"), async { verdict(true) }).await;
        assert!(off.is_empty());
    }
}
