//! Long answers over several requests: hop caps, checkpoints and continuation tokens.
//!
//! An answer is a sequence of steps (one stream event each). A request answers the steps from
//! where it starts — the beginning, or the step its continuation token names — until its output
//! cap (`hop-tokens`); its last event then has finish reason `CONTINUATION` and a token naming
//! the next step. With `checkpoint-every=N`, every `N`-th event of a stream carries a token too
//! (a checkpoint, no finish reason). Tokens are opaque to clients and checked by the emulator: a
//! token it did not make for this request is refused with Google's 400.
//!
//! Usage is what the service reports per request: the prompt, and the output of this request.

use bytes::Bytes;
use gemini_proto::types::{
    Candidate, Content, ContinuationToken, FinishReason, GenerateContentResponse,
};

use crate::generate::{
    Item, Plan, candidate, count_text_tokens, fnv1a, merged_parts, safety_candidate,
};

/// The first bytes of every token.
const MAGIC: &[u8; 4] = b"GEMU";
const VERSION: u8 = 1;
/// magic, version, hop (u32), step (u32), check (u64).
const TOKEN_LEN: usize = 4 + 1 + 4 + 4 + 8;

/// Where a request starts: the hop it belongs to (from 1) and the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub hop: u32,
    pub step: usize,
}

impl Position {
    pub(crate) const START: Position = Position { hop: 1, step: 0 };
}

fn check(seed: u64, hop: u32, step: u32) -> u64 {
    let mut bytes = seed.to_be_bytes().to_vec();
    bytes.extend_from_slice(&hop.to_be_bytes());
    bytes.extend_from_slice(&step.to_be_bytes());
    bytes.extend_from_slice(b"continuation");
    fnv1a(&bytes)
}

/// The token for resuming at `step` of `hop`, for the answer derived from `seed`.
pub(crate) fn token(seed: u64, hop: u32, step: usize) -> ContinuationToken {
    let step = u32::try_from(step).unwrap_or(u32::MAX);
    let mut bytes = Vec::with_capacity(TOKEN_LEN);
    bytes.extend_from_slice(MAGIC);
    bytes.push(VERSION);
    bytes.extend_from_slice(&hop.to_be_bytes());
    bytes.extend_from_slice(&step.to_be_bytes());
    bytes.extend_from_slice(&check(seed, hop, step).to_be_bytes());
    ContinuationToken::new(Bytes::from(bytes))
}

/// Where `token` resumes the answer derived from `seed` with `steps` steps; `None` for a token
/// this emulator did not make for this request (or tampered with).
pub(crate) fn position(seed: u64, token: &ContinuationToken, steps: usize) -> Option<Position> {
    let bytes = token.as_bytes();
    if bytes.len() != TOKEN_LEN || &bytes[..4] != MAGIC || bytes[4] != VERSION {
        return None;
    }
    let hop = u32::from_be_bytes(bytes[5..9].try_into().ok()?);
    let step = u32::from_be_bytes(bytes[9..13].try_into().ok()?);
    let sum = u64::from_be_bytes(bytes[13..21].try_into().ok()?);
    if sum != check(seed, hop, step) || hop == 0 || step as usize > steps {
        return None;
    }
    Some(Position {
        hop,
        step: step as usize,
    })
}

/// How the answer is cut: the output cap of one request, and the checkpoint interval.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cuts {
    pub hop_tokens: Option<u32>,
    pub checkpoint_every: Option<u32>,
}

impl Cuts {
    pub(crate) fn active(&self) -> bool {
        self.hop_tokens.is_some() || self.checkpoint_every.is_some()
    }
}

/// Where a request that starts at step `start` of `steps` stops under the output cap `cap`: as
/// many steps as fit (`tokens(k)` is the output of step `k`), and at least one, so that every
/// request makes progress.
pub(crate) fn hop_end(
    start: usize,
    steps: usize,
    cap: Option<u32>,
    tokens: impl Fn(usize) -> u32,
) -> usize {
    let Some(cap) = cap else {
        return steps;
    };
    let mut end = start;
    let mut used = 0u32;
    while end < steps {
        let tokens = tokens(end);
        if end > start && used.saturating_add(tokens) > cap {
            break;
        }
        used = used.saturating_add(tokens);
        end += 1;
    }
    end
}

/// One event of a request: the response, its output tokens (for pacing), and whether it is a
/// checkpoint.
pub(crate) struct HopEvent {
    pub response: GenerateContentResponse,
    pub tokens: u32,
    pub checkpoint: bool,
}

impl Plan {
    /// The number of steps (events) of the whole answer.
    pub(crate) fn steps(&self) -> usize {
        self.candidates
            .iter()
            .map(|c| c.items.len())
            .max()
            .unwrap_or(0)
    }

    fn step_tokens(&self, k: usize) -> u32 {
        self.candidates
            .iter()
            .filter_map(|c| c.items.get(k))
            .map(|item| {
                item.answer_tokens()
                    + match item {
                        Item::Thought(t) => count_text_tokens(t),
                        _ => 0,
                    }
            })
            .sum()
    }

    /// Where a request starting at `start` stops: as many steps as fit the cap, at least one.
    pub(crate) fn hop_end(&self, start: usize, cap: Option<u32>) -> usize {
        hop_end(start, self.steps(), cap, |k| self.step_tokens(k))
    }

    /// The events of a streamed request answering steps `from.step..end`. `safety_after` ends
    /// it with a SAFETY candidate after that many events.
    pub(crate) fn hop_events(
        &self,
        from: Position,
        cuts: Cuts,
        safety_after: Option<usize>,
    ) -> Vec<HopEvent> {
        if let Some(reason) = &self.blocked {
            return vec![HopEvent {
                response: self.blocked_response(reason),
                tokens: 0,
                checkpoint: false,
            }];
        }
        let steps = self.steps();
        let end = self.hop_end(from.step, cuts.hop_tokens);
        let hidden = if from.step == 0 {
            self.hidden_thoughts
        } else {
            0
        };
        let (mut answer, mut thoughts) = (0u32, 0u32);
        let mut out: Vec<HopEvent> = Vec::new();
        for k in from.step..end {
            if safety_after == Some(out.len()) {
                break;
            }
            let index_in_hop = k - from.step;
            let continues = k + 1 == end && end < steps;
            let checkpoint = !continues
                && k + 1 < end
                && cuts
                    .checkpoint_every
                    .is_some_and(|n| (index_in_hop + 1).is_multiple_of(n.max(1) as usize));
            let mut cands: Vec<Candidate> = Vec::new();
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
                let mut cand = candidate(
                    Some(Content::model(item.part())),
                    last.then(|| c.finish_reason.clone()),
                    index,
                    Vec::new(),
                );
                if continues && !last {
                    cand.finish_reason = Some(FinishReason::Continuation);
                    cand.continuation_token = Some(token(self.seed, from.hop + 1, end));
                } else if checkpoint && !last {
                    cand.continuation_token = Some(token(self.seed, from.hop, k + 1));
                }
                cands.push(cand);
            }
            let mut usage = self.usage(answer, thoughts);
            if hidden == 0 {
                // Hidden thinking was reported by the request that began the answer.
                let visible = thoughts;
                usage.thoughts_token_count = (visible > 0).then_some(visible);
                usage.total_token_count = Some(self.prompt_tokens + answer + visible);
            }
            out.push(HopEvent {
                response: self.response(cands, usage),
                tokens: event_tokens,
                checkpoint,
            });
        }
        if safety_after.is_some_and(|n| n <= out.len()) {
            let cands = (0..self.candidates.len().max(1))
                .map(safety_candidate)
                .collect();
            out.push(HopEvent {
                response: self.response(cands, self.usage(answer, thoughts)),
                tokens: 0,
                checkpoint: false,
            });
        }
        out
    }

    /// The unary answer of a request answering steps `from.step..end`: each candidate's items
    /// merged into whole parts; `CONTINUATION` and a token when the answer goes on.
    pub(crate) fn hop_unary(&self, from: Position, cuts: Cuts) -> GenerateContentResponse {
        if let Some(reason) = &self.blocked {
            return self.blocked_response(reason);
        }
        let steps = self.steps();
        let end = self.hop_end(from.step, cuts.hop_tokens);
        let (mut answer, mut thoughts) = (0u32, 0u32);
        let mut cands = Vec::new();
        for (index, c) in self.candidates.iter().enumerate() {
            let items = c
                .items
                .get(from.step..end.min(c.items.len()))
                .unwrap_or(&[]);
            let parts = merged_parts(items, &mut answer, &mut thoughts);
            let finished = end >= c.items.len();
            let mut cand = candidate(
                Some(Content::model(parts)),
                finished.then(|| c.finish_reason.clone()),
                index,
                Vec::new(),
            );
            if !finished && end < steps {
                cand.finish_reason = Some(FinishReason::Continuation);
                cand.continuation_token = Some(token(self.seed, from.hop + 1, end));
            }
            cands.push(cand);
        }
        let mut usage = self.usage(answer, thoughts);
        if from.step > 0 {
            usage.thoughts_token_count = (thoughts > 0).then_some(thoughts);
            usage.total_token_count = Some(self.prompt_tokens + answer + thoughts);
        }
        self.response(cands, usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let t = token(42, 3, 17);
        assert_eq!(position(42, &t, 100), Some(Position { hop: 3, step: 17 }));
        // Another request's answer (another seed), a step past the end, a flipped bit.
        assert_eq!(position(43, &t, 100), None);
        assert_eq!(position(42, &t, 10), None);
        let mut bytes = t.as_bytes().to_vec();
        bytes[10] ^= 1;
        assert_eq!(position(42, &ContinuationToken::new(bytes), 100), None);
        assert_eq!(
            position(42, &ContinuationToken::new(b"junk".to_vec()), 100),
            None
        );
    }
}
