//! Response bodies.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use super::content::{Blob, Content, FunctionCall, Part};
use super::continuation::ContinuationToken;
use super::enums::{
    BlockReason, FinishReason, HarmCategory, HarmProbability, HarmSeverity, Modality, TrafficType,
    UrlRetrievalStatus,
};
use super::wire::wire_struct;

wire_struct! {
    /// The answer of `generateContent`, and each chunk of `streamGenerateContent`.
    ///
    /// ```
    /// use gemini_proto::types::GenerateContentResponse;
    ///
    /// let chunk: GenerateContentResponse = serde_json::from_str(
    ///     r#"{"candidates": [{"content": {"parts": [{"text": "Hello"}],"role": "model"},"index": 0}],
    ///         "usageMetadata": {"promptTokenCount": 4,"totalTokenCount": 5},
    ///         "modelVersion": "gemini-2.5-flash","responseId": "abc","someNewField": 1}"#,
    /// ).unwrap();
    /// assert_eq!(chunk.text().as_deref(), Some("Hello"));
    /// assert_eq!(chunk.usage().and_then(|u| u.total_token_count), Some(5));
    /// // Fields this version does not know are kept.
    /// assert_eq!(chunk.extra["someNewField"], 1);
    /// ```
    pub struct GenerateContentResponse {
        /// The candidate answers (usually one).
        candidates: Vec<Candidate> = "candidates",
        /// Feedback about the prompt; set when the prompt was blocked.
        prompt_feedback: Option<PromptFeedback> = "promptFeedback",
        /// Token counts. In a stream these are cumulative snapshots; the last one is final.
        usage_metadata: Option<UsageMetadata> = "usageMetadata",
        /// The model version that answered (in a stream, one allocation shared by the chunks).
        model_version: Option<Arc<str>> = "modelVersion",
        /// When the response was created (Vertex AI).
        create_time: Option<String> = "createTime",
        /// The identifier of this response (the same on every chunk of a stream, which share it).
        response_id: Option<Arc<str>> = "responseId",
    }
}

impl GenerateContentResponse {
    /// The first candidate, if any.
    pub fn candidate(&self) -> Option<&Candidate> {
        self.candidates.first()
    }

    /// The text of the first candidate: its non-thought text parts concatenated.
    ///
    /// `None` when there is no candidate or no such text part (a chunk holding only a function call,
    /// thoughts or a signature); `Some("")` when text parts are present but empty. Never logs.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        self.candidate()?.content.as_ref()?.text()
    }

    /// [`text`](Self::text), taking the response apart: the text of a single text part (most
    /// chunks of a stream) is moved out, not copied.
    ///
    /// ```
    /// use gemini_proto::types::GenerateContentResponse;
    ///
    /// let chunk: GenerateContentResponse = serde_json::from_str(
    ///     r#"{"candidates": [{"content": {"parts": [{"text": "Hel"}, {"text": "lo"}]}}]}"#,
    /// )
    /// .unwrap();
    /// assert_eq!(chunk.text().as_deref(), Some("Hello"));
    /// assert_eq!(chunk.into_text().as_deref(), Some("Hello"));
    /// ```
    pub fn into_text(self) -> Option<String> {
        self.candidates.into_iter().next()?.content?.into_text()
    }

    /// The thought summaries of the first candidate, concatenated; `None` when there are none.
    pub fn thought_text(&self) -> Option<Cow<'_, str>> {
        self.candidate()?.content.as_ref()?.thought_text()
    }

    /// The parts of the first candidate (empty when there is none).
    pub fn parts(&self) -> &[Part] {
        self.candidate()
            .and_then(|candidate| candidate.content.as_ref())
            .map_or(&[], |content| &content.parts)
    }

    /// The function calls of the first candidate, in order.
    pub fn function_calls(&self) -> impl Iterator<Item = &FunctionCall> {
        self.parts().iter().filter_map(Part::as_function_call)
    }

    /// The thought parts of the first candidate.
    pub fn thoughts(&self) -> impl Iterator<Item = &Part> {
        self.parts().iter().filter(|part| part.is_thought())
    }

    /// The inline data (images, audio) of the first candidate.
    pub fn inline_data(&self) -> impl Iterator<Item = &Blob> {
        self.parts().iter().filter_map(Part::as_inline_data)
    }

    /// The usage metadata.
    pub fn usage(&self) -> Option<&UsageMetadata> {
        self.usage_metadata.as_ref()
    }

    /// The finish reason of the first candidate, if it has finished.
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.candidate()?.finish_reason.as_ref()
    }

    /// The reason the prompt was blocked, if it was.
    pub fn block_reason(&self) -> Option<&BlockReason> {
        self.prompt_feedback.as_ref()?.block_reason.as_ref()
    }
}

wire_struct! {
    /// One candidate answer.
    pub struct Candidate {
        /// The generated content.
        content: Option<Content> = "content",
        /// Why generation stopped; absent while a stream is still generating this candidate.
        finish_reason: Option<FinishReason> = "finishReason",
        /// The index of this candidate among the response's candidates.
        index: Option<u32> = "index",
        /// Safety ratings of the candidate.
        safety_ratings: Vec<SafetyRating> = "safetyRatings",
        /// Sources the candidate recites.
        citation_metadata: Option<CitationMetadata> = "citationMetadata",
        /// Grounding sources (search, URL context, retrieval).
        grounding_metadata: Option<GroundingMetadata> = "groundingMetadata",
        /// A human-readable explanation of the finish reason.
        finish_message: Option<String> = "finishMessage",
        /// What the URL-context tool retrieved.
        url_context_metadata: Option<UrlContextMetadata> = "urlContextMetadata",
        /// The average log probability of the candidate's tokens.
        avg_logprobs: Option<f64> = "avgLogprobs",
        /// Log probabilities of the chosen and top tokens.
        logprobs_result: Option<LogprobsResult> = "logprobsResult",
        /// Tokens in this candidate.
        token_count: Option<u32> = "tokenCount",
        /// Attributions for attributed question answering (kept as JSON).
        grounding_attributions: Vec<Value> = "groundingAttributions",
        /// A point the answer can be continued from: with finish reason `CONTINUATION` at the
        /// per-request output cap, and at checkpoints inside a stream.
        continuation_token: Option<ContinuationToken> = "continuationToken",
    }
}

wire_struct! {
    /// The safety rating of content for one harm category.
    pub struct SafetyRating {
        /// The category.
        category: Option<HarmCategory> = "category",
        /// The probability of harm.
        probability: Option<HarmProbability> = "probability",
        /// The probability score (Vertex AI).
        probability_score: Option<f64> = "probabilityScore",
        /// The severity of harm (Vertex AI).
        severity: Option<HarmSeverity> = "severity",
        /// The severity score (Vertex AI).
        severity_score: Option<f64> = "severityScore",
        /// Whether the content was blocked because of this rating.
        blocked: Option<bool> = "blocked",
    }
}

wire_struct! {
    /// Sources a candidate recites.
    pub struct CitationMetadata {
        /// The sources.
        citation_sources: Vec<CitationSource> = "citationSources",
        /// The sources, as Vertex AI names the field.
        citations: Vec<CitationSource> = "citations",
    }
}

wire_struct! {
    /// One recited source.
    pub struct CitationSource {
        /// Start of the cited segment in the candidate, in bytes.
        start_index: Option<u32> = "startIndex",
        /// End of the cited segment (exclusive).
        end_index: Option<u32> = "endIndex",
        /// The source's URI.
        uri: Option<String> = "uri",
        /// The source's licence.
        license: Option<String> = "license",
        /// The source's title (Vertex AI).
        title: Option<String> = "title",
    }
}

wire_struct! {
    /// Where a grounded answer came from.
    pub struct GroundingMetadata {
        /// The Google Search suggestion to display.
        search_entry_point: Option<SearchEntryPoint> = "searchEntryPoint",
        /// The sources used.
        grounding_chunks: Vec<GroundingChunk> = "groundingChunks",
        /// Which parts of the answer each source supports.
        grounding_supports: Vec<GroundingSupport> = "groundingSupports",
        /// Retrieval metadata of the legacy search tool.
        retrieval_metadata: Option<Value> = "retrievalMetadata",
        /// The search queries the model made.
        web_search_queries: Vec<String> = "webSearchQueries",
        /// A token for the Google Maps widget.
        google_maps_widget_context_token: Option<String> = "googleMapsWidgetContextToken",
    }
}

wire_struct! {
    /// The Google Search suggestion chip.
    pub struct SearchEntryPoint {
        /// HTML and CSS to embed.
        rendered_content: Option<String> = "renderedContent",
        /// Base64 of a JSON array of search terms and URLs.
        sdk_blob: Option<String> = "sdkBlob",
    }
}

wire_struct! {
    /// One grounding source.
    pub struct GroundingChunk {
        /// A web page.
        web: Option<GroundingSource> = "web",
        /// A retrieved document.
        retrieved_context: Option<GroundingSource> = "retrievedContext",
        /// A Google Maps place.
        maps: Option<GroundingSource> = "maps",
    }
}

wire_struct! {
    /// A web page, document or place used as a source.
    pub struct GroundingSource {
        /// Its URI.
        uri: Option<String> = "uri",
        /// Its title.
        title: Option<String> = "title",
        /// Its text, for retrieved documents and places.
        text: Option<String> = "text",
        /// Its domain (Vertex AI).
        domain: Option<String> = "domain",
    }
}

wire_struct! {
    /// Which part of an answer some sources support.
    pub struct GroundingSupport {
        /// The supported segment of the answer.
        segment: Option<Segment> = "segment",
        /// Indices into `grounding_chunks`.
        grounding_chunk_indices: Vec<u32> = "groundingChunkIndices",
        /// Confidence of each supporting source.
        confidence_scores: Vec<f64> = "confidenceScores",
    }
}

wire_struct! {
    /// A segment of the answer.
    pub struct Segment {
        /// The index of the part.
        part_index: Option<u32> = "partIndex",
        /// Start, in bytes of the part's text.
        start_index: Option<u32> = "startIndex",
        /// End (exclusive), in bytes.
        end_index: Option<u32> = "endIndex",
        /// The segment's text.
        text: Option<String> = "text",
    }
}

wire_struct! {
    /// What the URL-context tool retrieved.
    pub struct UrlContextMetadata {
        /// One entry per URL.
        url_metadata: Vec<UrlMetadata> = "urlMetadata",
    }
}

wire_struct! {
    /// The retrieval of one URL.
    pub struct UrlMetadata {
        /// The URL.
        retrieved_url: Option<String> = "retrievedUrl",
        /// Whether it was retrieved.
        url_retrieval_status: Option<UrlRetrievalStatus> = "urlRetrievalStatus",
    }
}

wire_struct! {
    /// Log probabilities of the generated tokens.
    pub struct LogprobsResult {
        /// The sum of the chosen tokens' log probabilities.
        log_probability_sum: Option<f64> = "logProbabilitySum",
        /// The top alternatives at each step.
        top_candidates: Vec<TopCandidates> = "topCandidates",
        /// The chosen token at each step.
        chosen_candidates: Vec<LogprobsCandidate> = "chosenCandidates",
    }
}

wire_struct! {
    /// The top alternatives at one step.
    pub struct TopCandidates {
        /// The alternatives, most probable first.
        candidates: Vec<LogprobsCandidate> = "candidates",
    }
}

wire_struct! {
    /// A token and its log probability.
    pub struct LogprobsCandidate {
        /// The token.
        token: Option<String> = "token",
        /// The token's id.
        token_id: Option<i64> = "tokenId",
        /// Its log probability.
        log_probability: Option<f64> = "logProbability",
    }
}

wire_struct! {
    /// Feedback about the prompt.
    pub struct PromptFeedback {
        /// Set when the prompt was blocked; the response then has no candidates.
        block_reason: Option<BlockReason> = "blockReason",
        /// A human-readable explanation of the block.
        block_reason_message: Option<String> = "blockReasonMessage",
        /// Safety ratings of the prompt.
        safety_ratings: Vec<SafetyRating> = "safetyRatings",
    }
}

wire_struct! {
    /// Token counts of a request and its answer.
    ///
    /// In a stream every chunk carries a snapshot of the totals so far; the values are provisional and can
    /// even go down. Use the last one; never add them up.
    pub struct UsageMetadata {
        /// Tokens in the prompt (including cached content).
        prompt_token_count: Option<u32> = "promptTokenCount",
        /// Tokens in the candidates.
        candidates_token_count: Option<u32> = "candidatesTokenCount",
        /// All tokens.
        total_token_count: Option<u32> = "totalTokenCount",
        /// The traffic type (Vertex AI).
        traffic_type: Option<TrafficType> = "trafficType",
        /// Tokens of the prompt served from the cache.
        cached_content_token_count: Option<u32> = "cachedContentTokenCount",
        /// Prompt tokens per modality.
        prompt_tokens_details: Vec<ModalityTokenCount> = "promptTokensDetails",
        /// Cached tokens per modality.
        cache_tokens_details: Vec<ModalityTokenCount> = "cacheTokensDetails",
        /// Candidate tokens per modality.
        candidates_tokens_details: Vec<ModalityTokenCount> = "candidatesTokensDetails",
        /// Tokens in tool-use prompts.
        tool_use_prompt_token_count: Option<u32> = "toolUsePromptTokenCount",
        /// Tool-use prompt tokens per modality.
        tool_use_prompt_tokens_details: Vec<ModalityTokenCount> = "toolUsePromptTokensDetails",
        /// Tokens spent thinking.
        thoughts_token_count: Option<u32> = "thoughtsTokenCount",
    }
}

impl UsageMetadata {
    /// Makes `self` equal to `source`, as `clone_from` does, at a fraction of its cost for the
    /// usage of a stream's next chunk: the counts are copied and a list of per-modality counts
    /// is cloned only when it changed (compared exactly: they hold counts and names, and one
    /// holding unknown JSON members is always cloned).
    pub(crate) fn assign(&mut self, source: &UsageMetadata) {
        fn list(into: &mut Vec<ModalityTokenCount>, from: &[ModalityTokenCount]) {
            if into.as_slice() != from || from.iter().any(|d| !d.extra.is_empty()) {
                into.clear();
                into.extend_from_slice(from);
            }
        }
        // Destructured, so that a new field cannot be forgotten here.
        let UsageMetadata {
            prompt_token_count,
            candidates_token_count,
            total_token_count,
            traffic_type,
            cached_content_token_count,
            prompt_tokens_details,
            cache_tokens_details,
            candidates_tokens_details,
            tool_use_prompt_token_count,
            tool_use_prompt_tokens_details,
            thoughts_token_count,
            extra,
        } = source;
        self.prompt_token_count = *prompt_token_count;
        self.candidates_token_count = *candidates_token_count;
        self.total_token_count = *total_token_count;
        self.traffic_type.clone_from(traffic_type);
        self.cached_content_token_count = *cached_content_token_count;
        list(&mut self.prompt_tokens_details, prompt_tokens_details);
        list(&mut self.cache_tokens_details, cache_tokens_details);
        list(
            &mut self.candidates_tokens_details,
            candidates_tokens_details,
        );
        self.tool_use_prompt_token_count = *tool_use_prompt_token_count;
        list(
            &mut self.tool_use_prompt_tokens_details,
            tool_use_prompt_tokens_details,
        );
        self.thoughts_token_count = *thoughts_token_count;
        if !(extra.is_empty() && self.extra.is_empty()) {
            self.extra.clone_from(extra);
        }
    }

    /// [`assign`](Self::assign) for an optional usage.
    pub(crate) fn assign_option(into: &mut Option<UsageMetadata>, from: &Option<UsageMetadata>) {
        match (into.as_mut(), from) {
            (Some(into), Some(from)) => into.assign(from),
            _ => into.clone_from(from),
        }
    }

    /// The usage of two requests together: every count summed, per-modality details summed
    /// modality by modality (in order of first appearance), the later traffic type and unknown
    /// members winning.
    ///
    /// Within one stream the usage is a running total (take the last); across the requests of one
    /// continued answer, the hops' totals add up.
    ///
    /// ```
    /// use gemini_proto::types::{Modality, ModalityTokenCount, UsageMetadata};
    ///
    /// let hop = |prompt, answer, thoughts| {
    ///     let mut usage = UsageMetadata::default();
    ///     usage.prompt_token_count = Some(prompt);
    ///     usage.candidates_token_count = Some(answer);
    ///     usage.thoughts_token_count = thoughts;
    ///     let mut text = ModalityTokenCount::default();
    ///     text.modality = Some(Modality::Text);
    ///     text.token_count = Some(answer);
    ///     usage.candidates_tokens_details = vec![text];
    ///     usage
    /// };
    /// let both = hop(10, 100, Some(7)).plus(&hop(10, 50, None));
    /// assert_eq!(both.prompt_token_count, Some(20));
    /// assert_eq!(both.candidates_token_count, Some(150));
    /// assert_eq!(both.thoughts_token_count, Some(7));
    /// assert_eq!(both.candidates_tokens_details[0].token_count, Some(150));
    /// ```
    pub fn plus(&self, other: &UsageMetadata) -> UsageMetadata {
        fn add(a: Option<u32>, b: Option<u32>) -> Option<u32> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                (a, b) => a.or(b),
            }
        }
        fn details(a: &[ModalityTokenCount], b: &[ModalityTokenCount]) -> Vec<ModalityTokenCount> {
            let mut out: Vec<ModalityTokenCount> = a.to_vec();
            for entry in b {
                match out.iter_mut().find(|o| o.modality == entry.modality) {
                    Some(o) => {
                        o.token_count = add(o.token_count, entry.token_count);
                        for (key, value) in &entry.extra {
                            o.extra.insert(key.clone(), value.clone());
                        }
                    }
                    None => out.push(entry.clone()),
                }
            }
            out
        }
        let mut extra = self.extra.clone();
        for (key, value) in &other.extra {
            extra.insert(key.clone(), value.clone());
        }
        UsageMetadata {
            prompt_token_count: add(self.prompt_token_count, other.prompt_token_count),
            candidates_token_count: add(self.candidates_token_count, other.candidates_token_count),
            total_token_count: add(self.total_token_count, other.total_token_count),
            traffic_type: other
                .traffic_type
                .clone()
                .or_else(|| self.traffic_type.clone()),
            cached_content_token_count: add(
                self.cached_content_token_count,
                other.cached_content_token_count,
            ),
            prompt_tokens_details: details(
                &self.prompt_tokens_details,
                &other.prompt_tokens_details,
            ),
            cache_tokens_details: details(&self.cache_tokens_details, &other.cache_tokens_details),
            candidates_tokens_details: details(
                &self.candidates_tokens_details,
                &other.candidates_tokens_details,
            ),
            tool_use_prompt_token_count: add(
                self.tool_use_prompt_token_count,
                other.tool_use_prompt_token_count,
            ),
            tool_use_prompt_tokens_details: details(
                &self.tool_use_prompt_tokens_details,
                &other.tool_use_prompt_tokens_details,
            ),
            thoughts_token_count: add(self.thoughts_token_count, other.thoughts_token_count),
            extra,
        }
    }
}

wire_struct! {
    /// A token count for one modality.
    pub struct ModalityTokenCount {
        /// The modality.
        modality: Option<Modality> = "modality",
        /// The tokens.
        token_count: Option<u32> = "tokenCount",
    }
}

wire_struct! {
    /// The answer of `countTokens`.
    pub struct CountTokensResponse {
        /// Tokens in the prompt.
        total_tokens: Option<u32> = "totalTokens",
        /// Tokens of the prompt served from the cache.
        cached_content_token_count: Option<u32> = "cachedContentTokenCount",
        /// Prompt tokens per modality.
        prompt_tokens_details: Vec<ModalityTokenCount> = "promptTokensDetails",
        /// Cached tokens per modality.
        cache_tokens_details: Vec<ModalityTokenCount> = "cacheTokensDetails",
    }
}

wire_struct! {
    /// An embedding vector.
    pub struct ContentEmbedding {
        /// The values.
        values: Vec<f32> = "values",
    }
}

wire_struct! {
    /// The answer of `embedContent`.
    pub struct EmbedContentResponse {
        /// The embedding.
        embedding: Option<ContentEmbedding> = "embedding",
    }
}

wire_struct! {
    /// The answer of `batchEmbedContents`.
    pub struct BatchEmbedContentsResponse {
        /// One embedding per request, in order.
        embeddings: Vec<ContentEmbedding> = "embeddings",
    }
}
