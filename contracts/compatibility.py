"""BACKWARD compatibility of two JSON Schemas of one topic.

A change is compatible when every message valid under the released (old) schema is still
valid under the new one, and no field a consumer may read disappears. Breaking:
removing a field, adding a required field, making an optional field required, changing a
field's type (widening integer to number is fine), removing an enum value, tightening a
limit (minimum, maxLength, ...), adding or changing a pattern or format, closing an open
object, adding a `not`. Descriptions, titles and examples never matter.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_TIGHTER_IF_LARGER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_TIGHTER_IF_SMALLER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_CHANGED_IS_TIGHTER = ("pattern", "format", "multipleOf", "not")


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What a consumer on `new` could not read of the messages written under `old`, or
    would miss; [] when `new` is a BACKWARD-compatible evolution of `old`."""
    return _Comparison(old, new).compare(old, new, "")


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root

    def compare(self, old: Schema, new: Schema, path: str) -> list[str]:
        old_s, new_s = _resolve(old, self.old_root), _resolve(new, self.new_root)
        here = path or "<message>"
        problems = self._values(old_s, new_s, here)
        problems += self._limits(old_s, new_s, here)
        problems += self._properties(old_s, new_s, path)
        old_items, new_items = _items(old_s, self.old_root), _items(new_s, self.new_root)
        if old_items is not None and new_items is not None:
            problems += self.compare(old_items, new_items, f"{here}[]")
        return problems

    def _values(self, old_s: Schema, new_s: Schema, here: str) -> list[str]:
        problems = []
        old_types = _type_names(old_s, self.old_root)
        new_types = _type_names(new_s, self.new_root)
        if "integer" in old_types and "number" in new_types:
            old_types = (old_types - {"integer"}) | {"number"}  # widening is fine
        if old_types and new_types and not old_types <= new_types:
            problems.append(f"{here}: type changed from {sorted(old_types)} to {sorted(new_types)}")
        old_enum = _enum_values(old_s, self.old_root)
        new_enum = _enum_values(new_s, self.new_root)
        if new_enum is not None and old_enum is None:
            problems.append(f"{here}: restricted to the values {sorted(map(str, new_enum))}")
        elif old_enum is not None and new_enum is not None and not old_enum <= new_enum:
            removed = sorted(map(str, old_enum - new_enum))
            problems.append(f"{here}: enum values removed: {removed}")
        return problems

    def _limits(self, old_s: Schema, new_s: Schema, here: str) -> list[str]:
        """Limits compared between the alternatives of the same JSON type (a nullable
        field keeps its limits inside anyOf)."""
        new_by_type: dict[str, Schema] = {}
        for variant in _variants(new_s, self.new_root):
            for kind in _type_names(variant, self.new_root):
                new_by_type.setdefault(kind, variant)
        problems: list[str] = []
        for variant in _variants(old_s, self.old_root):
            for kind in sorted(_type_names(variant, self.old_root) - {"null"}):
                counterpart = new_by_type.get(kind)
                if counterpart is None and kind == "integer":
                    counterpart = new_by_type.get("number")
                if counterpart is not None:
                    problems += [p for p in _limits_of(variant, counterpart, here)
                                 if p not in problems]  # fmt: skip
        return problems

    def _properties(self, old_s: Schema, new_s: Schema, path: str) -> list[str]:
        old_props: Schema = old_s.get("properties", {})
        new_props: Schema = new_s.get("properties", {})
        old_required = set(old_s.get("required", []))
        new_required = set(new_s.get("required", []))
        problems = []
        closed_now = new_s.get("additionalProperties") is False
        if (
            (old_props or new_props)
            and closed_now
            and old_s.get("additionalProperties") is not False
        ):
            problems.append(f"{path or '<message>'}: unknown fields are now rejected")
        for name in sorted(old_props):
            child = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(f"{child}: field removed (old messages carry it)")
                continue
            if name in new_required and name not in old_required:
                problems.append(f"{child}: optional field became required")
            problems += self.compare(old_props[name], new_props[name], child)
        problems += [
            f"{f'{path}.{name}' if path else name}: new required field (old messages lack it)"
            for name in sorted(new_required - set(old_props))
        ]
        return problems


def _resolve(schema: Schema, root: Schema) -> Schema:
    seen: set[str] = set()
    while "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            raise ValueError(f"circular $ref {ref}")
        seen.add(ref)
        schema = root.get("$defs", {})[ref.rsplit("/", 1)[-1]]
    return schema


def _variants(schema: Schema, root: Schema) -> list[Schema]:
    """The alternatives of a value (anyOf/oneOf flattened), references resolved."""
    schema = _resolve(schema, root)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return [v for option in options for v in _variants(option, root)]
    return [schema]


def _items(schema: Schema, root: Schema) -> Schema | None:
    """The item schema of an array, also when the array is nullable."""
    arrays = [v for v in _variants(schema, root) if "items" in v]
    return arrays[0]["items"] if len(arrays) == 1 else None


def _type_names(schema: Schema, root: Schema) -> set[str]:
    names: set[str] = set()
    for variant in _variants(schema, root):
        kind = variant.get("type")
        if isinstance(kind, str):
            names.add(kind)
        elif isinstance(kind, list):
            names.update(kind)
        elif "const" in variant or "enum" in variant:
            values = [variant["const"]] if "const" in variant else variant["enum"]
            names.update(_json_type(v) for v in values)
    return names


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def _enum_values(schema: Schema, root: Schema) -> set[Any] | None:
    """The values allowed (null aside) when the value is an enumeration, else None."""
    values: set[Any] = set()
    for variant in _variants(schema, root):
        if "enum" in variant:
            values |= set(variant["enum"]) - {None}
        elif "const" in variant:
            values.add(variant["const"])
        elif variant.get("type") != "null":
            return None  # not an enumeration: any value of the type
    return values or None


def _limits_of(old_s: Schema, new_s: Schema, here: str) -> list[str]:
    problems = [
        f"{here}: {key} tightened to {new_s[key]}"
        for key in _TIGHTER_IF_LARGER
        if key in new_s and new_s[key] > old_s.get(key, float("-inf"))
    ]
    problems += [
        f"{here}: {key} tightened to {new_s[key]}"
        for key in _TIGHTER_IF_SMALLER
        if key in new_s and new_s[key] < old_s.get(key, float("inf"))
    ]
    problems += [
        f"{here}: {key} changed to {new_s[key]!r}"
        for key in _CHANGED_IS_TIGHTER
        if key in new_s and new_s[key] != old_s.get(key)
    ]
    return problems
