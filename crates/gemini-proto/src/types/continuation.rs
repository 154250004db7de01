//! The opaque token that continues a long answer: [`ContinuationToken`].

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::wire::Base64;

/// An opaque token from the service that marks a point of a long answer it can continue from.
///
/// A candidate carries one when it stops at the per-request output cap (finish reason
/// [`Continuation`](super::FinishReason::Continuation)), and at checkpoints inside a stream (with no
/// finish reason). Sending the same request again with the token
/// ([`GenerateContentRequest::with_continuation_token`](super::GenerateContentRequest::with_continuation_token))
/// continues the answer from that point. On the wire it is base64 (`bytes` in proto3 JSON); both
/// the standard and the URL-safe alphabet are read.
///
/// ```
/// use gemini_proto::types::ContinuationToken;
///
/// let token: ContinuationToken = serde_json::from_str(r#""AAEC_w==""#).unwrap();
/// assert_eq!(token.as_bytes(), &[0, 1, 2, 255]);
/// assert_eq!(serde_json::to_string(&token).unwrap(), r#""AAEC/w==""#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ContinuationToken(Bytes);

impl ContinuationToken {
    /// A token from its bytes.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self(bytes.into())
    }

    /// The token's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The token as base64 text (standard alphabet, padded), as it travels.
    pub fn to_base64(&self) -> String {
        super::wire::encode_base64(&self.0)
    }

    /// A token from base64 text (either alphabet, padding optional); `None` when it is not base64.
    pub fn from_base64(text: &str) -> Option<Self> {
        super::wire::decode_base64(text.trim()).ok().map(Self)
    }
}

impl From<Bytes> for ContinuationToken {
    fn from(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

impl From<Vec<u8>> for ContinuationToken {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Bytes::from(bytes))
    }
}

impl fmt::Debug for ContinuationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContinuationToken({} bytes)", self.0.len())
    }
}

impl fmt::Display for ContinuationToken {
    /// The base64 text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl Serialize for ContinuationToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Base64(self.0.clone()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ContinuationToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Base64::deserialize(deserializer).map(|b| Self(b.0))
    }
}

crate::json_reader::read_via_serde!(ContinuationToken);
