//! Building the HTTP requests of the Gemini API: [`Api`] turns typed bodies into `http::Request<Bytes>`.

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request};
use serde::Serialize;

use crate::endpoint::{Auth, Endpoint, model_resource_name};
use crate::error::Error;
use crate::types::{
    BatchEmbedContentsRequest, CountTokensRequest, EmbedContentRequest, GenerateContentRequest,
};

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-goog-api-key";

/// The header that identifies the client library to Google.
pub const CLIENT_HEADER: &str = "x-goog-api-client";

/// The client identification this crate sends unless told otherwise.
pub const DEFAULT_CLIENT_ID: &str = concat!("gemini-rs/", env!("CARGO_PKG_VERSION"));

/// How a stream's body is framed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamFormat {
    /// Server-sent events (`alt=sse`): one `data:` event per chunk. What every official SDK uses.
    #[default]
    Sse,
    /// One JSON array written incrementally, one element per chunk (no `alt=sse`).
    JsonArray,
}

/// Everything needed to build requests: endpoint, credentials, extra headers, client identification.
///
/// ```
/// use gemini_proto::endpoint::{Auth, Endpoint};
/// use gemini_proto::request::Api;
/// use gemini_proto::types::GenerateContentRequest;
///
/// let api = Api::new(Endpoint::default(), Auth::api_key("my-key"));
/// let body = GenerateContentRequest::from_prompt("Hello");
/// let request = api.stream_generate_content("gemini-2.5-flash", &body).unwrap();
/// assert_eq!(
///     request.uri(),
///     "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
/// );
/// assert_eq!(request.headers()["x-goog-api-key"], "my-key");
/// assert_eq!(request.headers()["accept"], "text/event-stream");
/// // The key is never part of the URL, and Debug output hides it.
/// assert!(!format!("{api:?}").contains("my-key"));
/// ```
#[derive(Clone, Debug)]
pub struct Api {
    endpoint: Endpoint,
    auth: Auth,
    /// The header `auth` sends, made once (and marked sensitive), or why it cannot be sent.
    auth_header: Result<Option<(HeaderName, HeaderValue)>, Error>,
    headers: HeaderMap,
    client_id: Option<HeaderValue>,
}

impl Api {
    /// Requests to `endpoint`, authenticated by `auth`.
    pub fn new(endpoint: Endpoint, auth: Auth) -> Self {
        Self {
            endpoint,
            auth_header: auth_header(&auth),
            auth,
            headers: HeaderMap::new(),
            client_id: Some(HeaderValue::from_static(DEFAULT_CLIENT_ID)),
        }
    }

    /// Adds a header sent with every request. Fails when the name or value is not valid in HTTP.
    ///
    /// The value of a credential-like header ([`is_credential_header`]: `x-…-token`, `x-…-key`,
    /// `authorization`, `cookie`, …) is marked sensitive, so `Debug` output never shows it.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|err| {
            Error::invalid_request_with_source(format!("invalid header name {name:?}"), err)
        })?;
        let mut value = HeaderValue::from_str(value).map_err(|err| {
            Error::invalid_request_with_source(format!("invalid value for header {name}"), err)
        })?;
        if is_credential_header(name.as_str()) {
            value.set_sensitive(true);
        }
        self.headers.append(name, value);
        Ok(self)
    }

    /// Sets the client identification sent in `x-goog-api-client` (prefixing the crate's own), or turns
    /// it off with `None`.
    pub fn with_client_id(mut self, client_id: Option<&str>) -> Result<Self, Error> {
        self.client_id = match client_id {
            None => None,
            Some(id) => Some(
                HeaderValue::from_str(&format!("{id} {DEFAULT_CLIENT_ID}"))
                    .map_err(|err| Error::invalid_request_with_source("invalid client id", err))?,
            ),
        };
        Ok(self)
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The credentials.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// `POST models/{model}:generateContent`.
    pub fn generate_content(
        &self,
        model: &str,
        body: &GenerateContentRequest,
    ) -> Result<Request<Bytes>, Error> {
        self.post(
            &model_method(model, "generateContent")?,
            body,
            "application/json",
        )
    }

    /// `POST models/{model}:streamGenerateContent?alt=sse`, the server-sent-events stream.
    pub fn stream_generate_content(
        &self,
        model: &str,
        body: &GenerateContentRequest,
    ) -> Result<Request<Bytes>, Error> {
        self.stream_generate_content_as(model, body, StreamFormat::Sse)
    }

    /// `POST models/{model}:streamGenerateContent`, framed as `format` says.
    pub fn stream_generate_content_as(
        &self,
        model: &str,
        body: &GenerateContentRequest,
        format: StreamFormat,
    ) -> Result<Request<Bytes>, Error> {
        let path = model_method(model, "streamGenerateContent")?;
        match format {
            StreamFormat::Sse => self.post(&format!("{path}?alt=sse"), body, "text/event-stream"),
            StreamFormat::JsonArray => self.post(&path, body, "application/json"),
        }
    }

    /// `POST models/{model}:countTokens`.
    pub fn count_tokens(
        &self,
        model: &str,
        body: &CountTokensRequest,
    ) -> Result<Request<Bytes>, Error> {
        if body
            .generate_content_request
            .as_ref()
            .is_some_and(|inner| inner.model.is_none())
        {
            // The API requires the model inside a nested generate request.
            let mut body = body.clone();
            if let Some(inner) = body.generate_content_request.as_mut() {
                inner.model = Some(model_resource_name(model).into_owned());
            }
            return self.post(
                &model_method(model, "countTokens")?,
                &body,
                "application/json",
            );
        }
        self.post(
            &model_method(model, "countTokens")?,
            body,
            "application/json",
        )
    }

    /// `POST models/{model}:embedContent`.
    pub fn embed_content(
        &self,
        model: &str,
        body: &EmbedContentRequest,
    ) -> Result<Request<Bytes>, Error> {
        self.post(
            &model_method(model, "embedContent")?,
            body,
            "application/json",
        )
    }

    /// `POST models/{model}:batchEmbedContents`. Requests that do not name their model get `model`.
    pub fn batch_embed_contents(
        &self,
        model: &str,
        body: &BatchEmbedContentsRequest,
    ) -> Result<Request<Bytes>, Error> {
        let path = model_method(model, "batchEmbedContents")?;
        if body.requests.iter().all(|request| request.model.is_some()) {
            return self.post(&path, body, "application/json");
        }
        let mut body = body.clone();
        let name = model_resource_name(model).into_owned();
        for request in &mut body.requests {
            request.model.get_or_insert_with(|| name.clone());
        }
        self.post(&path, &body, "application/json")
    }

    /// `GET models/{model}`.
    pub fn get_model(&self, model: &str) -> Result<Request<Bytes>, Error> {
        self.get(&checked_model(model)?)
    }

    /// `GET models`, one page: at most `page_size` models (the service's default when `None`), starting
    /// at `page_token` (from the previous page's `nextPageToken`).
    pub fn list_models(
        &self,
        page_size: Option<u32>,
        page_token: Option<&str>,
    ) -> Result<Request<Bytes>, Error> {
        let mut query = Vec::new();
        if let Some(size) = page_size {
            query.push(format!("pageSize={size}"));
        }
        if let Some(token) = page_token {
            query.push(format!("pageToken={}", percent_encode(token)));
        }
        if query.is_empty() {
            self.get("models")
        } else {
            self.get(&format!("models?{}", query.join("&")))
        }
    }

    pub(crate) fn post<T: Serialize>(
        &self,
        path: &str,
        body: &T,
        accept: &'static str,
    ) -> Result<Request<Bytes>, Error> {
        let json = serde_json::to_vec(body).map_err(|err| {
            Error::invalid_request_with_source("the request body could not be serialized", err)
        })?;
        let mut request = self.base_request(Method::POST, path, accept, Bytes::from(json))?;
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(request)
    }

    fn get(&self, path: &str) -> Result<Request<Bytes>, Error> {
        self.base_request(Method::GET, path, "application/json", Bytes::new())
    }

    pub(crate) fn base_request(
        &self,
        method: Method,
        path: &str,
        accept: &'static str,
        body: Bytes,
    ) -> Result<Request<Bytes>, Error> {
        let url = self.endpoint.url(path);
        let uri: http::Uri = url.parse().map_err(|err| {
            Error::invalid_request_with_source(format!("invalid request URL {url:?}"), err)
        })?;
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .map_err(|err| Error::invalid_request_with_source("invalid request", err))?;
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        if let Some((name, value)) = self.auth_header.clone()? {
            headers.insert(name, value);
        }
        if let Some(client_id) = &self.client_id {
            headers.insert(HeaderName::from_static(CLIENT_HEADER), client_id.clone());
        }
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        Ok(request)
    }
}

fn model_method(model: &str, method: &str) -> Result<String, Error> {
    let model = checked_model(model)?;
    let mut path = String::with_capacity(model.len() + 1 + method.len());
    path.push_str(&model);
    path.push(':');
    path.push_str(method);
    Ok(path)
}

/// The header that sends `auth`, marked sensitive; an error when the credential holds characters a
/// header cannot carry.
fn auth_header(auth: &Auth) -> Result<Option<(HeaderName, HeaderValue)>, Error> {
    let (name, value, what) = match auth {
        Auth::ApiKey(key) => (
            HeaderName::from_static(API_KEY_HEADER),
            HeaderValue::from_str(key.expose()),
            "the API key",
        ),
        Auth::Bearer(token) => (
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", token.expose())),
            "the bearer token",
        ),
        Auth::None => return Ok(None),
    };
    let mut value = value.map_err(|_| {
        Error::invalid_request(format!(
            "{what} contains characters not allowed in a header"
        ))
    })?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

/// The model's resource name, when it can go into a URL path as it is: every segment non-empty, not
/// `.` or `..`, and free of characters that would end the path (`?`, `#`), escapes (`%`), whitespace
/// and control characters. Anything else would silently send the request elsewhere.
fn checked_model(model: &str) -> Result<std::borrow::Cow<'_, str>, Error> {
    let name = model_resource_name(model);
    let valid = name.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'%'))
    });
    if valid {
        Ok(name)
    } else {
        Err(Error::invalid_request(format!(
            "invalid model name {model:?}"
        )))
    }
}

/// Whether a header named `name` carries a credential, so that its value must never be shown.
///
/// [`Api`] marks the values of such headers sensitive (`HeaderValue::set_sensitive`): `Debug`
/// output prints `Sensitive` instead of them, HTTP/2 never indexes them, and gemini-transport's
/// recording transport redacts them. The rule, on the name in lower case:
///
/// * `authorization`, `proxy-authorization`, `cookie` and `set-cookie`;
/// * any name with a word (between `-` or `_`) that ends in `key` (`x-goog-api-key`, `x-api-key`,
///   `apikey`, `x-subscription-key`) or contains `token`, `secret`, `passw` (password, passwd),
///   `credential`, `auth` or `session`.
///
/// A false positive only hides a value from `Debug` output; a false negative would leak a secret,
/// so the rule errs on the side of hiding.
///
/// ```
/// use gemini_proto::request::is_credential_header;
///
/// assert!(is_credential_header("x-goog-api-key"));
/// assert!(is_credential_header("X-Custom-Token"));
/// assert!(is_credential_header("x-client-secret"));
/// assert!(!is_credential_header("x-request-id"));
/// assert!(!is_credential_header("x-keyboard-layout"));
/// ```
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || name.split(['-', '_']).any(|word| {
        word.ends_with("key")
            || ["token", "secret", "passw", "credential", "auth", "session"]
                .iter()
                .any(|part| word.contains(part))
    })
}

/// Everything outside the URL "unreserved" set (RFC 3986: letters, digits, `-._~`).
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything outside the URL "unreserved" set.
pub(crate) fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}
