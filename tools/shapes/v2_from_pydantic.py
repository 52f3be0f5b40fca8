#!/usr/bin/env python3
"""Build fixtures/shapes/v2.json from an openapi-generator (pydantic v2) Python client of
finAPI Access V2, and check the result against fixtures/operations.csv.

No raw V2 OpenAPI document is available to this project, but a generated Python client
carries the same facts in code: one pydantic model (or str Enum) per schema, and one API
module per tag whose methods name each operation's method, path, parameters, request body
and status -> response model map. This script reads that code with `ast` (it never imports
or runs it) and writes the shapes format described in fixtures/shapes/README.md.

Usage (Python 3.11, standard library only):

    tools/shapes/v2_from_pydantic.py PACKAGE_DIR [--out fixtures/shapes/v2.json]
    tools/shapes/v2_from_pydantic.py --check [--shapes fixtures/shapes/v2.json]

PACKAGE_DIR is the client's package directory, the one holding `models/` and `api/`
(for example `src/finapi_access`). Generation ends with the same check as `--check`.
Both modes exit non-zero on any problem.

What the generated client cannot tell, and how this script decides:
- int32 vs int64: the client types every integer as `int`. Integers are int64, except for
  the field and parameter names in INT32_NAMES, which finAPI types int32 (as its V1 spec
  does for the same names: paging counters, token lifetimes, counts, popularity, ...).
- number formats: `Union[StrictFloat, StrictInt]` becomes a plain `number`, no format.
- nullability: only fields the generator marks as nullable in `to_dict` ("set to None if
  X (nullable) is None") are `nullable`; `Optional[...]` alone only means "not required".
- enums of query parameters: the client flattens them to plain strings; so does this file.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "fixtures" / "shapes" / "v2.json"
DEFAULT_CSV = REPO / "fixtures" / "operations.csv"
SOURCE = "finAPI Access 2.38.0 (openapi-generator Python client models)"

# Integer names finAPI types as int32 (taken from the same names in its V1 document).
INT32_NAMES = frozenset(
    {
        "bankConnectionCount",
        "clientAccessTokensValidityPeriod",
        "countAllTransactions",
        "countIncomeTransactions",
        "countSpendingTransactions",
        "dayOfExecution",
        "expires_in",
        "health",
        "maxBankConnectionCount",
        "maxDaysForDownload",
        "maxUserLoginAttempts",
        "minBankConnectionCount",
        "orderCount",
        "page",
        "pageCount",
        "perPage",
        "popularity",
        "refreshTokensValidityPeriod",
        "serviceResponseCode",
        "transactionImportLimitation",
        "typeId",
        "userAccessTokensValidityPeriod",
    }
)

SCALARS = {
    "StrictStr": {"type": "string"},
    "str": {"type": "string"},
    "StrictInt": {"type": "integer"},
    "int": {"type": "integer"},
    "StrictFloat": {"type": "number"},
    "float": {"type": "number"},
    "StrictBool": {"type": "boolean"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "bytearray": {"type": "string", "format": "binary"},
    "bytes": {"type": "string", "format": "binary"},
    "StrictBytes": {"type": "string", "format": "binary"},
    "Any": {"type": "any"},
    "object": {"type": "any"},
}
NUMERIC = {"StrictFloat", "StrictInt", "float", "int"}
SCHEMA_TYPES = {"object", "array", "string", "integer", "number", "boolean", "any"}
# openapi-generator's own per-call knobs; not part of the API.
CLIENT_ONLY_ARGS_PREFIX = "_"
VARIANT_SUFFIXES = ("_with_http_info", "_without_preload_content")


class ShapeError(Exception):
    """Something in the client code this script cannot map faithfully."""


# ---------------------------------------------------------------- type annotations


def name_of(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    raise ShapeError(f"unexpected type expression {ast.unparse(node)}")


def subscript_args(node: ast.Subscript) -> list[ast.expr]:
    s = node.slice
    return list(s.elts) if isinstance(s, ast.Tuple) else [s]


def field_kwargs(call: ast.expr) -> dict[str, object]:
    """Literal keyword arguments of a pydantic `Field(...)`/`conint(...)` call."""
    if not isinstance(call, ast.Call):
        raise ShapeError(f"expected a call, got {ast.unparse(call)}")
    out: dict[str, object] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise ShapeError(f"**kwargs in {ast.unparse(call)}")
        try:
            out[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            out[kw.arg] = kw.value  # not a literal; only acceptable for ignored keys
    return out


def apply_constraints(schema: dict, kw: dict[str, object], where: str) -> None:
    """Carry pydantic length/range/pattern constraints into SCHEMA keys."""
    for key, value in kw.items():
        if key in ("description", "strict", "alias", "default", "default_factory", "examples", "example"):
            continue
        if isinstance(value, ast.AST):
            raise ShapeError(f"{where}: {key} is not a literal ({ast.unparse(value)})")
        if key in ("min_length", "max_length", "min_items", "max_items"):
            bound = key.split("_")[0]
            if schema.get("type") == "array":
                schema[f"{bound}_items"] = value
            elif schema.get("type") == "string":
                schema[f"{bound}_length"] = value
            else:
                raise ShapeError(f"{where}: {key} on a {schema}")
        elif key == "ge":
            schema["minimum"] = value
        elif key == "le":
            schema["maximum"] = value
        elif key in ("pattern", "regex"):
            schema["pattern"] = value
        else:
            raise ShapeError(f"{where}: unsupported constraint {key}={value!r}")


def convert(node: ast.expr, known: set[str], where: str) -> tuple[dict, bool]:
    """Map a type annotation to a SCHEMA. Returns (schema, optional)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return convert(ast.parse(node.value, mode="eval").body, known, where)
    if isinstance(node, (ast.Name, ast.Attribute)):
        n = name_of(node)
        if n in SCALARS:
            return dict(SCALARS[n]), False
        if n in known:
            return {"ref": n}, False
        raise ShapeError(f"{where}: unknown type {n}")
    if isinstance(node, ast.Call):
        fn = name_of(node.func)
        kw = field_kwargs(node)
        if fn == "conint":
            schema = {"type": "integer"}
        elif fn == "confloat":
            schema = {"type": "number"}
        elif fn == "constr":
            schema = {"type": "string"}
        elif fn == "conlist":
            schema = {"type": "array", "items": convert(node.args[0], known, where)[0]}
        else:
            raise ShapeError(f"{where}: unknown constrained type {fn}")
        apply_constraints(schema, kw, where)
        return schema, False
    if not isinstance(node, ast.Subscript):
        raise ShapeError(f"{where}: unexpected annotation {ast.unparse(node)}")
    head = name_of(node.value)
    args = subscript_args(node)
    if head == "Optional":
        return convert(args[0], known, where)[0], True
    if head == "Annotated":
        schema, optional = convert(args[0], known, where)
        for extra in args[1:]:
            if isinstance(extra, ast.Call) and name_of(extra.func) == "Field":
                apply_constraints(schema, field_kwargs(extra), where)
        return schema, optional
    if head == "Union":
        members = [a for a in args if not (isinstance(a, ast.Constant) and a.value is None)]
        optional = len(members) != len(args)
        if all(isinstance(a, ast.Name) and a.id in NUMERIC for a in members) and any(
            a.id in ("StrictFloat", "float") for a in members  # type: ignore[union-attr]
        ):
            return {"type": "number"}, optional
        if len(members) == 1:
            return convert(members[0], known, where)[0], optional
        return {"one_of": [convert(a, known, where)[0] for a in members]}, optional
    if head in ("List", "list", "Set", "set"):
        return {"type": "array", "items": convert(args[0], known, where)[0]}, False
    if head in ("Dict", "dict"):
        key = convert(args[0], known, where)[0]
        if key != {"type": "string"}:
            raise ShapeError(f"{where}: map key {key}")
        return {"type": "object", "additional": convert(args[1], known, where)[0]}, False
    raise ShapeError(f"{where}: unknown generic {head}")


def set_int_format(schema: dict, name: str) -> None:
    """Give integers (also inside arrays and maps) their int32/int64 format by name."""
    if schema.get("type") == "integer" and "format" not in schema:
        schema["format"] = "int32" if name in INT32_NAMES else "int64"
    for key in ("items", "additional"):
        if key in schema:
            set_int_format(schema[key], name)


# ---------------------------------------------------------------- models


def is_enum_class(cls: ast.ClassDef) -> bool:
    return any(name_of(b) == "Enum" for b in cls.bases)


def is_model_class(cls: ast.ClassDef) -> bool:
    return any(name_of(b) == "BaseModel" for b in cls.bases)


def enum_schema(cls: ast.ClassDef) -> dict:
    bases = {name_of(b) for b in cls.bases}
    values = []
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
            values.append(stmt.value.value)
    if not values:
        raise ShapeError(f"enum {cls.name} has no values")
    if "str" in bases and all(isinstance(v, str) for v in values):
        return {"type": "string", "enum": values}
    if "int" in bases and all(isinstance(v, int) for v in values):
        return {"type": "integer", "enum": values}
    raise ShapeError(f"enum {cls.name}: unsupported base {bases}")


def validator_facts(cls: ast.ClassDef) -> dict[str, list[tuple[str, object, bool]]]:
    """Patterns and inline enums the generator puts in `@field_validator`s.

    Returns python field name -> [(kind, value, on_items)], kind `pattern` or `enum`.
    """
    facts: dict[str, list[tuple[str, object, bool]]] = {}
    for fn in cls.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        fields = [
            d.args[0].value
            for d in fn.decorator_list
            if isinstance(d, ast.Call) and name_of(d.func) == "field_validator"
        ]
        if not fields:
            continue
        found = []
        for node in ast.walk(fn):
            on_items = False
            if isinstance(node, ast.Call) and name_of(node.func) == "match":
                found.append(("pattern", ast.literal_eval(node.args[0]), False))
            if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.NotIn):
                target = node.left
                on_items = not (isinstance(target, ast.Name) and target.id == "value")
                container = node.comparators[0]
                if isinstance(container, ast.Call):  # set([...])
                    container = container.args[0]
                found.append(("enum", list(ast.literal_eval(container)), on_items))
        if not found:
            raise ShapeError(f"{cls.name}.{fn.name}: validator without pattern or enum")
        for f in fields:
            facts.setdefault(f, []).extend(found)
    return facts


NULLABLE_RE = re.compile(r"set to None if (\w+) \(nullable\) is None")


def model_schema(cls: ast.ClassDef, source: str, known: set[str]) -> dict:
    nullable = set()
    declared: list[str] | None = None
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "to_dict":
            nullable = set(NULLABLE_RE.findall(ast.get_source_segment(source, stmt) or ""))
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and stmt.target.id.endswith("__properties")
        ):
            declared = list(ast.literal_eval(stmt.value))
    facts = validator_facts(cls)
    fields: dict[str, dict] = {}
    required: list[str] = []
    for stmt in cls.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        py = stmt.target.id
        if py.startswith("_") or py == "model_config":
            continue
        if isinstance(stmt.annotation, ast.Subscript) and name_of(stmt.annotation.value) == "ClassVar":
            continue
        where = f"{cls.name}.{py}"
        schema, _optional = convert(stmt.annotation, known, where)
        alias = py
        has_default = stmt.value is not None
        if isinstance(stmt.value, ast.Call) and name_of(stmt.value.func) == "Field":
            kw = field_kwargs(stmt.value)
            alias = str(kw.get("alias", py))
            positional_default = stmt.value.args and not (
                isinstance(stmt.value.args[0], ast.Constant) and stmt.value.args[0].value is Ellipsis
            )
            has_default = "default" in kw or "default_factory" in kw or bool(positional_default)
            apply_constraints(schema, {k: v for k, v in kw.items() if k != "alias"}, where)
        for kind, value, on_items in facts.pop(py, []):
            target = schema["items"] if on_items else schema
            if target.get("type") != "string":
                raise ShapeError(f"{where}: {kind} on non-string {target}")
            target[kind] = value
        set_int_format(schema, alias)
        if py in nullable:
            schema["nullable"] = True
        if alias in fields:
            raise ShapeError(f"{where}: duplicate JSON name {alias}")
        fields[alias] = schema
        if not has_default:
            required.append(alias)
    if facts:
        raise ShapeError(f"{cls.name}: validators for unknown fields {sorted(facts)}")
    if declared is not None and sorted(declared) != sorted(fields):
        raise ShapeError(f"{cls.name}: fields {sorted(fields)} != __properties {sorted(declared)}")
    out: dict = {"type": "object", "fields": fields}
    if required:
        out["required"] = sorted(required)
    return out


def read_models(models_dir: Path) -> tuple[dict[str, dict], dict[str, int]]:
    parsed = []
    for path in sorted(models_dir.glob("*.py")):
        if path.name == "__init__.py":
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                parsed.append((node, source))
    known = {cls.name for cls, _ in parsed}
    models: dict[str, dict] = {}
    nullable_fields = 0
    for cls, source in parsed:
        if cls.name in models:
            raise ShapeError(f"model {cls.name} defined twice")
        if is_enum_class(cls):
            models[cls.name] = enum_schema(cls)
        elif is_model_class(cls):
            models[cls.name] = model_schema(cls, source, known)
            nullable_fields += sum(1 for f in models[cls.name]["fields"].values() if f.get("nullable"))
        else:
            raise ShapeError(f"{cls.name}: neither a pydantic model nor an enum")
    return models, {"nullable_fields": nullable_fields}


# ---------------------------------------------------------------- operations


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def is_call_to(node: ast.AST, attr: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attr


def subscript_target(node: ast.AST, container: str) -> str | None:
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == container
        and isinstance(node.slice, ast.Constant)
    ):
        return node.slice.value
    return None


def serialize_facts(fn: ast.FunctionDef, where: str) -> dict:
    """Where each argument goes (path/query/header/form/body), method, path, media types."""
    facts: dict = {"params": {}, "form": {}, "body": None, "content": [], "files": False}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.Name):
            t = node.targets[0]
            for container, loc in (("_path_params", "path"), ("_header_params", "header")):
                key = subscript_target(t, container)
                if key is not None:
                    facts["params"][node.value.id] = (key, loc)
            if subscript_target(t, "_files") is not None:
                facts["files"] = True
            if isinstance(t, ast.Name) and t.id == "_body_params":
                facts["body"] = node.value.id
        if is_call_to(node, "append") and isinstance(node.func.value, ast.Name):  # type: ignore[attr-defined]
            container = node.func.value.id  # type: ignore[attr-defined]
            pair = node.args[0]  # type: ignore[attr-defined]
            if isinstance(pair, ast.Tuple) and isinstance(pair.elts[1], ast.Name):
                key = ast.literal_eval(pair.elts[0])
                if container == "_query_params":
                    facts["params"][pair.elts[1].id] = (key, "query")
                elif container == "_form_params":
                    facts["form"][pair.elts[1].id] = key
        if is_call_to(node, "select_header_content_type"):
            facts["content"] = list(ast.literal_eval(node.args[0]))  # type: ignore[attr-defined]
        if is_call_to(node, "param_serialize"):
            kw = {k.arg: k.value for k in node.keywords}  # type: ignore[attr-defined]
            facts["method"] = ast.literal_eval(kw["method"])
            facts["path"] = ast.literal_eval(kw["resource_path"])
    if "method" not in facts:
        raise ShapeError(f"{where}: no param_serialize call")
    if facts["files"]:
        raise ShapeError(f"{where}: multipart file uploads are not mapped")
    return facts


def response_map(fn: ast.FunctionDef, where: str) -> dict[str, object]:
    for node in ast.walk(fn):
        target = None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "_response_types_map":
            return ast.literal_eval(node.value)  # type: ignore[arg-type]
    raise ShapeError(f"{where}: no _response_types_map")


def read_operations(api_dir: Path, known: set[str]) -> list[dict]:
    ops = []
    for path in sorted(api_dir.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
            for name, fn in methods.items():
                if name.startswith("_") or name.endswith(VARIANT_SUFFIXES):
                    continue
                where = f"{path.name}:{name}"
                ser = methods.get(f"_{name}_serialize")
                if ser is None:
                    raise ShapeError(f"{where}: no _{name}_serialize")
                ops.append(read_operation(name, fn, ser, known, where))
    return ops


def read_operation(name: str, fn: ast.FunctionDef, ser: ast.FunctionDef, known: set[str], where: str) -> dict:
    facts = serialize_facts(ser, where)
    args = fn.args.args[1:]  # drop self
    first_default = len(args) - len(fn.args.defaults)
    params, form_fields, form_required = [], {}, []
    body = None
    for i, arg in enumerate(args):
        if arg.arg.startswith(CLIENT_ONLY_ARGS_PREFIX):
            continue
        required = i < first_default
        schema, _ = convert(arg.annotation, known, f"{where}({arg.arg})")  # type: ignore[arg-type]
        if arg.arg in facts["params"]:
            json_name, loc = facts["params"][arg.arg]
            set_int_format(schema, json_name)
            params.append({"name": json_name, "in": loc, "required": required, "schema": schema})
        elif arg.arg in facts["form"]:
            json_name = facts["form"][arg.arg]
            set_int_format(schema, json_name)
            form_fields[json_name] = schema
            if required:
                form_required.append(json_name)
        elif arg.arg == facts["body"]:
            body = {
                "content": facts["content"][0] if facts["content"] else "application/json",
                "required": required,
                "schema": schema,
            }
        else:
            raise ShapeError(f"{where}: argument {arg.arg} is sent nowhere")
    if form_fields:
        if body is not None:
            raise ShapeError(f"{where}: both a JSON body and form fields")
        form: dict = {"type": "object", "fields": form_fields}
        if form_required:
            form["required"] = sorted(form_required)
        body = {
            "content": facts["content"][0] if facts["content"] else "application/x-www-form-urlencoded",
            "required": bool(form_required),
            "schema": form,
        }
    responses: dict[str, object] = {}
    for status, model in response_map(fn, where).items():
        responses[str(status)] = None if model is None else convert(ast.Constant(model), known, f"{where} {status}")[0]
    op: dict = {
        "method": facts["method"].upper(),
        "path": facts["path"],
        "params": params,
        "responses": responses,
        "python": name,
    }
    if body is not None:
        op["body"] = body
    return op


# ---------------------------------------------------------------- catalogue cross-check


def catalogue_rows(csv_path: Path) -> dict[str, tuple[str, str]]:
    """V2 operationId -> (method, path) from operations.csv, without the getToken.* helper rows."""
    return {op_id: (method, path) for op_id, (method, path, _) in catalogue_details(csv_path).items()}


def catalogue_details(csv_path: Path) -> dict[str, tuple[str, str, str]]:
    """V2 operationId -> (method, path, success status) from operations.csv."""
    rows = {}
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["version"] != "v2" or "." in row["operation"]:
                continue
            rows[row["operation"]] = (row["method"].upper(), row["path"], row["success"])
    return rows


def name_operations(ops: list[dict], rows: dict[str, tuple[str, str]], notes: list[str]) -> dict[str, dict]:
    """Key operations by camelCase operationId; follow the catalogue where the two disagree."""
    by_route = {route: op_id for op_id, route in rows.items()}
    named: dict[str, dict] = {}
    for op in ops:
        python = op.pop("python")
        op_id = camel(python)
        listed = by_route.get((op["method"], op["path"]))
        if listed is not None and listed != op_id:
            notes.append(f"{python}: camelCase {op_id} differs from catalogue {listed}; using {listed}")
            op_id = listed
        if listed is None:
            notes.append(f"{op_id} ({op['method']} {op['path']}) is not in operations.csv")
        if op_id in named:
            raise ShapeError(f"operationId {op_id} twice")
        named[op_id] = op
    return named


# ---------------------------------------------------------------- check


def walk_schemas(schema: object, where: str, out: list[tuple[str, dict]]) -> None:
    if schema is None:
        return
    if not isinstance(schema, dict):
        out.append((where, {"__bad__": schema}))
        return
    out.append((where, schema))
    for key in ("items", "additional"):
        if key in schema:
            walk_schemas(schema[key], f"{where}.{key}", out)
    for name, sub in schema.get("fields", {}).items():
        walk_schemas(sub, f"{where}.{name}", out)
    for i, sub in enumerate(schema.get("one_of", [])):
        walk_schemas(sub, f"{where}.one_of[{i}]", out)


def check(doc: dict, rows: dict[str, tuple[str, str]], success: dict[str, str] | None = None) -> list[str]:
    """Problems with a v2 shapes document; `success` maps operationId -> the catalogue's status."""
    problems = []
    models = doc.get("models", {})
    ops = doc.get("operations", {})
    if doc.get("version") != "v2":
        problems.append(f"version is {doc.get('version')!r}, not 'v2'")
    found: list[tuple[str, dict]] = []
    for name, schema in models.items():
        walk_schemas(schema, f"models.{name}", found)
    for op_id, op in ops.items():
        if op.get("method") not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            problems.append(f"{op_id}: method {op.get('method')!r}")
        seen = set()
        for p in op.get("params", []):
            if p.get("in") not in ("path", "query", "header"):
                problems.append(f"{op_id}: param {p.get('name')} in {p.get('in')!r}")
            if (p.get("name"), p.get("in")) in seen:
                problems.append(f"{op_id}: param {p.get('name')} twice")
            seen.add((p.get("name"), p.get("in")))
            walk_schemas(p.get("schema"), f"{op_id}.param.{p.get('name')}", found)
            if p.get("in") == "path" and p.get("required") is not True:
                problems.append(f"{op_id}: path param {p.get('name')} not required")
        templated = set(re.findall(r"\{([^}]+)\}", op.get("path", "")))
        in_path = {p.get("name") for p in op.get("params", []) if p.get("in") == "path"}
        if templated != in_path:
            problems.append(f"{op_id}: path placeholders {sorted(templated)} but path params {sorted(in_path)}")
        if "body" in op and op["body"].get("content") not in (
            "application/json",
            "application/x-www-form-urlencoded",
        ):
            problems.append(f"{op_id}: body content {op['body'].get('content')!r}")
        if "body" in op:
            walk_schemas(op["body"].get("schema"), f"{op_id}.body", found)
        for status, schema in op.get("responses", {}).items():
            if not re.fullmatch(r"[1-5][0-9][0-9]", status):
                problems.append(f"{op_id}: response status {status!r}")
            walk_schemas(schema, f"{op_id}.{status}", found)
    for where, schema in found:
        if "__bad__" in schema:
            problems.append(f"{where}: not a schema object")
            continue
        if not ({"ref", "type", "one_of"} & schema.keys()):
            problems.append(f"{where}: neither ref, type nor one_of")
        if "ref" in schema and schema["ref"] not in models:
            problems.append(f"{where}: unresolved ref {schema['ref']}")
        if "type" in schema and schema["type"] not in SCHEMA_TYPES:
            problems.append(f"{where}: unknown type {schema['type']}")
        for name in schema.get("required", []):
            if name not in schema.get("fields", {}):
                problems.append(f"{where}: required {name} is not a field")
    for op_id, (method, path) in sorted(rows.items()):
        op = ops.get(op_id)
        if op is None:
            problems.append(f"catalogue operation {op_id} ({method} {path}) has no shape")
        elif (op.get("method"), op.get("path")) != (method, path):
            problems.append(f"{op_id}: shape says {op.get('method')} {op.get('path')}, catalogue {method} {path}")
        elif success and success.get(op_id) and success[op_id] not in op.get("responses", {}):
            problems.append(f"{op_id}: catalogue success status {success[op_id]} is not a documented response")
    enums = sum(1 for s in models.values() if "enum" in s)
    print(
        f"v2 shapes: {len(models) - enums} models, {enums} enums, {len(ops)} operations; "
        f"{len(rows)} catalogue operations checked, {len(found)} schemas walked"
    )
    return problems


# ---------------------------------------------------------------- main


def render(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(package: Path, rows: dict[str, tuple[str, str]]) -> tuple[dict, list[str]]:
    if not (package / "models").is_dir() or not (package / "api").is_dir():
        raise ShapeError(f"{package} has no models/ and api/ directories")
    models, stats = read_models(package / "models")
    notes = [f"{stats['nullable_fields']} fields marked nullable by the generator"]
    ops = read_operations(package / "api", set(models))
    operations = name_operations(ops, rows, notes)
    doc = {"version": "v2", "source": SOURCE, "models": models, "operations": operations}
    return doc, notes


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package", nargs="?", type=Path, help="the client's package dir (models/, api/)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write v2.json")
    ap.add_argument("--check", action="store_true", help="only check an existing v2.json")
    ap.add_argument("--shapes", type=Path, default=DEFAULT_OUT, help="the v2.json to --check")
    ap.add_argument("--operations", type=Path, default=DEFAULT_CSV, help="operations.csv")
    args = ap.parse_args(argv)
    try:
        details = catalogue_details(args.operations)
        rows = {op_id: (method, path) for op_id, (method, path, _) in details.items()}
        success = {op_id: status for op_id, (_, _, status) in details.items()}
        if args.check:
            doc = json.loads(args.shapes.read_text(encoding="utf-8"))
        elif args.package is None:
            ap.error("give the client's package directory, or --check")
        else:
            doc, notes = generate(args.package, rows)
            for note in notes:
                print(f"note: {note}", file=sys.stderr)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(render(doc), encoding="utf-8")
            print(f"wrote {args.out}")
    except (OSError, ShapeError, json.JSONDecodeError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    problems = check(doc, rows, success)
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
