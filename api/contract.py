"""The OpenAPI document as served at ``/docs/openapi.json``.

Each route declares its own bodies, query models, answers and route-specific errors
(``api.schemas``); sanic-ext assembles them. What every route shares is added here, from
what the route declares, so that a new route inherits it without repeating it:

* 401 on every route that needs a token;
* 413 on every route (a request line and headers too long, or a body over
  ``MEETEASY_MAX_BODY_BYTES``); 400 (malformed JSON) and 422 on every route that takes a
  body, and 422 on every route with query or header parameters;
* 503 on every route that reaches Redis or MongoDB: a web process at capacity answers
  ``overloaded`` (``api.offload``), and a backing service may be out of reach;
* links from what a POST creates to the routes that read, change or delete it (by the
  ids in its answer), so that a client, or a stateful test, can follow them.

The document is built once per process, on its first request.
"""

from __future__ import annotations

import copy
import re

from sanic import Sanic, json
from sanic_ext.extensions.openapi.builders import SpecificationBuilder

from api.schemas import error_response

PATH = "/docs/openapi.json"
# Routes that answer from the process alone.
SELF_CONTAINED = {("/health", "get")}


def complete(document: dict) -> dict:
    """``document`` with the errors every route shares added to each operation."""
    document = copy.deepcopy(document)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            shared = {413}
            if operation.get("security"):
                shared.add(401)
            if "requestBody" in operation:
                shared |= {400, 422}
            if any(p.get("in") in ("query", "header") for p in operation.get("parameters", [])):
                shared.add(422)
            if (path, method) not in SELF_CONTAINED:
                shared.add(503)
            # sanic-ext keys the statuses by int; the document's JSON keys them by text.
            responses = {str(status): answer
                         for status, answer in operation.get("responses", {}).items()}
            operation["responses"] = responses
            for status in sorted(shared):
                responses.setdefault(str(status), error_response(status))
    _link_created(document)
    return document


def _path_parameters(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


def _ids_in_answer(path: str, schema: dict) -> dict[str, str]:
    """Path parameter → where a POST's answer gives its value: ``X_id`` (a job's
    ``job_id``), ``X.id`` (an embedded ``registration``), or ``id`` for the resource
    the POST created under ``path``."""
    ids = {}
    for name, field in schema.get("properties", {}).items():
        if name.endswith("_id"):
            ids[name] = f"$response.body#/{name}"
        elif "id" in field.get("properties", {}):
            ids[f"{name}_id"] = f"$response.body#/{name}/id"
        elif name == "id":
            ids[f"{path}/{{}}"] = "$response.body#/id"  # the item under the collection
    return ids


def _link_created(document: dict) -> None:
    paths = document.get("paths", {})
    targets = [(path, method, operation) for path, operations in paths.items()
               for method, operation in operations.items()]
    for path, operations in paths.items():
        source = operations.get("post")
        if source is None:
            continue
        given = {name: f"$request.path.{name}" for name in _path_parameters(path)}
        for status, response in source.get("responses", {}).items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if not status.startswith("2") or not schema:
                continue
            ids = _ids_in_answer(path, schema)
            links = {}
            for target_path, method, target in targets:
                parameters = _parameters_for(path, target_path, given, ids)
                if parameters and "operationId" in target:
                    links[f"{method}{target_path}"] = {"operationId": target["operationId"],
                                                       "parameters": parameters}
            if links:
                response["links"] = links


def _parameters_for(path: str, target_path: str, given: dict, ids: dict) -> dict | None:
    """The target's path parameters, each from the POST's own path or its answer; None
    unless the answer supplies at least one (the link follows what the POST made)."""
    item = f"{path}/{{}}"
    parameters, from_answer = {}, False
    for name in _path_parameters(target_path):
        if item in ids and (target_path.startswith(f"{path}/{{{name}}}/")
                            or target_path == f"{path}/{{{name}}}"):
            parameters[name], from_answer = ids[item], True
        elif name in ids:
            parameters[name], from_answer = ids[name], True
        elif name in given:
            parameters[name] = given[name]
        else:
            return None
    return parameters if from_answer else None


def install(app: Sanic) -> None:
    """Serve the completed document in place of sanic-ext's own at :data:`PATH`."""
    built: list[dict] = []

    @app.on_request(priority=90)
    async def serve_document(request):
        if request.path != PATH or request.method != "GET":
            return None
        if not built:
            built.append(complete(SpecificationBuilder().build(request.app).serialize()))
        return json(built[0])
