//! Field-level encoding of entity structs, following the model's conventions: each field's
//! value is the postcard encoding of its typed value; a set's elements and a log's entries
//! are encoded one by one; a workflow's state is its one-byte state code.
//!
//! Three small serde adapters do it for every entity at once, so no entity needs its own
//! code: [`split`] takes a record apart into `(field name, postcard bytes)`, [`build`] puts
//! one together again from such pairs, and [`persons_in`] finds the [`PersonId`]s a value
//! holds (every `PersonId` newtype anywhere inside it).

use std::collections::BTreeMap;
use std::fmt;

use kenesh_model::PersonId;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::ser::{self, Impossible, Serialize};

/// A value did not fit the shape an entity struct has (never for the model's entities).
#[derive(Debug)]
pub(crate) struct CodecError(pub(crate) String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

impl ser::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError(msg.to_string())
    }
}

impl de::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError(msg.to_string())
    }
}

fn not(what: &str) -> CodecError {
    CodecError(format!("not {what}"))
}

/// One field of a record as the splitter saw it.
pub(crate) struct SplitField {
    /// The field name (the schema's).
    pub(crate) name: &'static str,
    /// The whole value, postcard-encoded.
    pub(crate) bytes: Vec<u8>,
    /// For sequences (sets, logs): each element postcard-encoded, with the persons it
    /// holds; `None` for other values.
    pub(crate) elements: Option<Vec<(Vec<u8>, Vec<PersonId>)>>,
    /// The persons the value holds.
    pub(crate) persons: Vec<PersonId>,
}

/// Takes an entity struct apart into its fields, in declaration order.
pub(crate) fn split<T: Serialize>(record: &T) -> Result<Vec<SplitField>, CodecError> {
    record.serialize(Splitter)
}

/// Encodes one value as a field value is encoded.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    postcard::to_allocvec(value).map_err(|e| CodecError(e.to_string()))
}

/// Decodes one field value.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    postcard::from_bytes(bytes).map_err(|e| CodecError(e.to_string()))
}

/// The persons anywhere in `value`, sorted, without repeats.
pub(crate) fn persons_in<T: Serialize + ?Sized>(value: &T) -> Vec<PersonId> {
    let mut found = Vec::new();
    let _ = value.serialize(Persons { found: &mut found });
    found.sort();
    found.dedup();
    found
}

/// A postcard sequence made of elements encoded one by one.
pub(crate) fn join_seq(elements: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut n = elements.len() as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    for e in elements {
        out.extend_from_slice(e);
    }
    out
}

/// Puts an entity struct together from field values (postcard bytes by field name). A
/// field that is absent reads as absent: `None` for an optional field; an error for a
/// required one.
pub(crate) fn build<T: DeserializeOwned>(
    fields: &BTreeMap<&'static str, Vec<u8>>,
) -> Result<T, CodecError> {
    T::deserialize(Builder { fields })
}

// ---------------------------------------------------------------------------------------
// The splitter: a serializer that accepts a struct and nothing else.

struct Splitter;

macro_rules! refuse {
    ($($name:ident($($t:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $t),*) -> Result<Self::Ok, Self::Error> { Err(not("a record")) })*
    };
}

impl ser::Serializer for Splitter {
    type Ok = Vec<SplitField>;
    type Error = CodecError;
    type SerializeSeq = Impossible<Self::Ok, CodecError>;
    type SerializeTuple = Impossible<Self::Ok, CodecError>;
    type SerializeTupleStruct = Impossible<Self::Ok, CodecError>;
    type SerializeTupleVariant = Impossible<Self::Ok, CodecError>;
    type SerializeMap = Impossible<Self::Ok, CodecError>;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Impossible<Self::Ok, CodecError>;

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<Self::Ok, CodecError> {
        Err(not("a record"))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, CodecError> {
        Err(not("a record"))
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, CodecError> {
        Err(not("a record"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, CodecError> {
        Err(not("a record"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CodecError> {
        Err(not("a record"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, CodecError> {
        Err(not("a record"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CodecError> {
        Err(not("a record"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CodecError> {
        Err(not("a record"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, CodecError> {
        Ok(Fields(Vec::with_capacity(len)))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CodecError> {
        Err(not("a record"))
    }
}

struct Fields(Vec<SplitField>);

impl ser::SerializeStruct for Fields {
    type Ok = Vec<SplitField>;
    type Error = CodecError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        let bytes = encode(value)?;
        let mut elements = Vec::new();
        let is_seq = value.serialize(Elements { out: &mut elements }).is_ok();
        self.0.push(SplitField {
            name: key,
            bytes,
            elements: is_seq.then_some(elements),
            persons: persons_in(value),
        });
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, CodecError> {
        Ok(self.0)
    }
}

// ---------------------------------------------------------------------------------------
// Elements: a serializer that accepts a sequence and encodes its elements one by one.

struct Elements<'a> {
    out: &'a mut Vec<(Vec<u8>, Vec<PersonId>)>,
}

impl<'a> ser::Serializer for Elements<'a> {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = Self;
    type SerializeTuple = Impossible<(), CodecError>;
    type SerializeTupleStruct = Impossible<(), CodecError>;
    type SerializeTupleVariant = Impossible<(), CodecError>;
    type SerializeMap = Impossible<(), CodecError>;
    type SerializeStruct = Impossible<(), CodecError>;
    type SerializeStructVariant = Impossible<(), CodecError>;

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), CodecError> {
        Err(not("a sequence"))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), CodecError> {
        Err(not("a sequence"))
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), CodecError> {
        Err(not("a sequence"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CodecError> {
        Err(not("a sequence"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, CodecError> {
        Err(not("a sequence"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CodecError> {
        Err(not("a sequence"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CodecError> {
        Err(not("a sequence"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, CodecError> {
        Err(not("a sequence"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CodecError> {
        Err(not("a sequence"))
    }
}

impl ser::SerializeSeq for Elements<'_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CodecError> {
        self.out.push((encode(value)?, persons_in(value)));
        Ok(())
    }
    fn end(self) -> Result<(), CodecError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Persons: a serializer that walks any value and collects every `PersonId` in it.

struct Persons<'a> {
    found: &'a mut Vec<PersonId>,
}

impl<'a> Persons<'a> {
    fn again(&mut self) -> Persons<'_> {
        Persons { found: self.found }
    }
}

macro_rules! ignore {
    ($($name:ident($($t:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $t),*) -> Result<(), CodecError> { Ok(()) })*
    };
}

impl<'a> ser::Serializer for Persons<'a> {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    ignore!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), CodecError> {
        v.serialize(self)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<(), CodecError> {
        if name == "PersonId" {
            let bytes = encode(v)?;
            if let Ok(id) = decode::<kenesh_model::Id>(&bytes) {
                self.found.push(PersonId(id));
            }
            return Ok(());
        }
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Result<(), CodecError> {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, CodecError> {
        Ok(self)
    }
}

macro_rules! walk {
    ($tr:path, $method:ident $(, $key:ident)?) => {
        impl $tr for Persons<'_> {
            type Ok = ();
            type Error = CodecError;
            fn $method<T: ?Sized + Serialize>(&mut self, $($key: &'static str,)? v: &T) -> Result<(), CodecError> {
                $(let _ = $key;)?
                v.serialize(self.again())
            }
            fn end(self) -> Result<(), CodecError> {
                Ok(())
            }
        }
    };
}

walk!(ser::SerializeSeq, serialize_element);
walk!(ser::SerializeTuple, serialize_element);
walk!(ser::SerializeTupleStruct, serialize_field);
walk!(ser::SerializeTupleVariant, serialize_field);
walk!(ser::SerializeStruct, serialize_field, key);
walk!(ser::SerializeStructVariant, serialize_field, key);

impl ser::SerializeMap for Persons<'_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), CodecError> {
        k.serialize(self.again())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), CodecError> {
        v.serialize(self.again())
    }
    fn end(self) -> Result<(), CodecError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The builder: a deserializer that offers a struct as a map of postcard-encoded fields.

struct Builder<'de> {
    fields: &'de BTreeMap<&'static str, Vec<u8>>,
}

impl<'de> de::Deserializer<'de> for Builder<'de> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_map(FieldMap {
            fields: self.fields.iter(),
            value: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct FieldMap<'de> {
    fields: std::collections::btree_map::Iter<'de, &'static str, Vec<u8>>,
    value: Option<&'de [u8]>,
}

impl<'de> MapAccess<'de> for FieldMap<'de> {
    type Error = CodecError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, CodecError> {
        match self.fields.next() {
            Some((name, bytes)) => {
                self.value = Some(bytes.as_slice());
                let key: de::value::StrDeserializer<'_, CodecError> = (*name).into_deserializer();
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, CodecError> {
        let bytes = self.value.take().ok_or_else(|| not("a value"))?;
        let mut d = postcard::Deserializer::from_bytes(bytes);
        seed.deserialize(&mut d)
            .map_err(|e| CodecError(e.to_string()))
    }
}
