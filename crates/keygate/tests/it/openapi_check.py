"""Checks Keygate's OpenAPI document and real answers against it (run by the `openapi` suite).

Usage: python openapi_check.py DOCUMENT.json SAMPLES.json

1. The document is valid OpenAPI 3.1 (openapi-spec-validator).
2. Each sample {method, path, status, content_type, body} is an answer the server really gave:
   its operation documents that status (or its 4XX/5XX range) with that content type, the body
   validates against the schema, and no object in it has a field the schema does not name.
Prints one line per failure and exits 1 if there was any.
"""

import json
import sys

from openapi_spec_validator import validate
from openapi_schema_validator import OAS31Validator

document = json.load(open(sys.argv[1]))
samples = json.load(open(sys.argv[2]))
validate(document)
components = document.get("components", {})
failures = []


def resolve(schema):
    """The schema behind a $ref, and the non-null branch of an Option's oneOf."""
    while isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = components["schemas"][name]
        elif "oneOf" in schema:
            branches = [s for s in schema["oneOf"] if s.get("type") != "null"]
            if len(branches) != 1:
                return schema
            schema = branches[0]
        else:
            return schema
    return schema


def properties(schema):
    """Every property an object schema names (through allOf), or None for a free-form one."""
    schema = resolve(schema)
    if "allOf" in schema:
        found = {}
        for part in schema["allOf"]:
            more = properties(part)
            if more is None:
                return None
            found.update(more)
        return found
    if "properties" in schema:
        return schema["properties"]
    return None


def undocumented(instance, schema, where):
    schema = resolve(schema)
    if isinstance(instance, dict):
        named = properties(schema)
        if named is None:
            return
        for key, value in instance.items():
            if key not in named:
                failures.append(f"{where}: field `{key}` is not in the schema")
            else:
                undocumented(value, named[key], f"{where}.{key}")
    elif isinstance(instance, list) and isinstance(schema, dict) and "items" in schema:
        for i, value in enumerate(instance):
            undocumented(value, schema["items"], f"{where}[{i}]")


for sample in samples:
    method, path, status = sample["method"].lower(), sample["path"], str(sample["status"])
    label = f"{method.upper()} {path} {status}"
    operation = document["paths"].get(path, {}).get(method)
    if operation is None:
        failures.append(f"{label}: no such operation in the document")
        continue
    responses = operation["responses"]
    response = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
    if response is None:
        failures.append(f"{label}: status not documented (documented: {sorted(responses)})")
        continue
    content_type = sample["content_type"].split(";")[0].strip()
    content = response.get("content", {})
    if sample["body"] is None:
        if content and not any("null" in json.dumps(c.get("schema", {})) for c in content.values()):
            failures.append(f"{label}: documented with a body, answered without one")
        continue
    if content_type not in content:
        failures.append(f"{label}: content type {content_type} not documented ({sorted(content)})")
        continue
    schema = content[content_type].get("schema")
    if schema is None:
        continue
    rooted = dict(schema)
    rooted["components"] = components
    for error in OAS31Validator(rooted).iter_errors(sample["body"]):
        place = "/".join(str(p) for p in error.absolute_path)
        failures.append(f"{label}: at /{place}: {error.message}")
    undocumented(sample["body"], schema, label)

for failure in failures:
    print(failure)
print(f"{len(samples)} answers checked, {len(failures)} failures")
sys.exit(1 if failures else 0)
