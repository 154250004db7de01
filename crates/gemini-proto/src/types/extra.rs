//! [`Extra`]: the members of a JSON object that the model does not know.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// JSON object members that this version of the library does not model, in arrival order of first
/// appearance (with serde_json's `preserve_order`; in key order without it), kept so that they
/// survive a round trip.
///
/// It reads and writes as a [`serde_json::Map`] (it dereferences to one) but holds nothing, and
/// allocates nothing, until a member is added: almost every object of an answer has none, and a
/// map per struct would make every value larger and every chunk of a stream slower to build, move
/// and drop.
///
/// ```
/// use gemini_proto::types::GenerateContentResponse;
///
/// let mut chunk: GenerateContentResponse =
///     serde_json::from_str(r#"{"candidates": [], "someNewField": 1}"#).unwrap();
/// assert_eq!(chunk.extra["someNewField"], 1);
/// assert_eq!(chunk.extra.len(), 1);
/// chunk.extra.insert("another".into(), "x".into());
/// assert_eq!(chunk.extra.keys().collect::<Vec<_>>().len(), 2);
/// assert!(chunk.candidates.is_empty());
/// ```
#[derive(Default)]
pub struct Extra(Option<Box<Map<String, Value>>>);

impl Extra {
    /// No members.
    pub const fn new() -> Self {
        Self(None)
    }

    /// The members, as a map.
    pub fn into_map(self) -> Map<String, Value> {
        self.0.map(|map| *map).unwrap_or_default()
    }
}

/// The map an empty `Extra` reads as.
fn empty() -> &'static Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

impl Deref for Extra {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        match &self.0 {
            Some(map) => map,
            None => empty(),
        }
    }
}

/// Makes the map (empty) when there is none yet.
impl DerefMut for Extra {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.0.get_or_insert_with(Box::default)
    }
}

impl Clone for Extra {
    fn clone(&self) -> Self {
        match &self.0 {
            Some(map) if !map.is_empty() => Self(Some(map.clone())),
            _ => Self(None),
        }
    }

    /// Reuses this one's map, if it has one.
    fn clone_from(&mut self, source: &Self) {
        match (&mut self.0, &source.0) {
            (Some(map), Some(from)) => map.clone_from(from),
            (Some(map), None) => map.clear(),
            (None, Some(from)) if !from.is_empty() => self.0 = Some(from.clone()),
            (None, _) => {}
        }
    }
}

/// Equal when the members are (no map and an empty one are equal).
impl PartialEq for Extra {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Extra {}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Self {
        if map.is_empty() {
            Self(None)
        } else {
            Self(Some(Box::new(map)))
        }
    }
}

impl From<Extra> for Map<String, Value> {
    fn from(extra: Extra) -> Self {
        extra.into_map()
    }
}

impl FromIterator<(String, Value)> for Extra {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Map::from_iter(iter).into()
    }
}

impl Extend<(String, Value)> for Extra {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        let mut iter = iter.into_iter().peekable();
        if iter.peek().is_some() {
            (**self).extend(iter);
        }
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        (**self).iter()
    }
}

impl IntoIterator for Extra {
    type Item = (String, Value);
    type IntoIter = serde_json::map::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        self.into_map().into_iter()
    }
}

impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn empty_holds_no_map_and_reads_as_an_empty_one() {
        let extra = Extra::new();
        assert!(extra.0.is_none());
        assert!(extra.is_empty());
        assert_eq!(extra.get("a"), None);
        assert_eq!(serde_json::to_string(&extra).unwrap(), "{}");
        assert_eq!(format!("{extra:?}"), "{}");
        assert!(Extra::from(Map::new()).0.is_none());
        let read: Extra = serde_json::from_str("{}").unwrap();
        assert!(read.0.is_none());
    }

    #[test]
    fn members_are_kept_read_and_written_back() {
        let mut extra = Extra::default();
        extra.insert("b".into(), json!(1));
        extra.insert("a".into(), json!({"x": [true]}));
        assert_eq!(extra.len(), 2);
        assert_eq!(extra["a"]["x"][0], true);
        let text = serde_json::to_string(&extra).unwrap();
        let back: Extra = serde_json::from_str(&text).unwrap();
        assert_eq!(back, extra);
        assert_eq!(back.into_map(), map(json!({"b": 1, "a": {"x": [true]}})));
        let pairs: Vec<(&String, &Value)> = (&extra).into_iter().collect();
        assert_eq!(pairs.len(), 2);
    }

    #[test]
    fn no_map_and_an_emptied_one_are_equal_and_clone_alike() {
        let mut emptied = Extra::default();
        emptied.insert("a".into(), json!(1));
        emptied.remove("a");
        assert!(emptied.0.is_some());
        assert_eq!(emptied, Extra::new());
        assert!(emptied.clone().0.is_none());

        let full: Extra = map(json!({"k": "v"})).into();
        let mut target = Extra::new();
        target.clone_from(&full);
        assert_eq!(target, full);
        target.clone_from(&Extra::new());
        assert!(target.is_empty());
        let mut none = Extra::new();
        none.clone_from(&emptied);
        assert!(none.0.is_none());
    }

    #[test]
    fn extending_with_nothing_makes_no_map() {
        let mut extra = Extra::new();
        extra.extend(std::iter::empty());
        assert!(extra.0.is_none());
        extra.extend([("z".to_owned(), json!(null))]);
        assert_eq!(extra.len(), 1);
        let collected: Extra = [("q".to_owned(), json!(2))].into_iter().collect();
        assert_eq!(collected["q"], 2);
    }
}
