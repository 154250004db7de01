//! Runnable examples of gemini-rs; see the `[[example]]` targets of this package
//! (`cargo run --example stream`). Each one talks to Google when `GEMINI_API_KEY` (or
//! `GOOGLE_API_KEY`) is set, and to the embedded emulator otherwise.
