//! Function calling in AUTO mode (the default) behaves like the real model: when the user's last
//! turn asks for something a declared function provides (its name, or the words of its name or
//! of its description), the answer is a call of that function; otherwise it is text.

mod common;

use common::*;
use gemini_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

fn tools() -> Value {
    json!([{"functionDeclarations": [
        {"name": "get_weather", "description": "Get the current weather for a city",
         "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}},
        {"name": "getLocalTime", "description": "Returns the local time in a timezone",
         "parameters": {"type": "OBJECT", "properties": {"timezone": {"type": "STRING"}}}},
        {"name": "fx", "description": "Converts an amount of money between currencies",
         "parameters": {"type": "OBJECT", "properties": {"amount": {"type": "NUMBER"}}}}
    ]}])
}

/// The name of the function the answer calls, or `None` for a text answer.
async fn answer(emu: &Emulator, prompt: &str) -> Option<String> {
    let body = json!({"contents": [user(prompt)], "tools": tools()});
    let r = post(emu.addr(), UNARY, &body.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let part = &r.json()["candidates"][0]["content"]["parts"][0];
    match part.get("functionCall") {
        Some(call) => {
            assert!(call["args"].is_object());
            Some(call["name"].as_str().unwrap().to_owned())
        }
        None => {
            assert!(part["text"].is_string(), "{part}");
            None
        }
    }
}

#[tokio::test]
async fn auto_mode_calls_the_function_the_user_asks_for() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    for (prompt, expected) in [
        // The name, as written or in words.
        ("Use get_weather for Paris please", Some("get_weather")),
        ("Please get weather for Oslo", Some("get_weather")),
        ("call getLocalTime", Some("getLocalTime")),
        // What the name provides, without the generic verb.
        ("What's the weather like in Paris?", Some("get_weather")),
        ("What is the local time in Tokyo?", Some("getLocalTime")),
        // The words of the description.
        (
            "Convert 20 euros to dollars, how much money is that?",
            Some("fx"),
        ),
        (
            "What are the currencies used between France and Japan?",
            Some("fx"),
        ),
        // Nothing a function provides: text.
        ("Tell me a joke about cats", None),
        ("Hello!", None),
        ("Write a poem about the sea", None),
    ] {
        assert_eq!(answer(&emu, prompt).await.as_deref(), expected, "{prompt}");
    }
}

#[tokio::test]
async fn none_mode_and_function_responses_still_give_text() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let body = json!({"contents": [user("What's the weather like in Paris?")], "tools": tools(),
                      "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}});
    let r = post(emu.addr(), UNARY, &body.to_string()).await;
    assert!(r.json()["candidates"][0]["content"]["parts"][0]["text"].is_string());
    let body = json!({"contents": [
        user("What's the weather like in Paris?"),
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}]}
    ], "tools": tools()});
    let r = post(emu.addr(), UNARY, &body.to_string()).await;
    let text = r.json()["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.starts_with("The function get_weather returned"),
        "{text}"
    );
}
