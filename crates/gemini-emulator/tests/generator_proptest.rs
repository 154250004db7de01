//! Property: whatever response schema, directive and fault spec a request carries, the emulator
//! answers (a response head, then whatever body the faults make) or refuses with 400
//! `INVALID_ARGUMENT`, within a time and a memory bound, and nothing panics. Values are drawn
//! from the small and valid, the edges of the limits, and the absurd (a billion items, 9e18,
//! 1e300, sizes that overflow, durations of years).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{KEY, user};
use gemini_emulator::{Emulator, EmulatorConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One case, request to end of response, may take this long (a debug build on a busy machine).
const CASE_BUDGET: Duration = Duration::from_secs(30);
/// No answer these strategies can ask for is anywhere near this big.
const MAX_RESPONSE_BYTES: usize = 96 << 20;
/// Peak memory of the whole test process.
const MAX_PEAK_RSS_KIB: u64 = 3 << 20;

static PANICKED: AtomicBool = AtomicBool::new(false);
/// Answers by status class: 200, 400, other (asked-for) errors.
static ANSWERED: [AtomicUsize; 3] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];

/// A number as a schema limit may be written: small, at an edge, absurd, or as a string.
fn limit() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0u64..6).prop_map(Value::from),
        1 => (0i64..200_000).prop_map(Value::from),
        1 => prop::sample::select(vec![
            json!(1_000_000_000u64),
            json!("1000000000"),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(-9e18),
            json!(9e18),
            json!(1e300),
            json!(-1e300),
            json!(0.5),
            json!(-3),
            json!("12"),
            json!("not a number"),
            json!(100_000),
            json!(1_000_001),
        ]),
    ]
}

fn leaf_schema() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "STRING", "INTEGER", "NUMBER", "BOOLEAN", "string", "integer", "null", "ENUM?",
        ]),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "minLength",
                    "maxLength",
                    "minimum",
                    "maximum",
                    "format",
                    "enum",
                    "const",
                ]),
                limit(),
            ),
            0..3,
        ),
    )
        .prop_map(|(ty, members)| {
            let mut schema = json!({ "type": ty });
            for (key, value) in members {
                let value = match key {
                    "format" => json!("date-time"),
                    "enum" => json!(["a", value]),
                    _ => value,
                };
                schema[key] = value;
            }
            schema
        })
}

fn schema() -> impl Strategy<Value = Value> {
    leaf_schema().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (inner.clone(), limit(), prop::option::of(limit())).prop_map(|(items, min, max)| {
                let mut s = json!({"type": "ARRAY", "items": items, "minItems": min});
                if let Some(max) = max {
                    s["maxItems"] = max;
                }
                s
            }),
            prop::collection::btree_map("[a-d]", inner.clone(), 0..4).prop_map(|props| {
                let order: Vec<&String> = props.keys().rev().collect();
                json!({"type": "OBJECT", "properties": props, "propertyOrdering": order})
            }),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|alts| json!({ "anyOf": alts })),
            (
                inner,
                prop::sample::select(vec!["#", "#/properties/a", "#/nowhere"])
            )
                .prop_map(
                    |(s, r)| json!({"type": "OBJECT", "properties": {"a": s, "b": {"$ref": r}}})
                ),
        ]
    })
}

/// Mostly a small valid value, sometimes one of the `absurd` ones (past the limits).
fn mostly(
    valid: impl Strategy<Value = String> + 'static,
    absurd: &[&'static str],
) -> BoxedStrategy<String> {
    prop_oneof![
        4 => valid,
        1 => prop::sample::select(absurd.to_vec()).prop_map(str::to_owned),
    ]
    .boxed()
}

/// A count for a fault.
fn amount() -> BoxedStrategy<String> {
    mostly(
        (0u32..4).prop_map(|n| n.to_string()),
        &[
            "1000001",
            "4294967297",
            "18446744073709551616",
            "99999999999999999999999",
        ],
    )
}

/// A size for a fault.
fn size() -> BoxedStrategy<String> {
    mostly(
        (0u32..65_536).prop_map(|n| n.to_string()),
        &["100000MiB", "17592186044416MiB", "2048MiB", "1KiB"],
    )
}

/// A duration for a fault.
fn duration() -> BoxedStrategy<String> {
    mostly(
        (0u32..3).prop_map(|n| format!("{n}ms")),
        &["11m", "99999999999999999999999s", "1e30s", "0.5us"],
    )
}

fn fault_item() -> impl Strategy<Value = String> {
    prop_oneof![
        (400u16..600).prop_map(|c| format!("http={c}")),
        (amount(), 400u16..600).prop_map(|(n, c)| format!("fail-first={n}:{c}")),
        amount().prop_map(|n| format!("json-error-after={n}")),
        amount().prop_map(|n| format!("sse-error-after={n}")),
        amount().prop_map(|n| format!("close-after-events={n},reset")),
        size().prop_map(|n| format!("close-after-bytes={n}")),
        (amount(), duration()).prop_map(|(n, d)| format!("stall-after={n}:{d}")),
        (duration(), size()).prop_map(|(d, b)| format!("drip={d}:{b}")),
        (amount(), size()).prop_map(|(n, s)| format!("oversized-event={n}:{s}")),
        amount().prop_map(|n| format!("malformed-after={n}")),
        amount().prop_map(|n| format!("safety-after={n}")),
        Just("block-prompt=OTHER".to_owned()),
        Just("framing=lf".to_owned()),
        mostly(
            (0u32..2_000).prop_map(|n| n.to_string()),
            &["1000000000000", "100001"]
        )
        .prop_map(|n| format!("tokens={n}")),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    path: &'static str,
    fault: String,
    body: String,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec![
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            "/v1beta/models/gemini-2.5-flash:generateContent",
        ]),
        prop::collection::vec(fault_item(), 0..4),
        prop::option::of(schema()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(path, faults, schema, json_schema, tools)| {
            let mut body = json!({"contents": [user("Tell me about the weather in Paris")]});
            if let Some(schema) = schema {
                let key = if json_schema { "responseJsonSchema" } else { "responseSchema" };
                body["generationConfig"] = json!({"responseMimeType": "application/json", key: schema.clone()});
                if tools {
                    body["tools"] = json!([{"functionDeclarations": [
                        {"name": "get_weather", "description": "The weather for a city", "parameters": schema}
                    ]}]);
                }
            }
            Case {
                path,
                fault: faults.join(";"),
                body: body.to_string(),
            }
        })
}

/// Sends the case and reads the response, counting its bytes without keeping them all.
async fn run(addr: std::net::SocketAddr, case: &Case) -> Result<(u16, Vec<u8>, usize), String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-goog-api-key: {KEY}\r\n\
         x-emulator-fault: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
        case.path,
        case.fault,
        case.body.len(),
        case.body
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut total = 0;
    let mut buf = vec![0; 1 << 16];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                total += n;
                if head.len() < 1 << 16 {
                    head.extend_from_slice(&buf[..n]);
                }
                if total > MAX_RESPONSE_BYTES {
                    return Err(format!("the response passed {MAX_RESPONSE_BYTES} bytes"));
                }
            }
        }
    }
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(|| format!("no response head in {:?}", String::from_utf8_lossy(&head)))?;
    let status = std::str::from_utf8(&head[..line_end])
        .ok()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let body_start = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(head.len(), |p| p + 4);
    Ok((status, head[body_start..].to_vec(), total))
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn any_schema_directive_or_fault_gets_a_response_or_a_400() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.store(true, Ordering::SeqCst);
        default_hook(info);
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emulator = runtime
        .block_on(Emulator::start(
            EmulatorConfig::default().record_requests(false),
        ))
        .unwrap();
    let addr = emulator.addr();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |case| {
        let outcome =
            runtime.block_on(async { tokio::time::timeout(CASE_BUDGET, run(addr, &case)).await });
        let (status, body, _) = outcome
            .map_err(|_| TestCaseError::fail(format!("no complete answer within {CASE_BUDGET:?}")))?
            .map_err(TestCaseError::fail)?;
        prop_assert!(!PANICKED.load(Ordering::SeqCst), "the emulator panicked");
        let class = match status {
            200 => 0,
            400 => 1,
            _ => 2,
        };
        ANSWERED[class].fetch_add(1, Ordering::Relaxed);
        if status != 200 {
            // Every refusal is a Google error body; a limit is 400 INVALID_ARGUMENT.
            let api = gemini_proto::error::ApiError::from_slice(&body).ok_or_else(|| {
                TestCaseError::fail(format!(
                    "status {status} without an error body: {:?}",
                    String::from_utf8_lossy(&body)
                ))
            })?;
            prop_assert_eq!(api.code(), i32::from(status));
            let asked = case.fault.contains("http=") || case.fault.contains("fail-first=");
            prop_assert!(status == 400 || asked, "status {} for {:?}", status, case);
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    // The strategies reach both sides of the limits.
    let [ok, refused, other] = ANSWERED.each_ref().map(|a| a.load(Ordering::Relaxed));
    eprintln!("answers: {ok} × 200, {refused} × 400, {other} × other asked-for errors");
    assert!(ok > 0 && refused > 0, "{ok} answered, {refused} refused");
    // Still serving, and the process stayed within its memory bound.
    let (status, _, _) = runtime
        .block_on(run(
            addr,
            &Case {
                path: "/v1beta/models/gemini-2.5-flash:generateContent",
                fault: String::new(),
                body: json!({"contents": [user("Still there?")]}).to_string(),
            },
        ))
        .unwrap();
    assert_eq!(status, 200);
    if let Some(peak) = peak_rss_kib() {
        assert!(peak < MAX_PEAK_RSS_KIB, "peak RSS {peak} KiB");
    }
    drop(emulator);
}
