"""Write docs/api.md from the OpenAPI document (`webhooks.api.openapi`), so the reference never drifts.

    python scripts/build_api_docs.py            # rewrite docs/api.md
    python scripts/build_api_docs.py --check    # exit 1 if docs/api.md is out of date

`tests/test_docs.py` fails when the committed file differs from what this produces.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402  (the project's imports need its root on the path)

from webhooks import api, health  # noqa: E402
from webhooks.api.openapi import build_document  # noqa: E402

TARGET = ROOT / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def document() -> dict:
    """The document `/api/openapi.json` serves: the same blueprints, so the same routes and models."""
    app = Flask("api-docs")
    app.register_blueprint(health.bp)
    api.init_app(app)
    return build_document(app)


def render(spec: dict | None = None) -> str:
    spec = spec or document()
    info = spec["info"]
    out = [
        f"# {info['title']} {info['version']}",
        "",
        "<!-- Generated from the API's routes and pydantic models (webhooks/api/) by scripts/build_api_docs.py. "
        "Do not edit by hand. -->",
        "",
        info.get("description", ""),
        "",
        "Every route needs `Authorization: Bearer $API_TOKEN` unless it says otherwise. The same document "
        "is served as JSON at `/api/openapi.json` (for Postman, Insomnia or a client generator).",
        "",
        "## Routes",
        "",
    ]
    for path, item in spec["paths"].items():
        for method in (m for m in METHODS if m in item):
            out += _operation(method, path, item[method], spec)
    out += ["## Schemas", ""]
    for name, schema in spec["components"]["schemas"].items():
        out += _schema(name, schema)
    return "\n".join(out).rstrip() + "\n"


def _operation(method: str, path: str, op: dict, spec: dict) -> list[str]:
    summary = op.get("summary", "")
    lines = [f"### `{method.upper()} {path}`", "", summary + ("" if summary.endswith((".", ")")) else "."), ""]
    if op.get("security") == [] or (op.get("security") is None and not spec.get("security")):
        lines += ["No token needed.", ""]
    if op.get("parameters"):
        lines += ["| parameter | in | type | required | notes |", "|---|---|---|---|---|"]
        lines += [f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | "
                  f"{'yes' if p.get('required') else 'no'} | {_notes(_described(p))} |" for p in op["parameters"]]
        lines.append("")
    body = op.get("requestBody")
    for kind, content in (body or {}).get("content", {}).items():
        label = "JSON" if kind == "application/json" else f"`{kind}`"
        lines += [f"Request body ({label}): {_type(content['schema'])}.", ""]
    lines += ["| status | meaning | body |", "|---|---|---|"]
    for code, response in sorted(op["responses"].items()):
        kinds = response.get("content", {})
        shape = "; ".join(f"{_type(c.get('schema', {}))}" + ("" if kind == "application/json" else f" ({kind})")
                          for kind, c in kinds.items()) or "—"
        lines.append(f"| {code} | {response['description']} | {shape} |")
    return lines + [""]


def _described(parameter: dict) -> dict:
    """A parameter's schema with the parameter's own description."""
    schema = parameter.get("schema", {})
    return {**schema, "description": parameter["description"]} if "description" in parameter else schema


def _schema(name: str, schema: dict) -> list[str]:
    required = set(schema.get("required", ()))
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    if schema.get("additionalProperties") is False:
        lines += ["Unknown fields are refused.", ""]
    if not schema.get("properties"):
        return lines
    lines += ["| field | type | required | notes |", "|---|---|---|---|"]
    for field, prop in schema.get("properties", {}).items():
        lines.append(f"| `{field}` | {_type(prop)} | {'yes' if field in required else 'no'} | {_notes(prop)} |")
    return lines + [""]


def _type(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        return " or ".join(_type(variant) for variant in schema["anyOf"])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and schema.get("properties"):
        fields = ", ".join(f"`{name}`: {_type(prop)}" for name, prop in schema["properties"].items())
        return f"object {{{fields}}}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {_type(schema['additionalProperties'])}"
    return kind


def _notes(schema: dict) -> str:
    notes = []
    for variant in schema.get("anyOf", ()):
        if variant.get("type") != "null" and "$ref" not in variant:
            notes.append(_notes(variant))
    if "enum" in schema:
        notes.append("one of " + ", ".join(f"`{value}`" for value in schema["enum"]))
    if "format" in schema:
        notes.append(schema["format"])
    for key, text in (("minimum", "≥ {}"), ("maximum", "≤ {}"), ("minLength", "at least {} character(s)"),
                      ("maxLength", "at most {} characters"), ("maxItems", "at most {} items")):
        if key in schema:
            notes.append(text.format(schema[key]))
    if schema.get("default") is not None:
        notes.append(f"default `{json.dumps(schema['default'])}`")
    if "description" in schema:
        notes.append(schema["description"])
    return "; ".join(note for note in notes if note)


def main(argv: list[str]) -> int:
    text = render()
    if argv == ["--check"]:
        if TARGET.exists() and TARGET.read_text() == text:
            return 0
        print("docs/api.md is out of date: run python scripts/build_api_docs.py", file=sys.stderr)
        return 1
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
