//! The machinery behind the forward-compatible model: open structs that keep unknown fields, open enums
//! that keep unknown values, and base64 byte fields.
//!
//! Every struct of the model is declared with [`wire_struct!`]. The generated `Deserialize` visits the JSON
//! object once: known keys go to typed fields, every other key goes to the struct's `extra` map, so a field
//! Google adds tomorrow survives a parse → serialize round trip. This is done by hand instead of with
//! `#[serde(flatten)]`, which buffers every object into an intermediate tree before deserializing it and
//! would double the cost of decoding each streamed chunk.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, Visitor};

pub use super::extra::Extra;

/// How a field type tells "absent" from "present", so that serialization omits absent fields the way
/// Google's own JSON does, and reads `null`.
pub trait WireField: Sized {
    /// True when the field carries no value and is left out of the JSON.
    fn is_absent(&self) -> bool;

    /// Reads the field, `null` as the default value (proto3 JSON allows `null` for any field).
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>
    where
        Self: Deserialize<'de> + Default,
    {
        NullOr::<Self>::deserialize(deserializer).map(|value| value.0)
    }
}

impl<T> WireField for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }

    /// An option reads `null` as `None` by itself.
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>
    where
        Self: Deserialize<'de> + Default,
    {
        Self::deserialize(deserializer)
    }
}

/// Reads a field of type `T` with [`WireField::read`].
pub struct FieldSeed<T>(pub std::marker::PhantomData<T>);

impl<'de, T: WireField + Deserialize<'de> + Default> de::DeserializeSeed<'de> for FieldSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::read(deserializer)
    }
}

impl<T> WireField for Vec<T> {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

impl<K, V> WireField for std::collections::BTreeMap<K, V> {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

/// Deserializes `T`, treating JSON `null` as `T::default()` (proto3 JSON allows `null` for any field).
pub struct NullOr<T>(pub T);

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for NullOr<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|value| NullOr(value.unwrap_or_default()))
    }
}

/// Where the value of an object member comes from, for the hand-written readers of the model
/// (such as `Part`'s) that serve both serde (through a `MapAccess`) and the chunk reader.
pub(crate) trait MemberValue<E> {
    /// Reads the member's value.
    fn value<T: de::DeserializeOwned + crate::json_reader::ReadInto>(&mut self) -> Result<T, E>;
}

/// Member values from serde's `MapAccess`.
pub(crate) struct FromMap<'a, A>(pub &'a mut A);

impl<'de, A: de::MapAccess<'de>> MemberValue<A::Error> for FromMap<'_, A> {
    fn value<T: de::DeserializeOwned + crate::json_reader::ReadInto>(
        &mut self,
    ) -> Result<T, A::Error> {
        self.0.next_value()
    }
}

/// An object key, borrowed from the input when it can be.
pub struct Key<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Reads the value of one member: with [`WireField::read`], or through the `$via` type when the field was
/// declared with `as $via` (a lenient reader converting into `$ty`).
macro_rules! next_field {
    ($map:ident, $ty:ty) => {
        $map.next_value_seed($crate::types::wire::FieldSeed::<$ty>(
            ::std::marker::PhantomData,
        ))?
    };
    ($map:ident, $ty:ty, $via:ty) => {
        <$ty>::from($map.next_value::<$via>()?)
    };
}
pub(crate) use next_field;

/// [`next_field!`] for [`ReadInto`](crate::json_reader::ReadInto): reads one member into its
/// field in place.
macro_rules! read_field {
    ($out:ident, $reader:ident, $field:ident, $ty:ty) => {
        $crate::json_reader::ReadField::read_field(&mut $out.$field, $reader)?
    };
    ($out:ident, $reader:ident, $field:ident, $ty:ty, $via:ty) => {
        $out.$field = <$ty>::from(<$via as ::serde::Deserialize>::deserialize(&mut *$reader)?)
    };
}
pub(crate) use read_field;

/// Declares a model struct: public typed fields with their JSON names, `extra` for unknown members,
/// `Default`, `Clone`, `Debug`, `PartialEq`, and the open (de)serialization described in the module docs.
/// A field declared `name: Type = "wireName" as Via` is read through `Via` (which must convert into
/// `Type`) instead of `Type`'s own `Deserialize`.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $wire:literal $(as $via:ty)?,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            /// Members this version of the library does not model, kept so they survive a round trip.
            pub extra: $crate::types::wire::Extra,
        }

        // By hand for `clone_from`, field by field: cloning a chunk's value into the previous
        // one (the aggregate's usage, say) reuses its allocations.
        impl Clone for $name {
            fn clone(&self) -> Self {
                Self {
                    $( $field: self.$field.clone(), )*
                    extra: self.extra.clone(),
                }
            }

            fn clone_from(&mut self, source: &Self) {
                $( self.$field.clone_from(&source.$field); )*
                self.extra.clone_from(&source.extra);
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(None)?;
                $(
                    if !$crate::types::wire::WireField::is_absent(&self.$field) {
                        map.serialize_entry($wire, &self.$field)?;
                    }
                )*
                for (key, value) in &self.extra {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }

        // What `Deserialize` below does, reading into the struct in place (the chunk path).
        // Members named by their JSON names, written plainly and followed by the colon, are
        // matched in the input in declaration order (so a repeated name reads as the first
        // field with it, as in the `match` below); all others go through the `match`.
        $crate::json_reader::read_by_members!($name, |this, reader| {
            let ahead = reader.key_ahead();
            let first = ahead.first().copied().unwrap_or(0);
            $(
                if reader.known_key(first, ahead, const {
                    assert!($crate::json_reader::plain_key($wire));
                    concat!($wire, "\":").as_bytes()
                }) {
                    $crate::types::wire::read_field!(this, reader, $field, $ty $(, $via)?);
                    return Ok(true);
                }
            )*
            let _ = (this, first); // a struct without fields uses neither
            Ok(false)
        }, |this, reader, key| {
            #[allow(unreachable_patterns)]
            match key {
                $(
                    $wire => $crate::types::wire::read_field!(this, reader, $field, $ty $(, $via)?),
                )*
                $(
                    stringify!($field) => $crate::types::wire::read_field!(this, reader, $field, $ty $(, $via)?),
                )*
                _ => {
                    let value = <::serde_json::Value as ::serde::Deserialize>::deserialize(&mut *reader)?;
                    this.extra.insert(key.to_owned(), value);
                }
            }
            Ok(())
        });

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct StructVisitor;
                impl<'de> ::serde::de::Visitor<'de> for StructVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<$crate::types::wire::Key<'de>>()? {
                            // Google accepts the proto field names (snake_case) as well as the JSON
                            // names; so does the model. Where both are the same the second arm is dead.
                            #[allow(unreachable_patterns)]
                            match &*key.0 {
                                $(
                                    $wire => {
                                        out.$field = $crate::types::wire::next_field!(map, $ty $(, $via)?);
                                    }
                                )*
                                $(
                                    stringify!($field) => {
                                        out.$field = $crate::types::wire::next_field!(map, $ty $(, $via)?);
                                    }
                                )*
                                _ => {
                                    let value: ::serde_json::Value = map.next_value()?;
                                    out.extra.insert(key.0.into_owned(), value);
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                deserializer.deserialize_map(StructVisitor)
            }
        }
    };
}
pub(crate) use wire_struct;

/// Declares an open enum: known values as variants, `Unknown(String)` for anything else. Accepts the
/// string form and, where a proto number is given, the integer form that older endpoints send.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $wire:literal $(($num:literal))?,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant,
            )*
            /// A value this version of the library does not know, kept exactly as it arrived (an integer
            /// value is kept as its decimal text).
            Unknown(String),
        }

        impl $name {
            /// The value's name on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown(other) => other,
                }
            }

            /// The value for a wire name; unknown names become `Unknown`.
            pub fn from_wire(name: &str) -> Self {
                match name {
                    $( $wire => Self::$variant, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// The value for a proto enum number, as sent by endpoints that encode enums as integers.
            pub fn from_number(number: i64) -> Self {
                match number {
                    $( $( $num => Self::$variant, )? )*
                    other => Self::Unknown(other.to_string()),
                }
            }

            /// True for a value this version of the library does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::from_wire(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        // A name is read here; a number goes through `Deserialize`.
        impl $crate::json_reader::ReadInto for $name {
            fn read_new(
                reader: &mut $crate::json_reader::Reader<'_>,
            ) -> ::std::result::Result<Self, $crate::json_reader::GaveUp> {
                if reader.next_is_string()? {
                    return reader.str().map($name::from_wire);
                }
                <$name as ::serde::Deserialize>::deserialize(reader)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct EnumVisitor;
                impl<'de> ::serde::de::Visitor<'de> for EnumVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " name or number"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from_wire(v))
                    }
                    fn visit_i64<E: ::serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        Ok($name::from_number(v))
                    }
                    fn visit_u64<E: ::serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        match i64::try_from(v) {
                            Ok(v) => Ok($name::from_number(v)),
                            Err(_) => Ok($name::Unknown(v.to_string())),
                        }
                    }
                }
                deserializer.deserialize_any(EnumVisitor)
            }
        }
    };
}
pub(crate) use wire_enum;

/// Base64 (standard alphabet, padded) as Google writes `bytes` fields; decoding also accepts the URL-safe
/// alphabet and missing padding, which proto3 JSON allows.
pub(crate) fn decode_base64(text: &str) -> Result<Bytes, base64::DecodeError> {
    use base64::engine::DecodePaddingMode;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    if text.bytes().any(|b| b == b'-' || b == b'_') {
        URL_SAFE.decode(text).map(Bytes::from)
    } else {
        STANDARD.decode(text).map(Bytes::from)
    }
}

/// Encodes bytes the way Google does: standard alphabet, padded.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A `Bytes` field that is base64 text on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Base64(pub Bytes);

impl serde::Serialize for Base64 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode_base64(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct B64Visitor;
        impl Visitor<'_> for B64Visitor {
            type Value = Base64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("base64 text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Base64, E> {
                decode_base64(v)
                    .map(Base64)
                    .map_err(|err| E::custom(format_args!("invalid base64: {err}")))
            }
        }
        deserializer.deserialize_str(B64Visitor)
    }
}

/// An optional proto3 `int64`: JSON writes these as strings (`"3"`), and Google accepts numbers too.
/// Reads either form (or `null`); the model stores `Option<i64>` and writes a number.
pub(crate) struct LenientInt64(Option<i64>);

impl From<LenientInt64> for Option<i64> {
    fn from(value: LenientInt64) -> Self {
        value.0
    }
}

impl<'de> Deserialize<'de> for LenientInt64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Int64Visitor;
        impl Visitor<'_> for Int64Visitor {
            type Value = LenientInt64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer, as a number or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LenientInt64, E> {
                Ok(LenientInt64(Some(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LenientInt64, E> {
                i64::try_from(v)
                    .map(|v| LenientInt64(Some(v)))
                    .map_err(|_| E::custom(format_args!("integer {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LenientInt64, E> {
                v.trim()
                    .parse()
                    .map(|v| LenientInt64(Some(v)))
                    .map_err(|_| E::custom(format_args!("{v:?} is not an integer")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LenientInt64, E> {
                Ok(LenientInt64(None))
            }
        }
        deserializer.deserialize_any(Int64Visitor)
    }
}

crate::json_reader::read_via_serde!(Base64);
