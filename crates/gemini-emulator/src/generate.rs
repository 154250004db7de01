//! Deterministic generation: the answer, its chunks and its token counts, all derived from the
//! request.

use std::collections::HashSet;

use bytes::Bytes;
use gemini_proto::types::{
    BlockReason, Candidate, Content, FinishReason, FunctionCall, FunctionCallingMode,
    FunctionDeclaration, GenerateContentRequest, GenerateContentResponse, HarmCategory,
    HarmProbability, Modality, ModalityTokenCount, Part, PartData, PromptFeedback, Role,
    SafetyRating, Schema, UsageMetadata,
};
use serde_json::{Map, Value};

use crate::catalogue::ModelInfo;
use crate::json::to_compact;
use crate::limits::{MAX_SCHEMA_ANSWER_BYTES, MAX_SCHEMA_ITEMS, MAX_STRING_LENGTH, MAX_TOKENS};

/// Tokens an inline blob or a file reference counts for (Gemini's per-image figure).
pub(crate) const MEDIA_TOKENS: u32 = 258;

/// FNV-1a, stable across platforms and Rust versions.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// splitmix64.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[-1, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

const VOCAB: &[&str] = &[
    "the", "model", "answer", "stream", "request", "token", "signal", "river", "garden", "lantern",
    "quiet", "bright", "careful", "simple", "window", "harbor", "morning", "question", "pattern",
    "measure", "detail", "system", "value", "result", "travel", "north", "light", "paper", "stone",
    "orbit", "number", "engine", "method", "clear", "gentle", "rapid", "steady", "useful",
    "example", "context", "reason", "summary", "idea", "first", "second", "third", "often",
    "always", "usually", "because", "while", "after", "before", "between", "across", "within",
    "around", "small", "large", "green", "blue", "golden", "silver", "open", "closed", "data",
    "chunk", "event", "server", "client", "record", "field", "scale", "balance", "window",
    "bridge", "forest", "meadow", "valley", "mountain", "ocean", "island", "city", "street",
    "market", "music", "story", "a", "an", "of", "to", "in", "on", "with", "and", "or", "is",
    "are", "can", "will", "may", "should", "this", "that", "these", "each", "every", "some",
    "many", "few",
];

/// The emulator's tokenizer: a run of letters/digits is one token, every other visible character
/// is one token, whitespace is free. Additive over any split made at whitespace.
pub(crate) fn count_text_tokens(text: &str) -> u32 {
    let mut n = 0;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if !in_word {
                n += 1;
                in_word = true;
            }
        } else {
            in_word = false;
            if !c.is_whitespace() {
                n += 1;
            }
        }
    }
    n
}

fn modality_of(mime: &str) -> Modality {
    if mime.starts_with("image/") {
        Modality::Image
    } else if mime.starts_with("audio/") {
        Modality::Audio
    } else if mime.starts_with("video/") {
        Modality::Video
    } else if mime.starts_with("text/") {
        Modality::Text
    } else {
        Modality::Document
    }
}

/// Token count of one part, with its modality.
fn part_tokens(part: &Part) -> (Modality, u32) {
    match &part.data {
        PartData::Text(t) => (Modality::Text, count_text_tokens(t)),
        PartData::InlineData(b) => (modality_of(&b.mime_type), MEDIA_TOKENS),
        PartData::FileData(f) => (
            modality_of(f.mime_type.as_deref().unwrap_or_default()),
            MEDIA_TOKENS,
        ),
        PartData::FunctionCall(c) => (
            Modality::Text,
            count_text_tokens(&String::from_utf8_lossy(&to_compact(c))),
        ),
        PartData::FunctionResponse(r) => (
            Modality::Text,
            count_text_tokens(&String::from_utf8_lossy(&to_compact(r))),
        ),
        _ => (Modality::Text, 0),
    }
}

fn modality_count(modality: Modality, token_count: u32) -> ModalityTokenCount {
    let mut count = ModalityTokenCount::default();
    count.modality = Some(modality);
    count.token_count = Some(token_count);
    count
}

/// Prompt token count and its per-modality breakdown (TEXT first, then in order of appearance).
pub(crate) fn prompt_tokens(
    contents: &[Content],
    system: Option<&Content>,
    tools_json: Option<&Value>,
) -> (u32, Vec<ModalityTokenCount>) {
    let mut counts: Vec<(Modality, u32)> = vec![(Modality::Text, 0)];
    let mut add = |modality: Modality, n: u32| {
        if let Some(d) = counts.iter_mut().find(|d| d.0 == modality) {
            d.1 += n;
        } else {
            counts.push((modality, n));
        }
    };
    for content in system.into_iter().chain(contents) {
        for part in &content.parts {
            let (m, n) = part_tokens(part);
            add(m, n);
        }
    }
    if let Some(tools) = tools_json {
        add(Modality::Text, count_text_tokens(&tools.to_string()));
    }
    let total = counts.iter().map(|d| d.1).sum();
    let details = counts
        .into_iter()
        .map(|(m, n)| modality_count(m, n))
        .collect();
    (total, details)
}

/// One step of a candidate's stream.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    Thought(String),
    Text(String),
    Call(FunctionCall, Option<Bytes>),
    /// The closing empty text part carrying a thought signature.
    Closing(Bytes),
}

impl Item {
    pub(crate) fn answer_tokens(&self) -> u32 {
        match self {
            Item::Text(t) => count_text_tokens(t),
            Item::Call(c, _) => count_text_tokens(&String::from_utf8_lossy(&to_compact(c))),
            Item::Thought(_) | Item::Closing(_) => 0,
        }
    }

    pub(crate) fn part(&self) -> Part {
        match self {
            Item::Thought(t) => Part::text(t.clone()).with_thought(true),
            Item::Text(t) => Part::text(t.clone()),
            Item::Call(c, sig) => {
                let mut part = Part::from_data(PartData::FunctionCall(c.clone()));
                part.thought_signature = sig.clone();
                part
            }
            Item::Closing(sig) => Part::text(String::new()).with_thought_signature(sig.clone()),
        }
    }
}

/// A candidate's planned output.
#[derive(Debug, Clone)]
pub(crate) struct CandidatePlan {
    pub items: Vec<Item>,
    pub finish_reason: FinishReason,
}

/// Everything needed to write the response, unary or streamed.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// What the answer is derived from (the request, without its limits and continuation token).
    pub seed: u64,
    pub model_version: String,
    pub response_id: String,
    pub prompt_tokens: u32,
    pub prompt_details: Vec<ModalityTokenCount>,
    /// Hidden thinking tokens (reported in usage only).
    pub hidden_thoughts: u32,
    pub candidates: Vec<CandidatePlan>,
    pub blocked: Option<BlockReason>,
}

/// Generation knobs that come from the emulator rather than the request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Directives {
    pub tokens: Option<usize>,
    pub block_reason: Option<String>,
}

fn first_words(text: &str, n: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut s = words.iter().take(n).copied().collect::<Vec<_>>().join(" ");
    if words.len() > n {
        s.push('…');
    }
    s
}

fn content_text(content: &Content) -> String {
    content
        .parts
        .iter()
        .filter(|p| !p.is_thought())
        .filter_map(Part::as_text)
        .collect::<Vec<_>>()
        .join(" ")
}

fn filler_sentence(rng: &mut Rng) -> String {
    let n = 5 + rng.below(10) as usize;
    let mut words: Vec<String> = (0..n)
        .map(|_| VOCAB[rng.below(VOCAB.len() as u64) as usize].to_owned())
        .collect();
    if let Some(first) = words.first_mut() {
        let mut c = first.chars();
        *first = match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => String::new(),
        };
    }
    let mut s = words.join(" ");
    s.push('.');
    s
}

/// 48 opaque bytes (64 base64 characters on the wire).
fn signature(rng: &mut Rng) -> Bytes {
    (0..48).map(|_| rng.next_u64() as u8).collect()
}

/// A response id in the style of Google's (23 URL-safe characters).
fn response_id(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = Rng::new(seed ^ 0x5eed);
    (0..23)
        .map(|_| ALPHABET[rng.below(64) as usize] as char)
        .collect()
}

/// What one answer may still spend on schema values (see [`crate::limits`]).
#[derive(Debug)]
pub(crate) struct Budget {
    /// Array items and object members left.
    items: usize,
    /// Bytes of strings and of copied `const` / `enum` values left.
    bytes: usize,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Budget {
            items: MAX_SCHEMA_ITEMS,
            bytes: MAX_SCHEMA_ANSWER_BYTES,
        }
    }

    fn items(&mut self, n: usize) -> Result<(), String> {
        spend(&mut self.items, n, || {
            format!("{MAX_SCHEMA_ITEMS} items and members (minItems, nested arrays, properties)")
        })
    }

    fn bytes(&mut self, n: usize) -> Result<(), String> {
        spend(&mut self.bytes, n, || {
            format!("{MAX_SCHEMA_ANSWER_BYTES} bytes of strings and copied values")
        })
    }

    /// Charges a value copied from the request (`const`, `enum`) by its size.
    fn copy(&mut self, value: &Value) -> Result<Value, String> {
        fn size(v: &Value) -> usize {
            match v {
                Value::String(s) => s.len() + 2,
                Value::Array(a) => a.iter().map(size).sum::<usize>() + 2,
                Value::Object(o) => o.iter().map(|(k, v)| k.len() + 3 + size(v)).sum::<usize>() + 2,
                _ => 8,
            }
        }
        self.bytes(size(value))?;
        Ok(value.clone())
    }
}

/// Takes `n` from what is `left`, or says what the schema asked for past the limit.
fn spend(left: &mut usize, n: usize, limit: impl Fn() -> String) -> Result<(), String> {
    *left = left.checked_sub(n).ok_or_else(|| {
        format!(
            "The response schema asks for an answer of more than {}: over the emulator's limit.",
            limit()
        )
    })?;
    Ok(())
}

/// Produces a value that conforms to an OpenAPI (`responseSchema`) or JSON Schema
/// (`responseJsonSchema`) schema, within `budget`; the error says which limit the schema asks to
/// pass. Work is linear in the size of the value produced.
pub(crate) fn schema_value(
    schema: &Value,
    root: &Value,
    rng: &mut Rng,
    depth: usize,
    budget: &mut Budget,
) -> Result<Value, String> {
    if depth > 8 {
        return Ok(Value::Null);
    }
    let Some(obj) = schema.as_object() else {
        return Ok(Value::String(VOCAB[rng.below(20) as usize].into()));
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix("#/")
            .map(|p| p.split('/').try_fold(root, |acc, key| acc.get(key)))
            .unwrap_or(None);
        return match target {
            Some(t) => schema_value(t, root, rng, depth + 1, budget),
            None => Ok(Value::Null),
        };
    }
    if let Some(c) = obj.get("const") {
        return budget.copy(c);
    }
    if let Some(values) = obj
        .get("enum")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
    {
        return budget.copy(&values[rng.below(values.len() as u64) as usize]);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(alts) = obj.get(key).and_then(Value::as_array) {
            let pick = alts.iter().find(|a| {
                a.get("type")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                    != Some("null")
            });
            if let Some(alt) = pick.or(alts.first()) {
                return schema_value(alt, root, rng, depth + 1, budget);
            }
        }
    }
    let ty = match obj.get("type") {
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_ascii_lowercase)
            .find(|t| t != "null")
            .unwrap_or_else(|| "null".into()),
        _ if obj.contains_key("properties") => "object".into(),
        _ if obj.contains_key("items") => "array".into(),
        _ => "string".into(),
    };
    Ok(match ty.as_str() {
        "object" => {
            let mut map = Map::new();
            let props = obj.get("properties").and_then(Value::as_object);
            if let Some(props) = props {
                budget.items(props.len())?;
                let mut keys: Vec<&String> = Vec::new();
                let mut seen = HashSet::new();
                if let Some(order) = obj.get("propertyOrdering").and_then(Value::as_array) {
                    for k in order.iter().filter_map(Value::as_str) {
                        if let Some((k, _)) = props.get_key_value(k)
                            && seen.insert(k)
                        {
                            keys.push(k);
                        }
                    }
                }
                for k in props.keys() {
                    if seen.insert(k) {
                        keys.push(k);
                    }
                }
                for k in keys {
                    budget.bytes(k.len())?;
                    map.insert(
                        k.clone(),
                        schema_value(&props[k], root, rng, depth + 1, budget)?,
                    );
                }
            }
            Value::Object(map)
        }
        "array" => {
            let min = obj.get("minItems").and_then(as_u64_lenient).unwrap_or(0);
            let max = obj
                .get("maxItems")
                .and_then(as_u64_lenient)
                .unwrap_or(u64::MAX);
            let n = usize::try_from(2u64.max(min).min(max)).unwrap_or(usize::MAX);
            budget.items(n)?;
            let items = obj.get("items").cloned().unwrap_or(Value::Null);
            Value::Array(
                (0..n)
                    .map(|_| schema_value(&items, root, rng, depth + 1, budget))
                    .collect::<Result<_, _>>()?,
            )
        }
        "integer" => {
            // Float-to-int casts saturate; the arithmetic is done in i128, so no limit can overflow.
            let lo = obj
                .get("minimum")
                .and_then(Value::as_f64)
                .map_or(0, |v| v.ceil() as i64);
            let hi = obj
                .get("maximum")
                .and_then(Value::as_f64)
                .map_or(lo.saturating_add(100), |v| v.floor() as i64)
                .max(lo);
            let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
            let offset = (u128::from(rng.next_u64()) % span) as i128;
            Value::from(i64::try_from(i128::from(lo) + offset).unwrap_or(lo))
        }
        "number" => {
            let lo = obj.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
            let hi = obj
                .get("maximum")
                .and_then(Value::as_f64)
                .unwrap_or(lo + 100.0)
                .max(lo);
            let frac = rng.below(1000) as f64 / 1000.0;
            // Halves first: `hi - lo` alone can overflow to infinity.
            let x = lo + (hi / 2.0 - lo / 2.0) * 2.0 * frac;
            let x = if x.is_finite() { x } else { lo };
            let rounded = (x * 10.0).round() / 10.0;
            Value::from(if rounded.is_finite() && rounded >= lo && rounded <= hi {
                rounded
            } else {
                x
            })
        }
        "boolean" => Value::Bool(rng.below(2) == 0),
        "null" => Value::Null,
        _ => {
            let mut s = match obj.get("format").and_then(Value::as_str) {
                Some("date-time") => "2025-06-17T12:00:00Z".to_owned(),
                Some("date") => "2025-06-17".to_owned(),
                Some("time") => "12:00:00".to_owned(),
                _ => {
                    let n = 1 + rng.below(3) as usize;
                    (0..n)
                        .map(|_| VOCAB[rng.below(VOCAB.len() as u64) as usize])
                        .collect::<Vec<_>>()
                        .join(" ")
                }
            };
            if let Some(min) = obj.get("minLength").and_then(as_u64_lenient) {
                if min > MAX_STRING_LENGTH as u64 {
                    return Err(format!(
                        "The response schema asks for a string of {min} characters (minLength), over the emulator's limit of {MAX_STRING_LENGTH}."
                    ));
                }
                // Counted once, padded once: linear in the length.
                let have = s.chars().count();
                let missing = (min as usize).saturating_sub(have);
                s.extend(std::iter::repeat_n('x', missing));
            }
            if let Some(max) = obj.get("maxLength").and_then(as_u64_lenient)
                && let Some((cut, _)) = s
                    .char_indices()
                    .nth(usize::try_from(max).unwrap_or(usize::MAX))
            {
                s.truncate(cut);
            }
            budget.bytes(s.len() + 2)?;
            Value::String(s)
        }
    })
}

/// OpenAPI schemas in Gemini's REST form send int64 limits as strings.
fn as_u64_lenient(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Splits text into segments of (leading whitespace + one visible run), so that every chunk
/// boundary falls just before whitespace.
fn segments(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut seen_visible = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if seen_visible {
                out.push(&text[start..i]);
                start = i;
                seen_visible = false;
            }
        } else {
            seen_visible = true;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Groups segments into chunks of a few to tens of words.
fn chunk_text(text: &str, rng: &mut Rng) -> Vec<String> {
    let segs = segments(text);
    let mut chunks = Vec::new();
    let mut i = 0;
    let mut first = true;
    while i < segs.len() {
        let take = if first {
            1 + rng.below(4)
        } else {
            4 + rng.below(20)
        } as usize;
        first = false;
        let end = (i + take).min(segs.len());
        chunks.push(segs[i..end].concat());
        i = end;
    }
    if chunks.is_empty() {
        chunks.push(String::new());
    }
    chunks
}

/// Cuts `text` at the first stop sequence and to at most `max_tokens` tokens. Returns the text and
/// whether the token limit cut it.
fn truncate(text: &str, stop: &[String], max_tokens: Option<u32>) -> (String, bool) {
    let mut end = text.len();
    for s in stop.iter().filter(|s| !s.is_empty()) {
        if let Some(pos) = text.find(s.as_str()) {
            end = end.min(pos);
        }
    }
    let text = &text[..end];
    let Some(max) = max_tokens else {
        return (text.to_owned(), false);
    };
    let mut used = 0;
    let mut out = String::new();
    for seg in segments(text) {
        let n = count_text_tokens(seg);
        if used + n > max {
            return (out, true);
        }
        used += n;
        out.push_str(seg);
    }
    (out, false)
}

/// Builds the plan for a generateContent / streamGenerateContent request; the error is the message
/// of a 400 `INVALID_ARGUMENT` (a response schema past the [limits](crate::limits)).
pub(crate) fn plan(
    model: &ModelInfo,
    req: &GenerateContentRequest,
    raw: &Value,
    directives: &Directives,
) -> Result<Plan, String> {
    // The seed covers everything that shapes the answer except the limits that only cut it short,
    // so a MAX_TOKENS or stop-sequence answer is a prefix of the unlimited one.
    let mut canonical = raw.clone();
    // Where a continued answer resumes does not change the answer.
    if let Some(object) = canonical.as_object_mut() {
        object.remove("continuationToken");
        object.remove("continuation_token");
    }
    for name in ["generationConfig", "generation_config"] {
        if let Some(cfg) = canonical.get_mut(name).and_then(Value::as_object_mut) {
            for key in [
                "maxOutputTokens",
                "stopSequences",
                "candidateCount",
                "max_output_tokens",
                "stop_sequences",
                "candidate_count",
            ] {
                cfg.remove(key);
            }
        }
    }
    // An empty member says nothing: `"generationConfig": {}` (which the Python SDK adds when it
    // continues an answer) is the same request as none.
    drop_empty(&mut canonical);
    let mut seed_bytes = model.id().as_bytes().to_vec();
    seed_bytes.extend(to_compact(&canonical));
    let seed = fnv1a(&seed_bytes);

    let tools_json = raw
        .get("tools")
        .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()));
    let (prompt_tokens, prompt_details) =
        prompt_tokens(&req.contents, req.system_instruction.as_ref(), tools_json);
    let cfg = req.generation_config.clone().unwrap_or_default();
    let thinking = cfg.thinking_config.clone().unwrap_or_default();
    let thinks = model.thinking && thinking.thinking_budget != Some(0);
    let include_thoughts = thinks && thinking.include_thoughts == Some(true);

    let mut rng = Rng::new(seed);
    let hidden_thoughts = if thinks && !include_thoughts {
        40 + rng.below(200) as u32
    } else {
        0
    };
    let plan_base = Plan {
        seed,
        model_version: model.id().to_owned(),
        response_id: response_id(seed),
        prompt_tokens,
        prompt_details,
        hidden_thoughts,
        candidates: Vec::new(),
        blocked: directives.block_reason.as_deref().map(block_reason),
    };
    if plan_base.blocked.is_some() {
        return Ok(plan_base);
    }

    let last = req.contents.last();
    let user_text = last.map(content_text).unwrap_or_default();
    let function_responses: Vec<_> = last
        .map(|c| {
            c.parts
                .iter()
                .filter_map(Part::as_function_response)
                .collect()
        })
        .unwrap_or_default();
    let user_turns = req
        .contents
        .iter()
        .filter(|c| c.role != Some(Role::Model))
        .count();
    let system_text = req
        .system_instruction
        .as_ref()
        .map(content_text)
        .filter(|s| !s.trim().is_empty());

    // Function calling.
    let decls: Vec<_> = req
        .tools
        .iter()
        .flat_map(|t| &t.function_declarations)
        .collect();
    let fcc = req
        .tool_config
        .as_ref()
        .and_then(|t| t.function_calling_config.clone())
        .unwrap_or_default();
    let mode = fcc
        .mode
        .as_ref()
        .unwrap_or(&FunctionCallingMode::Auto)
        .as_str()
        .to_ascii_uppercase();
    let allowed = |name: &str| {
        fcc.allowed_function_names.is_empty()
            || fcc.allowed_function_names.iter().any(|a| a == name)
    };
    let asked = AskedFor::new(&user_text);
    let call_target = if decls.is_empty() || mode == "NONE" || !function_responses.is_empty() {
        None
    } else if mode == "ANY" {
        asked
            .best(decls.iter().copied().filter(|d| allowed(&d.name)))
            .or_else(|| decls.iter().copied().find(|d| allowed(&d.name)))
    } else {
        asked.best(decls.iter().copied())
    };

    let n_candidates = cfg.candidate_count.unwrap_or(1).clamp(1, 8);
    let json_mode = cfg.response_mime_type.as_deref() == Some("application/json");
    let enum_mode = cfg.response_mime_type.as_deref() == Some("text/x.enum");
    let schema = cfg
        .response_json_schema
        .clone()
        .or_else(|| cfg.response_schema.as_ref().map(schema_json));

    let mut budget = Budget::new();
    let mut candidates = Vec::new();
    for index in 0..n_candidates {
        let mut rng = Rng::new(seed ^ u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut items = Vec::new();
        if include_thoughts {
            let topic = if user_text.is_empty() {
                "the conversation so far".to_owned()
            } else {
                format!("\"{}\"", first_words(&user_text, 8))
            };
            items.push(Item::Thought(format!(
                "**Understanding the request**\n\nThe user is asking about {topic}. I am working out which details matter most before answering.\n\n\n"
            )));
            items.push(Item::Thought(format!(
                "**Drafting the answer**\n\nI will answer directly and keep it {}.\n\n\n",
                ["brief", "clear", "focused", "practical"][rng.below(4) as usize]
            )));
        }
        let sig = if thinks {
            Some(signature(&mut rng))
        } else {
            None
        };
        if let Some(decl) = call_target {
            let schema = decl
                .parameters_json_schema
                .clone()
                .or_else(|| decl.parameters.as_ref().map(schema_json));
            let args = match &schema {
                Some(s) => schema_value(s, s, &mut rng, 0, &mut budget)?,
                None => Value::Object(Map::new()),
            };
            let args = if args.is_object() {
                args
            } else {
                Value::Object(Map::new())
            };
            items.push(Item::Call(FunctionCall::new(decl.name.clone(), args), sig));
            candidates.push(CandidatePlan {
                items,
                finish_reason: FinishReason::Stop,
            });
            continue;
        }

        let full = if json_mode {
            let value = match &schema {
                Some(s) => schema_value(s, s, &mut rng, 0, &mut budget)?,
                None => serde_json::json!({ "response": filler_sentence(&mut rng) }),
            };
            serde_json::to_string_pretty(&value).expect("a Value always serializes")
        } else if enum_mode {
            match schema
                .as_ref()
                .map(|s| schema_value(s, s, &mut rng, 0, &mut budget))
                .transpose()?
            {
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => filler_sentence(&mut rng),
            }
        } else {
            let mut sentences: Vec<String> = Vec::new();
            for r in &function_responses {
                let name = if r.name.is_empty() {
                    "the function"
                } else {
                    r.name.as_str()
                };
                sentences.push(format!(
                    "The function {name} returned {}.",
                    String::from_utf8_lossy(&to_compact(&r.response))
                ));
            }
            if function_responses.is_empty() && !user_text.trim().is_empty() {
                sentences.push(format!("You asked: \"{}\".", first_words(&user_text, 12)));
            }
            for part in last.map(|c| c.parts.as_slice()).unwrap_or_default() {
                match &part.data {
                    PartData::InlineData(b) => sentences.push(format!(
                        "I received inline {} data ({} bytes).",
                        b.mime_type,
                        b.data.len()
                    )),
                    PartData::FileData(f) => sentences.push(format!(
                        "I received the file {} ({}).",
                        f.file_uri,
                        f.mime_type.as_deref().unwrap_or_default()
                    )),
                    _ => {}
                }
            }
            if user_turns > 1 {
                sentences.push(format!("This is turn {user_turns} of our conversation."));
            }
            if let Some(sys) = &system_text {
                sentences.push(format!(
                    "Following the system instruction \"{}\".",
                    first_words(sys, 8)
                ));
            }
            let target = directives.tokens.map_or_else(
                || 24 + rng.below(72) as u32,
                |t| u32::try_from(t.min(MAX_TOKENS)).unwrap_or(u32::MAX),
            );
            let mut text = sentences.join(" ");
            // Counted as it grows (the count is additive over pieces joined at whitespace), so
            // the work is linear in the answer's length.
            let mut tokens = count_text_tokens(&text);
            while tokens < target {
                let sep = if !text.is_empty() && rng.below(4) == 0 {
                    "\n\n"
                } else if text.is_empty() {
                    ""
                } else {
                    " "
                };
                let sentence = filler_sentence(&mut rng);
                tokens += count_text_tokens(&sentence);
                text.push_str(sep);
                text.push_str(&sentence);
            }
            text
        };
        let (text, cut) = truncate(&full, &cfg.stop_sequences, cfg.max_output_tokens);
        items.extend(chunk_text(&text, &mut rng).into_iter().map(Item::Text));
        if let Some(sig) = sig.filter(|_| include_thoughts || model.is_gemini3()) {
            items.push(Item::Closing(sig));
        }
        candidates.push(CandidatePlan {
            items,
            finish_reason: if cut {
                FinishReason::MaxTokens
            } else {
                FinishReason::Stop
            },
        });
    }
    Ok(Plan {
        candidates,
        ..plan_base
    })
}

/// Removes `null`, `{}` and `[]` members, recursively (depth-bounded by the JSON parser).
fn drop_empty(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for member in map.values_mut() {
                drop_empty(member);
            }
            map.retain(|_, member| match member {
                Value::Null => false,
                Value::Object(m) => !m.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            });
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty),
        _ => {}
    }
}

/// What the user's last turn asks for, to decide whether a declared function provides it (AUTO
/// mode, the real model's behaviour): a function whose name appears in the text (`get_weather`,
/// "get weather", `getWeather`), whose name's words all appear in it (leaving out generic verbs
/// such as "get" or "list": "what's the weather?" asks for `get_weather`), or whose description
/// shares at least two of its significant words with it (one when it has only one). Linear in the
/// text and the declarations.
struct AskedFor {
    words: HashSet<String>,
}

/// Verbs that say how, not what: a function's name is matched on its other words.
const GENERIC_VERBS: &[&str] = &[
    "get", "set", "fetch", "find", "list", "lookup", "look", "up", "retrieve", "do", "make", "run",
    "call", "query", "search", "by", "for", "of",
];

/// Words of a description that say nothing about what the function provides.
const STOP_WORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "from",
    "that",
    "this",
    "these",
    "those",
    "into",
    "about",
    "given",
    "returns",
    "return",
    "gets",
    "get",
    "function",
    "tool",
    "use",
    "used",
    "when",
    "what",
    "which",
    "will",
    "your",
    "user",
    "users",
    "specified",
    "current",
    "information",
    "data",
    "value",
    "values",
    "some",
    "any",
    "all",
    "each",
    "its",
    "their",
    "there",
    "here",
];

impl AskedFor {
    fn new(text: &str) -> Self {
        AskedFor {
            words: words(text).map(|w| stem(&w)).collect(),
        }
    }

    /// The first of the declarations that match best, if any matches.
    fn best<'a>(
        &self,
        decls: impl Iterator<Item = &'a FunctionDeclaration>,
    ) -> Option<&'a FunctionDeclaration> {
        let mut best: Option<(u32, &FunctionDeclaration)> = None;
        for decl in decls {
            let score = self.score(decl);
            if score > 0 && best.is_none_or(|(top, _)| score > top) {
                best = Some((score, decl));
            }
        }
        best.map(|(_, decl)| decl)
    }

    /// How well `decl` matches: 0 for not at all.
    fn score(&self, decl: &FunctionDeclaration) -> u32 {
        let name: Vec<String> = words(&decl.name).map(|w| stem(&w)).collect();
        if name.is_empty() {
            return 0;
        }
        let significant: Vec<&String> = name
            .iter()
            .filter(|w| !GENERIC_VERBS.contains(&w.as_str()))
            .collect();
        let needed = if significant.is_empty() {
            name.iter().collect()
        } else {
            significant
        };
        let mut score = 0;
        if needed.iter().all(|w| self.words.contains(w.as_str())) {
            score += 100;
        }
        if let Some(description) = &decl.description {
            let described: HashSet<String> = words(description)
                .filter(|w| w.len() >= 4 && !STOP_WORDS.contains(&w.as_str()))
                .map(|w| stem(&w))
                .collect();
            let shared = described.iter().filter(|w| self.words.contains(*w)).count();
            if shared >= described.len().clamp(1, 2) {
                score += shared as u32;
            }
        }
        score
    }
}

/// The lower-case words of `text`: runs of letters and digits, also split where a lower-case
/// letter meets an upper-case one (`getWeather` → "get", "weather").
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            current.extend(c.to_lowercase());
        } else {
            prev_lower = false;
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out.into_iter()
}

/// A plural's singular, roughly: "cities" → "city", "forecasts" → "forecast".
fn stem(word: &str) -> String {
    if let Some(base) = word.strip_suffix("ies").filter(|b| b.len() >= 2) {
        format!("{base}y")
    } else if let Some(base) = word
        .strip_suffix('s')
        .filter(|b| b.len() >= 3 && !b.ends_with('s'))
    {
        base.to_owned()
    } else {
        word.to_owned()
    }
}

/// The reason reported for a `block-prompt` fault (unknown names fall back to SAFETY).
fn block_reason(name: &str) -> BlockReason {
    match BlockReason::from_wire(name) {
        reason @ (BlockReason::Other
        | BlockReason::Blocklist
        | BlockReason::ProhibitedContent
        | BlockReason::ImageSafety) => reason,
        _ => BlockReason::Safety,
    }
}

fn safety_ratings(blocked: bool) -> Vec<SafetyRating> {
    [
        (HarmCategory::SexuallyExplicit, HarmProbability::Negligible),
        (HarmCategory::HateSpeech, HarmProbability::Negligible),
        (HarmCategory::Harassment, HarmProbability::Negligible),
        (
            HarmCategory::DangerousContent,
            if blocked {
                HarmProbability::High
            } else {
                HarmProbability::Negligible
            },
        ),
    ]
    .into_iter()
    .map(|(category, probability)| {
        let mut rating = SafetyRating::default();
        rating.category = Some(category);
        rating.probability = Some(probability);
        rating
    })
    .collect()
}

/// A candidate of a response: `content`, `finishReason`, `index`, `safetyRatings`.
pub(crate) fn candidate(
    content: Option<Content>,
    finish_reason: Option<FinishReason>,
    index: usize,
    safety_ratings: Vec<SafetyRating>,
) -> Candidate {
    let mut candidate = Candidate::default();
    candidate.content = content;
    candidate.finish_reason = finish_reason;
    // Google writes the index of every candidate, 0 included.
    candidate.index = Some(index as u32);
    candidate.safety_ratings = safety_ratings;
    candidate
}

/// A candidate stopped by the safety filter: no content, finish reason SAFETY, its ratings.
pub(crate) fn safety_candidate(index: usize) -> Candidate {
    candidate(
        None,
        Some(FinishReason::Safety),
        index,
        safety_ratings(true),
    )
}

/// The JSON form of an OpenAPI schema, for [`schema_value`] (which also reads JSON Schema).
fn schema_json(schema: &Schema) -> Value {
    serde_json::to_value(schema).expect("a Schema always serializes")
}

impl Plan {
    pub(crate) fn usage(&self, answer: u32, thoughts: u32) -> UsageMetadata {
        let thoughts = thoughts + self.hidden_thoughts;
        let mut usage = UsageMetadata::default();
        // Google always writes the prompt count and the total; the candidates and thoughts counts
        // only when they are not zero.
        usage.prompt_token_count = Some(self.prompt_tokens);
        usage.candidates_token_count = (answer > 0).then_some(answer);
        usage.total_token_count = Some(self.prompt_tokens + answer + thoughts);
        usage.prompt_tokens_details = self.prompt_details.clone();
        usage.thoughts_token_count = (thoughts > 0).then_some(thoughts);
        usage
    }

    pub(crate) fn response(
        &self,
        candidates: Vec<Candidate>,
        usage: UsageMetadata,
    ) -> GenerateContentResponse {
        let mut response = GenerateContentResponse::default();
        response.candidates = candidates;
        response.usage_metadata = Some(usage);
        response.model_version = Some(self.model_version.as_str().into());
        response.response_id = Some(self.response_id.as_str().into());
        response
    }

    pub(crate) fn blocked_response(&self, reason: &BlockReason) -> GenerateContentResponse {
        let mut feedback = PromptFeedback::default();
        feedback.block_reason = Some(reason.clone());
        feedback.safety_ratings = safety_ratings(true);
        let mut response = self.response(Vec::new(), self.usage(0, 0));
        response.prompt_feedback = Some(feedback);
        response
    }

    /// The response events of a stream, in order. `safety_after` ends the stream with a SAFETY
    /// candidate after that many events.
    pub fn events(&self, safety_after: Option<usize>) -> Vec<(GenerateContentResponse, u32)> {
        if let Some(reason) = &self.blocked {
            return vec![(self.blocked_response(reason), 0)];
        }
        let steps = self
            .candidates
            .iter()
            .map(|c| c.items.len())
            .max()
            .unwrap_or(0);
        let (mut answer, mut thoughts) = (0u32, 0u32);
        let mut out = Vec::with_capacity(steps);
        for k in 0..steps {
            if safety_after == Some(out.len()) {
                break;
            }
            let mut cands = Vec::new();
            let mut event_tokens = 0;
            for (index, c) in self.candidates.iter().enumerate() {
                let Some(item) = c.items.get(k) else { continue };
                let a = item.answer_tokens();
                answer += a;
                event_tokens += a;
                if let Item::Thought(t) = item {
                    let n = count_text_tokens(t);
                    thoughts += n;
                    event_tokens += n;
                }
                let last = k + 1 == c.items.len();
                cands.push(candidate(
                    Some(Content::model(item.part())),
                    last.then(|| c.finish_reason.clone()),
                    index,
                    Vec::new(),
                ));
            }
            out.push((
                self.response(cands, self.usage(answer, thoughts)),
                event_tokens,
            ));
        }
        if safety_after.is_some_and(|n| n <= out.len()) || (safety_after.is_some() && steps == 0) {
            let cands = (0..self.candidates.len().max(1))
                .map(safety_candidate)
                .collect();
            out.push((self.response(cands, self.usage(answer, thoughts)), 0));
        }
        out
    }

    /// The unary response: each candidate's items merged into whole parts.
    pub fn unary(&self, safety: bool) -> GenerateContentResponse {
        if let Some(reason) = &self.blocked {
            return self.blocked_response(reason);
        }
        let (mut answer, mut thoughts) = (0u32, 0u32);
        let mut cands = Vec::new();
        for (index, c) in self.candidates.iter().enumerate() {
            if safety {
                cands.push(safety_candidate(index));
                continue;
            }
            let parts = merged_parts(&c.items, &mut answer, &mut thoughts);
            cands.push(candidate(
                Some(Content::model(parts)),
                Some(c.finish_reason.clone()),
                index,
                Vec::new(),
            ));
        }
        self.response(cands, self.usage(answer, thoughts))
    }
}

/// `items` merged into whole parts, as a unary answer carries them: the thoughts in one thought
/// part first, the text in one part (carrying the closing signature), function calls as they
/// are; the tokens they cost are added to `answer` and `thoughts`.
pub(crate) fn merged_parts(items: &[Item], answer: &mut u32, thoughts: &mut u32) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut thought_text = String::new();
    let mut text = String::new();
    let mut closing = None;
    for item in items {
        *answer += item.answer_tokens();
        match item {
            Item::Thought(t) => {
                *thoughts += count_text_tokens(t);
                thought_text.push_str(t);
            }
            Item::Text(t) => text.push_str(t),
            Item::Call(..) => parts.push(item.part()),
            Item::Closing(sig) => closing = Some(sig.clone()),
        }
    }
    if !text.is_empty() || parts.is_empty() {
        let mut part = Part::text(text);
        part.thought_signature = closing;
        parts.push(part);
    }
    if !thought_text.is_empty() {
        parts.insert(0, Part::text(thought_text).with_thought(true));
    }
    parts
}

/// A deterministic unit-length embedding of `text`.
pub(crate) fn embedding(model: &ModelInfo, text: &str, dims: u32) -> Vec<f32> {
    let mut rng = Rng::new(fnv1a(format!("{}\u{0}{text}", model.id()).as_bytes()));
    let v: Vec<f64> = (0..dims).map(|_| rng.unit()).collect();
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    v.iter().map(|x| (x / norm) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_additive_over_chunks() {
        let text =
            "Hello, world. This is a test of the tokenizer; it counts 3 things.\n\nAnd more.";
        let mut rng = Rng::new(7);
        let chunks = chunk_text(text, &mut rng);
        assert!(chunks.len() > 1);
        assert_eq!(chunks.concat(), text);
        let sum: u32 = chunks.iter().map(|c| count_text_tokens(c)).sum();
        assert_eq!(sum, count_text_tokens(text));
        assert_eq!(count_text_tokens("Hello, world."), 4);
    }

    #[test]
    fn truncation() {
        let (t, cut) = truncate("one two three four", &[], Some(2));
        assert_eq!((t.as_str(), cut), ("one two", true));
        let (t, cut) = truncate("one two three four", &["thr".into()], None);
        assert_eq!((t.as_str(), cut), ("one two ", false));
    }

    #[test]
    fn schema_values_conform() {
        let schema = serde_json::json!({
            "type": "OBJECT",
            "properties": {
                "name": {"type": "STRING"},
                "age": {"type": "INTEGER", "minimum": 18, "maximum": 20},
                "tags": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["a", "b"]}, "minItems": "3"},
                "kind": {"$ref": "#/$defs/kind"}
            },
            "propertyOrdering": ["name", "age", "tags", "kind"],
            "$defs": {"kind": {"type": ["boolean", "null"]}}
        });
        let v = schema_value(&schema, &schema, &mut Rng::new(1), 0, &mut Budget::new()).unwrap();
        assert!(v["name"].is_string());
        let age = v["age"].as_i64().unwrap();
        assert!((18..=20).contains(&age));
        let tags = v["tags"].as_array().unwrap();
        assert_eq!(tags.len(), 3);
        assert!(tags.iter().all(|t| t == "a" || t == "b"));
        assert!(v["kind"].is_boolean());
    }
}
