//! [`ErrorDetail`] and the detail types of `google.rpc` the Gemini API sends.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::duration::{format_proto_duration, parse_json_duration};
use crate::types::Extra;

/// One entry of an API error's `details`, keyed by its `@type`.
///
/// Serializes back to the JSON form with its `@type`. Members of a known detail that this crate does
/// not model are kept in the detail's `extra` (and in the `extra` of its violations, links, …) and
/// written back, so a detail survives a round trip member for member.
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
                let mut extra = value.as_object()?.clone();
                extra.remove("retryDelay");
                ErrorDetail::RetryInfo(RetryInfo {
                    retry_delay,
                    extra: without_type(extra),
                })
            }
            "google.rpc.QuotaFailure" => {
                let wire = WireQuotaFailure::deserialize(value).ok()?;
                let violations = wire
                    .violations
                    .into_iter()
                    .map(QuotaViolation::from)
                    .collect();
                ErrorDetail::QuotaFailure(QuotaFailure {
                    violations,
                    extra: without_type(wire.extra),
                })
            }
            "google.rpc.ErrorInfo" => {
                let wire = WireErrorInfo::deserialize(value).ok()?;
                ErrorDetail::ErrorInfo(ErrorInfo {
                    reason: wire.reason,
                    domain: wire.domain,
                    metadata: wire.metadata,
                    extra: without_type(wire.extra),
                })
            }
            "google.rpc.Help" => {
                let wire = WireHelp::deserialize(value).ok()?;
                ErrorDetail::Help(Help {
                    links: wire.links,
                    extra: without_type(wire.extra),
                })
            }
            "google.rpc.BadRequest" => {
                let wire = WireBadRequest::deserialize(value).ok()?;
                ErrorDetail::BadRequest(BadRequest {
                    field_violations: wire.field_violations,
                    extra: without_type(wire.extra),
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
        let extra = match self {
            ErrorDetail::RetryInfo(r) => {
                if let Some(d) = r.retry_delay {
                    map.insert(
                        "retryDelay".to_owned(),
                        Value::from(format_proto_duration(d)),
                    );
                }
                &r.extra
            }
            ErrorDetail::QuotaFailure(q) => {
                let v: Vec<Value> = q
                    .violations
                    .iter()
                    .map(QuotaViolation::to_json_value)
                    .collect();
                map.insert("violations".to_owned(), Value::Array(v));
                &q.extra
            }
            ErrorDetail::ErrorInfo(i) => {
                map.insert("reason".to_owned(), Value::from(i.reason.as_str()));
                map.insert("domain".to_owned(), Value::from(i.domain.as_str()));
                if !i.metadata.is_empty() {
                    map.insert("metadata".to_owned(), string_map(&i.metadata));
                }
                &i.extra
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
                        with_extra(m, &l.extra)
                    })
                    .collect();
                map.insert("links".to_owned(), Value::Array(links));
                &h.extra
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
                        with_extra(m, &fv.extra)
                    })
                    .collect();
                map.insert("fieldViolations".to_owned(), Value::Array(v));
                &b.extra
            }
            ErrorDetail::Other(v) => return v.clone(),
        };
        with_extra(map, extra)
    }
}

impl Serialize for ErrorDetail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json_value().serialize(serializer)
    }
}

/// The members of a detail other than its `@type` (which the variant already says).
fn without_type(extra: impl Into<Extra>) -> Extra {
    let mut extra = extra.into();
    if extra.contains_key("@type") {
        extra.remove("@type");
    }
    extra
}

/// `map` with the members of `extra` it does not already have.
fn with_extra(mut map: Map<String, Value>, extra: &Extra) -> Value {
    for (key, value) in extra {
        map.entry(key.clone()).or_insert_with(|| value.clone());
    }
    Value::Object(map)
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
    /// Members this version of the library does not model, kept so they survive a round trip.
    pub extra: Extra,
}

impl RetryInfo {
    /// A `RetryInfo` asking to wait `delay`.
    pub fn new(delay: Duration) -> Self {
        RetryInfo {
            retry_delay: Some(delay),
            extra: Extra::new(),
        }
    }
}

/// `google.rpc.QuotaFailure`: the quotas that were exceeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaFailure {
    /// The exceeded quotas.
    pub violations: Vec<QuotaViolation>,
    /// Members this version of the library does not model, kept so they survive a round trip.
    pub extra: Extra,
}

impl QuotaFailure {
    /// A `QuotaFailure` with these violations.
    pub fn new(violations: Vec<QuotaViolation>) -> Self {
        QuotaFailure {
            violations,
            extra: Extra::new(),
        }
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
    /// Members this version of the library does not model, kept so they survive a round trip.
    pub extra: Extra,
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
        with_extra(m, &self.extra)
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
    /// Members this version of the library does not model, kept so they survive a round trip.
    pub extra: Extra,
}

impl ErrorInfo {
    /// An `ErrorInfo` with this reason and domain and no metadata.
    pub fn new(reason: impl Into<String>, domain: impl Into<String>) -> Self {
        ErrorInfo {
            reason: reason.into(),
            domain: domain.into(),
            metadata: BTreeMap::new(),
            extra: Extra::new(),
        }
    }
}

/// `google.rpc.Help`: links to documentation about the error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Help {
    /// The links.
    pub links: Vec<HelpLink>,
    /// Members this version of the library does not model, kept so they survive a round trip.
    pub extra: Extra,
}

impl Help {
    /// A `Help` with these links.
    pub fn new(links: Vec<HelpLink>) -> Self {
        Help {
            links,
            extra: Extra::new(),
        }
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
    /// Members this version of the library does not model, kept so they survive a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl HelpLink {
    /// A link.
    pub fn new(description: impl Into<String>, url: impl Into<String>) -> Self {
        HelpLink {
            description: description.into(),
            url: url.into(),
            extra: Extra::new(),
        }
    }
}

/// `google.rpc.BadRequest`: the request fields that are wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadRequest {
    /// The wrong fields.
    pub field_violations: Vec<FieldViolation>,
    /// Members this version of the library does not model, kept so they survive a round trip.
    pub extra: Extra,
}

impl BadRequest {
    /// A `BadRequest` with these violations.
    pub fn new(field_violations: Vec<FieldViolation>) -> Self {
        BadRequest {
            field_violations,
            extra: Extra::new(),
        }
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
    /// Members this version of the library does not model, kept so they survive a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl FieldViolation {
    /// A field violation.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation {
            field: field.into(),
            description: description.into(),
            extra: Extra::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[derive(Default)]
struct WireQuotaFailure {
    violations: Vec<WireQuotaViolation>,
    #[serde(flatten)]
    extra: Extra,
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
    #[serde(flatten)]
    extra: Extra,
}

impl From<WireQuotaViolation> for QuotaViolation {
    fn from(w: WireQuotaViolation) -> Self {
        let quota_value = w.quota_value.as_ref().and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
        let mut extra = w.extra;
        // A value that is not an int64 stays as it came.
        if let Some(raw) = w.quota_value.filter(|_| quota_value.is_none()) {
            extra.insert("quotaValue".to_owned(), raw);
        }
        QuotaViolation {
            subject: w.subject,
            description: w.description,
            quota_metric: w.quota_metric,
            quota_id: w.quota_id,
            quota_dimensions: w.quota_dimensions,
            quota_value,
            extra,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireErrorInfo {
    reason: String,
    domain: String,
    metadata: BTreeMap<String, String>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireHelp {
    links: Vec<HelpLink>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireBadRequest {
    field_violations: Vec<FieldViolation>,
    #[serde(flatten)]
    extra: Extra,
}
