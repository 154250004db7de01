//! `Api` builds the HTTP requests of the Gemini API: method, URL, headers and body of every builder;
//! `Endpoint`, `Auth` and `model_resource_name`. Expected URLs and bodies are written out by hand.

use bytes::Bytes;
use gemini_proto::endpoint::{Auth, Endpoint, model_resource_name};
use gemini_proto::request::{Api, DEFAULT_CLIENT_ID};
use gemini_proto::types::{
    BatchEmbedContentsRequest, Content, CountTokensRequest, EmbedContentRequest,
    GenerateContentRequest, TaskType,
};
use gemini_proto::{ErrorKind, StreamFormat};
use http::{Method, Request};
use serde_json::{Value, json};

const KEY: &str = "AIzaSy-test-key-0123456789";
const TOKEN: &str = "ya29.secret-oauth-token";

fn api() -> Api {
    Api::new(Endpoint::default(), Auth::api_key(KEY))
}

fn body_json(request: &Request<Bytes>) -> Value {
    serde_json::from_slice(request.body()).unwrap()
}

fn header<'a>(request: &'a Request<Bytes>, name: &str) -> Option<&'a str> {
    request.headers().get(name).map(|v| v.to_str().unwrap())
}

fn hello() -> GenerateContentRequest {
    GenerateContentRequest::from_prompt("Hello")
}

const HELLO_JSON: &str = r#"{"contents":[{"parts":[{"text":"Hello"}],"role":"user"}]}"#;

/// The checks every request of `api()` passes: key in its header and nowhere else, client id.
fn check_common(request: &Request<Bytes>) {
    assert_eq!(header(request, "x-goog-api-key"), Some(KEY));
    assert!(request.headers()["x-goog-api-key"].is_sensitive());
    assert!(!request.uri().to_string().contains(KEY));
    assert!(!request.uri().to_string().contains("key="));
    assert_eq!(header(request, "authorization"), None);
    assert_eq!(
        header(request, "x-goog-api-client"),
        Some(concat!("gemini-rs/", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn generate_content() {
    let request = api()
        .generate_content("gemini-2.5-flash", &hello())
        .unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(
        request.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(header(&request, "accept"), Some("application/json"));
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(
        body_json(&request),
        serde_json::from_str::<Value>(HELLO_JSON).unwrap()
    );
    check_common(&request);
}

#[test]
fn stream_generate_content_sse_and_json_array() {
    let request = api()
        .stream_generate_content("gemini-2.5-flash", &hello())
        .unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(
        request.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(header(&request, "accept"), Some("text/event-stream"));
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    check_common(&request);

    let same = api()
        .stream_generate_content_as("gemini-2.5-flash", &hello(), StreamFormat::Sse)
        .unwrap();
    assert_eq!(same.uri(), request.uri());
    assert_eq!(same.body(), request.body());

    let array = api()
        .stream_generate_content_as("gemini-2.5-flash", &hello(), StreamFormat::JsonArray)
        .unwrap();
    assert_eq!(
        array.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
    assert_eq!(array.uri().query(), None);
    assert_eq!(header(&array, "accept"), Some("application/json"));
    assert_eq!(
        body_json(&array),
        serde_json::from_str::<Value>(HELLO_JSON).unwrap()
    );
    check_common(&array);
}

#[test]
fn alt_sse_only_on_the_sse_stream() {
    let api = api();
    let model = "gemini-2.5-flash";
    let count = CountTokensRequest::new([Content::user("x")]);
    let embed = EmbedContentRequest::new("x");
    let batch = BatchEmbedContentsRequest::default();
    let requests = [
        api.generate_content(model, &hello()).unwrap(),
        api.stream_generate_content_as(model, &hello(), StreamFormat::JsonArray)
            .unwrap(),
        api.count_tokens(model, &count).unwrap(),
        api.embed_content(model, &embed).unwrap(),
        api.batch_embed_contents(model, &batch).unwrap(),
        api.get_model(model).unwrap(),
        api.list_models(Some(3), None).unwrap(),
    ];
    for request in &requests {
        assert!(
            !request.uri().to_string().contains("alt="),
            "{}",
            request.uri()
        );
        check_common(request);
    }
}

#[test]
fn count_tokens_with_contents() {
    let body = CountTokensRequest::new([Content::user("How many?")]);
    let request = api().count_tokens("gemini-2.0-flash", &body).unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(
        request.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:countTokens"
    );
    assert_eq!(
        body_json(&request),
        json!({"contents": [{"parts": [{"text": "How many?"}], "role": "user"}]})
    );
}

#[test]
fn count_tokens_nested_request_gains_the_model() {
    let nested = GenerateContentRequest::from_prompt("Hi").with_system_instruction("Be brief.");
    let body = CountTokensRequest::from_request(nested.clone());
    let request = api().count_tokens("gemini-2.5-pro", &body).unwrap();
    assert_eq!(
        request.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:countTokens"
    );
    assert_eq!(
        body_json(&request),
        json!({"generateContentRequest": {
            "model": "models/gemini-2.5-pro",
            "contents": [{"parts": [{"text": "Hi"}], "role": "user"}],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
        }})
    );
    // The caller's body is not changed.
    assert_eq!(body.generate_content_request.as_ref().unwrap().model, None);

    // A model already named inside is kept.
    let mut named = nested;
    named.model = Some("tunedModels/mine".to_owned());
    let body = CountTokensRequest::from_request(named);
    let request = api().count_tokens("gemini-2.5-pro", &body).unwrap();
    assert_eq!(
        body_json(&request)["generateContentRequest"]["model"],
        "tunedModels/mine"
    );

    // The resource name is normalised the same way as in the URL.
    let body = CountTokensRequest::from_request(hello());
    let request = api().count_tokens("models/gemini-2.5-pro", &body).unwrap();
    assert_eq!(
        body_json(&request)["generateContentRequest"]["model"],
        "models/gemini-2.5-pro"
    );
}

#[test]
fn embed_content() {
    let body = EmbedContentRequest::new("embed me").with_task_type(TaskType::RetrievalQuery);
    let request = api().embed_content("text-embedding-004", &body).unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(
        request.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:embedContent"
    );
    assert_eq!(
        body_json(&request),
        json!({"content": {"parts": [{"text": "embed me"}]}, "taskType": "RETRIEVAL_QUERY"})
    );
}

#[test]
fn batch_embed_contents_fills_each_model() {
    let mut own = EmbedContentRequest::new("b");
    own.model = Some("models/other-embedder".to_owned());
    let mut body = BatchEmbedContentsRequest::default();
    body.requests = vec![
        EmbedContentRequest::new("a"),
        own,
        EmbedContentRequest::new("c"),
    ];
    let request = api()
        .batch_embed_contents("text-embedding-004", &body)
        .unwrap();
    assert_eq!(
        request.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents"
    );
    assert_eq!(
        body_json(&request),
        json!({"requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}},
            {"model": "models/other-embedder", "content": {"parts": [{"text": "b"}]}},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "c"}]}},
        ]})
    );
    assert_eq!(
        body.requests[0].model, None,
        "the caller's body is not changed"
    );
}

#[test]
fn get_model_and_list_models() {
    let request = api().get_model("gemini-2.5-flash").unwrap();
    assert_eq!(request.method(), Method::GET);
    assert_eq!(
        request.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
    );
    assert!(request.body().is_empty());
    assert_eq!(header(&request, "content-type"), None);
    assert_eq!(header(&request, "accept"), Some("application/json"));

    let request = api().get_model("tunedModels/my-model-123").unwrap();
    assert_eq!(
        request.uri(),
        "https://generativelanguage.googleapis.com/v1beta/tunedModels/my-model-123"
    );

    let base = "https://generativelanguage.googleapis.com/v1beta/models";
    let cases: [(Option<u32>, Option<&str>, String); 4] = [
        (None, None, base.to_owned()),
        (Some(50), None, format!("{base}?pageSize=50")),
        (
            None,
            Some("abc-_.~XYZ09"),
            format!("{base}?pageToken=abc-_.~XYZ09"),
        ),
        (
            Some(10),
            Some("a b/c+d=&e?f%"),
            format!("{base}?pageSize=10&pageToken=a%20b%2Fc%2Bd%3D%26e%3Ff%25"),
        ),
    ];
    for (size, token, expected) in cases {
        let request = api().list_models(size, token).unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri().to_string(), expected);
        assert!(request.body().is_empty());
        check_common(&request);
    }
    // Non-ASCII tokens are encoded byte by byte.
    let request = api().list_models(None, Some("é")).unwrap();
    assert_eq!(request.uri().query(), Some("pageToken=%C3%A9"));
}

#[test]
fn model_names_are_normalised() {
    assert_eq!(
        model_resource_name("gemini-2.5-flash"),
        "models/gemini-2.5-flash"
    );
    assert_eq!(
        model_resource_name("models/gemini-2.5-flash"),
        "models/gemini-2.5-flash"
    );
    assert_eq!(
        model_resource_name("tunedModels/my-model-123"),
        "tunedModels/my-model-123"
    );
    assert_eq!(
        model_resource_name(" gemini-2.5-flash\n"),
        "models/gemini-2.5-flash"
    );
    assert_eq!(
        model_resource_name("publishers/google/models/gemini-2.0-flash"),
        "publishers/google/models/gemini-2.0-flash"
    );
    for model in ["gemini-2.5-flash", "models/gemini-2.5-flash"] {
        let request = api().generate_content(model, &hello()).unwrap();
        assert_eq!(
            request.uri().path(),
            "/v1beta/models/gemini-2.5-flash:generateContent"
        );
    }
    let request = api()
        .stream_generate_content("tunedModels/t-1", &hello())
        .unwrap();
    assert_eq!(
        request.uri().path(),
        "/v1beta/tunedModels/t-1:streamGenerateContent"
    );
}

#[test]
fn api_version_and_custom_base_urls() {
    let v1 = Api::new(
        Endpoint::default().with_api_version("v1"),
        Auth::api_key(KEY),
    );
    assert_eq!(
        v1.generate_content("gemini-2.5-flash", &hello())
            .unwrap()
            .uri(),
        "https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash:generateContent"
    );

    for base in [
        "http://127.0.0.1:8080/proxy/gemini",
        "http://127.0.0.1:8080/proxy/gemini/",
        "http://127.0.0.1:8080/proxy/gemini///",
    ] {
        let endpoint = Endpoint::new(base).unwrap();
        assert_eq!(endpoint.base_url(), "http://127.0.0.1:8080/proxy/gemini");
        assert_eq!(endpoint.api_version(), "v1beta");
        let api = Api::new(endpoint.with_api_version("/v1/"), Auth::api_key(KEY));
        assert_eq!(api.endpoint().api_version(), "v1");
        let request = api
            .stream_generate_content("gemini-2.5-flash", &hello())
            .unwrap();
        assert_eq!(
            request.uri(),
            "http://127.0.0.1:8080/proxy/gemini/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
    }

    let bare = Endpoint::new("https://example.com/").unwrap();
    assert_eq!(bare.url("models"), "https://example.com/v1beta/models");
    assert_eq!(bare.url("/models"), "https://example.com/v1beta/models");
    let unversioned = bare.with_api_version("");
    assert_eq!(unversioned.url("models"), "https://example.com/models");

    // Vertex AI style: another version and a full resource path as the model.
    let vertex = Api::new(
        Endpoint::new("https://us-central1-aiplatform.googleapis.com")
            .unwrap()
            .with_api_version("v1beta1"),
        Auth::bearer(TOKEN),
    );
    let request = vertex
        .generate_content(
            "projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash",
            &hello(),
        )
        .unwrap();
    assert_eq!(
        request.uri(),
        "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
    );
}

#[test]
fn invalid_base_urls_are_invalid_requests() {
    for base in [
        "",
        "/",
        "generativelanguage.googleapis.com",
        "localhost:8080",
        "ftp://example.com",
        "https://",
        "https:///v1",
        "https://example.com?key=1",
        "https://example.com/path?x",
        "https://example.com/#frag",
        "https://exa mple.com",
        "https://example.com/a b",
    ] {
        let err = Endpoint::new(base).expect_err(base);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{base}");
    }
}

#[test]
fn bearer_and_no_auth() {
    let api = Api::new(Endpoint::default(), Auth::bearer(TOKEN));
    let request = api.generate_content("gemini-2.5-flash", &hello()).unwrap();
    assert_eq!(
        header(&request, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(request.headers()["authorization"].is_sensitive());
    assert_eq!(header(&request, "x-goog-api-key"), None);
    assert!(!request.uri().to_string().contains(TOKEN));

    let api = Api::new(Endpoint::default(), Auth::None);
    let request = api.generate_content("gemini-2.5-flash", &hello()).unwrap();
    assert_eq!(header(&request, "authorization"), None);
    assert_eq!(header(&request, "x-goog-api-key"), None);
}

#[test]
fn invalid_credentials_are_invalid_requests() {
    for auth in [
        Auth::api_key("key\nwith-newline"),
        Auth::api_key("key\r\nX-Injected: 1"),
        Auth::bearer("tok\0en"),
    ] {
        let api = Api::new(Endpoint::default(), auth);
        let err = api
            .generate_content("gemini-2.5-flash", &hello())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        // The message does not echo the secret.
        assert!(!err.to_string().contains("newline"), "{err}");
        assert!(!format!("{err:?}").contains("X-Injected"), "{err:?}");
    }
}

#[test]
fn extra_headers_and_client_id() {
    let api = api()
        .with_header("x-goog-user-project", "my-project")
        .unwrap()
        .with_header("X-Custom", "one")
        .unwrap()
        .with_header("x-custom", "two")
        .unwrap()
        .with_client_id(Some("my-app/1.2"))
        .unwrap();
    let request = api.generate_content("gemini-2.5-flash", &hello()).unwrap();
    assert_eq!(header(&request, "x-goog-user-project"), Some("my-project"));
    let custom: Vec<_> = request
        .headers()
        .get_all("x-custom")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(custom, ["one", "two"]);
    assert_eq!(
        header(&request, "x-goog-api-client"),
        Some(format!("my-app/1.2 {DEFAULT_CLIENT_ID}").as_str())
    );
    assert_eq!(header(&request, "x-goog-api-key"), Some(KEY));

    let quiet = api.with_client_id(None).unwrap();
    let request = quiet.get_model("gemini-2.5-flash").unwrap();
    assert_eq!(header(&request, "x-goog-api-client"), None);
    assert_eq!(header(&request, "x-goog-user-project"), Some("my-project"));

    assert_eq!(
        DEFAULT_CLIENT_ID,
        concat!("gemini-rs/", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn invalid_header_names_and_values_are_invalid_requests() {
    for (name, value) in [
        ("bad header", "v"),
        ("", "v"),
        ("x-ok", "line\nbreak"),
        ("x-ok", "cr\rhere"),
        ("x-ok", "nul\0"),
    ] {
        let err = api().with_header(name, value).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{name:?}: {value:?}");
    }
    let err = api().with_client_id(Some("app\n1")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

#[test]
fn debug_never_shows_secrets() {
    let auth = Auth::api_key(KEY);
    assert!(!format!("{auth:?}").contains(KEY));
    assert!(!format!("{auth:#?}").contains(KEY));
    let bearer = Auth::bearer(TOKEN);
    assert!(!format!("{bearer:?}").contains(TOKEN));

    let api = Api::new(Endpoint::default(), Auth::api_key(KEY))
        .with_header("authorization", "Bearer header-secret-1")
        .unwrap()
        .with_header("x-goog-api-key", "header-secret-2")
        .unwrap()
        .with_header("cookie", "session=header-secret-3")
        .unwrap();
    for text in [format!("{api:?}"), format!("{api:#?}")] {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains("header-secret"), "{text}");
    }
    let api = Api::new(Endpoint::default(), Auth::bearer(TOKEN));
    assert!(!format!("{api:?}").contains(TOKEN));
    assert!(!format!("{:?}", api.auth()).contains(TOKEN));

    // The request's sensitive headers hide themselves too.
    let request = Api::new(Endpoint::default(), Auth::api_key(KEY))
        .generate_content("gemini-2.5-flash", &hello())
        .unwrap();
    assert!(!format!("{:?}", request.headers()).contains(KEY));
}

#[test]
fn auth_accessors() {
    let api = api();
    match api.auth() {
        Auth::ApiKey(secret) => assert_eq!(secret.expose(), KEY),
        other => panic!("{other:?}"),
    }
    assert_eq!(api.endpoint(), &Endpoint::default());
    assert_eq!(
        Endpoint::default().base_url(),
        "https://generativelanguage.googleapis.com"
    );
}

#[test]
fn model_names_that_would_leave_the_path_are_invalid_requests() {
    let api = api();
    for model in [
        "",
        "   ",
        "gemini?alt=json",
        "gemini#fragment",
        "gemini 2.5",
        "gemini%2F..",
        "models/",
        "models//gemini",
        "models/../files/abc",
        "./gemini",
        "gem\nini",
        "tunedModels/a\tb",
    ] {
        let err = api.generate_content(model, &hello()).expect_err(model);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{model:?}");
        let err = api.get_model(model).expect_err(model);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{model:?}");
        let err = api
            .stream_generate_content(model, &hello())
            .expect_err(model);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{model:?}");
    }
    // Real ids and resource names, including Vertex AI's `@version`, stay accepted.
    for (model, path) in [
        (
            "gemini-2.5-flash-preview-09-2025",
            "/v1beta/models/gemini-2.5-flash-preview-09-2025:generateContent",
        ),
        (
            "gemini-1.5-flash-002",
            "/v1beta/models/gemini-1.5-flash-002:generateContent",
        ),
        (
            "publishers/anthropic/models/claude@20240620",
            "/v1beta/publishers/anthropic/models/claude@20240620:generateContent",
        ),
    ] {
        let request = api.generate_content(model, &hello()).unwrap();
        assert_eq!(request.uri().path(), path);
    }
}

#[test]
fn base_url_with_credentials_is_rejected() {
    for base in [
        "https://user:secret@example.com",
        "https://user@example.com/x",
    ] {
        let err = Endpoint::new(base).expect_err(base);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}

#[test]
fn credential_like_custom_headers_are_sensitive() {
    let secret_names = [
        "x-goog-user-token",
        "X-Custom-Token",
        "x-api-key",
        "x-subscription-key",
        "apikey",
        "x-accesstoken",
        "x-client-secret",
        "x-db-password",
        "set-cookie",
        "proxy-authorization",
        "x-auth",
        "x-session-id",
        "x-goog-iap-credentials",
    ];
    for (i, name) in secret_names.iter().enumerate() {
        let value = format!("hidden-value-{i}");
        let api = Api::new(Endpoint::default(), Auth::None)
            .with_header(name, &value)
            .unwrap();
        for text in [format!("{api:?}"), format!("{api:#?}")] {
            assert!(!text.contains(&value), "{name}: {text}");
        }
        let request = api.generate_content("gemini-2.5-flash", &hello()).unwrap();
        assert!(request.headers()[*name].is_sensitive(), "{name}");
        assert!(
            !format!("{:?}", request.headers()).contains(&value),
            "{name}"
        );
        // Still sent as given.
        assert_eq!(request.headers()[*name], value.as_str());
    }
    // Ordinary headers stay readable in Debug output.
    for name in [
        "x-request-id",
        "x-keyboard-layout",
        "user-agent",
        "x-goog-user-project",
    ] {
        let api = Api::new(Endpoint::default(), Auth::None)
            .with_header(name, "visible-value")
            .unwrap();
        assert!(format!("{api:?}").contains("visible-value"), "{name}");
    }
}
