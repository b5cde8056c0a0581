//! One module per command group; each turns parsed arguments into library calls and output.

pub mod admission;
pub mod assert;
pub mod bench;
pub mod bench_admission;
pub mod bench_apply;
pub mod bench_server;
pub mod bench_snapshot;
pub mod bundle;
pub mod demo;
pub mod demo_admission;
pub mod environments;
pub mod evaluate;
pub mod evidence;
pub mod fingerprint;
pub mod kyverno;
pub mod ledger;
pub mod lookup;
pub mod policy;
pub mod record;
pub mod rego_tools;
pub mod server;
pub mod service_attestations;
pub mod snapshot_sources;
pub mod typed_attestations;
pub mod verify;
pub mod verify_image;
