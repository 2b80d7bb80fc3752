"""Hypothesis strategies for request bodies from an OpenAPI (JSON Schema) document: the subset
FastAPI/pydantic emit ($ref, anyOf, enum, object, array, string, integer, number, boolean,
null, with their bounds). ``hints`` mixes known-good values into named properties, so that
generated requests also reach the code behind the validation."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

SearchStrategy = st.SearchStrategy
MAX_ITEMS = 4


def from_schema(
    schema: dict[str, Any],
    components: dict[str, Any],
    hints: dict[str, SearchStrategy] | None = None,
) -> SearchStrategy:
    hints = hints or {}

    def build(node: dict[str, Any]) -> SearchStrategy:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return st.deferred(lambda: build(components["schemas"][name]))
        if "anyOf" in node:
            return st.one_of([build(option) for option in node["anyOf"]])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        if "const" in node:
            return st.just(node["const"])
        kind = node.get("type")
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            low = node.get("minimum")
            return st.integers(
                min_value=None if low is None else math.ceil(low),
                max_value=None if node.get("maximum") is None else math.floor(node["maximum"]),
            )
        if kind == "number":
            return st.floats(
                min_value=node.get("minimum", node.get("exclusiveMinimum")),
                max_value=node.get("maximum"),
                exclude_min="exclusiveMinimum" in node,
                allow_nan=False,
                allow_infinity=False,
            )
        if kind == "string":
            return st.text(min_size=node.get("minLength", 0), max_size=node.get("maxLength", 80))
        if kind == "array":
            low = node.get("minItems", 0)
            high = max(low, min(node.get("maxItems", MAX_ITEMS), MAX_ITEMS))
            return st.lists(build(node.get("items", {})), min_size=low, max_size=high)
        if kind == "object" or "properties" in node:
            properties = node.get("properties", {})
            required = set(node.get("required", ()))

            def field(name: str) -> SearchStrategy:
                generated = build(properties[name])
                return st.one_of(hints[name], generated) if name in hints else generated

            return st.fixed_dictionaries(
                {name: field(name) for name in properties if name in required},
                optional={name: field(name) for name in properties if name not in required},
            )
        return st.recursive(  # any JSON value
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                        max_size=3),
            max_leaves=8,
        )  # fmt: skip

    return build(schema)
