//! Filling from the shapes: a partial body completed into one that conforms (the mock's
//! responses), a plausible value made from nothing, and request bodies an operation accepts
//! (what the runner, the steps and the tests send).

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::pattern::sample_for;
use super::schema::{Kind, Schema, Shapes, MAX_DEPTH};
use super::validate::number_problem;

/// The seed of [`Shapes::request_body`]'s made-up values.
const REQUEST_BODY_SEED: u64 = 7;

impl Shapes {
    /// A JSON request body `op_id` accepts: the fields of `given` (what the sender means, such
    /// as an id that exists nowhere) kept where they fit, every other required field filled in
    /// with a plausible value, nothing optional added. `None` when the shapes describe no JSON
    /// body for the operation (none at all, or a form). Same inputs, same output; the result
    /// passes [`Shapes::check_request_body`].
    pub fn request_body(&self, op_id: &str, given: Value) -> Option<Value> {
        let shape = self.operations.get(op_id)?.body.as_ref()?;
        if shape.is_form() {
            return None;
        }
        Some(self.fill(&shape.schema, given, REQUEST_BODY_SEED))
    }

    /// A value that conforms to `schema`, built from `partial`: every given field that fits
    /// is kept, every missing required field gets a plausible value derived from `seed`, a
    /// `null` in a non-nullable field is dropped (optional) or replaced (required), and a
    /// value that does not fit is replaced. Same inputs, same output.
    pub fn fill(&self, schema: &Schema, partial: Value, seed: u64) -> Value {
        self.fill_at(schema, Some(partial), "value", seed, 0)
    }

    /// A plausible value of `schema` from nothing.
    pub fn sample(&self, schema: &Schema, seed: u64) -> Value {
        self.fill_at(schema, None, "value", seed, 0)
    }

    /// `given` is `None` when there is nothing to keep (the value is to be made up).
    fn fill_at(
        &self,
        s: &Schema,
        given: Option<Value>,
        hint: &str,
        seed: u64,
        depth: usize,
    ) -> Value {
        if given.as_ref().is_some_and(Value::is_null) && self.accepts_null_at(s, depth) {
            return Value::Null;
        }
        let given = given.filter(|v| !v.is_null());
        if let Some(r) = &s.reference {
            return match self.models.get(r) {
                Some(m) if depth < MAX_DEPTH => self.fill_at(m, given, hint, seed, depth + 1),
                Some(m) => given.unwrap_or_else(|| shallow(m)),
                None => given.unwrap_or(Value::Null),
            };
        }
        if let Some(alts) = &s.one_of {
            return self.fill_one_of(s, alts, given, hint, seed, depth);
        }
        if let Some(values) = &s.enumeration {
            if let Some(v) = given.filter(|v| values.contains(v)) {
                return v;
            }
            let choices: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
            return match choices.len() {
                0 => Value::Null,
                n => choices[(seed % n as u64) as usize].clone(),
            };
        }
        match s.effective_kind() {
            Kind::Any => given.unwrap_or_else(|| Value::Object(Map::new())),
            Kind::Object => self.fill_object(s, given, seed, depth),
            Kind::Array => self.fill_array(s, given, hint, seed, depth),
            Kind::String => match given {
                Some(Value::String(t)) if self.string_problems(s, &t).is_empty() => {
                    Value::String(t)
                }
                _ => Value::String(self.make_string(s, hint, seed)),
            },
            Kind::Integer => match given {
                Some(Value::Number(n)) if !n.is_f64() && number_problem(s, &n).is_none() => {
                    Value::Number(n)
                }
                _ => Value::Number(make_integer(s, seed)),
            },
            Kind::Number => match given {
                Some(Value::Number(n)) if number_problem(s, &n).is_none() => Value::Number(n),
                _ => Value::Number(make_number(s, seed)),
            },
            Kind::Boolean => match given {
                Some(Value::Bool(b)) => Value::Bool(b),
                _ => Value::Bool(seed % 2 == 1),
            },
        }
    }

    fn fill_object(&self, s: &Schema, given: Option<Value>, seed: u64, depth: usize) -> Value {
        let mut map = match given {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let empty = BTreeMap::new();
        let fields = s.fields.as_ref().unwrap_or(&empty);
        // Fix what was given, in place.
        let mut absent = Vec::new();
        for (name, value) in map.iter_mut() {
            let Some(schema) = fields.get(name).or(s.additional.as_deref()) else {
                continue;
            };
            if value.is_null() && !self.accepts_null_at(schema, depth + 1) && !s.is_required(name) {
                absent.push(name.clone()); // an optional field may simply be absent
                continue;
            }
            let given = std::mem::take(value);
            *value = self.fill_at(schema, Some(given), name, mix(seed, name), depth + 1);
        }
        for name in absent {
            map.remove(&name);
        }
        // Add what is required and missing.
        for name in &s.required {
            if map.contains_key(name) {
                continue;
            }
            let value = match fields.get(name).or(s.additional.as_deref()) {
                Some(schema) => self.fill_at(schema, None, name, mix(seed, name), depth + 1),
                None => Value::String(String::new()),
            };
            map.insert(name.clone(), value);
        }
        Value::Object(map)
    }

    fn fill_array(
        &self,
        s: &Schema,
        given: Option<Value>,
        hint: &str,
        seed: u64,
        depth: usize,
    ) -> Value {
        let mut items = match given {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        if let Some(max) = s.max_items {
            items.truncate(max as usize);
        }
        let Some(item) = s.items.as_deref() else {
            while (items.len() as u64) < s.min_items.unwrap_or(0) {
                items.push(Value::Object(Map::new()));
            }
            return Value::Array(items);
        };
        let mut out: Vec<Value> = items
            .into_iter()
            .enumerate()
            .map(|(i, v)| self.fill_at(item, Some(v), hint, seed.wrapping_add(i as u64), depth + 1))
            .collect();
        while (out.len() as u64) < s.min_items.unwrap_or(0) {
            let i = out.len() as u64;
            out.push(self.fill_at(item, None, hint, seed.wrapping_add(i), depth + 1));
        }
        Value::Array(out)
    }

    fn fill_one_of(
        &self,
        s: &Schema,
        alts: &[Schema],
        given: Option<Value>,
        hint: &str,
        seed: u64,
        depth: usize,
    ) -> Value {
        if let Some(v) = &given {
            if self.conforms_at(v, s, depth) {
                return given.unwrap_or(Value::Null);
            }
        }
        let mut first = None;
        for alt in alts {
            let candidate = self.fill_at(alt, given.clone(), hint, seed, depth + 1);
            if self.conforms_at(&candidate, s, depth) {
                return candidate;
            }
            first.get_or_insert(candidate);
        }
        first.unwrap_or(Value::Null)
    }

    fn make_string(&self, s: &Schema, hint: &str, seed: u64) -> String {
        let n = seed % 10_000;
        let mut text = match s.format.as_deref() {
            Some("date") => make_date(seed),
            Some("date-time") => {
                format!("{}T{:02}:{:02}:00Z", make_date(seed), seed % 24, seed % 60)
            }
            Some("ipv4") => format!("192.0.2.{}", seed % 250 + 1),
            Some("uuid") => format!("00000000-0000-4000-8000-{:012x}", seed % 0xffff_ffff_ffff),
            Some("email") => format!("user{n}@example.com"),
            _ => format!("{hint}-{n}"),
        };
        if let Some(pattern) = &s.pattern {
            let min = s.min_length.unwrap_or(0) as usize;
            text = self.with_pattern(pattern, |p| match p {
                Some(p) if p.regex.is_match(&text) => text.clone(),
                // The hint-based text does not fit: the pattern's own sample, longer if needed.
                Some(p) => match &p.sample {
                    Some(sample) if sample.chars().count() >= min => sample.clone(),
                    _ => sample_for(pattern, min.max(1))
                        .filter(|t| p.regex.is_match(t))
                        .unwrap_or_else(|| text.clone()),
                },
                None => text.clone(),
            });
        }
        let len = text.chars().count();
        if let Some(max) = s.max_length.map(|m| m as usize).filter(|m| len > *m) {
            text = text.chars().take(max).collect();
        }
        if let Some(min) = s.min_length.map(|m| m as usize) {
            let len = text.chars().count();
            if len < min {
                let pad = text.chars().last().unwrap_or('x');
                text.extend(std::iter::repeat_n(pad, min - len));
            }
        }
        text
    }
}

fn make_integer(s: &Schema, seed: u64) -> Number {
    let (lo, hi) = match s.format.as_deref() {
        Some("int32") => (i32::MIN as f64, i32::MAX as f64),
        _ => (i64::MIN as f64, i64::MAX as f64),
    };
    let min = s
        .minimum
        .as_ref()
        .and_then(Number::as_f64)
        .unwrap_or(lo)
        .max(lo)
        .ceil();
    let max = s
        .maximum
        .as_ref()
        .and_then(Number::as_f64)
        .unwrap_or(hi)
        .min(hi)
        .floor();
    let want = 1 + (seed % 1000) as i64;
    let value = if (want as f64) < min {
        min as i64
    } else if (want as f64) > max {
        max as i64
    } else {
        want
    };
    Number::from(value)
}

fn make_number(s: &Schema, seed: u64) -> Number {
    let want = 1.0 + (seed % 10_000) as f64 / 100.0;
    let min = s.minimum.as_ref().and_then(Number::as_f64);
    let max = s.maximum.as_ref().and_then(Number::as_f64);
    let value = match (min, max) {
        (Some(lo), _) if want < lo => lo,
        (_, Some(hi)) if want > hi => hi,
        _ => want,
    };
    Number::from_f64(value).unwrap_or_else(|| Number::from(0))
}

fn make_date(seed: u64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date");
    (base + chrono::Duration::days((seed % 365) as i64))
        .format("%Y-%m-%d")
        .to_string()
}

/// A shallow value of the right type, where nesting stops (ref cycles).
fn shallow(s: &Schema) -> Value {
    match s.effective_kind() {
        Kind::Array => Value::Array(Vec::new()),
        Kind::String => Value::String(String::new()),
        Kind::Integer | Kind::Number => Value::Number(0.into()),
        Kind::Boolean => Value::Bool(false),
        Kind::Object | Kind::Any => Value::Object(Map::new()),
    }
}

/// Mix a field name into a seed (FNV-1a), so sibling fields get different values.
fn mix(seed: u64, name: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::super::formats::format_ok;
    use super::super::schema::tests::{bank, good_bank, shapes};
    use super::*;
    use crate::model::{ApiVersion, BodyShape};
    use serde_json::json;

    #[test]
    fn fill_keeps_what_fits_and_adds_what_is_required() {
        let s = shapes();
        let filled = s.fill(
            &bank(),
            json!({"id": 42, "name": 7, "bic": null, "extra": 1}),
            3,
        );
        assert_eq!(s.validate(&filled, &bank()), vec![]);
        assert_eq!(filled["id"], 42);
        assert_eq!(filled["extra"], 1, "unknown fields are kept");
        assert!(filled["name"].is_string(), "a wrong type is replaced");
        assert!(filled["bic"].is_null(), "null stays where nullable");
        for field in ["blzs", "interfaces", "lastSync"] {
            assert!(filled.get(field).is_some(), "{field} added");
        }
        assert_eq!(
            filled["blzs"].as_array().unwrap().len(),
            1,
            "min_items 1 gives one item"
        );
        assert_eq!(
            filled["interfaces"],
            json!([]),
            "optional-length arrays stay empty"
        );
        assert!(
            filled.get("rank").is_none(),
            "optional fields are not invented"
        );
    }

    #[test]
    fn fill_drops_null_in_optional_and_replaces_it_in_required() {
        let s = shapes();
        let filled = s.fill(&bank(), json!({"rank": null, "name": null}), 1);
        assert!(filled.get("rank").is_none());
        assert!(filled["name"].is_string());
        assert_eq!(s.validate(&filled, &bank()), vec![]);
    }

    #[test]
    fn fill_is_deterministic_and_survives_ref_cycles() {
        let s = shapes();
        assert_eq!(s.fill(&bank(), json!({}), 9), s.fill(&bank(), json!({}), 9));
        let node = Schema::reference("Node");
        let filled = s.fill(&node, json!({}), 0);
        // Required self-reference: the chain stops at the depth limit with an empty object.
        let mut depth = 0;
        let mut cur = &filled;
        while let Some(child) = cur.get("child") {
            depth += 1;
            cur = child;
        }
        assert!((1..=MAX_DEPTH).contains(&depth), "depth {depth}");
    }

    #[test]
    fn fill_always_validates() {
        let s = shapes();
        let partials = [
            json!(null),
            json!({}),
            json!([]),
            json!("text"),
            json!(17),
            good_bank(),
            json!({"blzs": [1, "12"], "interfaces": [{"interface": "?"}], "location": {"x": 1}}),
            json!({"tags": {"a": 1, "b": true}, "score": -3, "founded": "yesterday"}),
        ];
        let mut schemas: Vec<Schema> = s.models.keys().map(Schema::reference).collect();
        schemas.retain(|r| r.reference.as_deref() != Some("Node"));
        for schema in &schemas {
            for partial in &partials {
                for seed in 0..40 {
                    let filled = s.fill(schema, partial.clone(), seed);
                    let problems = s.validate(&filled, schema);
                    assert!(
                        problems.is_empty(),
                        "fill({partial}) for {schema:?} seed {seed} = {filled}: {problems:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn fill_respects_patterns_formats_and_enums() {
        let s = shapes();
        let filled = s.sample(&bank(), 5);
        assert!(filled["blzs"][0].as_str().unwrap().len() == 8);
        assert!(format_ok("date-time", filled["lastSync"].as_str().unwrap()));
        let iface = s.sample(&Schema::reference("Interface"), 4);
        assert!(["FINTS_SERVER", "WEB_SCRAPER", "XS2A"].contains(&iface.as_str().unwrap()));
    }

    #[test]
    fn request_bodies_made_from_the_shapes_pass_their_check() {
        for version in [ApiVersion::V1, ApiVersion::V2] {
            let shapes = Shapes::embedded(version);
            let mut made = 0;
            for (id, op) in &shapes.operations {
                let Some(body) = shapes.request_body(id, json!({})) else {
                    assert!(op.body.as_ref().is_none_or(BodyShape::is_form), "{id}");
                    continue;
                };
                assert_eq!(shapes.check_request_body(id, &body), Ok(()), "{id}: {body}");
                made += 1;
            }
            assert!(made >= 38, "{version:?}: {made}");
        }
        let v2 = Shapes::embedded(ApiVersion::V2);
        let body = v2
            .request_body("submitPayment", json!({"paymentId": 99, "extra": true}))
            .unwrap();
        assert_eq!(body["paymentId"], 99, "given fields are kept");
        assert_eq!(body["extra"], true, "unknown given fields too");
        assert!(
            body["bankingInterface"].is_string(),
            "required ones added: {body}"
        );
        assert_eq!(v2.request_body("getToken", json!({})), None, "a form");
        assert_eq!(v2.request_body("getBank", json!({})), None, "no body");
    }
}
