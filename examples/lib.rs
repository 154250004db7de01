//! Runnable examples of gemini-rs; see the `[[example]]` targets of this package
//! (`cargo run -p gemini-examples --example stream`).
