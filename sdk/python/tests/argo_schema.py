"""What the Argo API suites share: a raw read of Polyphemus's Argo Server API and the check
of an answer against Argo's swagger.json (third_party/argo-api). Needs `jsonschema`."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from conftest import REPO, Server

SWAGGER = REPO / "third_party" / "argo-api" / "swagger.json"


def check(definition: str, instance: Any) -> None:
    """Fails unless `instance` conforms to swagger.json's `definition` (draft 4, as Swagger 2)."""
    import jsonschema

    swagger = json.loads(SWAGGER.read_text())
    swagger["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {
        "type": ["integer", "string"]}
    schema = {"$ref": f"#/definitions/{definition}", "definitions": swagger["definitions"]}
    errors = [f"{e.message} at {list(e.absolute_path)}"
              for e in jsonschema.Draft4Validator(schema).iter_errors(instance)]
    assert not errors, errors[:5]


def raw(server: Server, path: str) -> Any:
    """The JSON answer of GET /argo`path`, as the admin."""
    request = urllib.request.Request(f"{server.url}/argo{path}",
                                     headers={"Authorization": f"Bearer {server.admin_token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())
