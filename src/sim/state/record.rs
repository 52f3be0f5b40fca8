//! One stored resource of the generic store: its JSON, and what answers keep of it (its
//! serialized bytes, the facts transaction lists read) until it changes.

use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde_json::value::RawValue;
use serde_json::Value;

/// A stored resource: its JSON object and, once an answer has shown it, its serialized bytes
/// (so list pages copy bytes instead of serializing the same records on every request) and its
/// [`Facts`] (so transaction lists do not look fields up on every request).
///
/// It reads as a [`Value`] (`Deref`); any mutable access (`DerefMut`) drops both first, so
/// they can never be stale. Serializing a `Record` writes the bytes, made on first use.
#[derive(Debug, Clone, Default)]
pub struct Record {
    value: Value,
    raw: OnceLock<Box<RawValue>>,
    facts: OnceLock<Facts>,
}

/// What transaction lists filter, sort and sum by, read from a record once: its `id`, the day
/// of its `bankBookingDate` and its `amount` (0 where absent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts {
    pub id: u64,
    pub day: Option<chrono::NaiveDate>,
    pub amount: f64,
}

impl Record {
    /// The record's [`Facts`], read on first use and kept until it changes.
    pub fn facts(&self) -> Facts {
        *self.facts.get_or_init(|| Facts {
            id: self.value["id"].as_u64().unwrap_or(0),
            day: self.value["bankBookingDate"]
                .as_str()
                .and_then(crate::model::shapes::parse_ymd),
            amount: self.value["amount"].as_f64().unwrap_or(0.0),
        })
    }

    /// About how many bytes the record serializes to: exact once an answer has shown it, a
    /// kilobyte before. Lets a list answer allocate its body once.
    pub fn size_hint(&self) -> usize {
        self.raw.get().map_or(1024, |raw| raw.get().len())
    }

    /// The record's JSON, owned.
    pub fn to_value(&self) -> Value {
        self.value.clone()
    }

    /// The record's JSON, taking it out.
    pub fn into_value(self) -> Value {
        self.value
    }
}

impl From<Value> for Record {
    fn from(value: Value) -> Record {
        Record {
            value,
            raw: OnceLock::new(),
            facts: OnceLock::new(),
        }
    }
}

impl Deref for Record {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.value
    }
}

impl DerefMut for Record {
    fn deref_mut(&mut self) -> &mut Value {
        self.raw.take();
        self.facts.take();
        &mut self.value
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Record) -> bool {
        self.value == other.value
    }
}

impl serde::Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(raw) = self.raw.get() {
            return raw.serialize(s);
        }
        match serde_json::value::to_raw_value(&self.value) {
            Ok(raw) => self.raw.get_or_init(|| raw).serialize(s),
            // A `Value` always serializes; should it not, write it the slow way.
            Err(_) => self.value.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_serializes_like_its_value_and_never_stale() {
        let mut r = Record::from(
            json!({ "id": 7, "amount": -12.5, "bankBookingDate": "2026-11-30", "purpose": "Miete \"Nov\"" }),
        );
        let first = serde_json::to_string(&r).unwrap();
        assert_eq!(first, serde_json::to_string(&r.to_value()).unwrap());
        // The second time the kept bytes are written: the same text.
        assert_eq!(serde_json::to_string(&r).unwrap(), first);
        assert_eq!(
            r.facts(),
            Facts {
                id: 7,
                day: chrono::NaiveDate::from_ymd_opt(2026, 11, 30),
                amount: -12.5
            }
        );
        // A change through `DerefMut` drops the kept bytes and facts.
        r["amount"] = json!(99);
        r["bankBookingDate"] = json!("2026-12-01");
        let changed = serde_json::to_string(&r).unwrap();
        assert!(changed.contains("\"amount\":99"), "{changed}");
        assert_eq!(r.facts().amount, 99.0);
        assert_eq!(r.facts().day, chrono::NaiveDate::from_ymd_opt(2026, 12, 1));
        // Inside another structure it is written as raw JSON, not as a string.
        let bytes = serde_json::to_vec(&[&r, &r]).unwrap();
        let back: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, vec![r.to_value(), r.to_value()]);
    }
}
