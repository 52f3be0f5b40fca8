//! `spec-diff`: what a (newer) finAPI OpenAPI document adds, removes or changes against the
//! operation catalogue and the embedded shapes.
//!
//! Operations are matched by operationId against `fixtures/operations.csv` (method and path);
//! parameters, request bodies and responses by operationId against the shapes; models by name,
//! field by field (type, format, enum, nullability, required-ness). A `ref` is compared by the
//! model's name; the model itself is compared once, under "models".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::model::catalogue::{Api, ApiVersion, Catalogue, Source};
use crate::model::shapes::{Kind, OperationShape, ParamIn, Schema, Shapes};

/// An OpenAPI document compared with the catalogue and the embedded shapes of its service and
/// API version: what `finapi-conformance spec-diff` prints.
#[derive(Debug, Clone)]
pub struct SpecDiff {
    /// The API version compared with (given, or guessed from the document's paths).
    pub version: ApiVersion,
    pub differences: Vec<Difference>,
}

impl SpecDiff {
    /// Read the document at `path` (YAML or JSON) and compare it with the embedded catalogue and
    /// shapes; `version` is guessed from its paths when `None`.
    pub fn of_file(
        path: &std::path::Path,
        version: Option<ApiVersion>,
    ) -> Result<SpecDiff, crate::model::openapi::OpenApiError> {
        // The version is not known before the document is read; convert, then relabel.
        let mut spec = crate::model::openapi::import_file(path, ApiVersion::V1)?;
        let version = version.unwrap_or_else(|| guess_version(&spec));
        spec.version = version;
        let differences = spec_diff(
            &spec,
            Catalogue::embedded(),
            shapes_for(guess_api(&spec), version),
            version,
        );
        Ok(SpecDiff {
            version,
            differences,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.differences.is_empty()
    }

    /// The readable report of the document named `spec_name`.
    pub fn render(&self, spec_name: &str) -> String {
        render(&self.differences, spec_name, self.version)
    }
}

/// What a difference is about; the output is grouped by it, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Operations,
    Parameters,
    RequestBodies,
    Responses,
    Models,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Operations => "Operations",
            Group::Parameters => "Parameters",
            Group::RequestBodies => "Request bodies",
            Group::Responses => "Responses",
            Group::Models => "Models",
        }
    }
}

/// Whether the spec has something the model lacks, lacks something, or has it differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

impl Change {
    pub fn sign(self) -> char {
        match self {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Changed => '~',
        }
    }
}

/// One difference: `+ getBank: GET /api/v1/banks/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub group: Group,
    pub change: Change,
    /// What changed: an operationId, `getBank query:page`, `Bank.name`, ...
    pub subject: String,
    pub detail: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.change.sign(),
            self.subject,
            self.detail
        )
    }
}

/// Compare a converted spec with the catalogue and the shapes of `version`.
/// Catalogue rows the spec cannot have (`source = extra`, such as V1's `switchApiVersion`)
/// are not reported as removed. Only the rows of the spec's service ([`guess_api`]) are
/// compared: a Web Form 2.0 spec with the Web Form rows, an Access spec with the Access rows.
pub fn spec_diff(
    spec: &Shapes,
    catalogue: &Catalogue,
    shapes: &Shapes,
    version: ApiVersion,
) -> Vec<Difference> {
    let mut out = Differences::default();
    let api = guess_api(spec);
    // Operations: the catalogue.
    let known: BTreeSet<&str> = catalogue
        .operations(version)
        .filter(|o| o.api == api)
        .map(|o| o.id.as_str())
        .collect();
    for op in catalogue.operations(version).filter(|o| o.api == api) {
        match spec.operations.get(&op.id) {
            None if op.source == Source::Extra => {}
            None => out.push(
                Group::Operations,
                Change::Removed,
                &op.id,
                format!("{} {} is not in the spec", op.method, op.path),
            ),
            Some(s) => {
                if s.method != op.method.as_str() {
                    out.push(
                        Group::Operations,
                        Change::Changed,
                        &op.id,
                        format!("method {} -> {}", op.method, s.method),
                    );
                }
                if s.path != op.path {
                    out.push(
                        Group::Operations,
                        Change::Changed,
                        &op.id,
                        format!("path {} -> {}", op.path, s.path),
                    );
                }
                if !shapes.operations.contains_key(&op.id) {
                    out.push(
                        Group::Operations,
                        Change::Added,
                        &op.id,
                        "in the spec and the catalogue, but without a shape".into(),
                    );
                }
            }
        }
    }
    for (id, s) in &spec.operations {
        if !known.contains(id.as_str()) {
            out.push(
                Group::Operations,
                Change::Added,
                id,
                format!("{} {} is not in the catalogue", s.method, s.path),
            );
        }
    }
    // Requests and responses: the shapes.
    for (id, new) in &spec.operations {
        if let Some(old) = shapes.operations.get(id) {
            compare_operation(id, old, new, &mut out);
        }
    }
    // Models, by name.
    let names: BTreeSet<&String> = spec.models.keys().chain(shapes.models.keys()).collect();
    for name in names {
        match (shapes.models.get(name), spec.models.get(name)) {
            (None, Some(new)) => out.push(
                Group::Models,
                Change::Added,
                name,
                format!("model added ({})", signature(new)),
            ),
            (Some(_), None) => {
                out.push(Group::Models, Change::Removed, name, "model removed".into())
            }
            (Some(old), Some(new)) => compare_schema(Group::Models, name, old, new, &mut out, 0),
            (None, None) => {}
        }
    }
    out.0
        .sort_by(|a, b| (a.group, &a.subject).cmp(&(b.group, &b.subject)));
    out.0
}

/// The readable report: differences grouped by kind, one per line, and a count at the end.
pub fn render(differences: &[Difference], spec_name: &str, version: ApiVersion) -> String {
    use fmt::Write as _;
    let mut text = String::new();
    let mut groups: BTreeMap<Group, Vec<&Difference>> = BTreeMap::new();
    for d in differences {
        groups.entry(d.group).or_default().push(d);
    }
    for (group, items) in groups {
        let _ = writeln!(text, "{} ({})", group.title(), items.len());
        for d in items {
            let _ = writeln!(text, "  {d}");
        }
    }
    let what = format!("{spec_name} and the {version} catalogue and shapes");
    match differences.len() {
        0 => {
            let _ = writeln!(text, "no differences between {what}");
        }
        1 => {
            let _ = writeln!(text, "1 difference between {what}");
        }
        n => {
            let _ = writeln!(text, "{n} differences between {what}");
        }
    }
    text
}

/// The API version a document is most likely about: V2 when a path starts with `/api/v2/`.
/// The service a converted spec describes: Web Form 2.0 when its paths are Web Form's
/// (`/api/webForms`, ...), else Access.
pub fn guess_api(spec: &Shapes) -> Api {
    if !spec.operations.is_empty()
        && spec
            .operations
            .values()
            .all(|o| Api::of_path(&o.path) == Api::WebForm2)
    {
        Api::WebForm2
    } else {
        Api::Access
    }
}

/// The embedded shapes a spec of `api` is compared with: Access's own for an Access spec, Web
/// Form 2.0's (with its spec's model names) for a Web Form spec.
pub fn shapes_for(api: Api, version: ApiVersion) -> &'static Shapes {
    match api {
        Api::Access => Shapes::access(version),
        Api::WebForm2 => Shapes::webform2(),
    }
}

pub fn guess_version(spec: &Shapes) -> ApiVersion {
    if guess_api(spec) == Api::WebForm2 {
        // Web Form 2.0 takes V2 tokens; its rows sit with V2.
        return ApiVersion::V2;
    }
    if spec
        .operations
        .values()
        .any(|o| o.path.starts_with("/api/v2/"))
    {
        ApiVersion::V2
    } else {
        ApiVersion::V1
    }
}

#[derive(Default)]
struct Differences(Vec<Difference>);

impl Differences {
    fn push(&mut self, group: Group, change: Change, subject: &str, detail: String) {
        self.0.push(Difference {
            group,
            change,
            subject: subject.to_string(),
            detail,
        });
    }
}

fn compare_operation(id: &str, old: &OperationShape, new: &OperationShape, out: &mut Differences) {
    // Parameters by place and name.
    let key = |p: &crate::model::shapes::Param| (p.location, p.name.clone());
    let olds: BTreeMap<(ParamIn, String), _> = old.params.iter().map(|p| (key(p), p)).collect();
    let news: BTreeMap<(ParamIn, String), _> = new.params.iter().map(|p| (key(p), p)).collect();
    let subject = |(place, name): &(ParamIn, String)| format!("{id} {}:{name}", place.as_str());
    for (k, p) in &news {
        match olds.get(k) {
            None => out.push(
                Group::Parameters,
                Change::Added,
                &subject(k),
                format!("{} {}", required_word(p.required), signature(&p.schema)),
            ),
            Some(o) => {
                if o.required != p.required {
                    out.push(
                        Group::Parameters,
                        Change::Changed,
                        &subject(k),
                        format!(
                            "{} -> {}",
                            required_word(o.required),
                            required_word(p.required)
                        ),
                    );
                }
                compare_schema(Group::Parameters, &subject(k), &o.schema, &p.schema, out, 0);
            }
        }
    }
    for k in olds.keys().filter(|k| !news.contains_key(*k)) {
        out.push(
            Group::Parameters,
            Change::Removed,
            &subject(k),
            "parameter removed".into(),
        );
    }
    // Request body.
    let subject = format!("{id} body");
    match (&old.body, &new.body) {
        (None, Some(b)) => out.push(
            Group::RequestBodies,
            Change::Added,
            &subject,
            format!(
                "{} {} {}",
                required_word(b.required),
                b.content,
                signature(&b.schema)
            ),
        ),
        (Some(_), None) => out.push(
            Group::RequestBodies,
            Change::Removed,
            &subject,
            "request body removed".into(),
        ),
        (Some(o), Some(n)) => {
            if o.required != n.required {
                out.push(
                    Group::RequestBodies,
                    Change::Changed,
                    &subject,
                    format!(
                        "{} -> {}",
                        required_word(o.required),
                        required_word(n.required)
                    ),
                );
            }
            if o.content != n.content {
                out.push(
                    Group::RequestBodies,
                    Change::Changed,
                    &subject,
                    format!("content {} -> {}", o.content, n.content),
                );
            }
            compare_schema(Group::RequestBodies, &subject, &o.schema, &n.schema, out, 0);
        }
        (None, None) => {}
    }
    // Responses by status.
    for (status, n) in &new.responses {
        let subject = format!("{id} {status}");
        match old.responses.get(status) {
            None => out.push(
                Group::Responses,
                Change::Added,
                &subject,
                format!("status added ({})", body_word(n.as_ref())),
            ),
            Some(o) => match (o, n) {
                (Some(o), Some(n)) => compare_schema(Group::Responses, &subject, o, n, out, 0),
                (None, None) => {}
                _ => out.push(
                    Group::Responses,
                    Change::Changed,
                    &subject,
                    format!("{} -> {}", body_word(o.as_ref()), body_word(n.as_ref())),
                ),
            },
        }
    }
    for status in old
        .responses
        .keys()
        .filter(|s| !new.responses.contains_key(*s))
    {
        out.push(
            Group::Responses,
            Change::Removed,
            &format!("{id} {status}"),
            "status removed".into(),
        );
    }
}

fn required_word(required: bool) -> &'static str {
    if required {
        "required"
    } else {
        "optional"
    }
}

fn body_word(s: Option<&Schema>) -> String {
    match s {
        Some(s) => signature(s),
        None => "no body".into(),
    }
}

/// The type of a schema in a few words: `ref Bank`, `string(date)`, `array of ref Bank`.
pub fn signature(s: &Schema) -> String {
    if let Some(r) = &s.reference {
        return format!("ref {r}");
    }
    if let Some(alts) = &s.one_of {
        let parts: Vec<String> = alts.iter().map(signature).collect();
        return format!("one of [{}]", parts.join(", "));
    }
    let kind = s.effective_kind();
    let mut text = kind.as_str().to_string();
    if let Some(f) = &s.format {
        text = format!("{text}({f})");
    }
    match kind {
        Kind::Array => match &s.items {
            Some(item) => format!("{text} of {}", signature(item)),
            None => text,
        },
        Kind::Object if s.fields.is_none() => match &s.additional {
            Some(a) => format!("map of {}", signature(a)),
            None => text,
        },
        _ => text,
    }
}

fn enum_text(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compare two schemas of the same place; fields are compared one by one (recursing into
/// inline objects, items and map values, not into `ref`s).
fn compare_schema(
    group: Group,
    subject: &str,
    old: &Schema,
    new: &Schema,
    out: &mut Differences,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    let (so, sn) = (signature(old), signature(new));
    if so != sn {
        out.push(
            group,
            Change::Changed,
            subject,
            format!("type {so} -> {sn}"),
        );
        return;
    }
    if old.nullable != new.nullable {
        out.push(
            group,
            Change::Changed,
            subject,
            format!("nullable {} -> {}", old.nullable, new.nullable),
        );
    }
    if old.enumeration != new.enumeration {
        let o = old.enumeration.as_deref().unwrap_or_default();
        let n = new.enumeration.as_deref().unwrap_or_default();
        let added: Vec<Value> = n.iter().filter(|v| !o.contains(v)).cloned().collect();
        let removed: Vec<Value> = o.iter().filter(|v| !n.contains(v)).cloned().collect();
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!("adds {}", enum_text(&added)));
        }
        if !removed.is_empty() {
            parts.push(format!("drops {}", enum_text(&removed)));
        }
        if old.enumeration.is_none() {
            parts.push("now restricted to an enum".into());
        }
        if new.enumeration.is_none() {
            parts.push("no longer an enum".into());
        }
        if parts.is_empty() {
            parts.push("values reordered".into());
        }
        out.push(
            group,
            Change::Changed,
            subject,
            format!("enum {}", parts.join("; ")),
        );
    }
    if let Some(alts) = old.one_of.as_ref().zip(new.one_of.as_ref()) {
        for (i, (o, n)) in alts.0.iter().zip(alts.1).enumerate() {
            compare_schema(group, &format!("{subject}|{i}"), o, n, out, depth + 1);
        }
    }
    if let (Some(o), Some(n)) = (&old.items, &new.items) {
        compare_schema(group, &format!("{subject}[]"), o, n, out, depth + 1);
    }
    if let (Some(o), Some(n)) = (&old.additional, &new.additional) {
        compare_schema(group, &format!("{subject}{{}}"), o, n, out, depth + 1);
    }
    let empty = BTreeMap::new();
    let of = old.fields.as_ref().unwrap_or(&empty);
    let nf = new.fields.as_ref().unwrap_or(&empty);
    for (name, n) in nf {
        let field = format!("{subject}.{name}");
        match of.get(name) {
            None => out.push(
                group,
                Change::Added,
                &field,
                format!(
                    "field added ({}, {})",
                    signature(n),
                    required_word(new.is_required(name))
                ),
            ),
            Some(o) => {
                let (ro, rn) = (old.is_required(name), new.is_required(name));
                if ro != rn {
                    out.push(
                        group,
                        Change::Changed,
                        &field,
                        format!("{} -> {}", required_word(ro), required_word(rn)),
                    );
                }
                compare_schema(group, &field, o, n, out, depth + 1);
            }
        }
    }
    for name in of.keys().filter(|k| !nf.contains_key(*k)) {
        out.push(
            group,
            Change::Removed,
            &format!("{subject}.{name}"),
            format!(
                "field removed (was {})",
                required_word(old.is_required(name))
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shapes(v: Value) -> Shapes {
        Shapes::parse(&v.to_string()).unwrap()
    }

    fn base() -> Value {
        json!({
            "version": "v1",
            "source": "test",
            "models": {
                "Bank": {"type": "object", "required": ["id", "name"], "fields": {
                    "id": {"type": "integer", "format": "int64"},
                    "name": {"type": "string"},
                    "bic": {"type": "string", "nullable": true},
                    "kind": {"type": "string", "enum": ["A", "B"]}
                }},
                "Error": {"type": "object", "fields": {"message": {"type": "string"}}}
            },
            "operations": {
                "getBank": {
                    "method": "GET", "path": "/api/v1/banks/{id}",
                    "params": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {"200": {"ref": "Bank"}, "404": {"ref": "Error"}}
                },
                "createLabel": {
                    "method": "POST", "path": "/api/v1/labels",
                    "body": {"content": "application/json", "required": true, "schema": {"type": "object"}},
                    "responses": {"201": {"ref": "Bank"}}
                }
            }
        })
    }

    /// A catalogue with the two operations of `base` and an extra row.
    fn catalogue() -> Catalogue {
        let csv = "version,section,operation,method,path,callers,source,safety,probe,success,gate,deprecated\n\
            v1,Banks,getBank,GET,/api/v1/banks/{id},user,explicit,read,unknown-id,200,,\n\
            v1,Labels,createLabel,POST,/api/v1/labels,user,explicit,own,invalid-body,201,,\n\
            v1,Admin,switchApiVersion,POST,/api/v1/switch,mandator_admin,extra,shared,invalid-body,200,,\n";
        Catalogue::parse(csv).unwrap()
    }

    fn lines(old: &Value, new: &Value) -> Vec<String> {
        spec_diff(
            &shapes(new.clone()),
            &catalogue(),
            &shapes(old.clone()),
            ApiVersion::V1,
        )
        .iter()
        .map(|d| format!("{:?} {d}", d.group))
        .collect()
    }

    #[test]
    fn identical_documents_have_no_differences() {
        assert_eq!(lines(&base(), &base()), Vec::<String>::new());
    }

    #[test]
    fn every_kind_of_change_is_one_line() {
        let mut new = base();
        new["operations"]["getBank"]["path"] = json!("/api/v1/bank/{id}");
        new["operations"]["getBank"]["method"] = json!("POST");
        new["operations"]["getBank"]["params"][0]["required"] = json!(false);
        new["operations"]["getBank"]["params"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "page", "in": "query", "schema": {"type": "integer"}}));
        new["operations"]["getBank"]["responses"]["500"] = json!(null);
        new["operations"]["getBank"]["responses"]
            .as_object_mut()
            .unwrap()
            .remove("404");
        new["operations"]["createLabel"]["body"]["required"] = json!(false);
        new["operations"]["getExtra"] =
            json!({"method": "GET", "path": "/api/v1/extra", "responses": {"200": null}});
        let bank = &mut new["models"]["Bank"];
        bank["required"] = json!(["id"]);
        bank["fields"]["id"] = json!({"type": "string"});
        bank["fields"]["bic"]["nullable"] = json!(false);
        bank["fields"]["kind"]["enum"] = json!(["A", "C"]);
        bank["fields"]
            .as_object_mut()
            .unwrap()
            .insert("iban".into(), json!({"type": "string"}));
        new["models"].as_object_mut().unwrap().remove("Error");
        new["models"]["Account"] = json!({"type": "object"});
        new["operations"]["getBank"]["responses"]["400"] = json!({"ref": "Account"});
        let got = lines(&base(), &new);
        let expected = vec![
            "Operations ~ getBank: method GET -> POST",
            "Operations ~ getBank: path /api/v1/banks/{id} -> /api/v1/bank/{id}",
            "Operations + getExtra: GET /api/v1/extra is not in the catalogue",
            "Parameters ~ getBank path:id: required -> optional",
            "Parameters + getBank query:page: optional integer",
            "RequestBodies ~ createLabel body: required -> optional",
            "Responses + getBank 400: status added (ref Account)",
            "Responses - getBank 404: status removed",
            "Responses + getBank 500: status added (no body)",
            "Models + Account: model added (object)",
            "Models ~ Bank.bic: nullable true -> false",
            "Models + Bank.iban: field added (string, optional)",
            "Models ~ Bank.id: type integer(int64) -> string",
            "Models ~ Bank.kind: enum adds C; drops B",
            "Models ~ Bank.name: required -> optional",
            "Models - Error: model removed",
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn catalogue_operations_missing_from_the_spec_are_removed_except_extra_rows() {
        let mut new = base();
        new["operations"]
            .as_object_mut()
            .unwrap()
            .remove("createLabel");
        let got = lines(&base(), &new);
        assert_eq!(
            got,
            vec!["Operations - createLabel: POST /api/v1/labels is not in the spec"]
        );
    }

    #[test]
    fn operations_without_a_shape_are_named() {
        let mut old = base();
        old["operations"]
            .as_object_mut()
            .unwrap()
            .remove("createLabel");
        let got = lines(&old, &base());
        assert_eq!(
            got,
            vec!["Operations + createLabel: in the spec and the catalogue, but without a shape"]
        );
    }

    #[test]
    fn the_report_groups_and_counts() {
        let mut new = base();
        new["models"]["Bank"]["fields"]["x"] = json!({"type": "boolean"});
        new["operations"]["getBank"]["path"] = json!("/x");
        let diffs = spec_diff(&shapes(new), &catalogue(), &shapes(base()), ApiVersion::V1);
        let text = render(&diffs, "new.yaml", ApiVersion::V1);
        assert_eq!(
            text,
            "Operations (1)\n  ~ getBank: path /api/v1/banks/{id} -> /x\n\
             Models (1)\n  + Bank.x: field added (boolean, optional)\n\
             2 differences between new.yaml and the v1 catalogue and shapes\n"
        );
        assert!(render(&[], "a", ApiVersion::V2).starts_with("no differences"));
    }

    #[test]
    fn the_version_is_guessed_from_paths() {
        assert_eq!(guess_version(&shapes(base())), ApiVersion::V1);
        let mut v2 = base();
        v2["operations"]["getBank"]["path"] = json!("/api/v2/banks/{id}");
        assert_eq!(guess_version(&shapes(v2)), ApiVersion::V2);
    }
}
