//! The Gemini API data model (v1beta), as serde types with camelCase JSON names.
//!
//! Forward compatible by construction: every struct keeps members it does not know in `extra` and writes
//! them back when serialized; every enum keeps unknown values in an `Unknown` variant and accepts the
//! integer encoding some endpoints use; no type rejects unknown fields. Structs are `#[non_exhaustive]`:
//! build them with `Default`, the constructors and the `with_*` setters.

mod config;
mod content;
mod continuation;
mod enums;
mod extra;
mod models;
mod requests;
mod response;
pub(crate) mod wire;

pub use config::*;
pub use content::*;
pub use continuation::ContinuationToken;
pub use enums::*;
pub use models::*;
pub use requests::*;
pub use response::*;
pub use wire::Extra;
