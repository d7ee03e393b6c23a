"""From an OpenAPI request schema to request bodies built from hidden-holdout rows.

Handles what FastAPI emits for the usual prediction endpoints: a flat record (a
pydantic model or a free dict), a top-level array of records, a wrapper object
(`{"data": [...]}`, `{"records": [...]}`, `{"instances": [...]}`, an embedded body),
and Unions of a record and an array. Schema field names are matched to dataset
columns ignoring case, spaces and separators; values are converted to the declared
types.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

WRAPPER_KEYS = (
    "data",
    "records",
    "instances",
    "inputs",
    "rows",
    "customers",
    "items",
    "features",
    "batch",
    "samples",
    "observations",
    "customer",
    "record",
    "input",
    "payload",
    "request",
)
_MAX_REF_DEPTH = 32


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def resolve(schema: Any, document: dict, depth: int = 0) -> dict:
    """Follow $ref and merge allOf until a concrete schema (bounded: schemas are hostile)."""
    if not isinstance(schema, dict) or depth > _MAX_REF_DEPTH:
        return {}
    if "$ref" in schema and isinstance(schema["$ref"], str):
        target: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        return resolve(target, document, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            resolved = resolve(part, document, depth + 1)
            merged.setdefault("properties", {}).update(resolved.get("properties", {}))
            merged["required"] = [*merged.get("required", []), *resolved.get("required", [])]
            for key, value in resolved.items():
                merged.setdefault(key, value)
        return merged
    return schema


def _options(schema: dict, document: dict) -> list[dict]:
    """The non-null alternatives of an anyOf / oneOf, or the schema itself."""
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            options = [resolve(o, document) for o in schema[key]]
            return [o for o in options if o and o.get("type") != "null"]
    return [schema]


def as_dict(value: Any) -> dict:
    """`value` if it is a JSON object, else empty: an OpenAPI document is candidate input."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _types(schema: Any, document: dict, depth: int = 0) -> tuple[set[str], bool, list | None]:
    """Declared JSON types, whether null is allowed, and the enum if any (bounded: $refs may cycle)."""
    schema = resolve(schema, document)
    if depth > _MAX_REF_DEPTH:
        return set(), False, None
    types: set[str] = set()
    nullable = bool(schema.get("nullable"))
    enum = schema.get("enum") if isinstance(schema.get("enum"), list) else None
    if "const" in schema:
        enum = [schema["const"]]
    for key in ("anyOf", "oneOf"):
        for option in as_list(schema.get(key)):
            sub_types, sub_null, sub_enum = _types(option, document, depth + 1)
            types |= sub_types
            nullable = nullable or sub_null or resolve(option, document).get("type") == "null"
            enum = enum or sub_enum
    declared = schema.get("type")
    for name in declared if isinstance(declared, list) else [declared] if declared else []:
        if name == "null":
            nullable = True
        else:
            types.add(str(name))
    return types, nullable, enum


@dataclass
class FieldSpec:
    name: str
    types: set[str]
    nullable: bool
    required: bool
    enum: list | None = None


@dataclass
class RecordSchema:
    """One record's fields; `fields is None` for a free-form object (dict[str, Any])."""

    fields: dict[str, FieldSpec] | None


@dataclass
class BodyShape:
    # record, wrapped_record: one record; array, wrapper: a list of records
    shape: Literal["record", "wrapped_record", "array", "wrapper"]
    record: RecordSchema
    wrapper_key: str | None = None

    @property
    def takes_list(self) -> bool:
        return self.shape in ("array", "wrapper")


def _record_schema(schema: dict, document: dict) -> RecordSchema | None:
    schema = resolve(schema, document)
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        required = {str(name) for name in as_list(schema.get("required"))}
        fields = {}
        for name, sub in properties.items():
            types, nullable, enum = _types(sub, document)
            fields[str(name)] = FieldSpec(str(name), types, nullable, str(name) in required, enum)
        return RecordSchema(fields)
    if schema.get("type") == "object" or "additionalProperties" in schema or not schema:
        return RecordSchema(None)
    return None


def _array_items(schema: dict, document: dict) -> dict | None:
    schema = resolve(schema, document)
    if schema.get("type") == "array" or "items" in schema:
        return resolve(schema.get("items", {}), document)
    return None


def _mapped_count(record: RecordSchema, columns: list[str]) -> int:
    if record.fields is None:
        return 0
    wanted = {normalise(c) for c in columns}
    return sum(1 for name in record.fields if normalise(name) in wanted)


def _object_shape(schema: dict, document: dict, columns: list[str]) -> BodyShape | None:
    """An object body read as a record, or as a wrapper around records: whichever maps more columns."""
    outer = _record_schema(schema, document)
    if outer is None:
        return None
    best, best_count = BodyShape("record", outer), _mapped_count(outer, columns)
    for name, sub in as_dict(schema.get("properties")).items():
        items = _array_items(sub, document)
        inner = _record_schema(items if items is not None else sub, document)
        if inner is None or (items is None and inner.fields is None):
            continue
        count = _mapped_count(inner, columns)
        if inner.fields is None and normalise(str(name)) in WRAPPER_KEYS:
            count = max(count, 1)  # a free-form list under a telling name
        if count > best_count:
            best, best_count = BodyShape("wrapper" if items is not None else "wrapped_record", inner, str(name)), count
    return best


def body_shapes(schema: Any, document: dict, columns: list[str]) -> list[BodyShape]:
    """Every way the body accepts records (one per Union member), single-record ones first."""
    top = resolve(schema, document)
    shapes = []
    for option in _options(top, document):
        items = _array_items(option, document)
        if items is not None:
            record = _record_schema(items, document)
            shape = BodyShape("array", record) if record is not None else None
        else:
            shape = _object_shape(option, document, columns)
        if shape is not None:
            shapes.append(shape)
    return sorted(shapes, key=lambda shape: shape.takes_list)


@dataclass
class Mapping:
    field_to_column: dict[str, str] = field(default_factory=dict)
    unmapped_required: list[str] = field(default_factory=list)
    unmapped_optional: list[str] = field(default_factory=list)
    columns_not_sent: list[str] = field(default_factory=list)


def map_fields(record: RecordSchema, columns: list[str], feature_columns: list[str]) -> Mapping:
    """Match schema fields to dataset columns, case-, space- and separator-insensitively."""
    if record.fields is None:
        return Mapping(
            field_to_column={c: c for c in feature_columns},
            columns_not_sent=[c for c in columns if c not in feature_columns],
        )
    by_key = {normalise(c): c for c in columns}
    mapping = Mapping()
    for name, spec in record.fields.items():
        column = by_key.get(normalise(name))
        if column is not None:
            mapping.field_to_column[name] = column
        elif spec.required:
            mapping.unmapped_required.append(name)
        else:
            mapping.unmapped_optional.append(name)
    sent = set(mapping.field_to_column.values())
    mapping.columns_not_sent = [c for c in columns if c not in sent]
    return mapping


def json_safe(value: Any) -> Any:
    """Python natives with missing values as None (what JSON can carry)."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _converter(spec: FieldSpec | None) -> Callable[[Any], Any]:
    if spec is None:
        return lambda value: value
    enum_lookup = {str(v).lower(): v for v in spec.enum} if spec.enum else {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if enum_lookup and str(value).lower() in enum_lookup:
            return enum_lookup[str(value).lower()]
        if "number" in spec.types and isinstance(value, (bool, int, float)):
            return float(value)
        if "integer" in spec.types and isinstance(value, (bool, int, float)):
            return int(value) if float(value).is_integer() else value
        if "boolean" in spec.types:
            if isinstance(value, (int, float)):
                return bool(value)
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.lower() in ("true", "yes", "1")
        if spec.types == {"string"} and not isinstance(value, str):
            return str(value).lower() if isinstance(value, bool) else str(value)
        return value

    return convert


class RecordBuilder:
    """Request records for holdout rows, by row position."""

    def __init__(self, frame: pd.DataFrame, record: RecordSchema, field_to_column: dict[str, str]) -> None:
        self.field_to_column = field_to_column
        specs = record.fields or {}
        self._converters = {name: _converter(specs.get(name)) for name in field_to_column}
        columns = list(dict.fromkeys(field_to_column.values()))
        self._rows = [
            {column: json_safe(value) for column, value in zip(columns, values, strict=True)}
            for values in frame[columns].itertuples(index=False, name=None)
        ]

    def __len__(self) -> int:
        return len(self._rows)

    def record(self, position: int) -> dict[str, Any]:
        row = self._rows[position]
        return {name: self._converters[name](row[column]) for name, column in self.field_to_column.items()}


def wrap(shape: BodyShape, records: list[dict[str, Any]]) -> Any:
    """A request body for these records (a single-record shape takes the first)."""
    if shape.shape == "wrapped_record":
        return {shape.wrapper_key: records[0]}
    if shape.shape == "wrapper":
        return {shape.wrapper_key: records}
    if shape.shape == "array":
        return records
    return records[0]
