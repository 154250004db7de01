//! The fault grammar: what can go wrong, and when.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::limits::{
    MAX_EVENT_COUNT, MAX_FAULT_BYTES, MAX_FAULT_DURATION, MAX_FAULT_ITEMS, MAX_TOKENS,
};

/// How SSE events are separated on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// `\r\n\r\n`, as Google sends it (the default).
    CrLf,
    /// `\n\n`.
    Lf,
    /// `\r\r`.
    Cr,
}

/// One fault or generation directive. Several combine into a [`FaultSpec`].
///
/// "After N events" counts the events already sent: `after=0` acts before the first event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// `http=CODE[:DELAY]`: answer with HTTP `CODE` and Google's error body for it. For 429 the body
    /// carries QuotaFailure, Help and RetryInfo (`DELAY`, default 30s) and a `Retry-After` header.
    Http {
        /// HTTP status (400, 403, 404, 429, 500, 503, …).
        status: u16,
        /// Retry delay advertised by a 429.
        retry_after: Option<Duration>,
    },
    /// `fail-first=N[:CODE]`: the first `N` attempts of the same request fail with `CODE` (default
    /// 503), later attempts succeed. Attempts are counted per `x-emulator-scenario` header value, or
    /// per (path, fault spec, body) when the header is absent.
    FailFirst {
        /// Number of failing attempts.
        attempts: u32,
        /// HTTP status of the failures.
        status: u16,
    },
    /// `json-error-after=N[:CODE]`: after `N` events, write a raw pretty-printed JSON error object
    /// (no SSE framing) and end the body.
    JsonErrorAfter {
        /// Events sent before the error.
        events: usize,
        /// `code` of the error object (default 500).
        status: u16,
    },
    /// `sse-error-after=N[:CODE]`: after `N` events, send `data: {"error": …}` and end the body.
    SseErrorAfter {
        /// Events sent before the error.
        events: usize,
        /// `code` of the error object (default 500).
        status: u16,
    },
    /// `close-after-events=N[,reset]`: close the connection after `N` events, mid-body (FIN, or RST
    /// with `reset`).
    CloseAfterEvents {
        /// Events sent before the close.
        events: usize,
        /// Reset instead of a clean close.
        reset: bool,
    },
    /// `close-after-bytes=N[,reset]`: close the connection after `N` bytes of the body.
    CloseAfterBytes {
        /// Body bytes sent before the close.
        bytes: usize,
        /// Reset instead of a clean close.
        reset: bool,
    },
    /// `stall-after=N:DURATION`: after `N` events, send nothing for `DURATION`, then continue.
    StallAfter {
        /// Events sent before the stall.
        events: usize,
        /// How long to stall.
        duration: Duration,
    },
    /// `drip=INTERVAL[:BYTES]`: write the body `BYTES` (default 1) at a time, `INTERVAL` apart.
    Drip {
        /// Pause between pieces.
        interval: Duration,
        /// Piece size.
        bytes: usize,
    },
    /// `oversized-event=N:SIZE`: event `N` (0-based) carries a text part padded so that the
    /// event's JSON is about `SIZE` bytes (`8MiB`, `300KiB`, `1000`; at most
    /// [`MAX_FAULT_BYTES`](crate::limits::MAX_FAULT_BYTES)), streamed without being built in memory.
    OversizedEvent {
        /// Index of the event to inflate.
        event: usize,
        /// Approximate size of the event.
        size: usize,
    },
    /// `malformed-after=N`: after `N` events, send one event whose JSON is cut short, then continue.
    MalformedAfter {
        /// Events sent before the malformed one.
        events: usize,
    },
    /// `framing=lf|cr|crlf`: SSE event separator.
    Framing(Framing),
    /// `byte-writes`: every byte of the response (headers included) in its own write.
    ByteWrites,
    /// `block-prompt[=REASON]`: HTTP 200 with `promptFeedback.blockReason` (default `SAFETY`) and no
    /// candidates.
    BlockPrompt {
        /// The block reason, e.g. `SAFETY`, `OTHER`, `PROHIBITED_CONTENT`.
        reason: String,
    },
    /// `safety-after=N`: after `N` events, end with a candidate whose finish reason is `SAFETY`.
    SafetyAfter {
        /// Events sent before the SAFETY event.
        events: usize,
    },
    /// `tokens=N` (directive, not a fault): the answer is about `N` tokens long (at most
    /// [`MAX_TOKENS`](crate::limits::MAX_TOKENS)).
    Tokens(usize),
    /// `hop-tokens=N` (directive): at most `N` output tokens per request, as Gemini caps long
    /// answers; a request that reaches the cap ends with finish reason `CONTINUATION` and a
    /// continuation token, and the same request sent again with the token continues the answer
    /// exactly where it stopped.
    HopTokens(u32),
    /// `checkpoint-every=N` (directive): every `N`-th event of a stream carries a continuation
    /// token (a checkpoint) with no finish reason; a request with that token resumes from there.
    CheckpointEvery(u32),
    /// `drop=WHERE[@HOP][xTIMES]`: close the connection of the first `TIMES` attempts (default 1)
    /// of hop `HOP` (default 1: the first request; a request carrying a token belongs to the hop
    /// its token came from) at `WHERE`: `prefill` (before any event), `before-checkpoint` (after
    /// the first event, before any checkpoint), `after-checkpoint` (right after the first
    /// checkpoint), `between-checkpoints` (one event after the first checkpoint).
    Drop {
        /// Where in the stream.
        at: DropPoint,
        /// The hop (from 1).
        hop: u32,
        /// How many attempts of that hop.
        times: u32,
    },
    /// `resume-error=CODE[xTIMES]`: the first `TIMES` requests (default 1) that carry a
    /// continuation token are answered with HTTP `CODE`.
    ResumeError {
        /// HTTP status.
        status: u16,
        /// How many resumes.
        times: u32,
    },
}

/// Where [`Fault::Drop`] cuts a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropPoint {
    /// After the response head, before any event.
    Prefill,
    /// After the first event, before the first checkpoint.
    BeforeCheckpoint,
    /// Right after the first checkpoint.
    AfterCheckpoint,
    /// One event after the first checkpoint, before the next one.
    BetweenCheckpoints,
}

impl DropPoint {
    fn name(self) -> &'static str {
        match self {
            DropPoint::Prefill => "prefill",
            DropPoint::BeforeCheckpoint => "before-checkpoint",
            DropPoint::AfterCheckpoint => "after-checkpoint",
            DropPoint::BetweenCheckpoints => "between-checkpoints",
        }
    }
}

/// A set of faults, parsed from `name[=value]` items joined by `;`.
///
/// Parsing enforces the [limits](crate::limits) (at most
/// [`MAX_FAULT_ITEMS`](crate::limits::MAX_FAULT_ITEMS) items, every count, size and duration
/// within its bound); [`check_limits`](FaultSpec::check_limits) checks a spec built in code.
///
/// ```
/// use gemini_emulator::{Fault, FaultSpec};
/// let spec: FaultSpec = "fail-first=2:503; stall-after=1:50ms".parse().unwrap();
/// assert_eq!(spec.faults()[0], Fault::FailFirst { attempts: 2, status: 503 });
/// assert_eq!(spec.to_string(), "fail-first=2:503;stall-after=1:50ms");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    faults: Vec<Fault>,
}

/// The text of a [`FaultSpec`] could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultParseError(String);

impl fmt::Display for FaultParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FaultParseError {}

impl FaultSpec {
    /// An empty spec (no faults).
    pub fn new() -> Self {
        FaultSpec::default()
    }

    /// Adds a fault.
    pub fn with(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// The faults, in the order given.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// True when the spec holds nothing.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Appends the faults of `other`.
    pub fn extend(&mut self, other: &FaultSpec) {
        self.faults.extend(other.faults.iter().cloned());
    }

    /// Checks every item against the [limits](crate::limits).
    ///
    /// ```
    /// use gemini_emulator::{Fault, FaultSpec};
    /// let spec = FaultSpec::new().with(Fault::Tokens(1 << 40));
    /// assert!(spec.check_limits().unwrap_err().to_string().contains("tokens"));
    /// assert!("tokens=1099511627776".parse::<FaultSpec>().is_err());
    /// ```
    ///
    /// # Errors
    /// The first item past a limit, and what the limit is.
    pub fn check_limits(&self) -> Result<(), FaultParseError> {
        if self.faults.len() > MAX_FAULT_ITEMS {
            return Err(err(format!(
                "{} fault items is over the limit of {MAX_FAULT_ITEMS}",
                self.faults.len()
            )));
        }
        self.faults.iter().try_for_each(Fault::check_limits)
    }

    pub(crate) fn find<T>(&self, f: impl Fn(&Fault) -> Option<T>) -> Option<T> {
        self.faults.iter().find_map(f)
    }
}

fn err(msg: impl Into<String>) -> FaultParseError {
    FaultParseError(msg.into())
}

fn at_most<T: PartialOrd + fmt::Display>(
    item: &str,
    what: &str,
    value: T,
    limit: T,
    unit: &str,
) -> Result<(), FaultParseError> {
    if value > limit {
        Err(err(format!(
            "`{item}`: {what} {value}{unit} is over the limit of {limit}{unit}"
        )))
    } else {
        Ok(())
    }
}

fn at_least_one(item: &str, value: u32) -> Result<(), FaultParseError> {
    if value == 0 {
        Err(err(format!("`{item}`: 0 is not allowed (at least 1)")))
    } else {
        Ok(())
    }
}

/// `VALUE[xTIMES]`: the value and the repeat count (default 1).
fn with_times(v: &str) -> Result<(&str, u32), FaultParseError> {
    match v.rsplit_once('x') {
        Some((value, times)) if !times.is_empty() && times.bytes().all(|b| b.is_ascii_digit()) => {
            Ok((value, parse_num(times, "repeat count")?))
        }
        _ => Ok((v, 1)),
    }
}

fn duration_at_most(item: &str, d: Duration) -> Result<(), FaultParseError> {
    if d > MAX_FAULT_DURATION {
        Err(err(format!(
            "`{item}`: the duration {} is over the limit of {}",
            fmt_duration(&d),
            fmt_duration(&MAX_FAULT_DURATION)
        )))
    } else {
        Ok(())
    }
}

impl Fault {
    /// Checks the item's counts, sizes and durations against the [limits](crate::limits).
    fn check_limits(&self) -> Result<(), FaultParseError> {
        let events =
            |name: &str, n: usize| at_most(name, "the event count", n, MAX_EVENT_COUNT, "");
        let bytes = |name: &str, n: usize| at_most(name, "the size", n, MAX_FAULT_BYTES, " bytes");
        match self {
            Fault::Http { retry_after, .. } => {
                retry_after.map_or(Ok(()), |d| duration_at_most("http", d))
            }
            Fault::FailFirst { attempts, .. } => at_most(
                "fail-first",
                "the attempt count",
                *attempts as usize,
                MAX_EVENT_COUNT,
                "",
            ),
            Fault::JsonErrorAfter { events: n, .. } => events("json-error-after", *n),
            Fault::SseErrorAfter { events: n, .. } => events("sse-error-after", *n),
            Fault::CloseAfterEvents { events: n, .. } => events("close-after-events", *n),
            Fault::CloseAfterBytes { bytes: n, .. } => bytes("close-after-bytes", *n),
            Fault::StallAfter {
                events: n,
                duration,
            } => {
                events("stall-after", *n)?;
                duration_at_most("stall-after", *duration)
            }
            Fault::Drip { interval, bytes: n } => {
                bytes("drip", *n)?;
                duration_at_most("drip", *interval)
            }
            Fault::OversizedEvent { event, size } => {
                events("oversized-event", *event)?;
                bytes("oversized-event", *size)
            }
            Fault::MalformedAfter { events: n } => events("malformed-after", *n),
            Fault::SafetyAfter { events: n } => events("safety-after", *n),
            Fault::Tokens(n) => at_most("tokens", "the token count", *n, MAX_TOKENS, ""),
            Fault::HopTokens(n) => {
                at_most("hop-tokens", "the token count", *n as usize, MAX_TOKENS, "")?;
                at_least_one("hop-tokens", *n)
            }
            Fault::CheckpointEvery(n) => {
                at_most(
                    "checkpoint-every",
                    "the event count",
                    *n as usize,
                    MAX_EVENT_COUNT,
                    "",
                )?;
                at_least_one("checkpoint-every", *n)
            }
            Fault::Drop { hop, times, .. } => {
                at_most("drop", "the hop", *hop as usize, MAX_EVENT_COUNT, "")?;
                at_least_one("drop", *hop)?;
                at_most(
                    "drop",
                    "the attempt count",
                    *times as usize,
                    MAX_EVENT_COUNT,
                    "",
                )
            }
            Fault::ResumeError { times, .. } => at_most(
                "resume-error",
                "the attempt count",
                *times as usize,
                MAX_EVENT_COUNT,
                "",
            ),
            Fault::Framing(_) | Fault::ByteWrites | Fault::BlockPrompt { .. } => Ok(()),
        }
    }
}

/// Parses `10ms`, `5s`, `1.5s`, `2m`, `250us`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, FaultParseError> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
        .ok_or_else(|| err(format!("invalid duration `{s}`")))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "us" => n / 1_000_000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => {
            return Err(err(format!(
                "invalid duration unit in `{s}` (use us, ms, s or m)"
            )));
        }
    };
    // Durations past the limit are refused by `check_limits`; past `Duration::MAX` they cannot
    // even be held.
    Duration::try_from_secs_f64(secs).map_err(|_| {
        err(format!(
            "the duration `{s}` is over the limit of {}",
            fmt_duration(&MAX_FAULT_DURATION)
        ))
    })
}

/// Parses `1000`, `300KiB`, `8MiB`, `2KB`, `1MB`.
fn parse_size(s: &str) -> Result<usize, FaultParseError> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        err(format!(
            "invalid size `{s}` (at most {MAX_FAULT_BYTES} bytes)"
        ))
    })?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1024,
        "kb" => 1000,
        "mib" => 1024 * 1024,
        "mb" => 1_000_000,
        _ => {
            return Err(err(format!(
                "invalid size unit in `{s}` (use B, KB, KiB, MB or MiB)"
            )));
        }
    };
    n.checked_mul(mult)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            err(format!(
                "the size `{s}` is over the limit of {MAX_FAULT_BYTES} bytes"
            ))
        })
}

fn parse_num<T: FromStr>(s: &str, what: &str) -> Result<T, FaultParseError> {
    s.trim().parse().map_err(|_| {
        err(format!(
            "invalid {what} `{s}` (a whole number, at most {MAX_EVENT_COUNT} for counts)"
        ))
    })
}

fn parse_status(s: &str) -> Result<u16, FaultParseError> {
    let code: u16 = parse_num(s, "HTTP status")?;
    if (400..600).contains(&code) {
        Ok(code)
    } else {
        Err(err(format!("HTTP status {code} is not an error status")))
    }
}

/// `N[:CODE]`
fn count_and_status(v: &str, default: u16) -> Result<(usize, u16), FaultParseError> {
    match v.split_once(':') {
        Some((n, code)) => Ok((parse_num(n, "count")?, parse_status(code)?)),
        None => Ok((parse_num(v, "count")?, default)),
    }
}

/// `N[,reset]`
fn count_and_reset(v: &str) -> Result<(usize, bool), FaultParseError> {
    match v.split_once(',') {
        Some((n, "reset")) => Ok((parse_num(n, "count")?, true)),
        Some((n, "clean")) => Ok((parse_num(n, "count")?, false)),
        Some((_, other)) => Err(err(format!(
            "unknown close mode `{other}` (use reset or clean)"
        ))),
        None => Ok((parse_num(v, "count")?, false)),
    }
}

impl FromStr for Fault {
    type Err = FaultParseError;

    fn from_str(item: &str) -> Result<Self, Self::Err> {
        let item = item.trim();
        let fault = Fault::parse_item(item).map_err(|e| {
            if e.0.starts_with("unknown fault") {
                e
            } else {
                err(format!("in `{item}`: {e}"))
            }
        })?;
        fault.check_limits()?;
        Ok(fault)
    }
}

impl Fault {
    fn parse_item(item: &str) -> Result<Self, FaultParseError> {
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (item, None),
        };
        fn need<'a>(name: &str, v: Option<&'a str>) -> Result<&'a str, FaultParseError> {
            v.ok_or_else(|| err(format!("`{name}` needs a value")))
        }
        Ok(match name {
            "http" => {
                let v = need(name, value)?;
                let (code, delay) = match v.split_once(':') {
                    Some((c, d)) => (parse_status(c)?, Some(parse_duration(d)?)),
                    None => (parse_status(v)?, None),
                };
                Fault::Http {
                    status: code,
                    retry_after: delay,
                }
            }
            "fail-first" => {
                let (n, status) = count_and_status(need(name, value)?, 503)?;
                at_most(name, "the attempt count", n, MAX_EVENT_COUNT, "")?;
                Fault::FailFirst {
                    attempts: u32::try_from(n).unwrap_or(u32::MAX),
                    status,
                }
            }
            "json-error-after" => {
                let (events, status) = count_and_status(need(name, value)?, 500)?;
                Fault::JsonErrorAfter { events, status }
            }
            "sse-error-after" => {
                let (events, status) = count_and_status(need(name, value)?, 500)?;
                Fault::SseErrorAfter { events, status }
            }
            "close-after-events" => {
                let (events, reset) = count_and_reset(need(name, value)?)?;
                Fault::CloseAfterEvents { events, reset }
            }
            "close-after-bytes" => {
                let (bytes, reset) = count_and_reset(need(name, value)?)?;
                Fault::CloseAfterBytes { bytes, reset }
            }
            "stall-after" => {
                let v = need(name, value)?;
                let (n, d) = v
                    .split_once(':')
                    .ok_or_else(|| err("`stall-after` needs N:DURATION"))?;
                Fault::StallAfter {
                    events: parse_num(n, "count")?,
                    duration: parse_duration(d)?,
                }
            }
            "drip" => {
                let v = need(name, value)?;
                let (interval, bytes) = match v.split_once(':') {
                    Some((d, b)) => (parse_duration(d)?, parse_size(b)?.max(1)),
                    None => (parse_duration(v)?, 1),
                };
                Fault::Drip { interval, bytes }
            }
            "oversized-event" => {
                let v = need(name, value)?;
                let (n, size) = v
                    .split_once(':')
                    .ok_or_else(|| err("`oversized-event` needs N:SIZE"))?;
                Fault::OversizedEvent {
                    event: parse_num(n, "event index")?,
                    size: parse_size(size)?,
                }
            }
            "malformed-after" => Fault::MalformedAfter {
                events: parse_num(need(name, value)?, "count")?,
            },
            "framing" => Fault::Framing(match need(name, value)? {
                "lf" => Framing::Lf,
                "cr" => Framing::Cr,
                "crlf" => Framing::CrLf,
                other => {
                    return Err(err(format!(
                        "unknown framing `{other}` (use lf, cr or crlf)"
                    )));
                }
            }),
            "byte-writes" => Fault::ByteWrites,
            "block-prompt" => Fault::BlockPrompt {
                reason: value.unwrap_or("SAFETY").to_ascii_uppercase(),
            },
            "safety-after" => Fault::SafetyAfter {
                events: parse_num(need(name, value)?, "count")?,
            },
            "tokens" => Fault::Tokens(parse_num(need(name, value)?, "token count")?),
            "hop-tokens" => Fault::HopTokens(parse_num(need(name, value)?, "token count")?),
            "checkpoint-every" => {
                Fault::CheckpointEvery(parse_num(need(name, value)?, "event count")?)
            }
            "drop" => {
                let (v, times) = with_times(need(name, value)?)?;
                let (point, hop) = match v.split_once('@') {
                    Some((p, h)) => (p, parse_num(h, "hop")?),
                    None => (v, 1),
                };
                let at = match point {
                    "prefill" => DropPoint::Prefill,
                    "before-checkpoint" => DropPoint::BeforeCheckpoint,
                    "after-checkpoint" => DropPoint::AfterCheckpoint,
                    "between-checkpoints" => DropPoint::BetweenCheckpoints,
                    other => {
                        return Err(err(format!(
                            "unknown drop point `{other}` (use prefill, before-checkpoint, after-checkpoint or between-checkpoints)"
                        )));
                    }
                };
                Fault::Drop { at, hop, times }
            }
            "resume-error" => {
                let (v, times) = with_times(need(name, value)?)?;
                Fault::ResumeError {
                    status: parse_status(v)?,
                    times,
                }
            }
            other => return Err(err(format!("unknown fault `{other}`"))),
        })
    }
}

impl FromStr for FaultSpec {
    type Err = FaultParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let faults = s
            .split(';')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(Fault::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        let spec = FaultSpec { faults };
        spec.check_limits()?;
        Ok(spec)
    }
}

fn fmt_duration(d: &Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms.fract() == 0.0 && !(ms as u64).is_multiple_of(1000) {
        format!("{}ms", ms as u64)
    } else if ms.fract() == 0.0 {
        format!("{}s", ms as u64 / 1000)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reset = |r: &bool| if *r { ",reset" } else { "" };
        match self {
            Fault::Http {
                status,
                retry_after: None,
            } => write!(f, "http={status}"),
            Fault::Http {
                status,
                retry_after: Some(d),
            } => write!(f, "http={status}:{}", fmt_duration(d)),
            Fault::FailFirst { attempts, status } => write!(f, "fail-first={attempts}:{status}"),
            Fault::JsonErrorAfter { events, status } => {
                write!(f, "json-error-after={events}:{status}")
            }
            Fault::SseErrorAfter { events, status } => {
                write!(f, "sse-error-after={events}:{status}")
            }
            Fault::CloseAfterEvents { events, reset: r } => {
                write!(f, "close-after-events={events}{}", reset(r))
            }
            Fault::CloseAfterBytes { bytes, reset: r } => {
                write!(f, "close-after-bytes={bytes}{}", reset(r))
            }
            Fault::StallAfter { events, duration } => {
                write!(f, "stall-after={events}:{}", fmt_duration(duration))
            }
            Fault::Drip { interval, bytes } => write!(f, "drip={}:{bytes}", fmt_duration(interval)),
            Fault::OversizedEvent { event, size } => write!(f, "oversized-event={event}:{size}"),
            Fault::MalformedAfter { events } => write!(f, "malformed-after={events}"),
            Fault::Framing(Framing::CrLf) => f.write_str("framing=crlf"),
            Fault::Framing(Framing::Lf) => f.write_str("framing=lf"),
            Fault::Framing(Framing::Cr) => f.write_str("framing=cr"),
            Fault::ByteWrites => f.write_str("byte-writes"),
            Fault::BlockPrompt { reason } => write!(f, "block-prompt={reason}"),
            Fault::SafetyAfter { events } => write!(f, "safety-after={events}"),
            Fault::Tokens(n) => write!(f, "tokens={n}"),
            Fault::HopTokens(n) => write!(f, "hop-tokens={n}"),
            Fault::CheckpointEvery(n) => write!(f, "checkpoint-every={n}"),
            Fault::Drop { at, hop, times } => write!(f, "drop={}@{hop}x{times}", at.name()),
            Fault::ResumeError { status, times } => write!(f, "resume-error={status}x{times}"),
        }
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, fault) in self.faults.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{fault}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_item_and_round_trips() {
        let text = "http=429:26s;fail-first=2:500;json-error-after=3:500;sse-error-after=1:503;\
                    close-after-events=2,reset;close-after-bytes=100;stall-after=2:5s;drip=10ms:4;\
                    oversized-event=2:8388608;malformed-after=1;framing=lf;byte-writes;block-prompt=OTHER;\
                    safety-after=2;tokens=40;hop-tokens=100;checkpoint-every=3;\
                    drop=between-checkpoints@2x3;resume-error=503x2";
        let spec: FaultSpec = text.parse().unwrap();
        assert_eq!(spec.faults().len(), 19);
        assert_eq!(spec.to_string(), text);
        assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
    }

    #[test]
    fn units() {
        assert_eq!(parse_size("8MiB").unwrap(), 8 << 20);
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        let f: Fault = "oversized-event=0:300KiB".parse().unwrap();
        assert_eq!(
            f,
            Fault::OversizedEvent {
                event: 0,
                size: 300 * 1024
            }
        );
    }

    #[test]
    fn rejects_nonsense() {
        assert!("http=200".parse::<FaultSpec>().is_err());
        assert!("explode".parse::<FaultSpec>().is_err());
        assert!("stall-after=2".parse::<FaultSpec>().is_err());
        assert!("framing=crcr".parse::<FaultSpec>().is_err());
        assert!("hop-tokens=0".parse::<FaultSpec>().is_err());
        assert!("drop=somewhere".parse::<FaultSpec>().is_err());
        assert!("drop=prefill@0".parse::<FaultSpec>().is_err());
        assert_eq!(
            "drop=prefill".parse::<Fault>().unwrap(),
            Fault::Drop {
                at: DropPoint::Prefill,
                hop: 1,
                times: 1
            }
        );
    }
}
