//! Integration tests of `ims-tags-signing`: SDK vectors, captured SDK requests, rejections
//! and sign-then-verify round trips.

mod captures;
mod contract_vectors;
mod generated_vectors;
mod rejections;
mod round_trip;
mod support;
