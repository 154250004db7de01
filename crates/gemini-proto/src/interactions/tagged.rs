//! Open unions discriminated by a `type` member: steps, deltas, contents, tools. A known `type`
//! reads into its typed variant; any other is kept whole in [`Unknown`], never an error, and
//! written back as it came.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// An object of a union member this version of the library does not know, kept as it arrived
/// (its `type` member included).
///
/// ```
/// use gemini_proto::interactions::Step;
///
/// let step: Step = serde_json::from_str(r#"{"type": "hologram_call", "id": "h1"}"#).unwrap();
/// let Step::Unknown(unknown) = &step else { panic!() };
/// assert_eq!(unknown.type_name(), "hologram_call");
/// assert_eq!(unknown.fields()["id"], "h1");
/// assert_eq!(serde_json::to_value(&step).unwrap()["type"], "hologram_call");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unknown(Map<String, Value>);

impl Unknown {
    /// Wraps an object.
    pub fn new(fields: Map<String, Value>) -> Self {
        Self(fields)
    }

    /// Its `type` member (`""` when it has none or it is not a string).
    pub fn type_name(&self) -> &str {
        self.0.get("type").and_then(Value::as_str).unwrap_or("")
    }

    /// Every member, `type` included.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Every member, to change.
    pub fn fields_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.0
    }

    /// Takes the members out.
    pub fn into_fields(self) -> Map<String, Value> {
        self.0
    }
}

impl Serialize for Unknown {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Unknown {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Unknown)
    }
}

/// Writes `value` (an object) with `"type": tag` added.
pub(crate) fn serialize_tagged<S: Serializer, T: Serialize>(
    tag: &str,
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    let mut object = match serde_json::to_value(value).map_err(S::Error::custom)? {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    object.insert("type".to_owned(), Value::String(tag.to_owned()));
    object.serialize(serializer)
}

/// An object and the value of its `type` member.
pub(crate) type Tagged = (Option<String>, Map<String, Value>);

/// Reads an object, and the value of its `type` member.
pub(crate) fn read_tagged<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tagged, D::Error> {
    let object = Map::deserialize(deserializer)?;
    let tag = object
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((tag, object))
}

/// Reads the members of a known variant (its `type` member is dropped: the variant says it).
pub(crate) fn read_variant<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    mut object: Map<String, Value>,
    union: &str,
    tag: &str,
) -> Result<T, D::Error> {
    object.remove("type");
    serde_json::from_value(Value::Object(object))
        .map_err(|e| D::Error::custom(format_args!("{union} of type {tag:?}: {e}")))
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Value::Object(self.0.clone()))
    }
}

/// Declares an open union: a typed variant per known `type`, `Unknown` for every other.
macro_rules! tagged_union {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident($ty:ty) = $tag:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant($ty),
            )*
            /// A `type` this version of the library does not know, kept whole.
            Unknown($crate::interactions::Unknown),
        }

        impl $name {
            /// The value of the `type` member on the wire.
            pub fn type_name(&self) -> &str {
                match self {
                    $( Self::$variant(_) => $tag, )*
                    Self::Unknown(unknown) => unknown.type_name(),
                }
            }

            /// True for a `type` this version of the library does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( Self::$variant(inner) => $crate::interactions::tagged::serialize_tagged($tag, inner, serializer), )*
                    Self::Unknown(unknown) => unknown.serialize(serializer),
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let (tag, object) = $crate::interactions::tagged::read_tagged(deserializer)?;
                match tag.as_deref() {
                    $( Some($tag) => $crate::interactions::tagged::read_variant::<D, $ty>(object, stringify!($name), $tag).map(Self::$variant), )*
                    _ => Ok(Self::Unknown($crate::interactions::Unknown::new(object))),
                }
            }
        }

        $crate::json_reader::read_via_serde!($name);
    };
}
pub(crate) use tagged_union;
