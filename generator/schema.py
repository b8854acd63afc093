"""The one place that walks JSON Schema.

Seeding (making arguments) and validation (checking a teacher's arguments) must
agree on what a tool's ``parameters`` schema means, so both read it through this
module: ``$ref`` resolution with bounded recursion, ``allOf`` merging, type
lists and OpenAPI ``nullable``, an object's properties, and jsonschema-backed
checks with cached validators.

Paths in errors are dotted schema locations starting at ``parameters`` (e.g.
``parameters.properties.items.items.properties.sku``) so a user can find the
keyword in their tool file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import numbers
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from fractions import Fraction
from itertools import product
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema import validators as jsonschema_validators
from jsonschema._utils import equal as _jsonschema_equal
from jsonschema._utils import uniq as _jsonschema_uniq
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from callforge.generator.errors import InputError, UnsupportedSchemaError
from callforge.generator.limits import (
    MAX_ENUM_VALUES,
    MAX_MIN_ITEMS,
    MAX_MIN_LENGTH,
    MAX_PROPERTIES,
    SlowPattern,
    UnusablePattern,
    data_pattern,
)

ROOT_PATH = "parameters"
# A recursive $ref is expanded at most this many times along one branch; deeper
# optional branches are left out, deeper required ones are an error.
MAX_REF_DEPTH = 3
JSON_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER

_VALIDATOR_CACHE_SIZE = 1024
Check = Callable[[Any], bool]
"""A validity predicate: True when the instance is valid."""
_validators: OrderedDict[tuple[str, bool], tuple[Validator, Check | None]] = OrderedDict()
_by_identity: dict[tuple[int, bool], tuple[Any, tuple[Validator, Check | None]]] = {}

# Keywords whose subschemas live in a {name: schema} map or a [schema] list.
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_VALUES = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
)


def schema_key(schema: Any) -> str:
    """A stable hash of a schema: equal schemas (whatever their key order) share it."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(canonical.encode()).hexdigest()


def check_parameters_schema(schema: Any, *, tool: str, source: str | None = None) -> None:
    """Reject a tool whose ``parameters`` is not a valid JSON Schema for an object.

    Done once when tools are loaded, so seeding and validation can trust the schema.
    """
    if not isinstance(schema, Mapping):
        raise InputError(
            f"parameters must be a JSON Schema object, got {type(schema).__name__}",
            source=source,
            tool=tool,
        )
    check_schema_sizes(schema, tool=tool, source=source)
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(dict(schema))
    except SchemaError as error:
        where = ".".join([ROOT_PATH, *map(str, error.path)])
        raise InputError(
            f"parameters is not a valid JSON Schema at {where}: {_one_line(error.message)}",
            source=source,
            tool=tool,
        ) from None
    if schema.get("type") not in ("object", ["object"]):
        raise InputError(
            f'parameters must have "type": "object" at the top level, got {schema.get("type")!r}',
            source=source,
            tool=tool,
        )


def check_output_schema(schema: Any, *, tool: str, source: str | None = None) -> None:
    """Reject a tool whose declared result schema is not a valid JSON Schema object."""
    if not isinstance(schema, Mapping):
        raise InputError(
            f"output schema must be a JSON Schema object, got {type(schema).__name__}",
            source=source,
            tool=tool,
        )
    check_schema_sizes(schema, tool=tool, source=source, root="output_schema")
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(dict(schema))
    except SchemaError as error:
        where = ".".join(["output_schema", *map(str, error.path)])
        raise InputError(
            f"output schema is not a valid JSON Schema at {where}: {_one_line(error.message)}",
            source=source,
            tool=tool,
        ) from None


def _bounded_pattern_keyword(
    validator: Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's ``pattern`` keyword, through ``data_pattern``: too slow is invalid."""
    if not validator.is_type(instance, "string"):
        return
    try:
        found = data_pattern(pattern).search(instance)
    except (SlowPattern, UnusablePattern) as failed:
        yield ValidationError(str(failed))
        return
    if not found:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _bounded_pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's ``patternProperties``, matching names through ``data_pattern``."""
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            try:
                found = data_pattern(pattern).search(name)
            except (SlowPattern, UnusablePattern) as failed:
                yield ValidationError(str(failed), path=[name])
                continue
            if found:
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _bounded_additional_properties(
    validator: Any, allowed: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's ``additionalProperties``, leaving out the names ``properties`` and
    the ``patternProperties`` (matched through ``data_pattern``) take."""
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    try:
        extras = {n for n in instance if n not in declared} - _pattern_names(schema, instance)
    except (SlowPattern, UnusablePattern) as failed:
        yield ValidationError(str(failed))
        return
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        shown = ", ".join(repr(each) for each in sorted(extras, key=str))
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{shown} {verb} not match any of the regexes: {patterns}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(
                f"Additional properties are not allowed ({shown} {verb} unexpected)"
            )


def _bounded_unevaluated_properties(
    validator: Any, unevaluated: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's ``unevaluatedProperties``, with the evaluated names found through
    ``data_pattern`` (jsonschema matches ``patternProperties`` with ``re`` there)."""
    if not validator.is_type(instance, "object"):
        return
    try:
        evaluated = _evaluated_names(validator, instance, schema)
    except (SlowPattern, UnusablePattern) as failed:
        yield ValidationError(str(failed))
        return
    invalid = [
        name
        for name in instance
        if name not in evaluated
        and next(iter(validator.descend(instance[name], unevaluated, path=name)), None)
    ]
    if not invalid:
        return
    verb = "was" if len(invalid) == 1 else "were"
    if unevaluated is False:  # jsonschema's words: sorted names here, in order below
        shown = ", ".join(repr(each) for each in sorted(invalid, key=str))
        yield ValidationError(f"Unevaluated properties are not allowed ({shown} {verb} unexpected)")
    else:
        shown = ", ".join(repr(each) for each in invalid)
        yield ValidationError(
            "Unevaluated properties are not valid under the given schema "
            f"({shown} {verb} unevaluated and invalid)"
        )


def _evaluated_names(validator: Any, instance: Mapping[str, Any], schema: Any) -> set[str]:
    """The names of ``instance`` some keyword of ``schema`` evaluates (jsonschema's
    ``find_evaluated_property_keys_by_schema``, its patterns through ``data_pattern``)."""
    if not isinstance(schema, Mapping):
        return set()
    found: set[str] = set()
    for keyword in ("$ref", "$dynamicRef"):
        if isinstance(schema.get(keyword), str):
            resolved = validator._resolver.lookup(schema[keyword])
            deeper = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
            found |= _evaluated_names(deeper, instance, resolved.contents)
    if isinstance(schema.get("properties"), Mapping):
        found |= schema["properties"].keys() & instance.keys()
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        if keyword in schema:
            found |= {
                name
                for name, value in instance.items()
                if validator.evolve(schema=schema[keyword]).is_valid(value)
            }
    found |= _pattern_names(schema, instance)
    for name, subschema in (schema.get("dependentSchemas") or {}).items():
        if name in instance:
            found |= _evaluated_names(validator, instance, subschema)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, ()):
            if validator.evolve(schema=subschema).is_valid(instance):
                found |= _evaluated_names(validator, instance, subschema)
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            found |= _evaluated_names(validator, instance, schema["if"])
            found |= _evaluated_names(validator, instance, schema.get("then"))
        else:
            found |= _evaluated_names(validator, instance, schema.get("else"))
    return found


def _pattern_names(schema: Mapping[str, Any], instance: Mapping[str, Any]) -> set[str]:
    """The names of ``instance`` that a ``patternProperties`` name of ``schema`` matches."""
    patterns = schema.get("patternProperties")
    if not isinstance(patterns, Mapping) or not patterns:
        return set()
    compiled = [data_pattern(pattern) for pattern in patterns]
    return {name for name in instance if any(pattern.search(name) for pattern in compiled)}


@functools.cache
def _bounded_class(cls: type[Validator]) -> type[Validator]:
    """``cls`` with every keyword that runs a data pattern bounded in time.

    jsonschema runs ``pattern``, ``patternProperties`` (and the names that
    ``additionalProperties`` and ``unevaluatedProperties`` leave to them) with
    Python's ``re``, which a backtracking pattern holds for hours.
    """
    return jsonschema_validators.extend(  # type: ignore[no-any-return]
        cls,
        {
            "pattern": _bounded_pattern_keyword,
            "patternProperties": _bounded_pattern_properties,
            "additionalProperties": _bounded_additional_properties,
            "unevaluatedProperties": _bounded_unevaluated_properties,
        },
    )


_BOUNDED_2020 = _bounded_class(Draft202012Validator)


def compiled_validator(schema: Mapping[str, Any], *, openapi: bool = True) -> Validator:
    """A jsonschema validator with format checking, compiled once per distinct schema.

    ``openapi=True`` first rewrites OpenAPI ``nullable: true`` into a type list, which
    is how callforge reads tool schemas; ``openapi=False`` validates the schema as
    plain JSON Schema (what a strict consumer would do).
    """
    return _compiled(schema, openapi)[0]


def _compiled(schema: Mapping[str, Any], openapi: bool) -> tuple[Validator, Check | None]:
    """The validator for ``schema`` and its plain-Python twin (None where it has none).

    The same schema object (a tool's ``parameters``, checked once per call) is found
    by identity before it is hashed; the entry keeps the object alive, so its id is
    not reused while cached. Schemas are not edited in place once validated against.
    """
    known = _by_identity.get((id(schema), openapi))
    if known is not None and known[0] is schema:
        return known[1]
    key = (schema_key(schema), openapi)
    compiled = _validators.get(key)
    if compiled is None:
        document = to_json_schema(schema) if openapi else schema
        cls = _bounded_class(validator_for(document, default=Draft202012Validator))
        validator = cls(document, format_checker=FORMAT_CHECKER)
        compiled = (validator, fast_check(validator, root=document))
        _validators[key] = compiled
        if len(_validators) > _VALIDATOR_CACHE_SIZE:
            _validators.popitem(last=False)
    _by_identity[(id(schema), openapi)] = (schema, compiled)
    if len(_by_identity) > _VALIDATOR_CACHE_SIZE:
        _by_identity.pop(next(iter(_by_identity)))
    return compiled


def validate_instance(schema: Mapping[str, Any], instance: Any) -> list[str]:
    """Every way ``instance`` breaks ``schema``, as one-line ``$.json.path: message`` texts."""
    validator, check = _compiled(schema, True)
    if check is not None and check(instance):
        return []
    errors = validator.iter_errors(instance)
    return [
        f"{error.json_path}: {_one_line(error.message)}"
        for error in sorted(errors, key=lambda error: (error.json_path, error.message))
    ]


def instance_is_valid(schema: Mapping[str, Any], instance: Any) -> bool:
    """``not validate_instance(schema, instance)``, without building the messages."""
    check = _compiled(schema, True)[1]
    if check is not None:
        return check(instance)
    return not validate_instance(schema, instance)


def scalar_leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(json_path, leaf)`` for every scalar in a JSON value, e.g. ``items[0].sku``."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from scalar_leaves(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield from scalar_leaves(child, f"{path}[{index}]")
    else:
        yield path, value


def schema_types(schema: Mapping[str, Any], *, nullable: bool = True) -> tuple[str, ...] | None:
    """The JSON types a schema declares, or None when it declares none.

    ``"type": ["string", "null"]`` and OpenAPI's ``"nullable": true`` both add
    ``"null"``; pass ``nullable=False`` to ignore the OpenAPI flag.
    """
    declared = schema.get("type")
    if declared is None:
        return None
    types = (declared,) if isinstance(declared, str) else tuple(declared)
    if nullable and schema.get("nullable") is True and "null" not in types:
        types = (*types, "null")
    return types


def to_json_schema(schema: Any) -> Any:
    """Rewrite OpenAPI ``nullable: true`` everywhere into plain JSON Schema."""
    if not isinstance(schema, Mapping):
        return schema
    out = _map_subschemas(schema, to_json_schema)
    if out.pop("nullable", None) is True:
        types = schema_types(schema)
        if types is not None:
            out["type"] = list(types)
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def object_properties(schema: Mapping[str, Any]) -> list[tuple[str, Any, bool]]:
    """``(name, subschema, required)`` for each declared or required property, in order.

    A required name with no declared schema gets ``True`` (any value).
    """
    declared: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    listed = [(name, sub, name in required) for name, sub in declared.items()]
    missing = [name for name in schema.get("required") or () if name not in declared]
    return listed + [(name, True, True) for name in dict.fromkeys(missing)]


# Root keywords a piece of a document needs to keep meaning the same on its own.
_DOCUMENT_KEYWORDS = ("$schema", "$defs", "definitions")


def property_document(root: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Top-level property ``name`` of ``root`` as a parameters schema of its own.

    The property is the only one and is required. The root's ``$defs`` and
    ``definitions`` (and ``$schema``) come along, so a property that is a
    ``$ref`` still resolves: ``{"$ref": "#/$defs/OrderId"}`` would otherwise
    point at nothing.
    """
    sub = (root.get("properties") or {}).get(name, True)
    kept = {key: root[key] for key in _DOCUMENT_KEYWORDS if key in root}
    return {**kept, "type": "object", "properties": {name: sub}, "required": [name]}


def resolved_properties(root: Mapping[str, Any], *, tool: str = "") -> dict[str, dict[str, Any]]:
    """Each top-level property of ``root`` with ``$ref`` and ``allOf`` expanded.

    Properties that cannot be resolved (a dangling or endless ``$ref``) are left out.
    """
    doc = SchemaDocument(root, tool=tool)
    out: dict[str, dict[str, Any]] = {}
    for name, sub in (root.get("properties") or {}).items():
        try:
            out[name] = doc.resolve(sub, path=f"{ROOT_PATH}.properties.{name}")[0]
        except UnsupportedSchemaError:
            continue
    return out


class SchemaDocument:
    """A tool's ``parameters`` schema, the root that its local ``$ref``s point into."""

    def __init__(self, root: Mapping[str, Any], *, tool: str = "") -> None:
        self.root = root
        self.tool = tool

    def error(self, message: str, path: str) -> UnsupportedSchemaError:
        """An UnsupportedSchemaError naming this document's tool."""
        return UnsupportedSchemaError(message, path=path, tool=self.tool or None)

    def resolve(
        self, schema: Any, *, path: str, refs: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Expand ``$ref`` and merge ``allOf`` at this level.

        Returns the merged schema (its subschemas still raw) and the chain of refs
        expanded to reach it, which bounds recursion when the caller descends.
        """
        if schema is True:
            return {}, refs
        if schema is False:
            raise self.error("the schema 'false' accepts no value", path)
        if not isinstance(schema, Mapping):
            raise self.error(f"expected a schema object, got {schema!r}", path)
        pieces = [{k: v for k, v in schema.items() if k not in ("$ref", "allOf")}]
        if "$ref" in schema:
            target, refs = self._expand_ref(schema["$ref"], path=path, refs=refs)
            pieces.append(target)
        for index, branch in enumerate(schema.get("allOf") or ()):
            resolved, refs = self.resolve(branch, path=f"{path}.allOf.{index}", refs=refs)
            pieces.append(resolved)
        merged = pieces[0]
        for piece in pieces[1:]:
            merged = self.merge(merged, piece, path=path)
        return merged, refs

    def _expand_ref(
        self, ref: Any, *, path: str, refs: tuple[str, ...]
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise self.error(f"only local '#/...' $refs are supported, got {ref!r}", path)
        if refs.count(ref) >= MAX_REF_DEPTH:
            raise self.error(
                f"recursive $ref '{ref}' does not stop within {MAX_REF_DEPTH} levels; "
                "make the recursive property optional",
                path,
            )
        return self.resolve(self.pointer(ref, path=path), path=path, refs=(*refs, ref))

    def pointer(self, ref: str, *, path: str) -> Any:
        """The subschema a local ``#/a/b`` reference points at."""
        node: Any = self.root
        for raw in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else ():
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise self.error(f"$ref '{ref}' points at nothing in this schema", path)
        return node

    def merge(self, a: Mapping[str, Any], b: Mapping[str, Any], *, path: str) -> dict[str, Any]:
        """One schema meaning "valid against both ``a`` and ``b``" (``allOf`` of two)."""
        merged = dict(a)
        for key, value in b.items():
            if key not in merged:
                merged[key] = value
            elif merged[key] != value:
                rule = _MERGE_RULES.get(key)
                merged[key] = rule(self, merged[key], value, path) if rule else merged[key]
        if "additionalProperties" in a or "additionalProperties" in b:
            self._close_properties(merged, a, b, path=path)
            self._close_properties(merged, b, a, path=path)
        merged.pop("$defs", None)
        merged.pop("definitions", None)
        return merged

    def _close_properties(
        self,
        merged: dict[str, Any],
        owner: Mapping[str, Any],
        other: Mapping[str, Any],
        *,
        path: str,
    ) -> None:
        """Apply ``owner``'s additionalProperties to the properties only ``other`` declares.

        In ``allOf``, ``additionalProperties: false`` in one branch forbids the
        properties another branch adds: the classic surprise, kept faithful here.
        """
        extra = owner.get("additionalProperties", True)
        if extra is True:
            return
        own = owner.get("properties") or {}
        properties = dict(merged.get("properties") or {})
        for name in [n for n in (other.get("properties") or {}) if n not in own]:
            if extra is False:
                properties.pop(name, None)
                if name in (merged.get("required") or ()):
                    raise self.error(
                        f"property '{name}' is required but another allOf branch forbids it "
                        "with additionalProperties: false",
                        path,
                    )
            else:
                properties[name] = {"allOf": [properties[name], extra]}
        merged["properties"] = properties


def _merge_types(doc: SchemaDocument, a: Any, b: Any, path: str) -> list[str]:
    left = [a] if isinstance(a, str) else list(a)
    right = [b] if isinstance(b, str) else list(b)
    common = [t for t in left if t in right]
    if ("integer" in left and "number" in right) or ("number" in left and "integer" in right):
        common.append("integer")
    if not common:
        raise doc.error(f"allOf branches share no type ({left} and {right})", path)
    return list(dict.fromkeys(common))


def _merge_enums(doc: SchemaDocument, a: Any, b: Any, path: str) -> list[Any]:
    right = {json.dumps(v, sort_keys=True) for v in b}
    common = [v for v in a if json.dumps(v, sort_keys=True) in right]
    if not common:
        raise doc.error("allOf branches share no enum value", path)
    return common


def _merge_const(doc: SchemaDocument, a: Any, b: Any, path: str) -> Any:
    raise doc.error(f"allOf branches require different consts ({a!r} and {b!r})", path)


def _merge_identical(keyword: str) -> Callable[[SchemaDocument, Any, Any, str], Any]:
    def merge(doc: SchemaDocument, a: Any, b: Any, path: str) -> Any:
        raise doc.error(f"allOf branches use two different '{keyword}'s ({a!r} and {b!r})", path)

    return merge


def _merge_properties(doc: SchemaDocument, a: Any, b: Any, path: str) -> dict[str, Any]:
    merged = dict(a)
    for name, sub in b.items():
        merged[name] = {"allOf": [merged[name], sub]} if name in merged else sub
    return merged


def _merge_required(doc: SchemaDocument, a: Any, b: Any, path: str) -> list[str]:
    return list(dict.fromkeys([*a, *b]))


def _merge_dependent(doc: SchemaDocument, a: Any, b: Any, path: str) -> dict[str, list[str]]:
    merged = {name: list(needs) for name, needs in a.items()}
    for name, needs in b.items():
        merged[name] = list(dict.fromkeys([*merged.get(name, []), *needs]))
    return merged


def _merge_subschema(doc: SchemaDocument, a: Any, b: Any, path: str) -> Any:
    if a is False or b is False:
        return False
    if a is True:
        return b
    return a if b is True else {"allOf": [a, b]}


def _merge_multiple(doc: SchemaDocument, a: Any, b: Any, path: str) -> int | float:
    left, right = Fraction(str(a)), Fraction(str(b))
    lcm = Fraction(
        math.lcm(left.numerator, right.numerator), math.gcd(left.denominator, right.denominator)
    )
    return int(lcm) if lcm.denominator == 1 else float(lcm)


def _merge_any_of(doc: SchemaDocument, a: Any, b: Any, path: str) -> list[Any]:
    """allOf of two anyOfs is the anyOf of every pair; refuse when that explodes."""
    if len(a) * len(b) > 64:
        raise doc.error("allOf of two large anyOfs is too big to expand", path)
    return [{"allOf": [x, y]} for x, y in product(a, b)]


def _bound(pick: Callable[[Any, Any], Any]) -> Callable[[SchemaDocument, Any, Any, str], Any]:
    return lambda doc, a, b, path: pick(a, b)


_MERGE_RULES: dict[str, Callable[[SchemaDocument, Any, Any, str], Any]] = {
    "type": _merge_types,
    "enum": _merge_enums,
    "const": _merge_const,
    "format": _merge_identical("format"),
    "pattern": _merge_identical("pattern"),
    "oneOf": _merge_identical("oneOf"),
    "properties": _merge_properties,
    "required": _merge_required,
    "dependentRequired": _merge_dependent,
    "items": _merge_subschema,
    "additionalProperties": _merge_subschema,
    "multipleOf": _merge_multiple,
    "anyOf": _merge_any_of,
    "uniqueItems": _bound(lambda a, b: a or b),
    "nullable": _bound(lambda a, b: a and b),
    **{key: _bound(max) for key in ("minimum", "exclusiveMinimum", "minLength", "minItems")},
    **{key: _bound(min) for key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems")},
    "minProperties": _bound(max),
    "maxProperties": _bound(min),
}


_SIZE_LIMITS = (
    ("enum", MAX_ENUM_VALUES, "values"),
    ("properties", MAX_PROPERTIES, "properties"),
    ("required", MAX_PROPERTIES, "required names"),
)
_MINIMUM_LIMITS = (
    ("minLength", MAX_MIN_LENGTH),
    ("minItems", MAX_MIN_ITEMS),
    ("minProperties", MAX_MIN_ITEMS),
)


def check_schema_sizes(
    schema: Any, *, tool: str, source: str | None = None, root: str = ROOT_PATH
) -> None:
    """Refuse a schema over ``generator.limits``' sizes, naming the JSON path.

    Seeding's cost grows with an enum's length and with the values a minimum
    demands; above these limits a tool is refused, not seeded for minutes.
    """
    stack: list[tuple[Any, str]] = [(schema, root)]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, Mapping):
            continue
        for keyword, limit, what in _SIZE_LIMITS:
            value = node.get(keyword)
            if isinstance(value, Sized) and len(value) > limit:
                raise UnsupportedSchemaError(
                    f"{keyword} has {len(value):,} {what}; the limit is {limit:,}",
                    path=path,
                    tool=tool,
                    source=source,
                )
        for keyword, limit in _MINIMUM_LIMITS:
            minimum = node.get(keyword)
            if isinstance(minimum, int | float) and minimum > limit:
                raise UnsupportedSchemaError(
                    f"{keyword} is {minimum:,}; the limit is {limit:,}",
                    path=path,
                    tool=tool,
                    source=source,
                )
        _check_patterns(node, path, tool=tool, source=source)
        stack.extend(_located_subschemas(node, path))


def _check_patterns(schema: Mapping[str, Any], path: str, *, tool: str, source: str | None) -> None:
    """Refuse a ``pattern`` or ``patternProperties`` name that ``data_pattern`` refuses."""
    found = [(schema.get("pattern"), f"{path}.pattern")]
    if isinstance(schema.get("patternProperties"), Mapping):
        found += [(name, f"{path}.patternProperties") for name in schema["patternProperties"]]
    for pattern, where in found:
        if not isinstance(pattern, str):
            continue
        try:
            data_pattern(pattern)
        except UnusablePattern as unusable:
            raise UnsupportedSchemaError(
                str(unusable), path=where, tool=tool, source=source
            ) from None


def _located_subschemas(schema: Mapping[str, Any], path: str) -> list[tuple[Any, str]]:
    """The direct subschemas of ``schema`` with their dotted paths."""
    found: list[tuple[Any, str]] = []
    for key in SCHEMA_MAPS:
        if isinstance(schema.get(key), Mapping):
            found += [(sub, f"{path}.{key}.{name}") for name, sub in schema[key].items()]
    for key in (*SCHEMA_LISTS, *SCHEMA_VALUES):
        value = schema.get(key)
        if isinstance(value, list):
            found += [(sub, f"{path}.{key}.{index}") for index, sub in enumerate(value)]
        elif value is not None:
            found.append((value, f"{path}.{key}"))
    return found


def iter_subschemas(schema: Any) -> Iterator[Mapping[str, Any]]:
    """Every schema object in a document, the root first, ``$defs`` included."""
    if not isinstance(schema, Mapping):
        return
    yield schema
    children: list[Any] = []
    _map_subschemas(schema, children.append)
    for child in children:
        if isinstance(child, list):  # draft-4 tuple-form items
            for item in child:
                yield from iter_subschemas(item)
        else:
            yield from iter_subschemas(child)


def _map_subschemas(schema: Mapping[str, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
    out = dict(schema)
    for key in SCHEMA_MAPS:
        if isinstance(out.get(key), Mapping):
            out[key] = {name: fn(sub) for name, sub in out[key].items()}
    for key in SCHEMA_LISTS:
        if isinstance(out.get(key), Sequence):
            out[key] = [fn(sub) for sub in out[key]]
    for key in SCHEMA_VALUES:
        if key in out:
            out[key] = fn(out[key])
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------
# Plain-Python validity checks: jsonschema's verdict, several times faster.
#
# jsonschema builds a validator object per subschema on every descent, which makes
# checking one small argument object cost tens of microseconds. ``fast_check``
# compiles a schema once into nested closures giving exactly ``is_valid``'s answer
# for Draft 2020-12 documents built from the keywords below, with local ``#/...``
# references; anything else (``$id``, anchors, ``unevaluated*``, remote refs, an
# unexpected keyword value) gets no fast check and jsonschema decides as before.
# Messages still come from jsonschema: the fast check only answers "valid?".

_VALID: Check = lambda _value: True  # noqa: E731
_INVALID: Check = lambda _value: False  # noqa: E731
# Keys that move where a $ref points (or change the dialect) below the root.
_SCOPE_KEYS = frozenset(
    {"$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveRef", "$recursiveAnchor"}
)


class _Unsupported(Exception):
    """A schema the plain-Python checks do not cover; jsonschema validates it instead."""


def fast_check(validator: Validator, *, root: Any) -> Check | None:
    """A predicate equal to ``validator.is_valid``, or None when there is none.

    ``root`` is the document the validator's ``$ref``s resolve in: its own schema,
    or the root it was ``evolve``d from.
    """
    if type(validator) not in (_BOUNDED_2020, Draft202012Validator):
        return None
    try:
        if _moves_scope(root, top=True) or _moves_scope(validator.schema, top=True):
            return None
        checker = validator.format_checker  # type: ignore[attr-defined]
        return _CheckCompiler(root, checker).node(validator.schema)
    except Exception:  # anything unusual: jsonschema keeps deciding, as before
        return None


def _moves_scope(value: Any, *, top: bool = False) -> bool:
    """Whether a document holds an ``$id``, an anchor, or a nested ``$schema``."""
    if isinstance(value, Mapping):
        if _SCOPE_KEYS.intersection(value) or (not top and "$schema" in value):
            return True
        return any(_moves_scope(child) for child in value.values())
    if isinstance(value, list | tuple):
        return any(_moves_scope(child) for child in value)
    return False


def validity_check(validator: Validator, *, root: Any) -> Check:
    """``validator.is_valid``, through its plain-Python twin where it has one."""
    return fast_check(validator, root=root) or validator.is_valid


def _is_number(value: Any) -> bool:
    kind = type(value)
    if kind is int or kind is float:
        return True
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPE_TESTS: dict[str, Check] = {
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "integer": _is_integer,
    "null": lambda value: value is None,
    "number": _is_number,
    "object": lambda value: isinstance(value, dict),
    "string": lambda value: isinstance(value, str),
}


def _all(checks: Sequence[Check]) -> Check:
    if not checks:
        return _VALID
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def check(value: Any) -> bool:
        for each in frozen:  # noqa: SIM110 - a loop beats all() on this hot path
            if not each(value):
                return False
        return True

    return check


def _numeric(value: Any) -> Any:
    """A keyword's number, refusing what jsonschema would choke on mid-validation."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Unsupported(f"not a number: {value!r}")
    return value


def _schema_list(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise _Unsupported("expected a list of schemas")
    return list(value)


class _CheckCompiler:
    """Compiles one document's subschemas into predicates, each subschema once."""

    def __init__(self, root: Any, format_checker: Any) -> None:
        self.root = root
        self.format_checker = format_checker
        self.memo: dict[int, Check] = {}
        self.keep: list[Any] = []  # compiled subschemas stay alive, so their ids do too

    def node(self, schema: Any) -> Check:
        if schema is True:
            return _VALID
        if schema is False:
            return _INVALID
        if not isinstance(schema, Mapping):
            raise _Unsupported(f"not a schema: {schema!r}")
        known = self.memo.get(id(schema))
        if known is not None:
            return known
        compiled: list[Check] = []
        # A $ref cycle reaches this schema again while it compiles: point it here.
        self.memo[id(schema)] = lambda value: compiled[0](value)
        self.keep.append(schema)
        check = self._build(schema)
        compiled.append(check)
        self.memo[id(schema)] = check
        return check

    def _build(self, schema: Mapping[str, Any]) -> Check:
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword not in _KEYWORDS:
                continue
            build = _BUILDERS.get(keyword)
            if build is None:
                raise _Unsupported(f"keyword {keyword}")
            check = build(self, value, schema)
            if check is not None:
                checks.append(check)
        return _all(checks)

    def reference(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#") or "%" in ref:
            raise _Unsupported(f"$ref {ref!r}")
        fragment = ref[1:]
        if fragment and not fragment.startswith("/"):
            raise _Unsupported(f"$ref {ref!r}")
        target = self.root
        for segment in fragment.split("/")[1:]:
            if isinstance(target, list):
                target = target[int(segment)]
            elif isinstance(target, Mapping):
                target = target[segment.replace("~1", "/").replace("~0", "~")]
            else:
                raise _Unsupported(f"$ref {ref!r}")
        return self.node(target)


def _type(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not names:
        raise _Unsupported("type")
    tests = tuple(_TYPE_TESTS[name] for name in names)
    if len(tests) == 1:
        return tests[0]
    return lambda instance: any(test(instance) for test in tests)


def _enum(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    choices = _schema_list(value)
    if choices and all(type(choice) is str for choice in choices):
        texts = frozenset(choices)
        return lambda instance: isinstance(instance, str) and instance in texts
    return lambda instance: any(_equal(choice, instance) for choice in choices)


def _const(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    return lambda instance: _equal(instance, value)


def _format(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check | None:
    if not isinstance(value, str):
        raise _Unsupported("format")
    checker = compiler.format_checker
    if checker is None:
        return None
    checkers = checker.checkers

    def check(instance: Any) -> bool:
        entry = checkers.get(value)
        if entry is None:
            return True
        func, raises = entry
        try:
            return bool(func(instance))
        except raises:
            return False

    return check


def _limit(compare: Callable[[Any, Any], bool]) -> Callable[..., Check]:
    def build(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
        limit = _numeric(value)
        return lambda instance: not (_is_number(instance) and compare(instance, limit))

    return build


def _multiple_of(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    step = _numeric(value)
    if step <= 0:
        raise _Unsupported("multipleOf")

    def check(instance: Any) -> bool:
        if not _is_number(instance):
            return True
        if isinstance(step, float):
            quotient = instance / step
            try:
                failed = int(quotient) != quotient
            except OverflowError:
                failed = (Fraction(instance) / Fraction(step)).denominator != 1
        else:
            failed = instance % step
        return not failed

    return check


def _length(kind: type[Sized], compare: Callable[[int, Any], bool]) -> Callable[..., Check]:
    def build(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
        limit = _numeric(value)
        return lambda instance: not (isinstance(instance, kind) and compare(len(instance), limit))

    return build


def _pattern(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    if not isinstance(value, str):
        raise _Unsupported("pattern")
    try:
        search = data_pattern(value).search
    except UnusablePattern:
        raise _Unsupported("pattern") from None

    def check(instance: Any) -> bool:
        try:
            return not isinstance(instance, str) or search(instance)
        except SlowPattern:
            return False  # jsonschema's message says why

    return check


def _unique_items(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check | None:
    if not value:
        return None
    return lambda instance: not isinstance(instance, list) or _uniq(instance)


def _items(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check | None:
    if value is True:
        return None
    if value is False:
        return lambda instance: not isinstance(instance, list) or not instance
    item = compiler.node(value)

    def check(instance: Any) -> bool:
        if not isinstance(instance, list):
            return True
        for each in instance:  # noqa: SIM110
            if not item(each):
                return False
        return True

    return check


def _contains(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    item = compiler.node(value)

    def check(instance: Any) -> bool:
        if not isinstance(instance, list):
            return True
        matches = 0
        least = schema.get("minContains", 1)
        most = schema.get("maxContains", len(instance))
        for each in instance:
            if item(each):
                matches += 1
                if matches > most:
                    return False
        return matches >= least

    return check


def _properties(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    if not isinstance(value, Mapping):
        raise _Unsupported("properties")
    pairs = tuple((name, compiler.node(sub)) for name, sub in value.items())

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        for name, sub in pairs:  # noqa: SIM110
            if name in instance and not sub(instance[name]):
                return False
        return True

    return check


def _required(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    names = _schema_list(value)

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        for name in names:  # noqa: SIM110
            if name not in instance:
                return False
        return True

    return check


def _additional(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check | None:
    declared = schema.get("properties", {})
    if not isinstance(declared, Mapping):
        raise _Unsupported("properties")
    matches = _names_matcher(schema.get("patternProperties", {}))
    if isinstance(value, dict):
        extra = compiler.node(value)
    elif not value:
        extra = _INVALID
    else:
        return None

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        try:
            for name in instance:
                if name in declared or (matches is not None and matches(name)):
                    continue
                if not extra(instance[name]):
                    return False
        except SlowPattern:
            return False
        return True

    return check


def _names_matcher(patterns: Any) -> Check | None:
    """Whether a name matches one of ``patterns`` (None for no patterns), each in time:
    ``SlowPattern`` when one is too slow (the checks call that invalid; jsonschema's
    message says why)."""
    if not isinstance(patterns, Mapping):
        raise _Unsupported("patternProperties")
    if not patterns:
        return None
    try:
        compiled = [data_pattern(pattern) for pattern in patterns]
    except UnusablePattern:
        raise _Unsupported("patternProperties") from None

    return lambda name: any(pattern.search(name) for pattern in compiled)


def _pattern_properties(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    if not isinstance(value, Mapping):
        raise _Unsupported("patternProperties")
    pairs = tuple(
        (_names_matcher({pattern: sub}), compiler.node(sub)) for pattern, sub in value.items()
    )

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        try:
            for search, sub in pairs:
                for name, child in instance.items():
                    if search(name) and not sub(child):  # type: ignore[misc]
                        return False
        except SlowPattern:
            return False
        return True

    return check


def _property_names(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    name_check = compiler.node(value)
    return lambda instance: not isinstance(instance, dict) or all(map(name_check, instance))


def _dependent_required(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    if not isinstance(value, Mapping):
        raise _Unsupported("dependentRequired")
    pairs = tuple((name, _schema_list(needs)) for name, needs in value.items())

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        for name, needs in pairs:
            if name in instance:
                for each in needs:
                    if each not in instance:
                        return False
        return True

    return check


def _dependent_schemas(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    if not isinstance(value, Mapping):
        raise _Unsupported("dependentSchemas")
    pairs = tuple((name, compiler.node(sub)) for name, sub in value.items())
    return lambda instance: (
        not isinstance(instance, dict)
        or all(sub(instance) for name, sub in pairs if name in instance)
    )


def _count(compare: Callable[[int, Any], bool]) -> Callable[..., Check]:
    def build(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
        limit = _numeric(value)
        return lambda instance: not (isinstance(instance, dict) and compare(len(instance), limit))

    return build


def _all_of(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    return _all([compiler.node(sub) for sub in _schema_list(value)])


def _any_of(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    branches = tuple(compiler.node(sub) for sub in _schema_list(value))
    return lambda instance: any(branch(instance) for branch in branches)


def _one_of(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    branches = tuple(compiler.node(sub) for sub in _schema_list(value))
    return lambda instance: sum(1 for branch in branches if branch(instance)) == 1


def _not(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    inner = compiler.node(value)
    return lambda instance: not inner(instance)


def _if(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    condition = compiler.node(value)
    then = compiler.node(schema["then"]) if "then" in schema else _VALID
    otherwise = compiler.node(schema["else"]) if "else" in schema else _VALID
    return lambda instance: then(instance) if condition(instance) else otherwise(instance)


def _ref(compiler: _CheckCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    target = compiler.reference(value)
    return lambda instance: target(instance)


def _equal(one: Any, two: Any) -> bool:
    return bool(_jsonschema_equal(one, two))


def _uniq(items: list[Any]) -> bool:
    return bool(_jsonschema_uniq(items))


_KEYWORDS = frozenset(Draft202012Validator.VALIDATORS)
_BUILDERS: dict[str, Callable[[_CheckCompiler, Any, Mapping[str, Any]], Check | None]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "format": _format,
    "minimum": _limit(lambda instance, limit: instance < limit),
    "maximum": _limit(lambda instance, limit: instance > limit),
    "exclusiveMinimum": _limit(lambda instance, limit: instance <= limit),
    "exclusiveMaximum": _limit(lambda instance, limit: instance >= limit),
    "multipleOf": _multiple_of,
    "minLength": _length(str, lambda size, limit: size < limit),
    "maxLength": _length(str, lambda size, limit: size > limit),
    "pattern": _pattern,
    "minItems": _length(list, lambda size, limit: size < limit),
    "maxItems": _length(list, lambda size, limit: size > limit),
    "uniqueItems": _unique_items,
    "items": _items,
    "contains": _contains,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional,
    "patternProperties": _pattern_properties,
    "propertyNames": _property_names,
    "dependentRequired": _dependent_required,
    "dependentSchemas": _dependent_schemas,
    "minProperties": _count(lambda size, limit: size < limit),
    "maxProperties": _count(lambda size, limit: size > limit),
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
    "if": _if,
    "$ref": _ref,
}
