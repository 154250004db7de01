//! Benchmarks of gemini-rs against the clients users would pick instead (not published).
//!
//! `cargo xtask bench` builds this crate's binary and runs `gemini-bench run`: a server that
//! answers with pre-rendered bytes ([`server`]), each client in a process of its own
//! ([`clients`], and `python/client.py` for the official Python SDK), a counting allocator
//! ([`alloc`]), instruction counts from callgrind, and a report with a chart ([`report`]).
//! `benches/framing.rs` compares the SSE framing alone with other crates.
//!
//! This crate is its own workspace, so that the peers it depends on are never built by
//! `cargo test --workspace`.

#![deny(unsafe_code)]

pub mod alloc;
pub mod clients;
pub mod measure;
pub mod report;
pub mod results;
pub mod run;
pub mod server;
pub mod workload;

pub use workload::{gemini_like_sse, one_long_line};
