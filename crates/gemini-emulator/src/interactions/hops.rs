//! Long interactions over several requests, as Google serves them: a request stops at the
//! output cap (`hop-tokens`) with status `requires_continuation` and a `continuation_token`, and
//! a new `create` with the token gets the rest of the same answer — naming the stopped
//! interaction as `previous_interaction_id` without the input when it was stored, with the same
//! input otherwise.
//!
//! The answer is cut between its deltas (a thought's signature stays with the delta before it;
//! a function call is never cut), so every request holds whole deltas and the requests' steps
//! read as the uncut answer. Tokens are made and checked by [`crate::continuation`], bound to
//! the answer (request and model), so a token for another answer is refused.
//!
//! Usage is per request: its input is the prompt plus the output of the requests before it (the
//! service feeds the conversation and the generated prefix to the model again on every request;
//! google-genai documents that each hop re-prefills and bills them), its output and thinking are
//! its own. Over all requests the output and thinking add up to the uncut answer's.

use std::ops::Range;

use gemini_proto::interactions::{Delta, InteractionStatus, ModalityTokens, Step};
use gemini_proto::types::ContinuationToken;

use super::answer::{Answer, fold, model_turn};
use crate::continuation::{self, Position};

/// The smallest piece of an answer a request holds: one delta with the zero-token deltas after
/// it (a thought's signature), or a whole function call.
#[derive(Debug, Clone)]
struct Unit {
    step: usize,
    deltas: Range<usize>,
    output: u32,
    thought: u32,
}

impl Answer {
    fn units(&self) -> Vec<Unit> {
        let mut units: Vec<Unit> = Vec::new();
        for (step, (start, deltas)) in self.deltas.iter().enumerate() {
            let whole = matches!(start, Step::FunctionCall(_)) || deltas.is_empty();
            for (d, (delta, tokens)) in deltas.iter().enumerate() {
                let (output, thought) = match delta {
                    Delta::ThoughtSummary(_) => (0, *tokens),
                    _ => (*tokens, 0),
                };
                match units.last_mut() {
                    Some(last) if last.step == step && (whole || *tokens == 0) => {
                        last.deltas.end = d + 1;
                        last.output += output;
                        last.thought += thought;
                    }
                    _ => units.push(Unit {
                        step,
                        deltas: d..d + 1,
                        output,
                        thought,
                    }),
                }
            }
            if deltas.is_empty() {
                units.push(Unit {
                    step,
                    deltas: 0..0,
                    output: 0,
                    thought: 0,
                });
            }
        }
        units
    }

    /// Where the request that starts at `position` resumes, from its token; `None` for a token
    /// this answer did not give.
    pub(crate) fn position(&self, token: &str) -> Option<Position> {
        let token = ContinuationToken::from_base64(token)?;
        continuation::position(self.seed, &token, self.units().len())
    }

    /// The share of the answer of the request that starts at `from`, with output cap `cap`: its
    /// steps, deltas and usage, and when the answer goes on, status `requires_continuation`
    /// and the token of the next request.
    pub(crate) fn hop(&self, from: Position, cap: Option<u32>) -> Answer {
        let units = self.units();
        let end = continuation::hop_end(from.step, units.len(), cap, |k| {
            units[k].output + units[k].thought
        });
        if from.step == 0 && end == units.len() {
            return self.clone();
        }
        let mut deltas: Vec<(Step, Vec<_>)> = Vec::new();
        let mut last_step = None;
        for unit in &units[from.step..end] {
            let (start, all) = &self.deltas[unit.step];
            if last_step != Some(unit.step) {
                deltas.push((start.clone(), Vec::new()));
                last_step = Some(unit.step);
            }
            if let Some((_, mine)) = deltas.last_mut() {
                mine.extend_from_slice(&all[unit.deltas.clone()]);
            }
        }
        let steps: Vec<Step> = deltas.iter().map(|(s, d)| fold(s, d)).collect();
        let goes_on = end < units.len();
        // Running totals before request boundaries; the last is the whole answer's, so that
        // the requests add up to it exactly.
        let output_before = |n: usize| -> u32 {
            if n == units.len() {
                self.usage.total_output_tokens.unwrap_or(0) as u32
            } else {
                units[..n].iter().map(|u| u.output).sum()
            }
        };
        let thought_before = |n: usize| -> u32 {
            match n {
                0 => 0,
                n if n == units.len() => self.usage.total_thought_tokens.unwrap_or(0) as u32,
                n => self.hidden_thoughts + units[..n].iter().map(|u| u.thought).sum::<u32>(),
            }
        };
        let prefix = output_before(from.step);
        let output = output_before(end).saturating_sub(prefix);
        let thought = thought_before(end).saturating_sub(thought_before(from.step));
        let mut usage = self.usage.clone();
        let input = self.usage.total_input_tokens.unwrap_or(0) + u64::from(prefix);
        usage.total_input_tokens = Some(input);
        if prefix > 0 {
            add_text_tokens(&mut usage.input_tokens_by_modality, u64::from(prefix));
        }
        usage.total_output_tokens = Some(u64::from(output));
        usage.total_thought_tokens = Some(u64::from(thought));
        usage.total_tokens = Some(input + u64::from(output) + u64::from(thought));
        Answer {
            turn: model_turn(&steps),
            steps,
            status: if goes_on {
                InteractionStatus::RequiresContinuation
            } else {
                self.status.clone()
            },
            usage,
            deltas,
            seed: self.seed,
            hidden_thoughts: if from.step == 0 {
                self.hidden_thoughts
            } else {
                0
            },
            continuation_token: goes_on
                .then(|| continuation::token(self.seed, from.hop + 1, end).to_base64()),
        }
    }
}

/// Adds `tokens` to the text entry of a per-modality count.
fn add_text_tokens(by_modality: &mut Vec<ModalityTokens>, tokens: u64) {
    match by_modality
        .iter_mut()
        .find(|m| m.modality.as_deref() == Some("text"))
    {
        Some(text) => text.tokens = Some(text.tokens.unwrap_or(0) + tokens),
        None => by_modality.push(ModalityTokens::new("text", tokens)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gemini_proto::interactions::{CreateInteractionRequest, Usage};

    fn answer(prompt: &str, thinking: bool) -> Answer {
        let model = crate::catalogue::find(if thinking {
            "gemini-2.5-flash"
        } else {
            "gemini-2.0-flash"
        })
        .unwrap();
        let mut create = CreateInteractionRequest::new(model.id(), prompt);
        if thinking {
            let mut config = gemini_proto::interactions::GenerationConfig::default();
            config.thinking_summaries = Some("auto".to_owned());
            create.generation_config = Some(config);
        }
        let generate = super::super::answer::generate_request(&create, Vec::new()).unwrap();
        super::super::answer::plan(model, &generate, Some(300)).unwrap()
    }

    /// Every request of an answer cut at `cap`, in order.
    fn hops(answer: &Answer, cap: u32) -> Vec<Answer> {
        let mut out: Vec<Answer> = Vec::new();
        let mut from = Position::START;
        loop {
            let hop = answer.hop(from, Some(cap));
            let token = hop.continuation_token.clone();
            out.push(hop);
            let Some(token) = token else { return out };
            from = answer.position(&token).expect("the answer's own token");
            assert!(out.len() < 1000, "no progress");
        }
    }

    #[test]
    fn the_requests_read_as_the_whole_answer_and_their_output_adds_up() {
        for thinking in [false, true] {
            let whole = answer("Tell me a long story about rivers.", thinking);
            let parts = hops(&whole, 20);
            assert!(parts.len() > 3, "{}", parts.len());
            let text: String = parts
                .iter()
                .flat_map(|p| p.steps.iter())
                .filter(|s| matches!(s, Step::ModelOutput(_)))
                .filter_map(Step::text)
                .collect();
            let whole_text: String = whole.steps.iter().filter_map(Step::text).collect();
            assert_eq!(text, whole_text);
            let sum = |f: fn(&Usage) -> Option<u64>| -> u64 {
                parts.iter().map(|p| f(&p.usage).unwrap()).sum()
            };
            assert_eq!(
                sum(|u| u.total_output_tokens),
                whole.usage.total_output_tokens.unwrap()
            );
            assert_eq!(
                sum(|u| u.total_thought_tokens),
                whole.usage.total_thought_tokens.unwrap()
            );
            // Every request but the last stops at the cap.
            for part in &parts[..parts.len() - 1] {
                assert_eq!(part.status, InteractionStatus::RequiresContinuation);
                let own = part.usage.total_output_tokens.unwrap()
                    + part.usage.total_thought_tokens.unwrap();
                assert!(own > 0, "each request makes progress");
            }
            let last = parts.last().unwrap();
            assert_eq!(last.status, whole.status);
            assert_eq!(last.continuation_token, None);
            // The input of a later request is the prompt and the output before it.
            let prompt = whole.usage.total_input_tokens.unwrap();
            assert_eq!(
                parts[1].usage.total_input_tokens.unwrap(),
                prompt + parts[0].usage.total_output_tokens.unwrap()
            );
        }
    }

    #[test]
    fn a_token_of_another_answer_or_tampered_with_is_refused() {
        let one = answer("Tell me a long story about rivers.", false);
        let other = answer("Tell me a long story about mountains.", false);
        let token = one
            .hop(Position::START, Some(10))
            .continuation_token
            .unwrap();
        assert!(one.position(&token).is_some());
        assert_eq!(other.position(&token), None);
        assert_eq!(one.position("not base64!"), None);
        let mut bytes = ContinuationToken::from_base64(&token)
            .unwrap()
            .as_bytes()
            .to_vec();
        bytes[12] ^= 1;
        assert_eq!(
            one.position(&ContinuationToken::new(bytes).to_base64()),
            None
        );
    }
}
