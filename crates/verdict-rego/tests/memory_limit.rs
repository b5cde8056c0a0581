//! The process-wide memory cap stops a policy that allocates without bound. In its own test binary because
//! the cap applies to the whole process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use regorus::Value;
use verdict_rego::{Limits, RegoError, RegoPolicy, set_memory_limit};

#[test]
fn a_memory_hungry_policy_is_stopped_with_an_error() {
    set_memory_limit(Some(256 << 20));
    let limits = Limits { timeout: Duration::from_secs(30) };
    for source in [
        "package policy\nallow if { count([x | some x in numbers.range(1, 100000000)]) > 0 }\n",
        "package policy\nallow if { count({x | some x in numbers.range(1, 30000000)}) > 0 }\n",
    ] {
        let policy = RegoPolicy::load("p.rego", source).unwrap();
        let started = Instant::now();
        let err = policy.evaluate(Value::new_object(), &limits).unwrap_err();
        assert_eq!(err, RegoError::MemoryLimit { limit: 256 << 20 }, "{source}");
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    }
    // A normal policy still evaluates under the cap.
    let fine =
        RegoPolicy::load("p.rego", "package policy\nallow if { count(numbers.range(1, 1000)) == 1000 }\n")
            .unwrap();
    assert!(fine.evaluate(Value::new_object(), &limits).unwrap().allow);
    set_memory_limit(None);
}
