//! Kubernetes admission for verdict: an `admission.k8s.io/v1` AdmissionReview in, the images the workload
//! would run out, and the AdmissionReview answer back. Pure and synchronous: the webhook server, the CLI
//! and tests call the same functions, and the decision about each image is made elsewhere (the image
//! policy, the ledger's environment policies) and handed back here as reasons.

pub mod build;
pub mod cache;
pub mod cluster;
pub mod config;
pub mod decision;
pub mod images;
pub mod judge;
pub mod ledger;
pub mod live;
pub mod load;
pub mod manifest;
pub mod replay;
pub mod review;
pub mod server;
pub mod tls;

pub use build::{BuildError, build_judge};
pub use config::{AdmissionConfig, CacheConfig, LedgerConfig, PolicyFile, load_admission_config};
pub use decision::{AdmissionDecision, ImageJudge, ImageOutcome, Judgement, Mode, Settings, answer, decide};
pub use images::{ImageRef, WorkloadError, changed_images, request_images, workload_images};
pub use judge::{PolicyJudge, RegistryAccess};
pub use live::{Evaluator, LiveEvaluator, Rebuilt, SourceContents};
pub use review::{ReviewError, allow, deny, parse_review};
pub use server::{WebhookConfig, serve};
pub use tls::ReloadingCertificate;
