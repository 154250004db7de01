//! Folding streamed chunks into the final response: [`Aggregator`].
//!
//! The rules, per candidate (matched by `index`):
//! - parts arrive in order; a text part is appended to the previous part when both are plain text of the
//!   same kind (thought text is kept apart from answer text), so the answer reads as one part;
//! - a part that carries a thought signature is never merged with another, in either direction: the
//!   signature stays, byte for byte, on the part that carried it, even an empty text part;
//! - function calls, inline data, code and every other part are kept as they came, in order;
//! - the last finish reason, finish message, safety ratings, grounding and URL-context metadata win;
//!   citations and log probabilities accumulate;
//! - for the response: the last usage metadata wins (the values are cumulative snapshots and are never
//!   summed), as do the model version, response id and prompt feedback.
//!
//! The aggregate's [`text`](GenerateContentResponse::text) equals the concatenation of the chunks' texts.
//!
//! ```
//! use gemini_proto::aggregate::Aggregator;
//! use gemini_proto::types::GenerateContentResponse;
//!
//! let chunks = [
//!     r#"{"candidates": [{"content": {"parts": [{"text": "The capital"}],"role": "model"}}],"usageMetadata": {"totalTokenCount": 9}}"#,
//!     r#"{"candidates": [{"content": {"parts": [{"text": " is Paris."}],"role": "model"},"finishReason": "STOP"}],"usageMetadata": {"totalTokenCount": 12}}"#,
//! ];
//! let mut aggregator = Aggregator::new();
//! for chunk in chunks {
//!     aggregator.push(&serde_json::from_str::<GenerateContentResponse>(chunk).unwrap());
//! }
//! let response = aggregator.into_response();
//! assert_eq!(response.text().as_deref(), Some("The capital is Paris."));
//! assert_eq!(response.parts().len(), 1);
//! assert_eq!(response.usage().unwrap().total_token_count, Some(12));
//! ```

use crate::types::{
    Candidate, CitationMetadata, Content, GenerateContentResponse, LogprobsResult, Part, PartData,
    UsageMetadata,
};

/// Folds a stream's chunks into one [`GenerateContentResponse`].
#[derive(Clone, Debug)]
pub struct Aggregator {
    response: GenerateContentResponse,
    chunks: u64,
    /// Parts and the other per-chunk data (log probabilities, citations, grounding
    /// attributions) are kept; off, only what each chunk replaces is.
    content: bool,
}

impl Default for Aggregator {
    fn default() -> Self {
        Self {
            response: GenerateContentResponse::default(),
            chunks: 0,
            content: true,
        }
    }
}

impl Aggregator {
    /// An empty aggregate.
    pub fn new() -> Self {
        Self::default()
    }

    /// An aggregate that keeps what each chunk replaces (finish reasons, usage, safety ratings,
    /// model version, response id, …) but none of what accumulates: no parts, log
    /// probabilities, citations or grounding attributions. Its memory stays the same however
    /// long the stream, for consumers that handle each chunk's content as it comes.
    ///
    /// ```
    /// use gemini_proto::aggregate::Aggregator;
    /// use gemini_proto::types::GenerateContentResponse;
    ///
    /// let chunk: GenerateContentResponse = serde_json::from_str(
    ///     r#"{"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "STOP"}],
    ///         "usageMetadata": {"totalTokenCount": 3}}"#,
    /// ).unwrap();
    /// let mut aggregator = Aggregator::metadata_only();
    /// aggregator.push(&chunk);
    /// assert!(aggregator.response().parts().is_empty());
    /// assert!(aggregator.response().finish_reason().is_some());
    /// assert_eq!(aggregator.response().usage().unwrap().total_token_count, Some(3));
    /// ```
    pub fn metadata_only() -> Self {
        Self {
            content: false,
            ..Self::default()
        }
    }

    /// Folds in the next chunk.
    pub fn push(&mut self, chunk: &GenerateContentResponse) {
        self.chunks += 1;
        for (position, incoming) in chunk.candidates.iter().enumerate() {
            let index = incoming.index.unwrap_or(position as u32);
            let slot = match self
                .response
                .candidates
                .iter()
                .position(|c| c.index.unwrap_or(0) == index)
            {
                Some(slot) => slot,
                None => {
                    let fresh = Candidate {
                        index: incoming.index.or((index != 0).then_some(index)),
                        ..Candidate::default()
                    };
                    let at = self
                        .response
                        .candidates
                        .iter()
                        .position(|c| c.index.unwrap_or(0) > index)
                        .unwrap_or(self.response.candidates.len());
                    self.response.candidates.insert(at, fresh);
                    at
                }
            };
            merge_candidate(&mut self.response.candidates[slot], incoming, self.content);
        }
        // The last value wins, cloned into the previous one's allocations.
        let target = &mut self.response;
        if chunk.prompt_feedback.is_some() {
            target.prompt_feedback.clone_from(&chunk.prompt_feedback);
        }
        if chunk.usage_metadata.is_some() {
            UsageMetadata::assign_option(&mut target.usage_metadata, &chunk.usage_metadata);
        }
        if chunk.model_version.is_some() {
            target.model_version.clone_from(&chunk.model_version);
        }
        if chunk.response_id.is_some() {
            target.response_id.clone_from(&chunk.response_id);
        }
        if chunk.create_time.is_some() {
            target.create_time.clone_from(&chunk.create_time);
        }
        for (key, value) in &chunk.extra {
            target.extra.insert(key.clone(), value.clone());
        }
    }

    /// The number of chunks folded in.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// The aggregate so far.
    pub fn response(&self) -> &GenerateContentResponse {
        &self.response
    }

    /// The aggregate.
    pub fn into_response(self) -> GenerateContentResponse {
        self.response
    }

    /// Remembers the aggregate as it is now, to [`roll back`](Self::roll_back) to later: what a
    /// stream resumed from a checkpoint does with the output that arrived after it. Cheap: parts
    /// are counted, not copied.
    ///
    /// ```
    /// use gemini_proto::aggregate::Aggregator;
    /// use gemini_proto::types::GenerateContentResponse;
    ///
    /// let chunk = |text: &str| -> GenerateContentResponse {
    ///     serde_json::from_str(&format!(r#"{{"candidates": [{{"content": {{"parts": [{{"text": "{text}"}}]}}}}]}}"#)).unwrap()
    /// };
    /// let mut aggregator = Aggregator::new();
    /// aggregator.push(&chunk("Confirmed. "));
    /// let checkpoint = aggregator.mark();
    /// aggregator.push(&chunk("Lost in a dropped connection."));
    /// aggregator.roll_back(&checkpoint);
    /// aggregator.push(&chunk("Generated again."));
    /// assert_eq!(aggregator.response().text().as_deref(), Some("Confirmed. Generated again."));
    /// ```
    pub fn mark(&self) -> Mark {
        let mut response = self.response.clone_without_candidates();
        response.candidates.clear();
        Mark {
            chunks: self.chunks,
            candidates: self
                .response
                .candidates
                .iter()
                .map(|candidate| {
                    let parts = candidate.content.as_ref().map_or(0, |c| c.parts.len());
                    let last_text_len = candidate
                        .content
                        .as_ref()
                        .and_then(|c| c.parts.last())
                        .and_then(|p| p.as_text())
                        .map(str::len);
                    let mut meta = Candidate {
                        content: None,
                        ..candidate.clone_without_content()
                    };
                    meta.content = candidate.content.as_ref().map(|c| Content {
                        parts: Vec::new(),
                        role: c.role.clone(),
                        extra: c.extra.clone(),
                    });
                    CandidateMark {
                        meta,
                        parts,
                        last_text_len,
                    }
                })
                .collect(),
            response,
        }
    }

    /// Returns the aggregate to what it was at `mark`: parts and text that arrived since are
    /// dropped, every other field is restored.
    pub fn roll_back(&mut self, mark: &Mark) {
        let mut candidates = std::mem::take(&mut self.response.candidates);
        candidates.truncate(mark.candidates.len());
        let mut restored = Vec::with_capacity(mark.candidates.len());
        for (candidate, at) in candidates.into_iter().zip(&mark.candidates) {
            let mut parts = candidate.content.map(|c| c.parts).unwrap_or_default();
            parts.truncate(at.parts);
            if let (Some(len), Some(last)) = (at.last_text_len, parts.last_mut())
                && let PartData::Text(text) = &mut last.data
                && text.is_char_boundary(len)
            {
                text.truncate(len);
            }
            let mut candidate = at.meta.clone();
            if let Some(content) = candidate.content.as_mut() {
                content.parts = parts;
            }
            restored.push(candidate);
        }
        self.response = GenerateContentResponse {
            candidates: restored,
            ..mark.response.clone()
        };
        self.chunks = mark.chunks;
    }
}

/// A point to roll an [`Aggregator`] back to; made by [`Aggregator::mark`].
#[derive(Clone, Debug, Default)]
pub struct Mark {
    chunks: u64,
    candidates: Vec<CandidateMark>,
    /// The response-level fields (no candidates).
    response: GenerateContentResponse,
}

#[derive(Clone, Debug)]
struct CandidateMark {
    /// Every field but the parts.
    meta: Candidate,
    parts: usize,
    /// The length of the last part's text, which later chunks may extend.
    last_text_len: Option<usize>,
}

impl GenerateContentResponse {
    fn clone_without_candidates(&self) -> GenerateContentResponse {
        GenerateContentResponse {
            candidates: Vec::new(),
            prompt_feedback: self.prompt_feedback.clone(),
            usage_metadata: self.usage_metadata.clone(),
            model_version: self.model_version.clone(),
            create_time: self.create_time.clone(),
            response_id: self.response_id.clone(),
            extra: self.extra.clone(),
        }
    }
}

impl Candidate {
    fn clone_without_content(&self) -> Candidate {
        Candidate {
            content: None,
            finish_reason: self.finish_reason.clone(),
            index: self.index,
            safety_ratings: self.safety_ratings.clone(),
            citation_metadata: self.citation_metadata.clone(),
            grounding_metadata: self.grounding_metadata.clone(),
            finish_message: self.finish_message.clone(),
            url_context_metadata: self.url_context_metadata.clone(),
            avg_logprobs: self.avg_logprobs,
            logprobs_result: self.logprobs_result.clone(),
            token_count: self.token_count,
            grounding_attributions: self.grounding_attributions.clone(),
            continuation_token: self.continuation_token.clone(),
            extra: self.extra.clone(),
        }
    }
}

fn merge_candidate(target: &mut Candidate, incoming: &Candidate, keep_content: bool) {
    if let Some(content) = &incoming.content {
        let into = target.content.get_or_insert_with(Content::default);
        if into.role.is_none() {
            into.role.clone_from(&content.role);
        }
        if keep_content {
            for part in &content.parts {
                append_part(&mut into.parts, part);
            }
        }
        for (key, value) in &content.extra {
            into.extra.insert(key.clone(), value.clone());
        }
    }
    merge_replaced(target, incoming);
    if keep_content {
        merge_accumulated(target, incoming);
    }
}

/// The fields each chunk replaces: the last one wins.
fn merge_replaced(target: &mut Candidate, incoming: &Candidate) {
    if incoming.finish_reason.is_some() {
        target.finish_reason.clone_from(&incoming.finish_reason);
    }
    if incoming.finish_message.is_some() {
        target.finish_message.clone_from(&incoming.finish_message);
    }
    if !incoming.safety_ratings.is_empty() {
        target.safety_ratings.clone_from(&incoming.safety_ratings);
    }
    if incoming.token_count.is_some() {
        target.token_count = incoming.token_count;
    }
    if incoming.grounding_metadata.is_some() {
        target
            .grounding_metadata
            .clone_from(&incoming.grounding_metadata);
    }
    if incoming.avg_logprobs.is_some() {
        target.avg_logprobs = incoming.avg_logprobs;
    }
    if incoming.url_context_metadata.is_some() {
        target
            .url_context_metadata
            .clone_from(&incoming.url_context_metadata);
    }
    if incoming.continuation_token.is_some() {
        target
            .continuation_token
            .clone_from(&incoming.continuation_token);
    }
    for (key, value) in &incoming.extra {
        target.extra.insert(key.clone(), value.clone());
    }
}

/// The fields that accumulate over the chunks: citations, grounding attributions, log
/// probabilities.
fn merge_accumulated(target: &mut Candidate, incoming: &Candidate) {
    if let Some(citations) = &incoming.citation_metadata {
        let into = target
            .citation_metadata
            .get_or_insert_with(CitationMetadata::default);
        into.citation_sources
            .extend(citations.citation_sources.iter().cloned());
        into.citations.extend(citations.citations.iter().cloned());
        for (key, value) in &citations.extra {
            into.extra.insert(key.clone(), value.clone());
        }
    }
    target
        .grounding_attributions
        .extend(incoming.grounding_attributions.iter().cloned());
    if let Some(logprobs) = &incoming.logprobs_result {
        let into = target
            .logprobs_result
            .get_or_insert_with(LogprobsResult::default);
        into.top_candidates
            .extend(logprobs.top_candidates.iter().cloned());
        into.chosen_candidates
            .extend(logprobs.chosen_candidates.iter().cloned());
        if let Some(sum) = logprobs.log_probability_sum {
            *into.log_probability_sum.get_or_insert(0.0) += sum;
        }
    }
}

/// True for a text part with nothing but text and the thought flag.
fn is_plain_text(part: &Part) -> bool {
    matches!(part.data, PartData::Text(_))
        && part.thought_signature.is_none()
        && part.video_metadata.is_none()
        && part.extra.is_empty()
}

fn append_part(parts: &mut Vec<Part>, incoming: &Part) {
    if let (PartData::Text(more), Some(last)) = (&incoming.data, parts.last_mut())
        && is_plain_text(incoming)
        && is_plain_text(last)
        && last.is_thought() == incoming.is_thought()
        && let PartData::Text(into) = &mut last.data
    {
        into.push_str(more);
        return;
    }
    parts.push(incoming.clone());
}
