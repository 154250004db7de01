//! Endpoints, wire layout and generation rules, over real loopback HTTP.

mod common;

use common::*;
use gemini_emulator::{Emulator, EmulatorConfig, KeyRule};
use gemini_proto::types::GenerateContentResponse;
use serde_json::{Value, json};

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

fn parse_events(events: &[String]) -> Vec<Value> {
    events
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect()
}

#[tokio::test]
async fn sse_stream_has_googles_layout_headers_and_usage() {
    let emu = emulator().await;
    let resp = post(emu.addr(), SSE, &gen_body("Tell me about rivers and lakes")).await;
    assert_eq!(resp.status, 200);
    assert!(resp.complete);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    assert_eq!(resp.header("content-disposition"), Some("attachment"));
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.header("server"), Some("scaffolding on HTTPServer2"));
    assert_eq!(resp.header("x-xss-protection"), Some("0"));
    assert_eq!(resp.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(resp.header_all("vary"), ["Origin", "X-Origin", "Referer"]);
    assert!(
        resp.header("server-timing")
            .unwrap()
            .starts_with("gfet4t7; dur=")
    );

    let raw = resp.sse_events();
    assert!(raw.len() >= 3, "expected several chunks, got {}", raw.len());
    for line in &raw {
        assert!(!line.contains('\n') && !line.contains('\r'));
        assert!(
            line.starts_with(r#"{"candidates": [{"content": {"parts": [{"text": "#),
            "{line}"
        );
        assert!(line.contains(r#""role": "model"},"#));
        // Re-serializing with Google's spacing gives the same bytes.
        let v: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert!(keys.contains(&"usageMetadata".to_owned()));
        // The project's own model reads every event.
        let typed: GenerateContentResponse = serde_json::from_str(line).unwrap();
        assert!(typed.usage().is_some());
    }
    let events = parse_events(&raw);
    let id = &events[0]["responseId"];
    let mut last_count = 0;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(&e["responseId"], id);
        assert_eq!(e["modelVersion"], "gemini-2.5-flash");
        let u = &e["usageMetadata"];
        let c = u["candidatesTokenCount"].as_u64().unwrap();
        assert!(c > last_count, "cumulative counts grow");
        last_count = c;
        assert_eq!(
            u["totalTokenCount"].as_u64().unwrap(),
            u["promptTokenCount"].as_u64().unwrap()
                + c
                + u["thoughtsTokenCount"].as_u64().unwrap_or(0)
        );
        let finish = e["candidates"][0].get("finishReason");
        assert_eq!(
            finish.is_some(),
            i + 1 == events.len(),
            "finishReason only on the last event"
        );
    }
    assert_eq!(
        events.last().unwrap()["candidates"][0]["finishReason"],
        "STOP"
    );
    // Chunks hold a few to tens of words.
    for e in &events[1..events.len() - 1] {
        let words = e["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count();
        assert!((2..=40).contains(&words), "{words} words");
    }
}

#[tokio::test]
async fn same_request_same_bytes_and_unary_matches_stream() {
    let emu = emulator().await;
    let body = gen_body("Describe a harbor at dawn");
    let a = post(emu.addr(), SSE, &body).await;
    let b = post(emu.addr(), SSE, &body).await;
    assert_eq!(a.body, b.body);
    let unary = post(emu.addr(), UNARY, &body).await;
    assert_eq!(unary.status, 200);
    assert_eq!(
        unary.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    assert!(
        unary
            .text()
            .starts_with("{\n  \"candidates\": [\n    {\n      \"content\": {\n")
    );
    assert!(unary.text().ends_with("}\n"));
    let u = unary.json();
    let events = parse_events(&a.sse_events());
    assert_eq!(unary_text(&u), event_text(&events));
    assert_eq!(u["usageMetadata"], events.last().unwrap()["usageMetadata"]);
    assert_eq!(u["responseId"], events[0]["responseId"]);

    // Temperature and seed vary the text, deterministically.
    let with = |t: f64, s: i64| {
        json!({"contents": [user("Describe a harbor at dawn")], "generationConfig": {"temperature": t, "seed": s}})
            .to_string()
    };
    let t1 = unary_text(&post(emu.addr(), UNARY, &with(0.2, 1)).await.json());
    let t2 = unary_text(&post(emu.addr(), UNARY, &with(1.5, 1)).await.json());
    let t3 = unary_text(&post(emu.addr(), UNARY, &with(0.2, 2)).await.json());
    let t1_again = unary_text(&post(emu.addr(), UNARY, &with(0.2, 1)).await.json());
    assert_eq!(t1, t1_again);
    assert_ne!(t1, t2);
    assert_ne!(t1, t3);
}

#[tokio::test]
async fn json_array_stream_layout() {
    let emu = emulator().await;
    let body = gen_body("Name three rivers");
    let resp = post(emu.addr(), ARRAY, &body).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    let text = resp.text();
    assert!(text.starts_with("[{\n  \"candidates\": ["), "{text}");
    assert!(text.ends_with("}\n]"));
    assert!(text.contains("}\n,\r\n{\n"));
    let array: Vec<Value> = serde_json::from_str(&text).unwrap();
    let sse = parse_events(&post(emu.addr(), SSE, &body).await.sse_events());
    assert_eq!(array, sse);
}

#[tokio::test]
async fn count_tokens_matches_usage() {
    let emu = emulator().await;
    let contents = json!([user("How many tokens, exactly, is this prompt?")]);
    let generated = post(
        emu.addr(),
        UNARY,
        &json!({"contents": contents}).to_string(),
    )
    .await
    .json();
    let count = post(
        emu.addr(),
        "/v1beta/models/gemini-2.5-flash:countTokens",
        &json!({"contents": contents}).to_string(),
    )
    .await;
    assert_eq!(count.status, 200);
    let count = count.json();
    assert_eq!(
        count["totalTokens"],
        generated["usageMetadata"]["promptTokenCount"]
    );
    assert_eq!(count["totalTokens"], 10);
    // With a whole request (system instruction included).
    let req =
        json!({"contents": contents, "systemInstruction": {"parts": [{"text": "Be terse."}]}});
    let generated = post(emu.addr(), UNARY, &req.to_string()).await.json();
    let count = post(
        emu.addr(),
        "/v1beta/models/gemini-2.5-flash:countTokens",
        &json!({"generateContentRequest": req}).to_string(),
    )
    .await
    .json();
    assert_eq!(
        count["totalTokens"],
        generated["usageMetadata"]["promptTokenCount"]
    );
    assert_eq!(count["totalTokens"], 13);
}

#[tokio::test]
async fn max_tokens_and_stop_sequences_cut_the_same_answer() {
    let emu = emulator().await;
    let base = |cfg: Value| {
        json!({"contents": [user("Write about forests")], "generationConfig": cfg}).to_string()
    };
    let full = post(emu.addr(), UNARY, &base(json!({}))).await.json();
    let full_text = unary_text(&full);
    let limited = post(emu.addr(), UNARY, &base(json!({"maxOutputTokens": 12})))
        .await
        .json();
    assert_eq!(limited["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert!(
        limited["usageMetadata"]["candidatesTokenCount"]
            .as_u64()
            .unwrap()
            <= 12
    );
    let limited_text = unary_text(&limited);
    assert!(!limited_text.is_empty() && full_text.starts_with(&limited_text));
    assert!(limited_text.len() < full_text.len());

    // Streaming, too.
    let stream = post(emu.addr(), SSE, &base(json!({"maxOutputTokens": 12}))).await;
    let events = parse_events(&stream.sse_events());
    assert_eq!(
        events.last().unwrap()["candidates"][0]["finishReason"],
        "MAX_TOKENS"
    );
    assert_eq!(event_text(&events), limited_text);

    // Stop at a word from the middle of the full answer.
    let word = full_text
        .split_whitespace()
        .nth(8)
        .unwrap()
        .trim_matches(|c: char| !c.is_alphanumeric());
    let cut = post(emu.addr(), UNARY, &base(json!({"stopSequences": [word]})))
        .await
        .json();
    assert_eq!(cut["candidates"][0]["finishReason"], "STOP");
    let cut_text = unary_text(&cut);
    assert_eq!(cut_text, full_text[..full_text.find(word).unwrap()]);
}

#[tokio::test]
async fn candidate_count_system_instruction_and_history() {
    let emu = emulator().await;
    let body = json!({
        "systemInstruction": {"parts": [{"text": "You are a pirate who loves maps"}]},
        "contents": [user("Hello there"), {"role": "model", "parts": [{"text": "Ahoy"}]}, user("Where is the treasure?")],
        "generationConfig": {"candidateCount": 2}
    });
    let v = post(emu.addr(), UNARY, &body.to_string()).await.json();
    let cands = v["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 2);
    assert_eq!(cands[0]["index"], 0);
    assert_eq!(cands[1]["index"], 1);
    assert_ne!(cands[0]["content"], cands[1]["content"]);
    let text = unary_text(&v);
    assert!(
        text.contains("You asked: \"Where is the treasure?\""),
        "{text}"
    );
    assert!(text.contains("turn 2 of our conversation"), "{text}");
    assert!(
        text.contains("\"You are a pirate who loves maps\""),
        "{text}"
    );
    // Streams carry both candidates, each ending with its finish reason.
    let events = parse_events(&post(emu.addr(), SSE, &body.to_string()).await.sse_events());
    let finishes: Vec<_> = events
        .iter()
        .flat_map(|e| e["candidates"].as_array().unwrap().clone())
        .filter(|c| c.get("finishReason").is_some())
        .map(|c| c["index"].as_u64().unwrap())
        .collect();
    assert_eq!(finishes.len(), 2);
}

#[tokio::test]
async fn json_schema_output_conforms() {
    let emu = emulator().await;
    let body = json!({
        "contents": [user("Give me a recipe")],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": {
                "type": "OBJECT",
                "properties": {
                    "name": {"type": "STRING"},
                    "servings": {"type": "INTEGER", "minimum": 1, "maximum": 8},
                    "vegan": {"type": "BOOLEAN"},
                    "steps": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 3},
                    "course": {"type": "STRING", "enum": ["starter", "main", "dessert"]}
                },
                "required": ["name", "servings"],
                "propertyOrdering": ["name", "servings", "vegan", "steps", "course"]
            }
        }
    });
    let v = post(emu.addr(), UNARY, &body.to_string()).await.json();
    let text = unary_text(&v);
    let out: Value = serde_json::from_str(&text).unwrap();
    assert!(out["name"].is_string());
    assert!((1..=8).contains(&out["servings"].as_i64().unwrap()));
    assert!(out["vegan"].is_boolean());
    assert!(out["steps"].as_array().unwrap().len() >= 3);
    assert!(["starter", "main", "dessert"].contains(&out["course"].as_str().unwrap()));
    assert!(text.find("\"name\"").unwrap() < text.find("\"servings\"").unwrap());
    // The stream concatenates to the same JSON.
    let events = parse_events(&post(emu.addr(), SSE, &body.to_string()).await.sse_events());
    assert_eq!(event_text(&events), text);

    let body = json!({
        "contents": [user("Give me a point")],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {
            "type": "object", "properties": {"x": {"type": "number"}, "tags": {"type": "array", "items": {"$ref": "#/$defs/t"}, "maxItems": 1}},
            "$defs": {"t": {"type": "string", "const": "k"}}
        }}
    });
    let out: Value = serde_json::from_str(&unary_text(
        &post(emu.addr(), UNARY, &body.to_string()).await.json(),
    ))
    .unwrap();
    assert!(out["x"].is_number());
    assert_eq!(out["tags"], json!(["k"]));
}

#[tokio::test]
async fn int64_schema_limits_may_be_strings() {
    // proto3 JSON allows int64 as strings, and the JS SDK sends schema limits that way.
    let emu = emulator().await;
    let body = json!({
        "contents": [user("List colours")],
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": {
            "type": "ARRAY", "items": {"type": "STRING", "maxLength": "4"}, "minItems": "3"
        }},
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
            "type": "OBJECT", "properties": {"s": {"type": "STRING", "min_length": "2"}}
        }}]}]
    });
    let r = post(emu.addr(), UNARY, &body.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out: Value = serde_json::from_str(&unary_text(&r.json())).unwrap();
    let items = out.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .all(|i| i.as_str().unwrap().chars().count() <= 4)
    );
    let count = post(
        emu.addr(),
        "/v1beta/models/gemini-2.5-flash:countTokens",
        &json!({"generateContentRequest": body}).to_string(),
    )
    .await;
    assert_eq!(count.status, 200, "{}", count.text());
    // Anything else that is not a number stays an error.
    let body = json!({"contents": [user("x")], "generationConfig": {"responseSchema": {"minItems": "three"}}});
    let r = post(emu.addr(), UNARY, &body.to_string()).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Invalid JSON payload received."));
}

#[tokio::test]
async fn thinking_parts_come_first_and_signature_closes() {
    let emu = emulator().await;
    let body = json!({
        "contents": [user("Plan a trip")],
        "generationConfig": {"thinkingConfig": {"includeThoughts": true}}
    });
    let events = parse_events(&post(emu.addr(), SSE, &body.to_string()).await.sse_events());
    let first = &events[0]["candidates"][0]["content"]["parts"][0];
    assert_eq!(first["thought"], true);
    assert!(first["text"].as_str().unwrap().starts_with("**"));
    assert!(
        events[0]["usageMetadata"]["thoughtsTokenCount"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        events[0]["usageMetadata"]
            .get("candidatesTokenCount")
            .is_none()
    );
    let last = events.last().unwrap();
    let part = &last["candidates"][0]["content"]["parts"][0];
    assert_eq!(part["text"], "");
    assert!(part["thoughtSignature"].as_str().unwrap().len() > 20);
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    // Once thoughts end, answer text follows and no later part is a thought.
    let seen: Vec<bool> = events
        .iter()
        .map(|e| e["candidates"][0]["content"]["parts"][0]["thought"] == true)
        .collect();
    let first_answer = seen.iter().position(|t| !t).unwrap();
    assert!(seen[first_answer..].iter().all(|t| !t));
    // The typed model sees thoughts and a signature.
    let typed: GenerateContentResponse = serde_json::from_value(last.clone()).unwrap();
    assert!(typed.parts()[0].thought_signature.is_some());

    let unary = post(emu.addr(), UNARY, &body.to_string()).await.json();
    let parts = unary["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap();
    assert_eq!(parts[0]["thought"], true);
    assert!(parts[1]["thoughtSignature"].is_string());
}

#[tokio::test]
async fn function_call_then_text_after_function_response() {
    let emu = emulator().await;
    let tools = json!([{"functionDeclarations": [{
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER"}}, "required": ["city"]}
    }]}]);
    let body = json!({"contents": [user("Use get_weather for Paris please")], "tools": tools});
    let events = parse_events(&post(emu.addr(), SSE, &body.to_string()).await.sse_events());
    let calls: Vec<_> = events
        .iter()
        .flat_map(|e| {
            e["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .clone()
        })
        .filter(|p| p.get("functionCall").is_some())
        .collect();
    assert_eq!(calls.len(), 1);
    let call = &calls[0]["functionCall"];
    assert_eq!(call["name"], "get_weather");
    assert!(call["args"]["city"].is_string());
    assert!(call["args"]["days"].is_i64());
    assert!(
        calls[0]["thoughtSignature"].is_string(),
        "2.5 models sign function calls"
    );
    assert_eq!(
        events.last().unwrap()["candidates"][0]["finishReason"],
        "STOP"
    );

    // A prompt that does not ask for the tool gets text.
    let plain = json!({"contents": [user("Tell me a joke")], "tools": tools});
    let v = post(emu.addr(), UNARY, &plain.to_string()).await.json();
    assert!(
        v["candidates"][0]["content"]["parts"][0]
            .get("functionCall")
            .is_none()
    );

    let follow = json!({"contents": [
        user("Use get_weather for Paris please"),
        {"role": "model", "parts": [calls[0].clone()]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}]}
    ], "tools": tools});
    let v = post(emu.addr(), UNARY, &follow.to_string()).await.json();
    let text = unary_text(&v);
    assert!(
        text.starts_with("The function get_weather returned {\"temp\":21}."),
        "{text}"
    );

    // mode ANY forces a call.
    let any = json!({"contents": [user("hi")], "tools": tools, "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}});
    let v = post(emu.addr(), UNARY, &any.to_string()).await.json();
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
        "get_weather"
    );
}

#[tokio::test]
async fn inline_data_and_file_uris_are_acknowledged() {
    let emu = emulator().await;
    let body = json!({"contents": [{"role": "user", "parts": [
        {"text": "What is in these?"},
        {"inlineData": {"mimeType": "image/png", "data": "aGVsbG8gd29ybGQ="}},
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}}
    ]}]});
    let v = post(emu.addr(), UNARY, &body.to_string()).await.json();
    let text = unary_text(&v);
    assert!(
        text.contains("I received inline image/png data (11 bytes)."),
        "{text}"
    );
    assert!(text.contains("I received the file https://generativelanguage.googleapis.com/v1beta/files/abc (application/pdf)."));
    let details = v["usageMetadata"]["promptTokensDetails"]
        .as_array()
        .unwrap();
    assert!(details.contains(&json!({"modality": "IMAGE", "tokenCount": 258})));
    assert!(details.contains(&json!({"modality": "DOCUMENT", "tokenCount": 258})));
}

#[tokio::test]
async fn error_bodies_match_google() {
    let emu = Emulator::start(EmulatorConfig::default().keys(KeyRule::only([KEY])))
        .await
        .unwrap();
    let addr = emu.addr();
    let body = gen_body("hi");
    let r = post(addr, "/v1beta/models/gemini-9-ultra:generateContent", &body).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        "{\n  \"error\": {\n    \"code\": 404,\n    \"message\": \"models/gemini-9-ultra is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.\",\n    \"status\": \"NOT_FOUND\"\n  }\n}\n"
    );
    // Errors of stream requests are labelled text/event-stream but are plain JSON.
    let r = post(
        addr,
        "/v1beta/models/gemini-9-ultra:streamGenerateContent?alt=sse",
        &body,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert!(
        r.text()
            .starts_with("{\n  \"error\": {\n    \"code\": 404,")
    );
    assert!(r.text().contains("not supported for streamGenerateContent"));

    let r = send(addr, "POST", UNARY, &[], &body).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["status"], "PERMISSION_DENIED");

    let r = send(addr, "POST", UNARY, &[("x-goog-api-key", "wrong")], &body).await;
    assert_eq!(r.status, 400);
    let e = r.json();
    assert_eq!(e["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        e["error"]["message"],
        "API key not valid. Please pass a valid API key."
    );
    assert_eq!(
        e["error"]["details"][0]["@type"],
        "type.googleapis.com/google.rpc.ErrorInfo"
    );
    assert_eq!(e["error"]["details"][0]["reason"], "API_KEY_INVALID");
    // The key may also come as a query parameter.
    let r = send(addr, "POST", &format!("{UNARY}?key={KEY}"), &[], &body).await;
    assert_eq!(r.status, 200);

    let r = post(addr, UNARY, r#"{"contents": [{"parts": [{"text": "x"}]}"#).await;
    assert_eq!(r.status, 400);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(msg.starts_with("Invalid JSON payload received."), "{msg}");
    assert!(msg.contains("EOF") && msg.contains("line 1"), "{msg}");
    let r = post(addr, UNARY, r#"{"contents": "nope"}"#).await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid type: string")
    );
    let r = post(addr, UNARY, "{}").await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("contents is not specified")
    );
    // Embedding models do not generate.
    let r = post(
        addr,
        "/v1beta/models/gemini-embedding-001:generateContent",
        &body,
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn models_list_paginates_and_get_works() {
    let emu = emulator().await;
    let addr = emu.addr();
    let mut names = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let path = format!("/v1beta/models?pageSize=3&pageToken={token}");
        let v = send(addr, "GET", &path, &[("x-goog-api-key", KEY)], "")
            .await
            .json();
        pages += 1;
        let models = v["models"].as_array().unwrap();
        assert!(models.len() <= 3);
        names.extend(
            models
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned()),
        );
        match v.get("nextPageToken") {
            Some(t) => token = t.as_str().unwrap().to_owned(),
            None => break,
        }
    }
    assert!(pages >= 3);
    let all = send(addr, "GET", "/v1/models", &[("x-goog-api-key", KEY)], "")
        .await
        .json();
    let all_names: Vec<_> = all["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, all_names);
    for id in [
        "gemini-2.5-flash",
        "gemini-2.5-pro",
        "gemini-2.0-flash",
        "gemini-embedding-001",
    ] {
        assert!(names.contains(&format!("models/{id}")));
    }
    let m = send(
        addr,
        "GET",
        "/v1beta/models/gemini-2.5-flash",
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await
    .json();
    assert_eq!(m["inputTokenLimit"], 1048576);
    assert_eq!(m["outputTokenLimit"], 65536);
    assert_eq!(m["thinking"], true);
    assert_eq!(m["temperature"], 1);
    assert!(
        m["supportedGenerationMethods"]
            .as_array()
            .unwrap()
            .contains(&json!("generateContent"))
    );
    let typed: gemini_proto::types::Model = serde_json::from_value(m).unwrap();
    assert!(typed.supports("generateContent"));
    let e = send(
        addr,
        "GET",
        "/v1beta/models/gemini-embedding-001",
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await
    .json();
    assert!(
        e["supportedGenerationMethods"]
            .as_array()
            .unwrap()
            .contains(&json!("embedContent"))
    );
    let r = send(
        addr,
        "GET",
        "/v1beta/models/nope-1",
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await;
    assert_eq!(r.status, 404);
    let r = send(
        addr,
        "GET",
        "/v1beta/models?pageToken=garbage",
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn embeddings() {
    let emu = emulator().await;
    let addr = emu.addr();
    let one = |text: &str, dims: Option<u32>| {
        let mut b = json!({"content": {"parts": [{"text": text}]}});
        if let Some(d) = dims {
            b["outputDimensionality"] = json!(d);
        }
        b
    };
    let r = post(
        addr,
        "/v1beta/models/gemini-embedding-001:embedContent",
        &one("hello", None).to_string(),
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let values: Vec<f64> = v["embedding"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(values.len(), 3072);
    let norm: f64 = values.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3);
    let again = post(
        addr,
        "/v1beta/models/gemini-embedding-001:embedContent",
        &one("hello", None).to_string(),
    )
    .await
    .json();
    assert_eq!(v, again);
    let batch = json!({"requests": [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 768},
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "world"}]}, "outputDimensionality": 768}
    ]});
    let b = post(
        addr,
        "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        &batch.to_string(),
    )
    .await
    .json();
    let embs = b["embeddings"].as_array().unwrap();
    assert_eq!(embs.len(), 2);
    assert_eq!(embs[0]["values"].as_array().unwrap().len(), 768);
    assert_ne!(embs[0], embs[1]);
    let r = post(
        addr,
        "/v1beta/models/gemini-2.5-flash:embedContent",
        &one("x", None).to_string(),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = post(
        addr,
        "/v1beta/models/gemini-embedding-001:embedContent",
        &one("x", Some(5000)).to_string(),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn recorded_requests_are_inspectable() {
    let emu = emulator().await;
    post(emu.addr(), SSE, &gen_body("record me")).await;
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
    assert_eq!(r.query.as_deref(), Some("alt=sse"));
    assert_eq!(r.header("X-Goog-Api-Key"), Some(KEY));
    assert_eq!(
        r.json.as_ref().unwrap()["contents"][0]["parts"][0]["text"],
        "record me"
    );
    emu.clear_requests();
    assert!(emu.requests().is_empty());
    assert_eq!(emu.stats().requests, 1);
}

#[test]
fn blocking_start_and_stop() {
    let emu = Emulator::start_blocking(EmulatorConfig::default()).unwrap();
    let addr = emu.addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(post(addr, UNARY, &gen_body("blocking")));
    assert_eq!(r.status, 200);
    emu.stop();
    // Stopped: nothing listens any more.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test]
async fn oversized_and_truncated_request_bodies_are_refused() {
    let emu = emulator().await;
    // A declared length over Google's 20 MiB limit is refused before the body is read.
    let r = post_declaring(emu.addr(), UNARY, 21 * 1024 * 1024, b"{\"contents\": [").await;
    assert_eq!(r.status, 400, "{}", r.text());
    let e = r.json();
    assert_eq!(e["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        e["error"]["message"],
        "Request payload size exceeds the limit: 20971520 bytes."
    );
    // A body that ends before its declared length is an error, not an empty request.
    let body = gen_body("cut short");
    let r = post_declaring(emu.addr(), UNARY, body.len() + 100, body.as_bytes()).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("The request body could not be read completely"),
        "{message}"
    );
    // The stream endpoint answers the same way, labelled as Google labels stream errors.
    let r = post_declaring(emu.addr(), SSE, 21 * 1024 * 1024, b"{").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
}
