"""What the Argo API suites share: Argo's swagger.json (third_party/argo-api) loaded once, the
check of an instance against one of its definitions, and a raw read of Polyphemus's Argo
Server API. Needs `jsonschema`."""

from __future__ import annotations

import copy
import functools
import json
import re
import urllib.request
from typing import Any, Dict, List

from conftest import REPO, Server

SWAGGER = REPO / "third_party" / "argo-api" / "swagger.json"

# RFC 3339 `date-time` (what k8s' meta.v1.Time and MicroTime marshal to).
DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@functools.lru_cache(maxsize=None)
def _swagger() -> Dict[str, Any]:
    swagger = json.loads(SWAGGER.read_text())
    # Swagger 2 quirk: Argo's swagger types IntOrString as a string, but it marshals an int
    # as a JSON number (k8s' own OpenAPI says `format: int-or-string` without a type).
    swagger["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {
        "type": ["integer", "string"]}
    return swagger


# Fields Polyphemus's answers carry beyond Argo's swagger, on purpose (definition -> field ->
# schema). Closed answers (below) allow these and nothing else undeclared.
POLYPHEMUS_EXTRAS: Dict[str, Dict[str, Any]] = {
    # The local engine's record of the image a pod node named (it pulls none): engine
    # status.rs, NodeStatus::image. Argo's clients ignore it.
    "io.argoproj.workflow.v1alpha1.NodeStatus": {"image": {"type": "string"}},
}


def closed(schema: Any) -> Any:
    """`schema` with every object that lists its `properties` and says nothing of others
    closed (`additionalProperties: false`): swagger.json leaves them open, so a misspelt or
    invented field would pass; Argo's Go structs never answer one. (swagger.json composes
    nothing with allOf/anyOf, whose branches closing would break.)"""
    if not isinstance(schema, dict):
        return schema
    shut = dict(schema)
    if isinstance(schema.get("properties"), dict):
        shut["properties"] = {name: closed(s) for name, s in schema["properties"].items()}
        shut.setdefault("additionalProperties", False)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            shut[key] = closed(schema[key])
    return shut


@functools.lru_cache(maxsize=None)
def _closed_definitions() -> Dict[str, Any]:
    definitions = {name: closed(d) for name, d in _swagger()["definitions"].items()}
    for name, extras in POLYPHEMUS_EXTRAS.items():
        definitions[name]["properties"].update(extras)
    return definitions


def swagger() -> Dict[str, Any]:
    """swagger.json with the quirk patches above (a copy: callers may not change the cache)."""
    return copy.deepcopy(_swagger())


@functools.lru_cache(maxsize=None)
def format_checker() -> Any:
    """Draft 4's checker, with `date-time` checked by this module (not an optional package)."""
    import jsonschema

    checker = jsonschema.FormatChecker([])
    checker.checks("date-time")(lambda value: not isinstance(value, str)
                                or DATE_TIME.match(value) is not None)
    return checker


def errors(schema: Dict[str, Any], instance: Any, limit: int = 5,
           shut: bool = False) -> List[str]:
    """The first `limit` ways `instance` breaks `schema` (draft 4, as Swagger 2; `$ref`s into
    swagger.json's definitions), each with where in the instance. `shut`: objects `closed`
    (for our answers; the clients' requests are held to the open swagger)."""
    import jsonschema

    if shut:
        whole = dict(closed(schema), definitions=_closed_definitions())
    else:
        whole = dict(schema, definitions=_swagger()["definitions"])
    validator = jsonschema.Draft4Validator(whole, format_checker=format_checker())
    found: List[str] = []
    for error in validator.iter_errors(instance):
        found.append(f"{error.message[:300]} at {list(error.absolute_path)}")
        if len(found) >= limit:
            break
    return found


def check(definition: str, instance: Any) -> None:
    """Fails unless our answer `instance` conforms to swagger.json's `definition` (closed)."""
    found = errors({"$ref": f"#/definitions/{definition}"}, instance, shut=True)
    assert not found, found


def raw(server: Server, path: str) -> Any:
    """The JSON answer of GET /argo`path`, as the admin (an exchange the recorder of
    argo_exchanges checks, when it is on)."""
    request = urllib.request.Request(f"{server.url}/argo{path}",
                                     headers={"Authorization": f"Bearer {server.admin_token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    from argo_exchanges import observe  # it imports this module

    observe("GET", request.full_url, None, response.status, body)
    return json.loads(body)
