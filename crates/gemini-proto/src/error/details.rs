//! [`ErrorDetail`] and the detail types of `google.rpc` the Gemini API sends.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::duration::{format_proto_duration, parse_json_duration};

/// One entry of an API error's `details`, keyed by its `@type`.
///
/// Serializes back to the JSON form with its `@type`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorDetail {
    /// `google.rpc.RetryInfo`: when to retry.
    RetryInfo(RetryInfo),
    /// `google.rpc.QuotaFailure`: which quota was exceeded.
    QuotaFailure(QuotaFailure),
    /// `google.rpc.ErrorInfo`: a machine-readable reason such as `API_KEY_INVALID`.
    ErrorInfo(ErrorInfo),
    /// `google.rpc.Help`: links to documentation.
    Help(Help),
    /// `google.rpc.BadRequest`: which request fields are wrong.
    BadRequest(BadRequest),
    /// Any other detail (for example `google.rpc.DebugInfo` or `google.rpc.LocalizedMessage`), or a
    /// known one whose fields have unexpected types, kept as sent.
    Other(Value),
}

impl ErrorDetail {
    /// The `@type` URL of this detail (`None` for an [`Other`](ErrorDetail::Other) without one).
    pub fn type_url(&self) -> Option<&str> {
        Some(match self {
            ErrorDetail::RetryInfo(_) => "type.googleapis.com/google.rpc.RetryInfo",
            ErrorDetail::QuotaFailure(_) => "type.googleapis.com/google.rpc.QuotaFailure",
            ErrorDetail::ErrorInfo(_) => "type.googleapis.com/google.rpc.ErrorInfo",
            ErrorDetail::Help(_) => "type.googleapis.com/google.rpc.Help",
            ErrorDetail::BadRequest(_) => "type.googleapis.com/google.rpc.BadRequest",
            ErrorDetail::Other(v) => return v.get("@type").and_then(Value::as_str),
        })
    }

    /// Reads one detail from its JSON form; unknown or ill-typed details become
    /// [`Other`](ErrorDetail::Other).
    pub fn from_json_value(value: &Value) -> Self {
        ErrorDetail::parse_known(value).unwrap_or_else(|| ErrorDetail::Other(value.clone()))
    }

    fn parse_known(value: &Value) -> Option<Self> {
        let type_url = value.get("@type")?.as_str()?;
        let name = type_url.rsplit('/').next().unwrap_or(type_url);
        Some(match name {
            "google.rpc.RetryInfo" => {
                let retry_delay = match value.get("retryDelay") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(parse_json_duration(v)?),
                };
                ErrorDetail::RetryInfo(RetryInfo { retry_delay })
            }
            "google.rpc.QuotaFailure" => {
                let wire = WireQuotaFailure::deserialize(value).ok()?;
                let violations = wire
                    .violations
                    .into_iter()
                    .map(QuotaViolation::from)
                    .collect();
                ErrorDetail::QuotaFailure(QuotaFailure { violations })
            }
            "google.rpc.ErrorInfo" => {
                let wire = WireErrorInfo::deserialize(value).ok()?;
                ErrorDetail::ErrorInfo(ErrorInfo {
                    reason: wire.reason,
                    domain: wire.domain,
                    metadata: wire.metadata,
                })
            }
            "google.rpc.Help" => {
                let wire = WireHelp::deserialize(value).ok()?;
                ErrorDetail::Help(Help { links: wire.links })
            }
            "google.rpc.BadRequest" => {
                let wire = WireBadRequest::deserialize(value).ok()?;
                ErrorDetail::BadRequest(BadRequest {
                    field_violations: wire.field_violations,
                })
            }
            _ => return None,
        })
    }

    /// The JSON form of this detail, with its `@type`.
    pub fn to_json_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(url) = self.type_url() {
            map.insert("@type".to_owned(), Value::from(url));
        }
        match self {
            ErrorDetail::RetryInfo(r) => {
                if let Some(d) = r.retry_delay {
                    map.insert(
                        "retryDelay".to_owned(),
                        Value::from(format_proto_duration(d)),
                    );
                }
            }
            ErrorDetail::QuotaFailure(q) => {
                let v: Vec<Value> = q
                    .violations
                    .iter()
                    .map(QuotaViolation::to_json_value)
                    .collect();
                map.insert("violations".to_owned(), Value::Array(v));
            }
            ErrorDetail::ErrorInfo(i) => {
                map.insert("reason".to_owned(), Value::from(i.reason.as_str()));
                map.insert("domain".to_owned(), Value::from(i.domain.as_str()));
                if !i.metadata.is_empty() {
                    map.insert("metadata".to_owned(), string_map(&i.metadata));
                }
            }
            ErrorDetail::Help(h) => {
                let links = h
                    .links
                    .iter()
                    .map(|l| {
                        let mut m = Map::new();
                        m.insert(
                            "description".to_owned(),
                            Value::from(l.description.as_str()),
                        );
                        m.insert("url".to_owned(), Value::from(l.url.as_str()));
                        Value::Object(m)
                    })
                    .collect();
                map.insert("links".to_owned(), Value::Array(links));
            }
            ErrorDetail::BadRequest(b) => {
                let v = b
                    .field_violations
                    .iter()
                    .map(|fv| {
                        let mut m = Map::new();
                        m.insert("field".to_owned(), Value::from(fv.field.as_str()));
                        m.insert(
                            "description".to_owned(),
                            Value::from(fv.description.as_str()),
                        );
                        Value::Object(m)
                    })
                    .collect();
                map.insert("fieldViolations".to_owned(), Value::Array(v));
            }
            ErrorDetail::Other(v) => return v.clone(),
        }
        Value::Object(map)
    }
}

impl Serialize for ErrorDetail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json_value().serialize(serializer)
    }
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// `google.rpc.RetryInfo`: how long to wait before retrying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryInfo {
    /// The `retryDelay`, parsed (`None` when missing, negative or not a valid duration).
    pub retry_delay: Option<Duration>,
}

impl RetryInfo {
    /// A `RetryInfo` asking to wait `delay`.
    pub fn new(delay: Duration) -> Self {
        RetryInfo {
            retry_delay: Some(delay),
        }
    }
}

/// `google.rpc.QuotaFailure`: the quotas that were exceeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaFailure {
    /// The exceeded quotas.
    pub violations: Vec<QuotaViolation>,
}

impl QuotaFailure {
    /// A `QuotaFailure` with these violations.
    pub fn new(violations: Vec<QuotaViolation>) -> Self {
        QuotaFailure { violations }
    }
}

/// One exceeded quota. Besides the standard `subject` and `description`, the Gemini API fills in
/// `quotaMetric`, `quotaId`, `quotaDimensions` and `quotaValue`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaViolation {
    /// `subject`.
    pub subject: String,
    /// `description`.
    pub description: String,
    /// `quotaMetric`, e.g. `generativelanguage.googleapis.com/generate_content_free_tier_requests`.
    pub quota_metric: String,
    /// `quotaId`, e.g. `GenerateRequestsPerMinutePerProjectPerModel-FreeTier`.
    pub quota_id: String,
    /// `quotaDimensions`, e.g. `{"model": "gemini-2.5-flash", "location": "global"}`.
    pub quota_dimensions: BTreeMap<String, String>,
    /// `quotaValue` (an int64, sent as a string), when present and valid.
    pub quota_value: Option<i64>,
}

impl QuotaViolation {
    /// A violation of the quota `quota_id`.
    pub fn new(quota_id: impl Into<String>) -> Self {
        QuotaViolation {
            quota_id: quota_id.into(),
            ..QuotaViolation::default()
        }
    }

    fn to_json_value(&self) -> Value {
        let mut m = Map::new();
        for (key, value) in [
            ("subject", &self.subject),
            ("description", &self.description),
            ("quotaMetric", &self.quota_metric),
            ("quotaId", &self.quota_id),
        ] {
            if !value.is_empty() {
                m.insert(key.to_owned(), Value::from(value.as_str()));
            }
        }
        if !self.quota_dimensions.is_empty() {
            m.insert(
                "quotaDimensions".to_owned(),
                string_map(&self.quota_dimensions),
            );
        }
        if let Some(v) = self.quota_value {
            m.insert("quotaValue".to_owned(), Value::from(v.to_string()));
        }
        Value::Object(m)
    }
}

/// `google.rpc.ErrorInfo`: the machine-readable cause of an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorInfo {
    /// The reason, e.g. `API_KEY_INVALID`, `CONSUMER_SUSPENDED`.
    pub reason: String,
    /// The domain, e.g. `googleapis.com`.
    pub domain: String,
    /// Extra key/value pairs, e.g. `{"service": "generativelanguage.googleapis.com"}`.
    pub metadata: BTreeMap<String, String>,
}

impl ErrorInfo {
    /// An `ErrorInfo` with this reason and domain and no metadata.
    pub fn new(reason: impl Into<String>, domain: impl Into<String>) -> Self {
        ErrorInfo {
            reason: reason.into(),
            domain: domain.into(),
            metadata: BTreeMap::new(),
        }
    }
}

/// `google.rpc.Help`: links to documentation about the error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Help {
    /// The links.
    pub links: Vec<HelpLink>,
}

impl Help {
    /// A `Help` with these links.
    pub fn new(links: Vec<HelpLink>) -> Self {
        Help { links }
    }
}

/// One link of a [`Help`] detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HelpLink {
    /// What the link is about.
    pub description: String,
    /// The URL.
    pub url: String,
}

impl HelpLink {
    /// A link.
    pub fn new(description: impl Into<String>, url: impl Into<String>) -> Self {
        HelpLink {
            description: description.into(),
            url: url.into(),
        }
    }
}

/// `google.rpc.BadRequest`: the request fields that are wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadRequest {
    /// The wrong fields.
    pub field_violations: Vec<FieldViolation>,
}

impl BadRequest {
    /// A `BadRequest` with these violations.
    pub fn new(field_violations: Vec<FieldViolation>) -> Self {
        BadRequest { field_violations }
    }
}

/// One wrong field of a [`BadRequest`] detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FieldViolation {
    /// The path of the field, e.g. `contents[0].parts[1]`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl FieldViolation {
    /// A field violation.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[derive(Default)]
struct WireQuotaFailure {
    violations: Vec<WireQuotaViolation>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireQuotaViolation {
    subject: String,
    description: String,
    quota_metric: String,
    quota_id: String,
    quota_dimensions: BTreeMap<String, String>,
    quota_value: Option<Value>,
}

impl From<WireQuotaViolation> for QuotaViolation {
    fn from(w: WireQuotaViolation) -> Self {
        QuotaViolation {
            subject: w.subject,
            description: w.description,
            quota_metric: w.quota_metric,
            quota_id: w.quota_id,
            quota_dimensions: w.quota_dimensions,
            quota_value: w.quota_value.as_ref().and_then(|v| match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireErrorInfo {
    reason: String,
    domain: String,
    metadata: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireHelp {
    links: Vec<HelpLink>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireBadRequest {
    field_violations: Vec<FieldViolation>,
}
