//! Every endpoint of the facade against the emulator, on tokio, smol, async-std and blocking.

mod common;

use common::{KEY, MODEL, blocking_client, client, emulator, expected_text, on_every_runtime};
use gemini::types::{Content, GenerationConfig, Part, TaskType};

const PROMPT: &str = "Why is the sky blue?";

#[test]
fn every_endpoint_on_every_async_runtime() {
    on_every_runtime(|runtime| async move {
        let emulator = emulator();
        let client = client(&emulator);
        let expected = expected_text(&emulator, MODEL, PROMPT);
        assert!(
            expected.len() > 100,
            "{runtime}: a real answer: {expected:?}"
        );

        // Unary.
        let answer = client
            .models()
            .generate_content(MODEL, PROMPT)
            .await
            .unwrap();
        assert_eq!(
            answer.text().as_deref(),
            Some(expected.as_str()),
            "{runtime}"
        );

        // Streamed: several chunks whose texts add up to the unary answer.
        let mut stream = client
            .models()
            .generate_content_stream(MODEL, PROMPT)
            .await
            .unwrap();
        let mut text = String::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            text.push_str(&chunk.unwrap().text().unwrap_or_default());
            chunks += 1;
        }
        assert!(chunks > 1, "{runtime}: {chunks} chunks");
        assert_eq!(text, expected, "{runtime}");
        assert_eq!(stream.snapshot().text().as_deref(), Some(expected.as_str()));
        assert!(stream.usage().unwrap().total_token_count.unwrap() > 0);
        assert_eq!(stream.attempts(), 1);
        assert!(stream.is_finished());

        // Count tokens: the emulator's count for the prompt agrees with usageMetadata.
        let count = client.models().count_tokens(MODEL, PROMPT).await.unwrap();
        assert_eq!(
            count.total_tokens,
            answer.usage().unwrap().prompt_token_count,
            "{runtime}"
        );

        // Embeddings, single and batch.
        let one = client
            .models()
            .embed_content("text-embedding-004", "hello")
            .task_type(TaskType::RetrievalQuery)
            .output_dimensionality(16)
            .await
            .unwrap();
        assert_eq!(one.embedding.unwrap().values.len(), 16, "{runtime}");
        let batch = client
            .models()
            .batch_embed_contents("text-embedding-004", ["a", "b", "c"])
            .await
            .unwrap();
        assert_eq!(batch.embeddings.len(), 3, "{runtime}");

        // Models: get one, list all pages.
        let model = client.models().get(MODEL).await.unwrap();
        assert_eq!(model.name, format!("models/{MODEL}"));
        let mut list = client.models().list().page_size(2);
        let mut names = vec![];
        while let Some(model) = list.next().await {
            names.push(model.unwrap().name);
        }
        let catalogue: Vec<String> = gemini_emulator::model_ids()
            .map(|id| format!("models/{id}"))
            .collect();
        assert_eq!(names, catalogue, "{runtime}: every page, in order");
        let pages = emulator
            .requests()
            .iter()
            .filter(|r| r.path == "/v1beta/models")
            .count();
        assert_eq!(pages, catalogue.len().div_ceil(2), "{runtime}");

        // Every request carried the key in its header, never in the URL.
        for request in emulator.requests() {
            assert_eq!(request.header("x-goog-api-key"), Some(KEY));
            assert!(!request.query.unwrap_or_default().contains(KEY));
        }
    });
}

#[test]
fn every_endpoint_blocking() {
    let emulator = emulator();
    let client = blocking_client(&emulator);
    let expected = expected_text(&emulator, MODEL, PROMPT);

    let answer = client
        .models()
        .generate_content(MODEL, PROMPT)
        .send()
        .unwrap();
    assert_eq!(answer.text().as_deref(), Some(expected.as_str()));

    let stream = client
        .models()
        .generate_content_stream(MODEL, PROMPT)
        .send()
        .unwrap();
    let texts: Vec<String> = stream
        .map(|chunk| chunk.unwrap().text().unwrap_or_default().into_owned())
        .collect();
    assert!(texts.len() > 1);
    assert_eq!(texts.concat(), expected);

    let mut stream = client
        .models()
        .generate_content_stream(MODEL, PROMPT)
        .send()
        .unwrap();
    let text: String = stream.text().map(Result::unwrap).collect();
    assert_eq!(text, expected);
    assert_eq!(stream.snapshot().text().as_deref(), Some(expected.as_str()));

    let count = client.models().count_tokens(MODEL, PROMPT).send().unwrap();
    assert_eq!(
        count.total_tokens,
        answer.usage().unwrap().prompt_token_count
    );
    let one = client
        .models()
        .embed_content("text-embedding-004", "hello")
        .output_dimensionality(8)
        .send()
        .unwrap();
    assert_eq!(one.embedding.unwrap().values.len(), 8);
    let batch = client
        .models()
        .batch_embed_contents("text-embedding-004", ["a", "b"])
        .send()
        .unwrap();
    assert_eq!(batch.embeddings.len(), 2);
    assert_eq!(
        client.models().get(MODEL).send().unwrap().name,
        format!("models/{MODEL}")
    );
    let names: Vec<String> = client
        .models()
        .list()
        .page_size(3)
        .map(|m| m.unwrap().name)
        .collect();
    assert_eq!(names.len(), gemini_emulator::model_ids().count());
}

#[test]
fn requests_carry_what_the_builders_set() {
    let emulator = emulator();
    let client = client(&emulator);
    smol::block_on(async {
        let answer = client
            .models()
            .generate_content(
                MODEL,
                vec![
                    Part::from_uri("gs://bucket/cat.png", "image/png"),
                    Part::inline_data("image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xE0]),
                    Part::text("What is in these pictures?"),
                ],
            )
            .temperature(0.3)
            .top_p(0.9)
            .top_k(20)
            .max_output_tokens(64)
            .stop_sequences(["THE END"])
            .seed(7)
            .system_instruction("Answer like a pirate.")
            .await
            .unwrap();
        // The emulator acknowledges what it was given.
        let text = answer.text().unwrap();
        assert!(text.contains("gs://bucket/cat.png"), "{text}");
        assert!(text.contains("image/jpeg"), "{text}");
    });
    let request = emulator.requests().pop().unwrap();
    let json = request.json.clone().unwrap();
    let config = &json["generationConfig"];
    assert_eq!(config["temperature"], 0.3);
    assert_eq!(config["topK"], 20);
    assert_eq!(config["maxOutputTokens"], 64);
    assert_eq!(config["stopSequences"][0], "THE END");
    assert_eq!(config["seed"], 7);
    assert_eq!(
        json["systemInstruction"]["parts"][0]["text"],
        "Answer like a pirate."
    );
    let parts = json["contents"][0]["parts"].as_array().unwrap();
    assert_eq!(json["contents"][0]["role"], "user");
    assert_eq!(parts[0]["fileData"]["fileUri"], "gs://bucket/cat.png");
    assert_eq!(parts[1]["inlineData"]["data"], "/9j/4A==");
    assert_eq!(parts[2]["text"], "What is in these pictures?");
    assert!(
        request
            .header("x-goog-api-client")
            .unwrap()
            .starts_with("gemini-rs/")
    );
}

#[test]
fn contents_accept_prompts_parts_contents_and_conversations() {
    let emulator = emulator();
    let client = client(&emulator);
    let models = client.models();
    smol::block_on(async {
        models.generate_content(MODEL, "a &str").await.unwrap();
        models
            .generate_content(MODEL, String::from("a String"))
            .await
            .unwrap();
        models
            .generate_content(MODEL, Part::text("one part"))
            .await
            .unwrap();
        models
            .generate_content(MODEL, Content::user("a content"))
            .await
            .unwrap();
        models
            .generate_content(
                MODEL,
                vec![
                    Content::user("My name is Ada."),
                    Content::model("Hello Ada!"),
                    Content::user("What is my name?"),
                ],
            )
            .config(GenerationConfig::default().with_temperature(0.1))
            .await
            .unwrap();
    });
    let contents: Vec<serde_json::Value> = emulator
        .requests()
        .into_iter()
        .map(|r| r.json.unwrap()["contents"].clone())
        .collect();
    assert_eq!(contents[0][0]["parts"][0]["text"], "a &str");
    assert_eq!(contents[1][0]["parts"][0]["text"], "a String");
    assert_eq!(contents[2][0]["parts"][0]["text"], "one part");
    assert_eq!(contents[3][0]["role"], "user");
    assert_eq!(contents[4].as_array().unwrap().len(), 3);
    assert_eq!(contents[4][1]["role"], "model");
}

#[test]
fn a_stream_can_be_moved_into_a_spawned_task() {
    let emulator = emulator();
    let client = client(&emulator);
    let expected = expected_text(&emulator, MODEL, PROMPT);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let text = runtime.block_on(async move {
        let stream = client
            .models()
            .generate_content_stream(MODEL, PROMPT)
            .await
            .unwrap();
        tokio::spawn(async move {
            let mut text = stream.text_stream();
            let mut all = String::new();
            while let Some(piece) = text.next().await {
                all.push_str(&piece.unwrap());
            }
            all
        })
        .await
        .unwrap()
    });
    assert_eq!(text, expected);
}

#[test]
fn the_stream_implements_futures_stream() {
    use futures_lite::StreamExt;
    let emulator = emulator();
    let client = client(&emulator);
    let expected = expected_text(&emulator, MODEL, PROMPT);
    smol::block_on(async {
        let stream = client
            .models()
            .generate_content_stream(MODEL, PROMPT)
            .await
            .unwrap();
        let texts: Vec<String> = stream
            .map(|chunk| chunk.unwrap().text().unwrap_or_default().into_owned())
            .collect()
            .await;
        assert_eq!(texts.concat(), expected);
        let answer = client
            .models()
            .generate_content_stream(MODEL, PROMPT)
            .await
            .unwrap()
            .final_response()
            .await
            .unwrap();
        assert_eq!(answer.text().as_deref(), Some(expected.as_str()));
        // Not sending until polled: into_stream gives the stream at once.
        let lazy = client
            .models()
            .generate_content_stream(MODEL, PROMPT)
            .into_stream()
            .unwrap();
        let texts: Vec<String> = lazy
            .map(|chunk| chunk.unwrap().text().unwrap_or_default().into_owned())
            .collect()
            .await;
        assert_eq!(texts.concat(), expected);
    });
}

#[test]
fn streams_over_tls() {
    // The path production takes: TLS with HTTP/2 negotiated by ALPN, trusting the emulator's own
    // CA (the transport's tests check which protocol each side negotiates).
    let emulator = gemini_emulator::Emulator::start_blocking(
        gemini_emulator::EmulatorConfig::default().tls(true),
    )
    .unwrap();
    assert!(emulator.base_url().starts_with("https://"));
    let ca = emulator.tls_ca_pem().unwrap().to_owned();
    // The answers are a function of the request: a plain-HTTP emulator gives the same one.
    let expected = expected_text(&common::emulator(), MODEL, PROMPT);
    on_every_runtime(|runtime| {
        let ca = ca.clone();
        let base = emulator.base_url();
        let expected = expected.clone();
        async move {
            let client = gemini::Client::builder()
                .api_key(KEY)
                .base_url(base)
                .add_root_certificates_pem(ca)
                .build()
                .unwrap();
            let answer = client
                .models()
                .generate_content_stream(MODEL, PROMPT)
                .await
                .unwrap()
                .final_response()
                .await
                .unwrap();
            assert_eq!(answer.text().unwrap(), expected, "{runtime}");
        }
    });
    assert_eq!(emulator.requests().len(), 4, "one request per runtime");
    // Without the CA the certificate is refused, as a connect error (not retried in vain).
    let client = gemini::Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .retry_policy(gemini::RetryPolicy::disabled())
        .build()
        .unwrap();
    let error = smol::block_on(client.models().generate_content(MODEL, PROMPT).send()).unwrap_err();
    assert_eq!(error.kind(), gemini::ErrorKind::Connect, "{error}");
}

#[test]
fn a_stream_without_aggregation_hands_out_every_chunk_and_keeps_only_metadata() {
    let emulator = emulator();
    let expected = expected_text(&emulator, MODEL, PROMPT);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = client(&emulator);
    runtime.block_on(async {
        let mut stream = client
            .models()
            .generate_content_stream(MODEL, PROMPT)
            .aggregate(false)
            .await
            .unwrap();
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(&chunk.unwrap().text().unwrap_or_default());
        }
        assert_eq!(text, expected);
        let snapshot = stream.snapshot();
        assert!(snapshot.parts().is_empty());
        assert!(snapshot.finish_reason().is_some());
        assert!(
            snapshot
                .usage()
                .is_some_and(|u| u.total_token_count.is_some())
        );
    });
    // The same from blocking code.
    let client = blocking_client(&emulator);
    let mut stream = client
        .models()
        .generate_content_stream(MODEL, PROMPT)
        .aggregate(false)
        .send()
        .unwrap();
    let text: String = (&mut stream)
        .map(|chunk| chunk.unwrap().text().unwrap_or_default().into_owned())
        .collect();
    assert_eq!(text, expected);
    assert!(stream.snapshot().parts().is_empty());
    assert!(stream.snapshot().finish_reason().is_some());
}
