//! `Chat` and `Turn`: the history changes only on commit of a completed turn (or a deliberate partial
//! commit); the curated history leaves out unsigned thoughts and keeps signed parts byte for byte; a
//! turn's request is the template plus the curated history plus the user's content.

use gemini_proto::StreamFormat;
use gemini_proto::chat::Chat;
use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::types::{
    Content, FunctionDeclaration, GenerateContentRequest, GenerateContentResponse,
    GenerationConfig, Part, Role, Tool,
};
use serde_json::{Value, json};

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/real-captures/"
);

fn chunk(value: Value) -> GenerateContentResponse {
    serde_json::from_value(value).unwrap()
}

fn text_chunk(text: &str, finish: bool) -> GenerateContentResponse {
    let mut candidate = json!({"content": {"parts": [{"text": text}], "role": "model"}});
    if finish {
        candidate["finishReason"] = json!("STOP");
    }
    chunk(json!({"candidates": [candidate]}))
}

fn template() -> GenerateContentRequest {
    let mut template = GenerateContentRequest::new([Content::user("ignored template content")])
        .with_system_instruction("Be brief.")
        .with_tool(Tool::functions([FunctionDeclaration::new(
            "get_weather",
            "Weather in a city",
        )]))
        .with_generation_config(GenerationConfig::default().with_temperature(0.5));
    template.cached_content = Some("cachedContents/abc".to_owned());
    template
}

/// A chat with one committed exchange.
fn chat_with_one_exchange() -> Chat {
    let mut chat = Chat::new(template());
    let mut turn = chat.start_turn(Content::user("Hi")).unwrap();
    turn.push_chunk(&text_chunk("Hello", false));
    turn.push_chunk(&text_chunk(" there", true));
    turn.complete();
    chat.commit(turn).unwrap();
    chat
}

#[test]
fn completed_turn_commits_user_and_model() {
    let mut chat = Chat::new(template());
    assert!(chat.history().is_empty());
    let mut turn = chat.start_turn(Content::user("Hi")).unwrap();
    turn.push_chunk(&text_chunk("Hel", false));
    turn.push_chunk(&text_chunk("lo", true));
    assert_eq!(turn.response().text().as_deref(), Some("Hello"));
    assert!(!turn.is_completed());
    turn.complete();
    assert!(turn.is_completed());
    let response = chat.commit(turn).unwrap();
    assert_eq!(response.text().as_deref(), Some("Hello"));

    let history = chat.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0], Content::user("Hi"));
    assert_eq!(history[1].role, Some(Role::Model));
    assert_eq!(history[1].parts, vec![Part::text("Hello")]);
}

#[test]
fn uncompleted_turn_cannot_commit_and_leaves_history_unchanged() {
    let mut chat = chat_with_one_exchange();
    let before = chat.history().to_vec();
    let mut turn = chat.start_turn(Content::user("Next?")).unwrap();
    turn.push_chunk(&text_chunk("Half an ans", false));
    let refused = chat.commit(turn).unwrap_err();
    assert_eq!(refused.to_string(), "the turn's stream has not completed");
    // The turn comes back intact: what arrived can still be kept on purpose.
    let turn = refused.into_turn();
    assert_eq!(turn.response().text().as_deref(), Some("Half an ans"));
    chat.abandon(turn);
    assert_eq!(chat.history(), &before[..]);
    assert!(!chat.has_turn_in_flight());
}

#[test]
fn refused_commit_can_still_commit_partial() {
    let mut chat = chat_with_one_exchange();
    let mut turn = chat.start_turn(Content::user("Next?")).unwrap();
    turn.push_chunk(&text_chunk("Half an ans", false));
    let turn = chat.commit(turn).unwrap_err().into_turn();
    let response = chat.commit_partial(turn).unwrap();
    assert_eq!(response.text().as_deref(), Some("Half an ans"));
    let history = chat.history();
    assert_eq!(history.len(), 4);
    assert_eq!(history[2], Content::user("Next?"));
    assert_eq!(history[3].parts, vec![Part::text("Half an ans")]);
}

#[test]
fn dropped_turn_leaves_history_unchanged() {
    let mut chat = chat_with_one_exchange();
    let before = chat.history().to_vec();
    {
        let mut turn = chat.start_turn(Content::user("Next?")).unwrap();
        turn.push_chunk(&text_chunk("ignored", true));
        turn.complete();
        // Dropped without commit.
    }
    assert_eq!(chat.history(), &before[..]);
    assert_eq!(chat.curated_history(), before);
}

#[test]
fn commit_partial_keeps_what_arrived() {
    let mut chat = chat_with_one_exchange();
    let mut turn = chat.start_turn(Content::user("Tell me more")).unwrap();
    turn.push_chunk(&text_chunk("Once upon", false));
    turn.push_chunk(&text_chunk(" a time", false));
    let response = chat.commit_partial(turn).unwrap();
    assert_eq!(response.text().as_deref(), Some("Once upon a time"));
    assert_eq!(response.finish_reason(), None);
    let history = chat.history();
    assert_eq!(history.len(), 4);
    assert_eq!(history[2], Content::user("Tell me more"));
    assert_eq!(history[3], Content::model("Once upon a time"));
}

#[test]
fn model_role_is_set_even_when_chunks_have_none() {
    let mut chat = Chat::default();
    let mut turn = chat.start_turn(Content::new("no role given")).unwrap();
    assert_eq!(turn.user().role, Some(Role::User));
    turn.push_chunk(&chunk(
        json!({"candidates": [{"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}]}),
    ));
    turn.complete();
    chat.commit(turn).unwrap();
    assert_eq!(chat.history()[0].role, Some(Role::User));
    assert_eq!(chat.history()[1].role, Some(Role::Model));
}

#[test]
fn turn_request_is_template_plus_curated_history_plus_user() {
    let mut chat = chat_with_one_exchange();
    let turn = chat.start_turn(Content::user("And the weather?")).unwrap();
    let request = turn.request();
    let expected_template = template();
    assert_eq!(
        request.contents,
        vec![
            Content::user("Hi"),
            Content::model("Hello there"),
            Content::user("And the weather?"),
        ]
    );
    assert_eq!(
        request.system_instruction,
        expected_template.system_instruction
    );
    assert_eq!(request.tools, expected_template.tools);
    assert_eq!(
        request.generation_config,
        expected_template.generation_config
    );
    assert_eq!(
        request.cached_content.as_deref(),
        Some("cachedContents/abc")
    );
    let wire = serde_json::to_value(request).unwrap();
    assert_eq!(wire["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(
        wire["tools"][0]["functionDeclarations"][0]["name"],
        "get_weather"
    );
    assert_eq!(wire["contents"].as_array().unwrap().len(), 3);
}

#[test]
fn template_contents_are_ignored() {
    let chat = Chat::new(template());
    assert!(chat.template().contents.is_empty());
    let mut chat = Chat::with_history(template(), vec![Content::user("a"), Content::model("b")]);
    assert!(chat.template().contents.is_empty());
    assert_eq!(chat.history().len(), 2);
    chat.set_template(GenerateContentRequest::from_prompt("also ignored"));
    assert!(chat.template().contents.is_empty());
    assert_eq!(chat.template().system_instruction, None);
    let turn = chat.start_turn(Content::user("c")).unwrap();
    assert_eq!(
        turn.request().contents,
        vec![Content::user("a"), Content::model("b"), Content::user("c")]
    );
    drop(turn);
    chat.clear();
    assert!(chat.history().is_empty());
}

#[test]
fn curated_history_drops_unsigned_thoughts_and_keeps_signed_parts() {
    let mut chat = Chat::new(GenerateContentRequest::default());
    let mut turn = chat.start_turn(Content::user("Weather in Paris?")).unwrap();
    turn.push_chunk(&chunk(
        json!({"candidates": [{"content": {"role": "model", "parts": [
            {"text": "Thinking about", "thought": true},
            {"text": " it.", "thought": true},
        ]}}]}),
    ));
    turn.push_chunk(&chunk(json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Signed thought", "thought": true, "thoughtSignature": "AQID"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "/+7dzA=="},
    ]}}]})));
    turn.push_chunk(&chunk(
        json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Calling."},
        {"text": "", "thoughtSignature": "AA=="},
    ]}, "finishReason": "STOP"}]}),
    ));
    turn.complete();
    chat.commit(turn).unwrap();

    // The full history keeps everything (the unsigned thoughts merged into one part).
    let full = &chat.history()[1];
    assert_eq!(
        serde_json::to_value(full).unwrap(),
        json!({"role": "model", "parts": [
            {"text": "Thinking about it.", "thought": true},
            {"text": "Signed thought", "thought": true, "thoughtSignature": "AQID"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "/+7dzA=="},
            {"text": "Calling."},
            {"text": "", "thoughtSignature": "AA=="},
        ]})
    );

    let curated = chat.curated_history();
    assert_eq!(curated.len(), 2);
    assert_eq!(curated[0], Content::user("Weather in Paris?"));
    let model = &curated[1];
    assert_eq!(model.role, Some(Role::Model));
    assert_eq!(model.parts.len(), 4);
    assert_eq!(model.parts[0].as_text(), Some("Signed thought"));
    assert_eq!(
        model.parts[0].thought_signature.as_deref(),
        Some(&[1u8, 2, 3][..])
    );
    assert_eq!(
        model.parts[1].thought_signature.as_deref(),
        Some(&[0xFFu8, 0xEE, 0xDD, 0xCC][..])
    );
    assert_eq!(
        model.parts[1].as_function_call().unwrap().name,
        "get_weather"
    );
    assert_eq!(model.parts[2].as_text(), Some("Calling."));
    assert_eq!(model.parts[3].as_text(), Some(""));
    assert_eq!(
        model.parts[3].thought_signature.as_deref(),
        Some(&[0u8][..])
    );

    // What is sent back: the same base64 as on the wire.
    let turn = chat
        .start_turn(Content::user(Part::function_response(
            "get_weather",
            json!({"temp": 21}),
        )))
        .unwrap();
    let wire = serde_json::to_value(turn.request()).unwrap();
    assert_eq!(wire["contents"][1]["parts"][0]["thoughtSignature"], "AQID");
    assert_eq!(
        wire["contents"][1]["parts"][1]["thoughtSignature"],
        "/+7dzA=="
    );
    assert_eq!(wire["contents"][1]["parts"][3]["thoughtSignature"], "AA==");
    assert_eq!(
        wire["contents"][2]["parts"][0]["functionResponse"]["name"],
        "get_weather"
    );
    assert!(!wire.to_string().contains("Thinking about"));
}

#[test]
fn exchange_answered_by_only_unsigned_thoughts_is_left_out_of_the_curated_history() {
    let chat = Chat::with_history(
        GenerateContentRequest::default(),
        vec![
            Content::user("q"),
            Content::model(Part::text("just thinking").with_thought(true)),
        ],
    );
    assert_eq!(chat.history().len(), 2);
    // The exchange failed: leaving out only the answer would send two user turns in a row.
    assert!(chat.curated_history().is_empty());
}

#[test]
fn user_content_is_never_curated() {
    // Only model turns are filtered; a user turn is sent as it is.
    let user = Content::user(Part::text("user text marked thought").with_thought(true));
    let chat = Chat::with_history(GenerateContentRequest::default(), vec![user.clone()]);
    assert_eq!(chat.curated_history(), vec![user]);
}

#[test]
fn capture_turn_through_the_decoder_keeps_the_signature() {
    let file = "stream-thought-gemini-3-pro-preview-mirascope-01.sse";
    let body = std::fs::read(format!("{CAPTURES}stream-sse/{file}")).unwrap();
    // Independent expectations from the raw events.
    let events: Vec<Value> = std::str::from_utf8(&body)
        .unwrap()
        .split("\r\n\r\n")
        .filter(|e| !e.is_empty())
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    let parts: Vec<Value> = events
        .iter()
        .flat_map(|e| {
            e["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let answer: String = parts
        .iter()
        .filter(|p| p["thought"] != json!(true))
        .filter_map(|p| p["text"].as_str())
        .collect();
    let signatures: Vec<&str> = parts
        .iter()
        .filter_map(|p| p["thoughtSignature"].as_str())
        .collect();
    assert!(parts.iter().any(|p| p["thought"] == json!(true)));
    assert_eq!(signatures.len(), 1);

    let mut chat = Chat::default();
    let mut turn = chat.start_turn(Content::user("question")).unwrap();
    let mut decoder = ChunkDecoder::new(StreamFormat::Sse);
    decoder.push(&body);
    decoder.finish();
    while let Some(item) = decoder.next_chunk() {
        turn.push_chunk(&item.unwrap());
    }
    turn.complete();
    let response = chat.commit(turn).unwrap();
    assert_eq!(response.text().as_deref(), Some(answer.as_str()));

    let curated = chat.curated_history();
    let model = serde_json::to_value(&curated[1]).unwrap();
    let sent: Vec<&Value> = model["parts"].as_array().unwrap().iter().collect();
    assert!(sent.iter().all(|p| p["thought"] != json!(true)));
    let sent_sigs: Vec<&str> = sent
        .iter()
        .filter_map(|p| p["thoughtSignature"].as_str())
        .collect();
    assert_eq!(sent_sigs, signatures);
    let sent_text: String = sent.iter().filter_map(|p| p["text"].as_str()).collect();
    assert_eq!(sent_text, answer);
    // The full history still has the thoughts.
    assert!(chat.history()[1].thought_text().is_some());
}

#[test]
fn one_turn_in_flight_at_a_time() {
    let mut chat = chat_with_one_exchange();
    let first = chat.start_turn(Content::user("one")).unwrap();
    let refused = chat.start_turn(Content::user("two")).unwrap_err();
    assert_eq!(refused.kind(), gemini_proto::ErrorKind::InvalidRequest);
    assert!(refused.to_string().contains("already has a turn in flight"));
    // Abandoning by id (a front end that no longer holds the turn) frees the chat too.
    chat.abandon_id(first.id());
    let mut second = chat.start_turn(Content::user("two")).unwrap();
    second.push_chunk(&text_chunk("2", true));
    second.complete();
    chat.commit(second).unwrap();
    // The abandoned turn cannot be committed afterwards.
    let mut first = first;
    first.push_chunk(&text_chunk("1", true));
    first.complete();
    let stale = chat.commit(first).unwrap_err();
    assert_eq!(stale.refusal(), gemini_proto::chat::Refusal::Stale);
    assert_eq!(chat.history().len(), 4);
    assert_eq!(chat.history()[2], Content::user("two"));
}

#[test]
fn a_turn_cannot_land_on_a_history_that_changed() {
    let mut chat = chat_with_one_exchange();
    let mut turn = chat.start_turn(Content::user("Next?")).unwrap();
    turn.push_chunk(&text_chunk("answer", true));
    turn.complete();
    chat.clear();
    let refused = chat.commit(turn).unwrap_err();
    assert_eq!(refused.refusal(), gemini_proto::chat::Refusal::Stale);
    assert_eq!(
        refused.to_string(),
        "the chat history changed since the turn started"
    );
    assert!(chat.history().is_empty());
}

#[test]
fn a_blocked_prompt_is_recorded_but_never_sent_back() {
    let mut chat = chat_with_one_exchange();
    let mut turn = chat.start_turn(Content::user("something blocked")).unwrap();
    turn.push_chunk(&chunk(json!({"promptFeedback": {"blockReason": "SAFETY"}})));
    turn.complete();
    let response = chat.commit(turn).unwrap();
    assert!(response.block_reason().is_some());
    // The full history records the exchange as it happened…
    assert_eq!(chat.history().len(), 4);
    assert_eq!(chat.history()[3].parts, Vec::<Part>::new());
    // …but the next request leaves the failed exchange out whole: no two user turns in a row.
    let next = chat.start_turn(Content::user("something else")).unwrap();
    let roles: Vec<Option<Role>> = next
        .request()
        .contents
        .iter()
        .map(|c| c.role.clone())
        .collect();
    assert_eq!(
        roles,
        vec![Some(Role::User), Some(Role::Model), Some(Role::User)]
    );
    assert_eq!(next.request().contents[0], Content::user("Hi"));
    assert_eq!(next.request().contents[2], Content::user("something else"));
}

#[test]
fn set_response_replaces_folding_chunks() {
    let mut chat = Chat::default();
    let mut turn = chat.start_turn(Content::user("q")).unwrap();
    turn.set_response(text_chunk("aggregated elsewhere", true));
    turn.complete();
    let response = chat.commit(turn).unwrap();
    assert_eq!(response.text().as_deref(), Some("aggregated elsewhere"));
    assert_eq!(chat.history()[1], Content::model("aggregated elsewhere"));
}
