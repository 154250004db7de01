//! The sans-IO core of gemini-rs.
//!
//! `gemini-proto` knows everything about the Gemini API except how to move bytes: the typed data model,
//! request building, stream framing (SSE and JSON array), chunk decoding, aggregation, error
//! classification, retry decisions and chat state — for `generateContent` and for the Interactions
//! API ([`interactions`]). It performs no I/O, spawns nothing and never reads
//! the clock; time and randomness are always arguments. Every async or blocking client is a thin
//! loop around the types in this crate.
//!
//! # Text encoding
//!
//! Bodies are UTF-8, and every decoder of this crate reads them by one rule, whichever the framing
//! ([`sse`], [`json_array`], [`chunk`]) or the kind of body (streamed, unary, error):
//!
//! * a byte-order mark (`EF BB BF`) at the very start of a body is ignored, even when the body is
//!   split inside it; a byte-order mark anywhere else is data (in SSE it belongs to the line it
//!   starts, in a JSON array it is a byte out of place). Byte offsets always count from the first
//!   byte of the body, BOM included;
//! * invalid UTF-8 is replaced with U+FFFD per maximal subpart, exactly as
//!   [`String::from_utf8_lossy`] does and as the SSE standard requires; the event, element or error
//!   object around it is still decoded.
//!
//! So an error object injected right after a BOM is reported as the API error it is, and the same
//! answer with a stray byte in its text gives the same chunk from an SSE body and from a JSON-array
//! body.
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
mod encoding;
pub mod interactions;
pub mod json_array;
mod json_reader;
pub mod sse;

pub use endpoint::{Auth, Endpoint};
pub use error::{ApiError, Error, ErrorKind};
pub use request::{Api, StreamFormat};
pub use retry::{Decision, Outcome, RetryPolicy};
