"""Tests for v2_from_pydantic.py: the mapping on a tiny hand-written client in the generator's
style, and that `--check` goes red when the committed v2.json is broken on purpose.

Run: python3 -m unittest discover -s tools/shapes
"""

from __future__ import annotations

import copy
import io
import json
import sys
import tempfile
import textwrap
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import v2_from_pydantic as v2  # noqa: E402

# A two-model, one-operation client written for this test in the shape openapi-generator emits.
COLOUR = '''
from enum import Enum

class Colour(str, Enum):
    RED = 'red'
    BLUE = 'blue'
'''

WIDGET = '''
from pydantic import BaseModel, Field, StrictInt, StrictStr, StrictFloat, StrictBool, field_validator

class Widget(BaseModel):
    id: StrictInt = Field(description="words")
    var_date: datetime = Field(description="when", alias="date")
    day: Optional[date] = None
    note: Optional[Annotated[str, Field(min_length=1, strict=True, max_length=5)]] = Field(default=None, description="n")
    colour: Optional[Colour] = None
    tags: Annotated[List[StrictStr], Field(min_length=1, max_length=3)]
    amounts: Dict[str, Union[StrictFloat, StrictInt]] = Field(alias="amountsByKey")
    code: StrictStr
    state: StrictStr
    flag: StrictBool = Field(default=False, alias="isFlag")
    page: Optional[StrictInt] = None
    parent: Optional[Widget] = None
    __properties: ClassVar[List[str]] = ["id", "date", "day", "note", "colour", "tags", "amountsByKey", "code", "state", "isFlag", "page", "parent"]

    @field_validator('code')
    def code_validate_regular_expression(cls, value):
        if not re.match(r"[A-Z]*", value):
            raise ValueError("no")
        return value

    @field_validator('state')
    def state_validate_enum(cls, value):
        if value not in set(['ON', 'OFF']):
            raise ValueError("no")
        return value

    def to_dict(self):
        _dict = {}
        # set to None if parent (nullable) is None
        # and model_fields_set contains the field
        if self.parent is None and "parent" in self.model_fields_set:
            _dict['parent'] = None
        return _dict
'''

API = '''
class WidgetsApi:
    @validate_call
    def get_widget(
        self,
        id: Annotated[StrictInt, Field(description="which")],
        colours: Annotated[Optional[List[StrictStr]], Field(description="c")] = None,
        per_page: Annotated[Optional[Annotated[int, Field(le=500, strict=True, ge=1)]], Field(description="p")] = None,
        x_request_id: Annotated[Optional[StrictStr], Field(description="r")] = None,
        _request_timeout: Union[None, Annotated[StrictFloat, Field(gt=0)]] = None,
        _headers: Optional[Dict[StrictStr, Any]] = None,
    ) -> Widget:
        _response_types_map: Dict[str, Optional[str]] = {
            '200': "Widget",
            '204': None,
            '206': "List[Widget]",
        }

    def get_widget_with_http_info(self, id):
        _response_types_map = {'200': "Nope"}

    def _get_widget_serialize(self, id, colours, per_page, x_request_id, _request_auth, _content_type, _headers, _host_index):
        _path_params = {}
        if id is not None:
            _path_params['id'] = id
        if colours is not None:
            _query_params.append(('colours', colours))
        if per_page is not None:
            _query_params.append(('perPage', per_page))
        if x_request_id is not None:
            _header_params['X-Request-Id'] = x_request_id
        _header_params['Accept'] = self.api_client.select_header_accept(['application/json'])
        return self.api_client.param_serialize(method='GET', resource_path='/api/v2/widgets/{id}')

    @validate_call
    def make_token(
        self,
        grant_type: Annotated[StrictStr, Field(description="g")],
        scope: Annotated[Optional[StrictStr], Field(description="s")] = None,
    ) -> None:
        _response_types_map: Dict[str, Optional[str]] = {'200': None}

    def _make_token_serialize(self, grant_type, scope, _request_auth, _content_type, _headers, _host_index):
        if grant_type is not None:
            _form_params.append(('grant_type', grant_type))
        if scope is not None:
            _form_params.append(('scope', scope))
        _default_content_type = self.api_client.select_header_content_type(['application/x-www-form-urlencoded'])
        return self.api_client.param_serialize(method='POST', resource_path='/api/v2/oauth/token')
'''


def write_client(root: Path, widget: str = WIDGET) -> Path:
    pkg = root / "client"
    (pkg / "models").mkdir(parents=True)
    (pkg / "api").mkdir()
    (pkg / "models" / "colour.py").write_text(textwrap.dedent(COLOUR))
    (pkg / "models" / "widget.py").write_text(textwrap.dedent(widget))
    (pkg / "api" / "widgets_api.py").write_text(textwrap.dedent(API))
    return pkg


class MappingTest(unittest.TestCase):
    def generate(self, widget: str = WIDGET) -> tuple[dict, list[str]]:
        with tempfile.TemporaryDirectory() as tmp:
            rows = {"getWidget": ("GET", "/api/v2/widgets/{id}"), "getToken": ("POST", "/api/v2/oauth/token")}
            return v2.generate(write_client(Path(tmp), widget), rows)

    def test_models_map_types_names_constraints_and_required(self) -> None:
        doc, notes = self.generate()
        self.assertEqual(doc["models"]["Colour"], {"type": "string", "enum": ["red", "blue"]})
        self.assertEqual(
            doc["models"]["Widget"],
            {
                "type": "object",
                "fields": {
                    "id": {"type": "integer", "format": "int64"},
                    "date": {"type": "string", "format": "date-time"},
                    "day": {"type": "string", "format": "date"},
                    "note": {"type": "string", "min_length": 1, "max_length": 5},
                    "colour": {"ref": "Colour"},
                    "tags": {"type": "array", "items": {"type": "string"}, "min_items": 1, "max_items": 3},
                    "amountsByKey": {"type": "object", "additional": {"type": "number"}},
                    "code": {"type": "string", "pattern": "[A-Z]*"},
                    "state": {"type": "string", "enum": ["ON", "OFF"]},
                    "isFlag": {"type": "boolean"},
                    "page": {"type": "integer", "format": "int32"},
                    "parent": {"ref": "Widget", "nullable": True},
                },
                "required": ["amountsByKey", "code", "date", "id", "state", "tags"],
            },
        )
        self.assertIn("1 fields marked nullable by the generator", notes)

    def test_operations_map_params_form_bodies_and_responses(self) -> None:
        doc, notes = self.generate()
        self.assertEqual(
            doc["operations"]["getWidget"],
            {
                "method": "GET",
                "path": "/api/v2/widgets/{id}",
                "params": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int64"}},
                    {"name": "colours", "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}}},
                    {
                        "name": "perPage",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 500},
                    },
                    {"name": "X-Request-Id", "in": "header", "required": False, "schema": {"type": "string"}},
                ],
                "responses": {"200": {"ref": "Widget"}, "204": None, "206": {"type": "array", "items": {"ref": "Widget"}}},
            },
        )
        # make_token's camelCase name differs from the catalogue's; the catalogue wins, and says so.
        token = doc["operations"]["getToken"]
        self.assertEqual(
            token["body"],
            {
                "content": "application/x-www-form-urlencoded",
                "required": True,
                "schema": {
                    "type": "object",
                    "fields": {"grant_type": {"type": "string"}, "scope": {"type": "string"}},
                    "required": ["grant_type"],
                },
            },
        )
        self.assertEqual(token["responses"], {"200": None})
        self.assertTrue(any("makeToken differs from catalogue getToken" in n for n in notes), notes)
        self.assertEqual(v2.check(doc, {"getWidget": ("GET", "/api/v2/widgets/{id}")}), [])

    def test_unknown_types_are_a_clear_error(self) -> None:
        with self.assertRaisesRegex(v2.ShapeError, r"Widget\.code: unknown type Gizmo"):
            self.generate(WIDGET.replace("code: StrictStr", "code: Gizmo"))
        with self.assertRaisesRegex(v2.ShapeError, r"__properties"):
            self.generate(WIDGET.replace('"parent"]', '"parent", "ghost"]'))

    def test_cli_reports_a_missing_package_without_a_traceback(self) -> None:
        err = io.StringIO()
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            code = v2.main(["/nonexistent/pkg", "--out", "/tmp/never-written-v2.json"])
        self.assertEqual(code, 2)
        self.assertIn("has no models/ and api/", err.getvalue())


class CommittedShapesTest(unittest.TestCase):
    """The committed v2.json passes --check, and each kind of breakage turns it red."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.doc = json.loads(v2.DEFAULT_OUT.read_text(encoding="utf-8"))
        cls.rows = v2.catalogue_rows(v2.DEFAULT_CSV)

    def problems(self, doc: dict) -> list[str]:
        success = {k: status for k, (_, _, status) in v2.catalogue_details(v2.DEFAULT_CSV).items()}
        with redirect_stdout(io.StringIO()):
            return v2.check(doc, self.rows, success)

    def test_committed_file_is_clean_and_complete(self) -> None:
        self.assertEqual(self.problems(self.doc), [])
        self.assertEqual(len(self.rows), 92)
        self.assertEqual(v2.render(self.doc), v2.DEFAULT_OUT.read_text(encoding="utf-8"))

    def test_spot_checks_from_the_issue(self) -> None:
        m = self.doc["models"]
        self.assertIn("popularity", m["Bank"]["required"])
        self.assertGreaterEqual(len(m["ClientConfiguration"]["fields"]), 30)
        self.assertEqual(m["BankConnectionList"]["fields"]["connections"]["items"], {"ref": "BankConnection"})
        for f in ("income", "spending", "balance"):
            self.assertEqual(m["PageableTransactionList"]["fields"][f], {"type": "number"})
        self.assertNotIn("bank", m["ErrorMessage"]["required"])
        self.assertEqual(m["ErrorMessage"]["fields"]["date"], {"type": "string", "format": "date-time"})
        self.assertEqual(self.doc["operations"]["getToken"]["responses"]["200"], {"ref": "AccessToken"})

    def test_missing_operation_is_reported(self) -> None:
        doc = copy.deepcopy(self.doc)
        del doc["operations"]["revokeToken"]
        self.assertTrue(any("revokeToken" in p and "no shape" in p for p in self.problems(doc)))

    def test_wrong_path_or_method_is_reported(self) -> None:
        doc = copy.deepcopy(self.doc)
        doc["operations"]["getBank"]["path"] = "/api/v1/banks/{id}"
        doc["operations"]["getToken"]["method"] = "GET"
        problems = self.problems(doc)
        self.assertTrue(any(p.startswith("getBank:") for p in problems), problems)
        self.assertTrue(any(p.startswith("getToken:") for p in problems), problems)

    def test_dangling_ref_and_shapeless_schema_are_reported(self) -> None:
        doc = copy.deepcopy(self.doc)
        doc["models"]["Bank"]["fields"]["logo"] = {"ref": "NoSuchModel"}
        doc["operations"]["getBank"]["responses"]["200"] = {"format": "int64"}
        doc["models"]["Paging"]["required"].append("ghost")
        problems = self.problems(doc)
        self.assertTrue(any("unresolved ref NoSuchModel" in p for p in problems), problems)
        self.assertTrue(any("getBank.200: neither ref, type nor one_of" in p for p in problems), problems)
        self.assertTrue(any("required ghost is not a field" in p for p in problems), problems)

    def test_undocumented_catalogue_success_status_is_reported(self) -> None:
        doc = copy.deepcopy(self.doc)
        doc["operations"]["createLabel"]["responses"].pop("201")
        self.assertTrue(any(p.startswith("createLabel: catalogue success status 201") for p in self.problems(doc)))

    def test_path_placeholder_without_param_is_reported(self) -> None:
        doc = copy.deepcopy(self.doc)
        doc["operations"]["getBank"]["params"] = [p for p in doc["operations"]["getBank"]["params"] if p["in"] != "path"]
        self.assertTrue(any("path placeholders" in p for p in self.problems(doc)))


if __name__ == "__main__":
    unittest.main()
