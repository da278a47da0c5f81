//! Reading a request without copying its documents. [`parse`] builds the same JSON object
//! `serde_json` would, except that each string of `args.data` (basics `sign`'s documents) of at
//! least [`LIFT_FROM`] bytes that needs no unescaping is left where it is in the request's
//! text: the object holds `""` in its place and [`Lifted`] the text itself, by its index in
//! `args.data`. A 100 MB document is then held once, in the message, instead of again as a JSON
//! string; `sign` turns it into a [`crate::service::SharedText`]. Any other reader of the
//! object sees an empty string there, so only `sign` may be handed a lifted request.
//!
//! Duplicate keys keep the last value, as `serde_json` does, and what was lifted follows it.

use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::service::SharedText;

/// The shortest string of `args.data` left in the request's text: below it, copying costs
/// less than keeping the document encoded and decoding it twice.
pub const LIFT_FROM: usize = 64 << 10;

/// The strings of `args.data` left in the request's text, by their index there (a single
/// string is index 0).
#[derive(Debug, Default)]
pub struct Lifted<'t> {
    items: Vec<(usize, &'t str)>,
}

impl<'t> Lifted<'t> {
    /// The text of `args.data`'s item `index` (or of the one string), if it was lifted.
    pub fn item(&self, index: usize) -> Option<&'t str> {
        self.items.iter().find(|(at, _)| *at == index).map(|(_, text)| *text)
    }

    /// Whether nothing was lifted.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A request's text and the strings of its `args.data` left in it: where `sign` finds its long
/// documents.
pub struct InText<'t> {
    text: Option<&'t Arc<String>>,
    lifted: Lifted<'t>,
}

impl<'t> InText<'t> {
    /// The strings `lifted` out of `text`.
    pub fn new(text: &'t Arc<String>, lifted: Lifted<'t>) -> Self {
        Self { text: Some(text), lifted }
    }

    /// Nothing lifted: every document is in the JSON object.
    pub fn nothing() -> Self {
        Self { text: None, lifted: Lifted::default() }
    }

    /// The text of `args.data`'s item `index` (or of the one string), if it was lifted.
    pub fn item(&self, index: usize) -> Option<&'t str> {
        self.lifted.item(index)
    }

    /// `part` shared with the request's text, if it is a part of it (a lifted string).
    pub fn shared(&self, part: &str) -> Option<SharedText> {
        SharedText::within(self.text?, part)
    }
}

/// Parses `text` as `serde_json::from_str::<Value>` would, lifting the long strings of
/// `args.data`.
pub fn parse(text: &str) -> Result<(Value, Lifted<'_>), serde_json::Error> {
    let mut lifted = Lifted::default();
    let mut reader = serde_json::Deserializer::from_str(text);
    let value = Build { lifted: &mut lifted, place: Place::Top }.deserialize(&mut reader)?;
    reader.end()?;
    Ok((value, lifted))
}

/// Where in the request a value is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Top,
    Args,
    /// `args.data` itself.
    Data,
    /// An item of the `args.data` array.
    Item(usize),
}

/// Builds the `Value` at `place`.
struct Build<'a, 't> {
    lifted: &'a mut Lifted<'t>,
    place: Place,
}

impl<'t> Build<'_, 't> {
    fn child(&mut self, place: Place) -> Build<'_, 't> {
        Build { lifted: self.lifted, place }
    }

    /// The `Value` of a string that needed no unescaping: lifted if long, at a data place.
    fn string(self, text: &'t str) -> Value {
        let index = match self.place {
            Place::Data => 0,
            Place::Item(index) => index,
            Place::Top | Place::Args => return Value::String(text.to_owned()),
        };
        if text.len() < LIFT_FROM {
            return Value::String(text.to_owned());
        }
        self.lifted.items.push((index, text));
        Value::String(String::new())
    }
}

impl<'t> DeserializeSeed<'t> for Build<'_, 't> {
    type Value = Value;

    fn deserialize<D: Deserializer<'t>>(self, deserializer: D) -> Result<Value, D::Error> {
        if matches!(self.place, Place::Args | Place::Data) {
            // A later `args` or `data` key replaces the earlier value, and what it lifted.
            self.lifted.items.clear();
        }
        deserializer.deserialize_any(self)
    }
}

impl<'t> Visitor<'t> for Build<'_, 't> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'t str) -> Result<Value, E> {
        Ok(self.string(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'t>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = match self.place {
            Place::Data => seq.next_element_seed(self.child(Place::Item(items.len())))?,
            _ => seq.next_element::<Value>()?,
        } {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'t>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match (self.place, key.as_str()) {
                (Place::Top, "args") => map.next_value_seed(self.child(Place::Args))?,
                (Place::Args, "data") => map.next_value_seed(self.child(Place::Data))?,
                _ => map.next_value::<Value>()?,
            };
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, LIFT_FROM};
    use serde_json::Value;

    fn long(c: char) -> String {
        c.to_string().repeat(LIFT_FROM)
    }

    #[test]
    fn the_object_is_what_serde_json_reads_but_for_lifted_strings() {
        let texts = [
            r#"{"module":"m","args":{"data":"QUJD","n":[1,2.5,-3,1e300,null,true]}}"#.to_string(),
            r#"[1,{"args":{"data":["x"]}}]"#.to_string(),
            r#"{"args":[{"data":"x"}],"data":"y"}"#.to_string(),
            r#"{"a":"\u00e9\n","args":{"data":{"data":"z"}}}"#.to_string(),
            format!(r#"{{"args":{{"data":"{}\n"}},"logo":"{}"}}"#, long('A'), long('B')),
            format!(r#"{{"args":{{"x":"{}"}}}}"#, long('A')),
        ];
        for text in texts {
            let expected: Value = serde_json::from_str(&text).expect("json");
            let (value, lifted) = parse(&text).expect("json");
            assert_eq!(value, expected, "{text:.80}");
            assert!(lifted.item(0).is_none(), "{text:.80}");
        }
    }

    #[test]
    fn long_data_strings_stay_in_the_text() {
        let (a, b) = (long('A'), long('B'));
        let text =
            format!(r#"{{"module":"m","args":{{"data":["small","{a}","{b}"],"format":"cms"}}}}"#);
        let (value, lifted) = parse(&text).expect("json");
        assert_eq!(value["args"]["data"], serde_json::json!(["small", "", ""]));
        assert_eq!(value["args"]["format"], "cms");
        assert_eq!(
            (lifted.item(0), lifted.item(1), lifted.item(2)),
            (None, Some(&a[..]), Some(&b[..]))
        );
        let inside = lifted.item(1).expect("lifted").as_ptr() as usize - text.as_ptr() as usize;
        assert_eq!(&text[inside..inside + a.len()], a, "borrowed from the text, not copied");

        let single = format!(r#"{{"args":{{"data":"{a}"}}}}"#);
        let (value, lifted) = parse(&single).expect("json");
        assert_eq!((value["args"]["data"].as_str(), lifted.item(0)), (Some(""), Some(&a[..])));
    }

    #[test]
    fn a_later_key_replaces_what_an_earlier_one_lifted() {
        let a = long('A');
        for text in [
            format!(r#"{{"args":{{"data":"{a}","data":"short"}}}}"#),
            format!(r#"{{"args":{{"data":["{a}"]}},"args":{{"format":"cms"}}}}"#),
            format!(r#"{{"args":{{"data":"{a}"}},"args":[1]}}"#),
        ] {
            let expected: Value = serde_json::from_str(&text).expect("json");
            let (value, lifted) = parse(&text).expect("json");
            assert_eq!(value, expected);
            assert!(lifted.item(0).is_none());
        }
        let text = format!(r#"{{"args":{{"data":"short","data":"{a}"}}}}"#);
        let (_, lifted) = parse(&text).expect("json");
        assert_eq!(lifted.item(0), Some(&a[..]));
    }

    #[test]
    fn errors_are_serde_json_errors() {
        for text in ["", "{", r#"{"args":{"data":["x",]}}"#, "{} x", r#"{"a":1e999999}"#] {
            let expected = serde_json::from_str::<Value>(text).expect_err("bad").to_string();
            assert_eq!(parse(text).expect_err("bad").to_string(), expected, "{text}");
        }
    }
}
