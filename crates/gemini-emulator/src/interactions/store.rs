//! The interactions the emulator keeps, in memory and bounded (see [`crate::limits`]): for
//! `GET`, for resuming streams, and for conversations continued with `previous_interaction_id`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use gemini_proto::interactions::{Interaction, InteractionEvent, InteractionStatus, Step};
use gemini_proto::types::{Content, GenerateContentRequest, Part, PartData, Role};

use crate::limits::{MAX_STORED_INTERACTION_BYTES, MAX_STORED_INTERACTIONS};

/// One stored interaction.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// As `GET` returns it once it ran (output steps only; `GET` puts the input first).
    pub interaction: Interaction,
    /// Its input, as steps.
    pub input: Vec<Step>,
    /// Its stream, with the output tokens each event stands for (pacing).
    pub events: Vec<(InteractionEvent, u32)>,
    /// The conversation turns it adds (input and output).
    pub turn: Vec<Content>,
    /// The interaction it continues.
    pub previous: Option<String>,
    /// Stopped at the output cap (`requires_continuation`): what the answer is derived from,
    /// for the request that continues it (shared by every request of the answer).
    pub origin: Option<Arc<Origin>>,
    /// A background run: in progress until it has been polled once.
    pub background: bool,
    pub polls: u32,
    /// Approximate memory, for the bound.
    pub bytes: usize,
}

impl Stored {
    /// Its status now.
    pub fn status(&self) -> Option<&InteractionStatus> {
        self.interaction.status.as_ref()
    }
}

/// The request a long answer is derived from, kept for the requests that continue it.
#[derive(Debug)]
pub(crate) struct Origin {
    pub generate: GenerateContentRequest,
    /// Its size in JSON, for the memory bound.
    pub bytes: usize,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Stored>,
    /// Ids, oldest first (evicted first).
    order: VecDeque<String>,
    bytes: usize,
    created: u64,
}

/// The store (one per emulator).
#[derive(Debug, Default)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A number that is different for every interaction this emulator creates.
    pub fn next_serial(&self) -> u64 {
        let mut inner = self.lock();
        inner.created += 1;
        inner.created
    }

    /// Keeps `stored` under `id`, forgetting the oldest interactions past the bounds.
    pub fn put(&self, id: String, stored: Stored) {
        let mut inner = self.lock();
        if let Some(old) = inner.map.remove(&id) {
            inner.bytes -= old.bytes;
            inner.order.retain(|o| o != &id);
        }
        inner.bytes += stored.bytes;
        inner.map.insert(id.clone(), stored);
        inner.order.push_back(id);
        while inner.map.len() > MAX_STORED_INTERACTIONS
            || (inner.bytes > MAX_STORED_INTERACTION_BYTES && inner.map.len() > 1)
        {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.map.remove(&oldest) {
                inner.bytes -= old.bytes;
            }
        }
    }

    /// A copy of interaction `id`.
    pub fn get(&self, id: &str) -> Option<Stored> {
        self.lock().map.get(id).cloned()
    }

    /// Changes interaction `id` in place; `None` when there is none.
    pub fn update<T>(&self, id: &str, change: impl FnOnce(&mut Stored) -> T) -> Option<T> {
        self.lock().map.get_mut(id).map(change)
    }

    /// Forgets interaction `id`; false when there was none.
    pub fn remove(&self, id: &str) -> bool {
        let mut inner = self.lock();
        match inner.map.remove(id) {
            Some(old) => {
                inner.bytes -= old.bytes;
                inner.order.retain(|o| o != id);
                true
            }
            None => false,
        }
    }

    /// The conversation up to and including interaction `id`: the turns of every interaction of
    /// its `previous_interaction_id` chain, oldest first. `Err` names the missing interaction.
    pub fn history(&self, id: &str) -> Result<Vec<Content>, String> {
        let inner = self.lock();
        let mut chain = Vec::new();
        let mut next = Some(id.to_owned());
        while let Some(id) = next {
            // Every interaction names an older one, so the chain is at most the store's size.
            let Some(stored) = inner.map.get(&id) else {
                return Err(id);
            };
            chain.push(&stored.turn);
            next = stored.previous.clone();
            if chain.len() > MAX_STORED_INTERACTIONS {
                break;
            }
        }
        Ok(joined(chain.into_iter().rev().flatten().cloned()))
    }

    /// The number of interactions kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }
}

/// A conversation with the model turns of an answer given over several requests (one stored
/// interaction each) joined into one, its text in one part: as the uncut answer reads.
fn joined(contents: impl Iterator<Item = Content>) -> Vec<Content> {
    let mut out: Vec<Content> = Vec::new();
    for content in contents {
        match out.last_mut() {
            Some(last) if last.role == Some(Role::Model) && content.role == Some(Role::Model) => {
                for part in content.parts {
                    match (last.parts.last_mut(), plain_text(&part)) {
                        (Some(before), Some(more)) if plain_text(before).is_some() => {
                            if let PartData::Text(text) = &mut before.data {
                                text.push_str(more);
                            }
                        }
                        _ => last.parts.push(part),
                    }
                }
            }
            _ => out.push(content),
        }
    }
    out
}

/// The text of a text part that is nothing else (no thought, no signature).
fn plain_text(part: &Part) -> Option<&str> {
    if part.is_thought() || part.thought_signature.is_some() {
        return None;
    }
    part.as_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(bytes: usize, previous: Option<&str>) -> Stored {
        Stored {
            interaction: Interaction::default(),
            input: Vec::new(),
            events: Vec::new(),
            turn: vec![Content::user("turn")],
            previous: previous.map(str::to_owned),
            origin: None,
            background: false,
            polls: 0,
            bytes,
        }
    }

    #[test]
    fn the_oldest_interactions_go_first_past_either_bound() {
        let store = Store::default();
        for i in 0..MAX_STORED_INTERACTIONS + 5 {
            store.put(format!("i{i}"), stored(10, None));
        }
        assert_eq!(store.len(), MAX_STORED_INTERACTIONS);
        assert!(store.get("i0").is_none() && store.get("i4").is_none());
        assert!(store.get("i5").is_some());
        // One huge interaction pushes out the others, but is kept itself.
        store.put(
            "huge".into(),
            stored(MAX_STORED_INTERACTION_BYTES + 1, None),
        );
        assert_eq!(store.len(), 1);
        assert!(store.get("huge").is_some());
    }

    #[test]
    fn a_history_follows_the_chain_and_names_a_missing_link() {
        let store = Store::default();
        store.put("a".into(), stored(1, None));
        store.put("b".into(), stored(1, Some("a")));
        store.put("c".into(), stored(1, Some("b")));
        assert_eq!(store.history("c").unwrap().len(), 3);
        assert!(store.remove("a"));
        assert_eq!(store.history("c"), Err("a".to_owned()));
    }

    #[test]
    fn the_model_turns_of_a_continued_answer_read_as_one() {
        let store = Store::default();
        let model = |text: &str| {
            let mut content = Content::new(text);
            content.role = Some(Role::Model);
            content
        };
        let mut first = stored(1, None);
        first.turn = vec![Content::user("question"), model("The ans")];
        store.put("a".into(), first);
        let mut second = stored(1, Some("a"));
        second.turn = vec![model("wer is 42.")];
        store.put("b".into(), second);
        assert_eq!(
            store.history("b").unwrap(),
            vec![Content::user("question"), model("The answer is 42.")]
        );
    }
}
