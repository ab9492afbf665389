//! Contract cases for the IMS image-tag and Glance native tag APIs, written once against a [`Target`] and run
//! by two drivers: the `ims-tags-conformance` binary against any URL, and `cargo test` against ims-tags
//! itself.
//!
//! Each [`Case`] is named after the rule it checks and marked [`Kind::Contract`] (the seeds, IMS, Glance,
//! the product contract) or [`Kind::Choice`] (an ims-tags choice, docs/decisions.md). Positive cases go
//! through the generated client (`ims-tags-client`); negative and boundary cases send raw HTTP, and
//! wire-level ones write bytes to a socket.

pub mod case;
pub mod cases;
pub mod http;
pub mod outcome;
pub mod report;
pub mod run;
pub mod target;

pub use case::{Case, Ctx, Kind, Need};
pub use run::{RunReport, Selection, Status};
pub use target::{Credential, Family, Identity, Limits, Profile, Target, Who};
