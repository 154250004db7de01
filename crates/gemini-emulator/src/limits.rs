//! The limits of what a request (or a flag) may ask of the emulator.
//!
//! Every size, count and duration a request or a flag can ask for is bounded, so that no request
//! can crash the emulator, exhaust its memory or keep a core busy. Past a limit, a request gets
//! Google's 400 `INVALID_ARGUMENT` error body with a message naming the value; a flag
//! (`--fault`, `--pace`, `--threads`) stops the binary at start-up with a message, and a fault
//! given in code ([`EmulatorConfig::fault`](crate::EmulatorConfig::fault)) makes
//! [`Emulator::start`](crate::Emulator::start) fail; one set later with
//! [`Emulator::set_fault`](crate::Emulator::set_fault) fails each request with the 400.
//!
//! Within the limits, generation is linear in the size of its output, and the work for a request
//! stops as soon as its client disconnects (a stall or a drip included).

use std::time::Duration;

/// The most tokens the `tokens=N` directive may ask for. No Gemini model writes more than 65,536
/// output tokens in one answer.
pub const MAX_TOKENS: usize = 100_000;

/// The most values a response schema may ask the answer to hold (array items, object members and
/// scalars, counted over the whole answer, so that nested arrays cannot multiply past it), and so
/// the largest `minItems` of a single array.
pub const MAX_SCHEMA_ITEMS: usize = 100_000;

/// The longest string (in characters) a response schema's `minLength` may ask for; the total of
/// all strings of one answer is bounded by the same figure.
pub const MAX_STRING_LENGTH: usize = 1_000_000;

/// The largest size an `oversized-event` may be padded to (or a `drip` piece, or a
/// `close-after-bytes` count): 1 GiB. The padding is streamed, never built in memory.
pub const MAX_FAULT_BYTES: usize = 1 << 30;

/// The longest duration a fault may ask for (`stall-after`, `drip`, the delay of `http=429`), and
/// the longest time to the first chunk of `--pace`.
pub const MAX_FAULT_DURATION: Duration = Duration::from_secs(600);

/// The largest event count of a fault (`…-after=N`, `oversized-event=N`, `fail-first=N`).
pub const MAX_EVENT_COUNT: usize = 1_000_000;

/// The most items one fault spec may hold (after the global, header and model-name specs are
/// combined).
pub const MAX_FAULT_ITEMS: usize = 64;

/// The most stop sequences a request may give (Google's limit).
pub const MAX_STOP_SEQUENCES: usize = 5;

/// The most requests one `batchEmbedContents` call may hold (Google's limit).
pub const MAX_BATCH_REQUESTS: usize = 100;

/// The most runtime worker threads `--threads` (or
/// [`EmulatorConfig::worker_threads`](crate::EmulatorConfig::worker_threads)) may ask for.
pub const MAX_WORKER_THREADS: usize = 256;

/// The most bytes of strings (`minLength` padding included) and of values copied from the schema
/// (`const`, `enum`) one schema-shaped answer may hold: 16 MiB.
pub const MAX_SCHEMA_ANSWER_BYTES: usize = 16 << 20;

/// The most interactions the emulator keeps (for `GET`, resumed streams and
/// `previous_interaction_id`); past it the oldest are forgotten, and a request naming one gets
/// 404 `NOT_FOUND`.
pub const MAX_STORED_INTERACTIONS: usize = 10_000;

/// The most memory the kept interactions may take, about (their events and turns): 256 MiB; past
/// it the oldest are forgotten (the newest is always kept).
pub const MAX_STORED_INTERACTION_BYTES: usize = 256 << 20;
