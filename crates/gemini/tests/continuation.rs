//! Long answers over several requests and streams resumed from checkpoints, against the
//! emulator's hop caps, checkpoints and drops, on tokio, smol, async-std and blocking: the text is
//! the uncapped answer, exactly once; what was taken back is announced; a give-up carries the
//! token, and resuming from it by hand completes the answer.

mod common;

use common::{KEY, expected_text, fast_retries, on_every_runtime};
use gemini::types::{ContinuationToken, FinishReason};
use gemini::{Client, ErrorKind, StreamEvent};
use gemini_emulator::{Emulator, EmulatorConfig};

const PROMPT: &str = "Tell me the whole history of lighthouses.";
/// About 400 tokens, in requests of at most 100, a checkpoint every 3 events.
const LONG: &str = "gemini-2.5-flash@tokens=400;hop-tokens=100;checkpoint-every=3";

fn emulator() -> Emulator {
    Emulator::start_blocking(EmulatorConfig::default()).unwrap()
}

fn client(emulator: &Emulator) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

/// The answer the same request gets in one piece: no cap, no checkpoints.
fn uncapped(emulator: &Emulator) -> String {
    expected_text(emulator, "gemini-2.5-flash@tokens=400", PROMPT)
}

/// What a stream showed: appended chunk by chunk, erased on rollbacks.
#[derive(Debug, Default)]
struct Screen {
    text: String,
    discarded: Vec<String>,
    error: Option<gemini::Error>,
    finish: Option<FinishReason>,
    hops: u32,
    reconnects: u32,
    total_tokens: Option<u32>,
}

async fn watch(client: &Client, model: &str) -> Screen {
    let mut screen = Screen::default();
    let mut stream = match client.models().generate_content_stream(model, PROMPT).await {
        Ok(stream) => stream,
        Err(error) => {
            screen.error = Some(error);
            return screen;
        }
    };
    while let Some(event) = stream.next_event().await {
        match event {
            Ok(StreamEvent::Chunk(chunk)) => {
                assert_ne!(chunk.finish_reason(), Some(&FinishReason::Continuation));
                screen.text.push_str(&chunk.text().unwrap_or_default());
            }
            Ok(StreamEvent::Discarded(taken_back)) => {
                assert!(screen.text.ends_with(&taken_back.text), "{taken_back:?}");
                screen
                    .text
                    .truncate(screen.text.len() - taken_back.text.len());
                screen.discarded.push(taken_back.text);
            }
            Ok(_) => {}
            Err(error) => screen.error = Some(error),
        }
    }
    screen.finish = stream.snapshot().finish_reason().cloned();
    screen.hops = stream.hops();
    screen.reconnects = stream.reconnects();
    screen.total_tokens = stream.usage().and_then(|u| u.total_token_count);
    // The aggregate is what the screen shows.
    if screen.error.is_none() {
        assert_eq!(stream.snapshot().text().unwrap_or_default(), screen.text);
    }
    screen
}

/// The cases: the model (with its directives and faults), and whether output is taken back.
const CASES: &[(&str, &str, bool)] = &[
    ("hops", "", false),
    (
        "a drop right after a checkpoint",
        ";drop=after-checkpoint",
        false,
    ),
    (
        "a drop between checkpoints",
        ";drop=between-checkpoints",
        true,
    ),
    ("a drop before any event", ";drop=prefill", false),
    (
        "a drop before the checkpoint of the third request",
        ";drop=before-checkpoint@3",
        true,
    ),
    (
        "a drop between checkpoints of the second request",
        ";drop=between-checkpoints@2",
        true,
    ),
    (
        "a resume answered with an error",
        ";drop=between-checkpoints;resume-error=503",
        true,
    ),
];

#[test]
fn long_answers_and_drops_on_every_async_runtime() {
    on_every_runtime(|runtime| async move {
        let emulator = emulator();
        let client = client(&emulator);
        let whole = uncapped(&emulator);
        assert!(whole.len() > 1000, "{whole}");
        for (name, faults, takes_back) in CASES {
            emulator.clear_requests();
            let screen = watch(&client, &format!("{LONG}{faults}")).await;
            let what = format!("{runtime}, {name}: {screen:?}");
            assert!(screen.error.is_none(), "{what}");
            assert_eq!(screen.text, whole, "{what}");
            assert_eq!(screen.finish, Some(FinishReason::Stop), "{what}");
            assert!(screen.hops >= 3, "{what}");
            assert_eq!(!screen.discarded.is_empty(), *takes_back, "{what}");
            // Every hop after the first was asked for with a token.
            let with_token = emulator
                .requests()
                .iter()
                .filter(|r| r.json.as_ref().unwrap()["continuationToken"].is_string())
                .count() as u32;
            assert!(with_token >= screen.hops - 1, "{what}");
        }
    });
}

#[test]
fn usage_adds_up_over_the_requests() {
    let emulator = emulator();
    let client = client(&emulator);
    smol::block_on(async {
        let screen = watch(&client, LONG).await;
        // Each request reports its own prompt and output; the call's usage is their sum.
        let requests = screen.hops;
        let answer = client
            .models()
            .count_tokens("gemini-2.5-flash", PROMPT)
            .await
            .unwrap();
        let prompt = answer.total_tokens.unwrap();
        let unary = client
            .models()
            .generate_content(LONG, PROMPT)
            .await
            .unwrap();
        let usage = unary.usage().unwrap();
        assert_eq!(usage.prompt_token_count, Some(prompt * requests));
        assert_eq!(unary.text().unwrap(), uncapped(&emulator));
        assert_eq!(screen.total_tokens, usage.total_token_count);
    });
}

#[test]
fn unary_calls_follow_the_tokens_too() {
    let emulator = emulator();
    let client = common::blocking_client(&emulator);
    let answer = client
        .models()
        .generate_content(LONG, PROMPT)
        .send()
        .unwrap();
    assert_eq!(answer.text().unwrap(), uncapped(&emulator));
    assert_eq!(answer.finish_reason(), Some(&FinishReason::Stop));
    assert!(emulator.requests().len() >= 3);
}

#[test]
fn blocking_streams_resume_too() {
    let emulator = emulator();
    let client = common::blocking_client(&emulator);
    let whole = uncapped(&emulator);
    for (name, faults, takes_back) in CASES {
        let mut stream = client
            .models()
            .generate_content_stream(format!("{LONG}{faults}"), PROMPT)
            .send()
            .unwrap();
        let mut text = String::new();
        let mut discarded = 0;
        while let Some(event) = stream.next_event() {
            match event.unwrap() {
                StreamEvent::Chunk(chunk) => text.push_str(&chunk.text().unwrap_or_default()),
                StreamEvent::Discarded(taken_back) => {
                    text.truncate(text.len() - taken_back.text.len());
                    discarded += 1;
                }
                _ => {}
            }
        }
        assert_eq!(text, whole, "{name}");
        assert_eq!(discarded > 0, *takes_back, "{name}");
    }
}

#[test]
fn confirmed_only_never_takes_anything_back() {
    let emulator = emulator();
    let client = client(&emulator);
    let whole = uncapped(&emulator);
    smol::block_on(async {
        let mut stream = client
            .models()
            .generate_content_stream(format!("{LONG};drop=between-checkpoints@2"), PROMPT)
            .confirmed_only(true)
            .await
            .unwrap();
        let mut text = String::new();
        while let Some(event) = stream.next_event().await {
            match event.unwrap() {
                StreamEvent::Chunk(chunk) => text.push_str(&chunk.text().unwrap_or_default()),
                other => panic!("nothing is taken back: {other:?}"),
            }
        }
        assert_eq!(text, whole);
        assert_eq!(stream.reconnects(), 1);
    });
}

/// The second request breaks after its first event, before any new checkpoint, five times:
/// after three reconnects without progress the call gives up.
const GIVES_UP: &str = ";drop=before-checkpoint@2x5";

#[test]
fn giving_up_returns_the_token_and_resuming_by_hand_completes_the_answer() {
    on_every_runtime(|runtime| async move {
        let emulator = emulator();
        let client = client(&emulator);
        let whole = uncapped(&emulator);
        let model = format!("{LONG}{GIVES_UP}");
        let screen = watch(&client, &model).await;
        let error = screen.error.expect("gave up");
        assert_eq!(error.kind(), ErrorKind::Connection, "{runtime}");
        assert_eq!(
            error.reconnects(),
            3,
            "{runtime}: three reconnects, then the fourth failure gives up"
        );
        let token = error.continuation_token().expect("a token").clone();
        let line = error.to_string();
        assert!(line.contains("reconnects"), "{line}");
        assert!(line.contains("resumable"), "{line}");
        // The partial answer ends exactly at the token: resuming from it by hand completes it.
        let partial = error.partial_response().unwrap().text().unwrap();
        assert!(whole.starts_with(&*partial), "{runtime}");
        let rest = client
            .models()
            .generate_content_stream(&model, PROMPT)
            .continuation_token(token.clone())
            .await
            .unwrap()
            .final_response()
            .await
            .unwrap();
        assert_eq!(
            format!("{partial}{}", rest.text().unwrap()),
            whole,
            "{runtime}"
        );

        // A token the service did not make is refused with its 400.
        let mut bytes = token.as_bytes().to_vec();
        bytes[8] ^= 0x55;
        let refused = client
            .models()
            .generate_content(LONG, PROMPT)
            .continuation_token(ContinuationToken::new(bytes))
            .await
            .unwrap_err();
        assert_eq!(refused.http_status().map(|s| s.as_u16()), Some(400));
        assert!(
            refused.to_string().contains("continuation token"),
            "{refused}"
        );
    });
}

#[test]
fn giving_up_and_resuming_blocking() {
    let emulator = emulator();
    let client = common::blocking_client(&emulator);
    let whole = uncapped(&emulator);
    let model = format!("{LONG}{GIVES_UP}");
    let error = client
        .models()
        .generate_content_stream(&model, PROMPT)
        .send()
        .unwrap()
        .final_response()
        .unwrap_err();
    let token = error.continuation_token().expect("a token").clone();
    let partial = error.partial_response().unwrap().text().unwrap();
    let rest = client
        .models()
        .generate_content_stream(&model, PROMPT)
        .continuation_token(token)
        .send()
        .unwrap()
        .final_response()
        .unwrap();
    assert_eq!(format!("{partial}{}", rest.text().unwrap()), whole);
}

#[test]
fn with_continuation_off_the_token_reaches_the_caller() {
    let emulator = emulator();
    let client = Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .automatic_continuation(false)
        .build()
        .unwrap();
    let whole = uncapped(&emulator);
    smol::block_on(async {
        let mut text = String::new();
        let mut token = None;
        loop {
            let mut request = client.models().generate_content_stream(LONG, PROMPT);
            if let Some(token) = token.take() {
                request = request.continuation_token(token);
            }
            let answer = request.await.unwrap().final_response().await.unwrap();
            text.push_str(&answer.text().unwrap_or_default());
            match answer.finish_reason() {
                Some(FinishReason::Continuation) => {
                    token = answer.candidates[0].continuation_token.clone();
                    assert!(token.is_some());
                }
                other => {
                    assert_eq!(other, Some(&FinishReason::Stop));
                    break;
                }
            }
        }
        assert_eq!(text, whole);
    });
}

#[test]
fn a_chat_records_a_continued_answer_as_one_turn() {
    let emulator = emulator();
    let client = client(&emulator);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut chat = client
            .chats()
            .create(format!("{LONG};drop=between-checkpoints@2"));
        let mut stream = chat.send_message_stream(PROMPT).await.unwrap();
        let mut discarded = 0;
        while let Some(event) = stream.next_event().await {
            if let StreamEvent::Discarded(_) = event.unwrap() {
                discarded += 1;
            }
        }
        assert_eq!(discarded, 1);
        let history = chat.history();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].text().unwrap(), uncapped(&emulator));
        assert_eq!(history[1].parts.len(), 1, "one merged model turn");
    });
}

#[test]
fn a_whole_call_deadline_stops_it_whatever_hop_it_is_in() {
    let emulator = Emulator::start_blocking(
        EmulatorConfig::default()
            .pace(gemini_emulator::Pace::new(std::time::Duration::ZERO, 400.0)),
    )
    .unwrap();
    let client = client(&emulator);
    smol::block_on(async {
        let started = std::time::Instant::now();
        let error = client
            .models()
            .generate_content_stream(LONG, PROMPT)
            .deadline(std::time::Duration::from_millis(300))
            .await
            .unwrap()
            .final_response()
            .await
            .unwrap_err();
        assert!(error.is_timeout(), "{error}");
        assert!(error.to_string().contains("deadline"), "{error}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert!(error.partial_response().is_some());
    });
}
