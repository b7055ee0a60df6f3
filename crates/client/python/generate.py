"""Writes creditkit_client/models.py: a TypedDict (or alias) per schema of creditkit's
OpenAPI documents, so an operator's editor and type checker know every wire type.

    python3 generate.py workspace.json operator.json > creditkit_client/models.py

tests/clients.rs regenerates it from the server's own documents and fails when the
committed file differs: the models cannot drift from the server.
"""

import json
import keyword
import sys

HEADER = '''"""creditkit's wire types, generated from its OpenAPI documents by generate.py: do not edit."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, NotRequired, TypedDict, Union

'''


def ident(name):
    out = "".join(c if c.isalnum() else "_" for c in name)
    return out + "_" if keyword.iskeyword(out) else out


def ty(schema):
    """The Python type of a (sub)schema."""
    if schema is True or schema == {}:
        return "Any"
    if "$ref" in schema:
        return '"' + ident(schema["$ref"].rsplit("/", 1)[-1]) + '"'
    if "const" in schema:
        return "Literal[" + json.dumps(schema["const"]) + "]"
    if "enum" in schema:
        return "Literal[" + ", ".join(json.dumps(v) for v in schema["enum"]) + "]"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = []
            for s in schema[key]:
                t = ty(s)
                if t not in parts:
                    parts.append(t)
            return parts[0] if len(parts) == 1 else "Union[" + ", ".join(parts) + "]"
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return ty(schema["allOf"][0])
    t = schema.get("type")
    if isinstance(t, list):
        parts = [ty({**schema, "type": x}) for x in t]
        return "Union[" + ", ".join(parts) + "]"
    if t == "string":
        return "str"
    if t == "integer":
        return "int"
    if t == "number":
        return "float"
    if t == "boolean":
        return "bool"
    if t == "null":
        return "None"
    if t == "array":
        return "List[" + ty(schema.get("items", True)) + "]"
    if t == "object" or "properties" in schema:
        extra = schema.get("additionalProperties")
        if "properties" not in schema and isinstance(extra, dict):
            return "Dict[str, " + ty(extra) + "]"
        return "Dict[str, Any]"
    return "Any"


def emit(name, schema, out):
    props = schema.get("properties") if isinstance(schema, dict) else None
    doc = schema.get("description") if isinstance(schema, dict) else None
    if props and all(k.isidentifier() and not keyword.iskeyword(k) for k in props):
        required = set(schema.get("required", []))
        out.append(f"class {ident(name)}(TypedDict):")
        if doc:
            out.append('    """' + doc.replace('"""', "'''").replace("\\", "\\\\") + '"""')
        for key, sub in props.items():
            t = ty(sub)
            out.append(f"    {key}: {t if key in required else 'NotRequired[' + t + ']'}")
        out.append("")
        out.append("")
    else:
        out.append(f"{ident(name)} = {ty(schema)}")
        out.append("")


def main(paths):
    seen = {}
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            seen.setdefault(name, schema)
    out = [HEADER]
    for name in sorted(seen):
        emit(name, seen[name], out)
    sys.stdout.write("\n".join(out).rstrip() + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
