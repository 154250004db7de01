//! Where requests go and how they authenticate: [`Endpoint`], [`Auth`], model-name normalisation.

use std::borrow::Cow;
use std::fmt;

use crate::error::Error;

/// The base URL of the Gemini Developer API.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// The API version used unless another is chosen.
pub const DEFAULT_API_VERSION: &str = "v1beta";

/// The service's base URL and API version.
///
/// ```
/// use gemini_proto::endpoint::Endpoint;
///
/// let google = Endpoint::default();
/// assert_eq!(google.base_url(), "https://generativelanguage.googleapis.com");
/// assert_eq!(google.api_version(), "v1beta");
///
/// let local = Endpoint::new("http://127.0.0.1:8080/").unwrap().with_api_version("v1");
/// assert_eq!(local.url("models"), "http://127.0.0.1:8080/v1/models");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    base_url: String,
    api_version: String,
}

impl Default for Endpoint {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
        }
    }
}

impl Endpoint {
    /// An endpoint at `base_url` (scheme and authority, optionally a path prefix; a trailing slash is
    /// ignored), with the default API version.
    ///
    /// Fails when the URL has no `http`/`https` scheme or no host, or carries credentials, a query or a
    /// fragment.
    pub fn new(base_url: impl Into<String>) -> Result<Self, Error> {
        let mut base_url: String = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        let uri: http::Uri = base_url.parse().map_err(|err| {
            Error::invalid_request_with_source(format!("invalid base URL {base_url:?}"), err)
        })?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(Error::invalid_request(format!(
                    "base URL {base_url:?} must start with http:// or https://"
                )));
            }
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(Error::invalid_request(format!(
                "base URL {base_url:?} has no host"
            )));
        }
        // Credentials in the URL would be shown by `Debug` and never sent as authentication.
        if uri
            .authority()
            .is_some_and(|authority| authority.as_str().contains('@'))
        {
            return Err(Error::invalid_request(
                "the base URL must not carry credentials (user:password@); use Auth or a header",
            ));
        }
        if uri.query().is_some() || base_url.contains('#') {
            return Err(Error::invalid_request(format!(
                "base URL {base_url:?} must not carry a query or fragment"
            )));
        }
        Ok(Self {
            base_url,
            api_version: DEFAULT_API_VERSION.to_owned(),
        })
    }

    /// This endpoint with another API version, such as `v1`.
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into().trim_matches('/').to_owned();
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API version.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The full URL of `path` (relative to the version, such as `models/gemini-2.5-flash:generateContent`).
    pub fn url(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        let mut url =
            String::with_capacity(self.base_url.len() + self.api_version.len() + path.len() + 2);
        url.push_str(&self.base_url);
        url.push('/');
        if !self.api_version.is_empty() {
            url.push_str(&self.api_version);
            url.push('/');
        }
        url.push_str(path);
        url
    }
}

/// Normalises a model name to the resource name the API expects.
///
/// A bare id gains `models/`; names that are already resource names (`models/…`, `tunedModels/…`, or any
/// other name containing a `/`, such as Vertex AI's `publishers/google/models/…`) are kept as they are.
///
/// ```
/// use gemini_proto::endpoint::model_resource_name;
///
/// assert_eq!(model_resource_name("gemini-2.5-flash"), "models/gemini-2.5-flash");
/// assert_eq!(model_resource_name("models/gemini-2.5-pro"), "models/gemini-2.5-pro");
/// assert_eq!(model_resource_name("tunedModels/my-model-123"), "tunedModels/my-model-123");
/// ```
pub fn model_resource_name(model: &str) -> Cow<'_, str> {
    let model = model.trim();
    if model.contains('/') {
        Cow::Borrowed(model)
    } else {
        Cow::Owned(format!("models/{model}"))
    }
}

/// A secret that never shows itself in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself. Take care where it goes.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

/// How requests authenticate.
///
/// ```
/// use gemini_proto::endpoint::Auth;
///
/// let auth = Auth::api_key("AIza-very-secret");
/// assert!(!format!("{auth:?}").contains("very-secret"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// A Gemini API key, sent in the `x-goog-api-key` header (never in the URL, where it would end up in
    /// logs and proxies).
    ApiKey(Secret),
    /// An OAuth 2 access token, sent as `Authorization: Bearer …` (Vertex AI, or the Gemini API with
    /// OAuth).
    Bearer(Secret),
    /// No credentials (a local emulator that does not check them, or a proxy that adds them).
    None,
}

impl Auth {
    /// An API key.
    pub fn api_key(key: impl Into<Secret>) -> Self {
        Self::ApiKey(key.into())
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Self::Bearer(token.into())
    }

    /// The API key from the environment, as the official SDKs read it: `GOOGLE_API_KEY` wins over
    /// `GEMINI_API_KEY`; empty values count as unset. Returns `None` when neither is set.
    ///
    /// This is the one function of the crate that reads process state; it is a convenience for
    /// front ends and never called by the crate itself.
    pub fn from_env() -> Option<Self> {
        ["GOOGLE_API_KEY", "GEMINI_API_KEY"]
            .into_iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.trim().is_empty())
            .map(|value| Self::api_key(value.trim().to_owned()))
    }
}
