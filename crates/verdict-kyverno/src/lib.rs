//! Kyverno policies, evaluated the way Kyverno evaluates them, in one engine the CLI (`verdict apply`,
//! `verdict test`) and the admission webhook share: match/exclude, context, preconditions, patterns
//! with anchors, deny conditions, foreach, podSecurity, JMESPath variables and autogen.

pub mod apply;
pub mod autogen;
pub mod cel;
pub mod cel_cost;
pub mod cel_image_ref;
pub mod cel_images;
pub mod conditions;
pub mod engine;
pub mod fuzz_checks;
pub mod jmes;
pub mod matching;
pub mod pattern;
pub mod pod_security;
pub mod policy;
pub mod quantity;
pub mod wildcard;

pub use engine::{Request, RuleResponse, Status, Values, evaluate_policy};
pub use matching::RequestInfo;
pub use policy::{Action, Policy, PolicyFile, load_policy_file};
pub mod testsuite;
pub mod vpol;
