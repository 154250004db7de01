//! Chats against the emulator: the history gains exactly one merged model turn per completed
//! exchange, in order; failed, dropped and refused exchanges leave it exactly as it was.

mod common;

use common::{MODEL, blocking_client, client, emulator};
use gemini::ErrorKind;
use gemini::types::{Content, GenerationConfig, Part, Role, ThinkingConfig};
use gemini_emulator::FaultSpec;
use serde_json::Value;

fn fault(spec: &str) -> Option<FaultSpec> {
    Some(spec.parse().unwrap())
}

/// The `contents` of the last request the emulator received.
fn last_contents(emulator: &gemini_emulator::Emulator) -> Vec<Value> {
    let request = emulator.requests().pop().unwrap();
    request.json.unwrap()["contents"]
        .as_array()
        .unwrap()
        .clone()
}

fn texts(contents: &[Value]) -> Vec<(String, String)> {
    contents
        .iter()
        .map(|c| {
            let text: String = c["parts"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect();
            (c["role"].as_str().unwrap().to_owned(), text)
        })
        .collect()
}

#[test]
fn two_turns_the_second_refers_to_the_first() {
    let emulator = emulator();
    let client = client(&emulator);
    smol::block_on(async {
        let mut chat = client
            .chats()
            .create(MODEL)
            .with_system_instruction("You are brief.");
        let first = chat.send_message("I have two dogs.").await.unwrap();
        let mut stream = chat
            .send_message_stream("How many paws are in my house?")
            .await
            .unwrap();
        let mut chunks = 0;
        let mut streamed = String::new();
        while let Some(chunk) = stream.next().await {
            streamed.push_str(&chunk.unwrap().text().unwrap_or_default());
            chunks += 1;
        }
        assert!(chunks > 1);
        assert!(stream.is_recorded());

        // The second request carried the first exchange and the system instruction.
        let sent = texts(&last_contents(&emulator));
        assert_eq!(
            sent,
            vec![
                ("user".to_owned(), "I have two dogs.".to_owned()),
                ("model".to_owned(), first.text().unwrap().into_owned()),
                (
                    "user".to_owned(),
                    "How many paws are in my house?".to_owned()
                ),
            ]
        );
        let request = emulator.requests().pop().unwrap().json.unwrap();
        assert_eq!(
            request["systemInstruction"]["parts"][0]["text"],
            "You are brief."
        );

        // The history: four contents, one merged model turn per exchange.
        let history = chat.history();
        assert_eq!(history.len(), 4);
        assert_eq!(history[0], Content::user("I have two dogs."));
        assert_eq!(history[1].role, Some(Role::Model));
        assert_eq!(history[3].role, Some(Role::Model));
        assert_eq!(
            history[3].parts.len(),
            1,
            "{chunks} chunks, one merged part"
        );
        assert_eq!(history[3].text().unwrap(), streamed);
        // The emulator numbers the turns it sees.
        assert!(streamed.contains("turn 2"), "{streamed}");
    });
}

#[test]
fn a_failed_or_dropped_turn_leaves_the_history_as_it_was() {
    let emulator = emulator();
    let client = client(&emulator);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut chat = client.chats().create(MODEL);
        chat.send_message("First.").await.unwrap();
        let before = chat.history();
        assert_eq!(before.len(), 2);

        // A stream that breaks after two chunks.
        emulator.set_fault(fault("close-after-events=2"));
        let mut stream = chat.send_message_stream("Second.").await.unwrap();
        let mut failure = None;
        while let Some(chunk) = stream.next().await {
            if let Err(error) = chunk {
                failure = Some(error);
            }
        }
        assert_eq!(failure.unwrap().kind(), ErrorKind::Connection);
        assert!(!stream.is_recorded());
        assert_eq!(chat.history(), before);

        // The chat can send again at once, without dropping the failed stream first.
        emulator.set_fault(None);
        chat.send_message("Third.").await.unwrap();
        assert_eq!(chat.history().len(), 4);
        assert_eq!(chat.history()[2], Content::user("Third."));
        // …and the failed stream can no longer be recorded on top of it.
        let refused = stream.commit_partial().unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::InvalidRequest);
        assert_eq!(chat.history().len(), 4);

        // A stream dropped in the middle.
        let before = chat.history();
        emulator.set_fault(fault("drip=20ms:40"));
        let mut stream = chat.send_message_stream("Fourth.").await.unwrap();
        stream.next().await.unwrap().unwrap();
        drop(stream);
        emulator.set_fault(None);
        assert_eq!(chat.history(), before);

        // A unary message refused by the server after every retry.
        emulator.set_fault(fault("http=503"));
        let error = chat.send_message("Fifth.").await.unwrap_err();
        assert_eq!(error.http_status().map(|s| s.as_u16()), Some(503));
        assert_eq!(error.attempts(), 3);
        emulator.set_fault(None);
        assert_eq!(chat.history(), before);

        // A failed stream kept on purpose.
        emulator.set_fault(fault("close-after-events=2"));
        let mut stream = chat.send_message_stream("Sixth.").await.unwrap();
        let mut arrived = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            arrived.push_str(&chunk.text().unwrap_or_default());
        }
        emulator.set_fault(None);
        let kept = stream.commit_partial().unwrap();
        assert_eq!(kept.text().unwrap(), arrived);
        let history = chat.history();
        assert_eq!(history.len(), before.len() + 2);
        assert_eq!(history[history.len() - 2], Content::user("Sixth."));
        assert_eq!(history[history.len() - 1].text().unwrap(), arrived);
    });
}

#[test]
fn one_message_at_a_time() {
    let emulator = emulator();
    let client = client(&emulator);
    smol::block_on(async {
        let mut chat = client.chats().create(MODEL);
        let mut stream = chat.send_message_stream("One.").await.unwrap();
        let busy = chat.send_message("Two.").await.unwrap_err();
        assert_eq!(busy.kind(), ErrorKind::InvalidRequest);
        assert!(busy.to_string().contains("turn in flight"), "{busy}");
        // Reading the stream to its end records it and frees the chat.
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
        chat.send_message("Two.").await.unwrap();
        let history = chat.history();
        assert_eq!(history.len(), 4);
        assert_eq!(history[0], Content::user("One."));
        assert_eq!(history[2], Content::user("Two."));
    });
}

#[test]
fn a_blocked_prompt_is_not_sent_back() {
    let emulator = emulator();
    let client = client(&emulator);
    smol::block_on(async {
        let mut chat = client.chats().create(MODEL);
        chat.send_message("Hello.").await.unwrap();
        emulator.set_fault(fault("block-prompt"));
        let blocked = chat.send_message("Something unsafe.").await.unwrap();
        assert!(blocked.block_reason().is_some());
        emulator.set_fault(None);
        chat.send_message("Something else.").await.unwrap();
        let roles: Vec<String> = last_contents(&emulator)
            .iter()
            .map(|c| c["role"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(roles, ["user", "model", "user"]);
        // The full history still records what happened.
        assert_eq!(chat.history().len(), 6);
    });
}

#[test]
fn thought_signatures_go_back_byte_for_byte() {
    let emulator = emulator();
    let client = client(&emulator);
    smol::block_on(async {
        let mut chat = client.chats().create("gemini-3-pro-preview").with_config(
            GenerationConfig::default()
                .with_thinking_config(ThinkingConfig::default().with_include_thoughts(true)),
        );
        let mut stream = chat.send_message_stream("Think first.").await.unwrap();
        let mut signatures = vec![];
        while let Some(chunk) = stream.next().await {
            for part in chunk.unwrap().parts() {
                if let Some(signature) = &part.thought_signature {
                    signatures.push(signature.clone());
                }
            }
        }
        assert!(!signatures.is_empty(), "the emulator signs its answers");
        chat.send_message("And now?").await.unwrap();
        let model_turn = &last_contents(&emulator)[1];
        let sent: Vec<&str> = model_turn["parts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["thoughtSignature"].as_str())
            .collect();
        use base64::Engine as _;
        let expected: Vec<String> = signatures
            .iter()
            .map(|s| base64::engine::general_purpose::STANDARD.encode(s))
            .collect();
        assert_eq!(sent, expected);
        // Thought summaries stay out of what is sent.
        assert!(
            model_turn["parts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["thought"] != Value::Bool(true) || p.get("thoughtSignature").is_some())
        );
        // …but are in the full history.
        assert!(chat.history()[1].thought_text().is_some());
    });
}

#[test]
fn a_chat_stream_runs_in_a_spawned_task() {
    let emulator = emulator();
    let client = client(&emulator);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut chat = client.chats().create(MODEL);
        let stream = chat.send_message_stream("Spawned.").await.unwrap();
        let text = tokio::spawn(async move { stream.final_response().await.unwrap() })
            .await
            .unwrap()
            .text()
            .unwrap()
            .into_owned();
        let history = chat.history();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].text().unwrap(), text);
    });
}

#[test]
fn a_blocking_chat() {
    let emulator = emulator();
    let client = blocking_client(&emulator);
    let mut chat = client.chats().create(MODEL);
    let first = chat.send_message("I have two dogs.").send().unwrap();
    let streamed: String = chat
        .send_message_stream(Part::text("How many paws?"))
        .send()
        .unwrap()
        .map(|chunk| chunk.unwrap().text().unwrap_or_default().into_owned())
        .collect();
    let history = chat.history();
    assert_eq!(history.len(), 4);
    assert_eq!(history[1].text(), first.text());
    assert_eq!(history[3].text().unwrap(), streamed);

    emulator.set_fault(fault("close-after-events=1"));
    let failed: Vec<_> = chat.send_message_stream("Third?").send().unwrap().collect();
    assert!(failed.last().unwrap().is_err());
    assert_eq!(chat.history().len(), 4);
}
