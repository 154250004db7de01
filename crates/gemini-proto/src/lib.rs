//! The sans-IO core of gemini-rs.
//!
//! `gemini-proto` knows everything about the Gemini API except how to move bytes: the typed data model,
//! request building, stream framing (SSE and JSON array), chunk decoding, aggregation, error
//! classification, retry decisions and chat state. It performs no I/O, spawns nothing and never reads
//! the clock; time and randomness are always arguments. Every async or blocking client is a thin
//! loop around the types in this crate.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod types;

pub mod endpoint;
pub mod request;

pub mod error;
pub mod retry;

pub mod aggregate;
pub mod call;
pub mod chat;
pub mod chunk;
pub mod json_array;
pub mod sse;

pub use endpoint::{Auth, Endpoint};
pub use error::{ApiError, Error, ErrorKind};
pub use request::{Api, StreamFormat};
pub use retry::{Decision, Outcome, RetryPolicy};
