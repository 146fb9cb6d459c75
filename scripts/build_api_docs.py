"""Write docs/api.md from the OpenAPI document (`webhooks.openapi.SPEC`), so the reference never drifts.

    python scripts/build_api_docs.py            # rewrite docs/api.md
    python scripts/build_api_docs.py --check    # exit 1 if docs/api.md is out of date

`tests/test_docs.py` fails when the committed file differs from what this produces.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webhooks.openapi import SPEC  # noqa: E402  (needs the project root on the path)

TARGET = ROOT / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def render(spec: dict = SPEC) -> str:
    info = spec["info"]
    out = [
        f"# {info['title']} {info['version']}",
        "",
        "<!-- Generated from webhooks/openapi.py by scripts/build_api_docs.py. Do not edit by hand. -->",
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
                  f"{'yes' if p.get('required') else 'no'} | {_notes(p.get('schema', {}))} |" for p in op["parameters"]]
        lines.append("")
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        lines += [f"Request body (JSON): {_type(schema)}.", ""]
    lines += ["| status | meaning | body |", "|---|---|---|"]
    for code, response in sorted(op["responses"].items()):
        kinds = response.get("content", {})
        shape = "; ".join(f"{_type(c.get('schema', {}))}" + ("" if kind == "application/json" else f" ({kind})")
                          for kind, c in kinds.items()) or "—"
        lines.append(f"| {code} | {response['description']} | {shape} |")
    return lines + [""]


def _schema(name: str, schema: dict) -> list[str]:
    required = set(schema.get("required", ()))
    lines = [f"### {name}", ""]
    if schema.get("additionalProperties") is False:
        lines += ["Unknown fields are refused.", ""]
    lines += ["| field | type | required | notes |", "|---|---|---|---|"]
    for field, prop in schema.get("properties", {}).items():
        lines.append(f"| `{field}` | {_type(prop)} | {'yes' if field in required else 'no'} | {_notes(prop)} |")
    return lines + [""]


def _type(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and schema.get("properties"):
        fields = ", ".join(f"`{name}`: {_type(prop)}" for name, prop in schema["properties"].items())
        return f"object {{{fields}}}"
    return kind


def _notes(schema: dict) -> str:
    notes = []
    if "enum" in schema:
        notes.append("one of " + ", ".join(f"`{value}`" for value in schema["enum"]))
    if "format" in schema:
        notes.append(schema["format"])
    for key, text in (("minimum", "≥ {}"), ("maximum", "≤ {}"), ("maxItems", "at most {} items")):
        if key in schema:
            notes.append(text.format(schema[key]))
    if "description" in schema:
        notes.append(schema["description"])
    return "; ".join(notes)


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
