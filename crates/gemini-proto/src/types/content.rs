//! Conversation content: [`Content`] and its [`Part`]s.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::enums::{Language, Outcome, Role};
use super::wire::{Base64, Extra, FromMap, Key, MemberValue, NullOr, wire_struct};

wire_struct! {
    /// One turn of a conversation: who said it and what, as a list of parts.
    ///
    /// ```
    /// use gemini_proto::types::{Content, Part, Role};
    ///
    /// let turn = Content::user("Describe this picture.");
    /// assert_eq!(turn.role, Some(Role::User));
    /// assert_eq!(turn.text().as_deref(), Some("Describe this picture."));
    ///
    /// let with_image = Content::user([Part::text("What is this?"), Part::inline_data("image/png", vec![0x89, b'P'])]);
    /// assert_eq!(with_image.parts.len(), 2);
    /// ```
    pub struct Content {
        /// The parts, in order.
        parts: Vec<Part> = "parts",
        /// The author: `user` or `model`. Absent in a system instruction.
        role: Option<Role> = "role",
    }
}

/// Things that can become the parts of a [`Content`]: a string, a [`Part`], or a collection of parts.
pub trait IntoParts {
    /// The parts.
    fn into_parts(self) -> Vec<Part>;
}

impl IntoParts for &str {
    fn into_parts(self) -> Vec<Part> {
        vec![Part::text(self)]
    }
}

impl IntoParts for String {
    fn into_parts(self) -> Vec<Part> {
        vec![Part::text(self)]
    }
}

impl IntoParts for &String {
    fn into_parts(self) -> Vec<Part> {
        vec![Part::text(self.as_str())]
    }
}

impl IntoParts for Part {
    fn into_parts(self) -> Vec<Part> {
        vec![self]
    }
}

impl IntoParts for Vec<Part> {
    fn into_parts(self) -> Vec<Part> {
        self
    }
}

impl<const N: usize> IntoParts for [Part; N] {
    fn into_parts(self) -> Vec<Part> {
        self.into()
    }
}

impl IntoParts for &[Part] {
    fn into_parts(self) -> Vec<Part> {
        self.to_vec()
    }
}

impl IntoParts for Content {
    /// The content's parts (its role is dropped).
    fn into_parts(self) -> Vec<Part> {
        self.parts
    }
}

/// Things that can become the `contents` of a request: a prompt (`&str`, `String`), one or more
/// parts (sent as one user turn), a [`Content`], or a conversation (a collection of contents).
///
/// ```
/// use gemini_proto::types::{Content, IntoContents, Part, Role};
///
/// assert_eq!("Hi".into_contents(), vec![Content::user("Hi")]);
/// let image_and_question = vec![Part::from_uri("gs://bucket/cat.png", "image/png"), Part::text("What is this?")];
/// let contents = image_and_question.into_contents();
/// assert_eq!(contents.len(), 1);
/// assert_eq!(contents[0].role, Some(Role::User));
/// assert_eq!(contents[0].parts.len(), 2);
/// let conversation = vec![Content::user("Hi"), Content::model("Hello!"), Content::user("How are you?")];
/// assert_eq!(conversation.into_contents().len(), 3);
/// ```
pub trait IntoContents {
    /// The contents.
    fn into_contents(self) -> Vec<Content>;
}

impl IntoContents for &str {
    fn into_contents(self) -> Vec<Content> {
        vec![Content::user(self)]
    }
}

impl IntoContents for String {
    fn into_contents(self) -> Vec<Content> {
        vec![Content::user(self)]
    }
}

impl IntoContents for &String {
    fn into_contents(self) -> Vec<Content> {
        vec![Content::user(self.as_str())]
    }
}

impl IntoContents for Part {
    fn into_contents(self) -> Vec<Content> {
        vec![Content::user(self)]
    }
}

impl IntoContents for Vec<Part> {
    fn into_contents(self) -> Vec<Content> {
        vec![Content::user(self)]
    }
}

impl<const N: usize> IntoContents for [Part; N] {
    fn into_contents(self) -> Vec<Content> {
        vec![Content::user(self)]
    }
}

impl IntoContents for &[Part] {
    fn into_contents(self) -> Vec<Content> {
        vec![Content::user(self)]
    }
}

impl IntoContents for Content {
    /// One turn; a content without a role is the user's.
    fn into_contents(self) -> Vec<Content> {
        let role = self.role.clone().or(Some(Role::User));
        vec![Content { role, ..self }]
    }
}

impl IntoContents for Vec<Content> {
    fn into_contents(self) -> Vec<Content> {
        self
    }
}

impl<const N: usize> IntoContents for [Content; N] {
    fn into_contents(self) -> Vec<Content> {
        self.into()
    }
}

impl IntoContents for &[Content] {
    fn into_contents(self) -> Vec<Content> {
        self.to_vec()
    }
}

impl Content {
    /// A turn written by the user.
    pub fn user(parts: impl IntoParts) -> Self {
        Self::with_role(Role::User, parts)
    }

    /// A turn written by the model (for building a history by hand).
    pub fn model(parts: impl IntoParts) -> Self {
        Self::with_role(Role::Model, parts)
    }

    /// Content without a role, as used for a system instruction.
    pub fn new(parts: impl IntoParts) -> Self {
        Self {
            parts: parts.into_parts(),
            ..Self::default()
        }
    }

    /// Content with the given role.
    pub fn with_role(role: Role, parts: impl IntoParts) -> Self {
        Self {
            parts: parts.into_parts(),
            role: Some(role),
            ..Self::default()
        }
    }

    /// The concatenated text of the parts that are text and not thoughts; `None` when there is no such
    /// part (which differs from `Some("")`, text that is empty).
    pub fn text(&self) -> Option<Cow<'_, str>> {
        concat_text(self.parts.iter().filter(|part| !part.is_thought()))
    }

    /// [`text`](Self::text), taking the content apart: the text of a single text part is moved
    /// out, not copied.
    pub fn into_text(self) -> Option<String> {
        let mut texts = self
            .parts
            .into_iter()
            .filter(|part| !part.is_thought())
            .filter_map(|part| match part.data {
                PartData::Text(text) => Some(text),
                _ => None,
            });
        let mut out = texts.next()?;
        out.extend(texts);
        Some(out)
    }

    /// The concatenated text of the thought parts; `None` when there are none.
    pub fn thought_text(&self) -> Option<Cow<'_, str>> {
        concat_text(self.parts.iter().filter(|part| part.is_thought()))
    }

    /// The function calls among the parts, in order.
    pub fn function_calls(&self) -> impl Iterator<Item = &FunctionCall> {
        self.parts.iter().filter_map(Part::as_function_call)
    }
}

/// The texts concatenated: borrowed when there is one (most chunks of a stream hold one text
/// part), so that reading each chunk's text allocates nothing.
fn concat_text<'a>(parts: impl Iterator<Item = &'a Part>) -> Option<Cow<'a, str>> {
    let mut texts = parts.filter_map(Part::as_text);
    let first = texts.next()?;
    let Some(second) = texts.next() else {
        return Some(Cow::Borrowed(first));
    };
    let mut out = String::with_capacity(first.len() + second.len());
    out.push_str(first);
    out.push_str(second);
    out.extend(texts);
    Some(Cow::Owned(out))
}

/// One datum of a [`Content`], with its metadata.
///
/// A part holds exactly one kind of data ([`PartData`]); `thought`, `thought_signature` and
/// `video_metadata` describe it. Members of kinds this version does not know (for example a newer
/// `toolCall`) are kept in `extra` and sent back unchanged.
///
/// ```
/// use gemini_proto::types::{Part, PartData};
///
/// let part: Part = serde_json::from_str(r#"{"text": "", "thoughtSignature": "c2lnbmF0dXJl"}"#).unwrap();
/// assert_eq!(part.as_text(), Some(""));
/// assert_eq!(part.thought_signature.as_deref(), Some(&b"signature"[..]));
/// assert_eq!(serde_json::to_string(&part).unwrap(), r#"{"text":"","thoughtSignature":"c2lnbmF0dXJl"}"#);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Part {
    /// The datum.
    pub data: PartData,
    /// True when this part is a thought (reasoning summary) rather than part of the answer.
    pub thought: Option<bool>,
    /// An opaque signature of the model's reasoning; must be sent back byte for byte in the history.
    pub thought_signature: Option<Bytes>,
    /// The part of a video to use, for video input.
    pub video_metadata: Option<VideoMetadata>,
    /// Members this version of the library does not model, kept so they survive a round trip.
    pub extra: Extra,
}

/// The datum a [`Part`] carries.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum PartData {
    /// Text.
    Text(String),
    /// Bytes with a MIME type (an image, audio, a PDF, …).
    InlineData(Blob),
    /// A reference to a file by URI.
    FileData(FileData),
    /// A call of a declared function, made by the model.
    FunctionCall(FunctionCall),
    /// The result of a function call, sent by the client.
    FunctionResponse(FunctionResponse),
    /// Code generated by the model for the code-execution tool.
    ExecutableCode(ExecutableCode),
    /// The result of running [`ExecutableCode`].
    CodeExecutionResult(CodeExecutionResult),
    /// No datum of a kind this version knows: either the part carries only metadata, or its datum is of
    /// a newer kind and sits in [`Part::extra`].
    #[default]
    Other,
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self::from_data(PartData::Text(text.into()))
    }

    /// An inline-data part: raw bytes (not base64) with their MIME type.
    pub fn inline_data(mime_type: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Self::from_data(PartData::InlineData(Blob::new(mime_type, data)))
    }

    /// A file-data part referring to `uri` (for example a Files API URI or a `gs://` URI).
    pub fn from_uri(uri: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Self::from_data(PartData::FileData(FileData {
            file_uri: uri.into(),
            mime_type: Some(mime_type.into()),
            ..FileData::default()
        }))
    }

    /// A function-call part (normally produced by the model).
    pub fn function_call(name: impl Into<String>, args: Value) -> Self {
        Self::from_data(PartData::FunctionCall(FunctionCall::new(name, args)))
    }

    /// A function-response part: the result of calling `name`, to send back to the model.
    pub fn function_response(name: impl Into<String>, response: Value) -> Self {
        Self::from_data(PartData::FunctionResponse(FunctionResponse::new(
            name, response,
        )))
    }

    /// A part holding `data` and no metadata.
    pub fn from_data(data: PartData) -> Self {
        Self {
            data,
            ..Self::default()
        }
    }

    /// This part with its thought signature set.
    pub fn with_thought_signature(mut self, signature: impl Into<Bytes>) -> Self {
        self.thought_signature = Some(signature.into());
        self
    }

    /// This part marked as a thought.
    pub fn with_thought(mut self, thought: bool) -> Self {
        self.thought = Some(thought);
        self
    }

    /// True when the part is marked as a thought.
    pub fn is_thought(&self) -> bool {
        self.thought == Some(true)
    }

    /// The text, when this is a text part (thought or not).
    pub fn as_text(&self) -> Option<&str> {
        match &self.data {
            PartData::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The function call, when this is a function-call part.
    pub fn as_function_call(&self) -> Option<&FunctionCall> {
        match &self.data {
            PartData::FunctionCall(call) => Some(call),
            _ => None,
        }
    }

    /// The function response, when this is a function-response part.
    pub fn as_function_response(&self) -> Option<&FunctionResponse> {
        match &self.data {
            PartData::FunctionResponse(response) => Some(response),
            _ => None,
        }
    }

    /// The inline data, when this is an inline-data part.
    pub fn as_inline_data(&self) -> Option<&Blob> {
        match &self.data {
            PartData::InlineData(blob) => Some(blob),
            _ => None,
        }
    }

    /// The file reference, when this is a file-data part.
    pub fn as_file_data(&self) -> Option<&FileData> {
        match &self.data {
            PartData::FileData(file) => Some(file),
            _ => None,
        }
    }

    /// The generated code, when this is an executable-code part.
    pub fn as_executable_code(&self) -> Option<&ExecutableCode> {
        match &self.data {
            PartData::ExecutableCode(code) => Some(code),
            _ => None,
        }
    }

    /// The code-execution result, when this is such a part.
    pub fn as_code_execution_result(&self) -> Option<&CodeExecutionResult> {
        match &self.data {
            PartData::CodeExecutionResult(result) => Some(result),
            _ => None,
        }
    }
}

impl From<&str> for Part {
    fn from(text: &str) -> Self {
        Part::text(text)
    }
}

impl From<String> for Part {
    fn from(text: String) -> Self {
        Part::text(text)
    }
}

impl From<PartData> for Part {
    fn from(data: PartData) -> Self {
        Part::from_data(data)
    }
}

impl Serialize for Part {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match &self.data {
            PartData::Text(text) => map.serialize_entry("text", text)?,
            PartData::InlineData(blob) => map.serialize_entry("inlineData", blob)?,
            PartData::FileData(file) => map.serialize_entry("fileData", file)?,
            PartData::FunctionCall(call) => map.serialize_entry("functionCall", call)?,
            PartData::FunctionResponse(response) => {
                map.serialize_entry("functionResponse", response)?
            }
            PartData::ExecutableCode(code) => map.serialize_entry("executableCode", code)?,
            PartData::CodeExecutionResult(result) => {
                map.serialize_entry("codeExecutionResult", result)?
            }
            PartData::Other => {}
        }
        if let Some(thought) = self.thought {
            map.serialize_entry("thought", &thought)?;
        }
        if let Some(signature) = &self.thought_signature {
            map.serialize_entry("thoughtSignature", &Base64(signature.clone()))?;
        }
        if let Some(video) = &self.video_metadata {
            map.serialize_entry("videoMetadata", video)?;
        }
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The members that hold a part's datum, under their JSON and proto names.
const DATUM_KEYS: [&str; 13] = [
    "text",
    "inlineData",
    "inline_data",
    "fileData",
    "file_data",
    "functionCall",
    "function_call",
    "functionResponse",
    "function_response",
    "executableCode",
    "executable_code",
    "codeExecutionResult",
    "code_execution_result",
];

impl<'de> Deserialize<'de> for Part {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PartVisitor;
        impl<'de> Visitor<'de> for PartVisitor {
            type Value = Part;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Part object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Part, A::Error> {
                let mut part = Part::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    part_member(&mut part, &key.0, &mut FromMap(&mut map))?;
                }
                Ok(part)
            }
        }
        deserializer.deserialize_map(PartVisitor)
    }
}

/// Reads member `key` of a part into `part` (for serde and for the chunk reader alike).
fn part_member<E>(part: &mut Part, key: &str, value: &mut impl MemberValue<E>) -> Result<(), E> {
    if !matches!(part.data, PartData::Other) && DATUM_KEYS.contains(&key) {
        // A second datum in one part breaks the API's oneof; keep it as it came rather than
        // lose it.
        part.extra.insert(key.to_owned(), value.value::<Value>()?);
        return Ok(());
    }
    let data = match key {
        "text" => value.value::<Option<String>>()?.map(PartData::Text),
        "inlineData" | "inline_data" => value.value::<Option<Blob>>()?.map(PartData::InlineData),
        "fileData" | "file_data" => value.value::<Option<FileData>>()?.map(PartData::FileData),
        "functionCall" | "function_call" => value
            .value::<Option<FunctionCall>>()?
            .map(PartData::FunctionCall),
        "functionResponse" | "function_response" => value
            .value::<Option<FunctionResponse>>()?
            .map(PartData::FunctionResponse),
        "executableCode" | "executable_code" => value
            .value::<Option<ExecutableCode>>()?
            .map(PartData::ExecutableCode),
        "codeExecutionResult" | "code_execution_result" => value
            .value::<Option<CodeExecutionResult>>()?
            .map(PartData::CodeExecutionResult),
        "thought" => {
            part.thought = value.value()?;
            return Ok(());
        }
        "thoughtSignature" | "thought_signature" => {
            part.thought_signature = value.value::<Option<Base64>>()?.map(|b| b.0);
            return Ok(());
        }
        "videoMetadata" | "video_metadata" => {
            part.video_metadata = value.value()?;
            return Ok(());
        }
        _ => {
            part.extra.insert(key.to_owned(), value.value::<Value>()?);
            return Ok(());
        }
    };
    if let Some(data) = data {
        part.data = data;
    }
    Ok(())
}

crate::json_reader::read_by_members!(Part, |part, reader, key| part_member(part, key, reader));

/// Raw bytes with a MIME type: base64 text on the wire, plain bytes here.
///
/// ```
/// use gemini_proto::types::Blob;
///
/// let blob: Blob = serde_json::from_str(r#"{"mimeType": "image/png", "data": "iVBORw=="}"#).unwrap();
/// assert_eq!(&blob.data[..], &[0x89, b'P', b'N', b'G']);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Blob {
    /// The IANA MIME type, such as `image/png`.
    pub mime_type: String,
    /// The bytes.
    pub data: Bytes,
    /// Members this version of the library does not model.
    pub extra: Extra,
}

impl Blob {
    /// Bytes with their MIME type.
    pub fn new(mime_type: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Self {
            mime_type: mime_type.into(),
            data: data.into(),
            extra: Extra::new(),
        }
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("mimeType", &self.mime_type)?;
        map.serialize_entry("data", &Base64(self.data.clone()))?;
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BlobVisitor;
        impl<'de> Visitor<'de> for BlobVisitor {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Blob object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Blob, A::Error> {
                let mut blob = Blob::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match &*key.0 {
                        "mimeType" | "mime_type" => {
                            blob.mime_type = map.next_value::<NullOr<String>>()?.0
                        }
                        "data" => {
                            blob.data = map.next_value::<Option<Base64>>()?.unwrap_or_default().0
                        }
                        _ => {
                            let value: Value = map.next_value()?;
                            blob.extra.insert(key.0.into_owned(), value);
                        }
                    }
                }
                Ok(blob)
            }
        }
        deserializer.deserialize_map(BlobVisitor)
    }
}

wire_struct! {
    /// A reference to a file by URI.
    pub struct FileData {
        /// The IANA MIME type of the file.
        mime_type: Option<String> = "mimeType",
        /// The URI.
        file_uri: String = "fileUri",
    }
}

wire_struct! {
    /// A function call made by the model.
    pub struct FunctionCall {
        /// An identifier to match the call with its response (some models set it).
        id: Option<String> = "id",
        /// The name of the declared function.
        name: String = "name",
        /// The arguments, a JSON object.
        args: Option<Value> = "args",
    }
}

impl FunctionCall {
    /// A call of `name` with `args`.
    pub fn new(name: impl Into<String>, args: Value) -> Self {
        Self {
            name: name.into(),
            args: Some(args),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// The result of a function call, sent back to the model.
    pub struct FunctionResponse {
        /// The identifier of the call this answers, when the call had one.
        id: Option<String> = "id",
        /// The name of the function called.
        name: String = "name",
        /// The result, a JSON object.
        response: Option<Value> = "response",
        /// True when more responses for the same call follow (non-blocking functions).
        will_continue: Option<bool> = "willContinue",
    }
}

impl FunctionResponse {
    /// The result `response` of calling `name`.
    pub fn new(name: impl Into<String>, response: Value) -> Self {
        Self {
            name: name.into(),
            response: Some(response),
            ..Self::default()
        }
    }

    /// This response answering the call with identifier `id`.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

wire_struct! {
    /// Code the model wrote for the code-execution tool.
    pub struct ExecutableCode {
        /// The language.
        language: Option<Language> = "language",
        /// The code.
        code: String = "code",
    }
}

wire_struct! {
    /// The result of running [`ExecutableCode`].
    pub struct CodeExecutionResult {
        /// How the run ended.
        outcome: Option<Outcome> = "outcome",
        /// Standard output, or the error.
        output: Option<String> = "output",
    }
}

wire_struct! {
    /// Which part of a video to use.
    pub struct VideoMetadata {
        /// Start offset, a protobuf duration such as `"1.5s"`.
        start_offset: Option<String> = "startOffset",
        /// End offset, a protobuf duration such as `"10s"`.
        end_offset: Option<String> = "endOffset",
        /// Frames per second to sample.
        fps: Option<f64> = "fps",
    }
}

impl super::wire::WireField for String {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

crate::json_reader::read_via_serde!(Blob);
