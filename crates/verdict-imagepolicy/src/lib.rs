//! verdict's image policy: which images (matched by glob) must be signed by whom (keyless identities or
//! public keys, `count` of them) and must carry which in-toto attestations (by `predicateType`, signed by
//! whom, optionally judged by a Rego policy over the predicate). One policy serves `verdict verify image`
//! and the admission webhook. Deny by default: an image no rule matches fails unless the policy says
//! `noMatch: allow`, and every failure to verify is a failure (DESIGN.md rule 2). A rule may instead be
//! decided by CEL `validations` over named attestors and attestations (Kyverno ImageValidatingPolicy).
//!
//! This crate decides from material the caller verified; it does no network or cryptography itself, so
//! the same decision logic runs whatever fetched and verified the signatures.

pub mod decide;
pub mod decide_cel;
mod formats;
pub mod load;
pub mod model;
pub mod reference;

pub use decide::{
    AttestationCandidate, AttestationOutcome, AttestorsOutcome, ImageDecision, RuleOutcome, SignerMatch,
    decide,
};
pub use load::{IMAGE_POLICY_V1_SCHEMA, load_image_policy};
pub use model::{
    AttestationRequirement, Attestor, Attestors, CelValidation, CelValidations, ImagePolicy, ImageRule,
    NoMatch, PolicyMode,
};
pub use reference::{ImageGlob, ImageReference, ReferenceError};
