"""OpenAPI 3.0 / 3.1 documents -> one OpenAI function object per operation.

Each operation (a method under ``paths``) becomes a tool:

* name: its ``operationId``, else method and path (``get /pets/{petId}``), which
  ``parse_tools`` fits to OpenAI's name rule (``get_pets_petId``);
* description: its summary and description, else method and path;
* parameters: one object schema holding its path, query and header parameters
  (path-level ones first; an operation's own override them by name and
  location) and its JSON request body (``application/json``, ``*/json``,
  ``*+json``, else ``*/*``). An object body's properties are merged in, with
  its required ones required; any other body becomes a ``body`` property. A body
  property whose name a parameter already uses is renamed ``body_<name>``.

The first 2xx response (200, 201, ..., then 2XX) with a JSON body declares the
tool's result schema, converted the same way except that ``readOnly`` properties
stay (a response holds them) and ``writeOnly`` ones go.

Cookie parameters are left out, and so are headers named Accept, Content-Type
or Authorization, which OpenAPI says to ignore. An operation whose required
body has no JSON media type (file uploads, forms) is refused with a hint to
exclude it.

Schemas are rewritten into plain JSON Schema 2020-12: local ``$ref``s are
inlined, except a recursive one, which becomes a ``$ref`` into the tool's own
``$defs``; 3.0's ``nullable`` becomes a type list (or ``anyOf`` with null) and
its boolean ``exclusiveMinimum``/``exclusiveMaximum`` numbers; ``readOnly``
properties are dropped (a request never sends them); ``example``, ``xml``,
``discriminator``, ``externalDocs``, ``readOnly``/``writeOnly`` and ``x-``
extensions are dropped. Error paths are dotted document locations such as
``paths./pets.post.requestBody.content.application/json.schema``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from callforge.generator.errors import InputError, UnsupportedSchemaError
from callforge.generator.importers.selection import describe_patterns, selected
from callforge.generator.schema import (
    SCHEMA_LISTS,
    SCHEMA_MAPS,
    SCHEMA_VALUES,
    SchemaDocument,
    schema_types,
)
from callforge.generator.tools import OUTPUT_SCHEMA_KEY, function_name

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_DROPPED_KEYWORDS = frozenset(
    {"example", "xml", "discriminator", "externalDocs", "readOnly", "writeOnly", "nullable"}
)


@dataclass(frozen=True)
class Operation:
    """One method of one path, with the path item it inherits parameters from."""

    method: str
    path: str
    item: Mapping[str, Any]
    spec: Mapping[str, Any]

    @property
    def name(self) -> str:
        operation_id = self.spec.get("operationId")
        if isinstance(operation_id, str) and operation_id.strip():
            return operation_id
        return f"{self.method} {self.path}"

    @property
    def location(self) -> str:
        return f"paths.{self.path}.{self.method}"

    @property
    def tags(self) -> list[str]:
        return [tag for tag in self.spec.get("tags") or () if isinstance(tag, str)]

    def keys(self) -> list[str]:
        """What include/exclude patterns are matched against."""
        return [self.name, function_name(self.name), self.path, *self.tags]


def openapi_functions(
    document: Any,
    *,
    source: str,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """One OpenAI function object per operation the include/exclude patterns keep."""
    _check_version(document, source)
    operations = list(operations_of(document, source))
    if not operations:
        raise InputError("no operations found under 'paths'", source=source)
    kept = [op for op in operations if selected(op.keys(), include, exclude)]
    if not kept:
        tags = sorted({tag for op in operations for tag in op.tags})
        raise InputError(
            f"no operation matches the patterns ({describe_patterns(include, exclude)}); "
            f"tags: {', '.join(tags) or 'none'}; "
            f"paths: {', '.join(dict.fromkeys(op.path for op in operations))}",
            source=source,
        )
    return [_Converter(document, source, op).function() for op in kept]


def _check_version(document: Any, source: str) -> None:
    if not isinstance(document, Mapping):
        raise InputError("an OpenAPI document must be an object", source=source)
    if "openapi" not in document and "swagger" in document:
        raise InputError(
            "Swagger 2.0 is not supported; convert to OpenAPI 3 "
            "(e.g. with swagger2openapi or editor.swagger.io)",
            source=source,
        )
    if "openapi" not in document:
        raise InputError("not an OpenAPI document (it has no 'openapi' version)", source=source)
    version = str(document["openapi"])
    if not version.startswith("3."):
        raise InputError(
            f"unsupported OpenAPI version {version!r}; expected 3.0 or 3.1", source=source
        )


def operations_of(document: Mapping[str, Any], source: str) -> Iterator[Operation]:
    """Every operation under ``paths``, in document order."""
    paths = document.get("paths") or {}
    if not isinstance(paths, Mapping):
        raise InputError("'paths' must be an object", source=source)
    for path, item in paths.items():
        if isinstance(item, Mapping) and "$ref" in item:
            item = _Pointer(document, source, tool=None).deref(item, f"paths.{path}")[0]
        if not isinstance(item, Mapping):
            raise InputError(f"at paths.{path}: a path item must be an object", source=source)
        for method in HTTP_METHODS:
            if isinstance(item.get(method), Mapping):
                yield Operation(method, str(path), item, item[method])


class _Pointer:
    """Local ``#/...`` references into the OpenAPI document, with errors naming the tool."""

    def __init__(self, document: Mapping[str, Any], source: str, tool: str | None) -> None:
        self.document = document
        self.source = source
        self.tool = tool

    def error(self, message: str, path: str) -> InputError:
        return InputError(f"at {path}: {message}", source=self.source, tool=self.tool)

    def target(self, ref: Any, path: str) -> Any:
        """What a ``$ref`` points at in this document."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise self.error(
                f"external $ref {ref!r} is not supported; bundle the document into one file "
                "first (e.g. with 'redocly bundle')",
                path,
            )
        node: Any = self.document
        for raw in ref[1:].split("/")[1:]:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise self.error(f"$ref '{ref}' points at nothing in this document", path)
        return node

    def deref(self, node: Any, path: str) -> tuple[Any, str]:
        """Follow a chain of ``$ref`` (parameters, request bodies...) to the object itself."""
        seen: list[str] = []
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise self.error(f"$ref '{ref}' refers to itself", path)
            seen.append(ref)
            node = self.target(ref, path)
            path = ref_location(ref)
        return node, path


def ref_location(ref: str) -> str:
    """``#/components/schemas/Pet`` as an error path: ``components.schemas.Pet``."""
    parts = [unquote(p).replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/")[1:]]
    return ".".join(parts) or "#"


@dataclass(frozen=True)
class Route:
    """Where one operation's arguments go in an HTTP request (``generator.execution.http``).

    ``locations`` maps each argument to ``(where, name)``: ``where`` is ``path``,
    ``query``, ``header`` or ``body`` (a property of a JSON object body), ``name`` the
    name the document gives it there (a body property renamed ``body_x`` is ``x``);
    ``body_value`` is the argument that *is* the whole body, when the body is no object.
    """

    method: str
    path: str
    locations: Mapping[str, tuple[str, str]]
    body_value: str | None = None


def operation_routes(document: Any, *, source: str) -> dict[str, Route]:
    """Every operation's route, by its tool name (as ``openapi_functions`` names it)."""
    _check_version(document, source)
    routes: dict[str, Route] = {}
    for operation in operations_of(document, source):
        converter = _Converter(document, source, operation)
        function = converter.function()
        locations: dict[str, tuple[str, str]] = {}
        body_value = None
        for argument, origin in converter.origins.items():
            if origin != "the request body":
                locations[argument] = (origin, argument)
            elif argument in converter.body_names:
                locations[argument] = ("body", converter.body_names[argument])
            else:
                body_value = argument
        route = Route(operation.method, operation.path, locations, body_value)
        routes[function["name"]] = routes[function_name(function["name"])] = route
    return routes


class _Converter:
    """Builds the function object of one operation."""

    def __init__(
        self,
        document: Mapping[str, Any],
        source: str,
        operation: Operation,
        *,
        response: bool = False,
    ) -> None:
        self.operation = operation
        self.document = document
        # A request never sends readOnly properties; a response never holds writeOnly ones.
        self.one_way = "writeOnly" if response else "readOnly"
        self.refs = _Pointer(document, source, tool=operation.name)
        self.defs: dict[str, Any] = {}
        self.def_keys: dict[str, str] = {}  # recursive $ref -> its key in $defs
        self.properties: dict[str, Any] = {}
        self.required: list[str] = []
        self.origins: dict[str, str] = {}  # property -> where it came from, for collisions
        self.body_names: dict[str, str] = {}  # argument -> its property in the request body

    def function(self) -> dict[str, Any]:
        self._parameters()
        self._request_body()
        parameters: dict[str, Any] = {"type": "object", "properties": self.properties}
        if self.required:
            parameters["required"] = list(dict.fromkeys(self.required))
        self._finish_defs()
        if self.defs:
            parameters["$defs"] = self.defs
        function = {
            "name": self.operation.name,
            "description": self._description(),
            "parameters": parameters,
        }
        output_schema = _Converter(
            self.document, self.refs.source, self.operation, response=True
        ).response_schema()
        if output_schema is not None:
            function[OUTPUT_SCHEMA_KEY] = output_schema
        return function

    def response_schema(self) -> Any:
        """The JSON body schema of the operation's first 2xx response, or None."""
        responses = self.operation.spec.get("responses")
        if not isinstance(responses, Mapping):
            return None
        codes = sorted(
            (str(code) for code in responses if str(code).startswith("2")), key=_code_order
        )
        for code in codes:
            where = f"{self.operation.location}.responses.{code}"
            response, path = self.refs.deref(responses[code], where)
            content = response.get("content") if isinstance(response, Mapping) else None
            if not isinstance(content, Mapping) or not content:
                continue
            media = json_media_type(content)
            entry = content.get(media) if media is not None else None
            if not isinstance(entry, Mapping) or "schema" not in entry:
                continue
            schema = self.schema(entry["schema"], f"{path}.content.{media}.schema")
            self._finish_defs()
            if self.defs and isinstance(schema, dict):
                schema = {**schema, "$defs": self.defs}
            return schema
        return None

    def _description(self) -> str:
        spec = self.operation.spec
        texts = [spec.get(key) for key in ("summary", "description")]
        parts = [t.strip() for t in texts if isinstance(t, str) and t.strip()]
        if len(parts) == 2 and parts[1].startswith(parts[0]):
            parts = parts[1:]
        return "\n\n".join(parts) or f"{self.operation.method.upper()} {self.operation.path}"

    # -- parameters ---------------------------------------------------------------

    def _parameters(self) -> None:
        op = self.operation
        merged: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
        sources = (
            (f"paths.{op.path}.parameters", op.item.get("parameters")),
            (f"{op.location}.parameters", op.spec.get("parameters")),
        )
        for where, parameters in sources:
            for index, raw in enumerate(parameters or ()):
                parameter, path = self.refs.deref(raw, f"{where}.{index}")
                name, location = self._identify(parameter, path)
                merged[(name, location)] = (parameter, path)
        for (name, location), (parameter, path) in merged.items():
            if location == "cookie" or (location == "header" and name.lower() in _IGNORED_HEADERS):
                continue
            if name in self.properties:
                raise self.refs.error(
                    f"parameters '{name}' in {self.origins[name]} and in {location} share a "
                    "name; a tool's arguments need distinct names",
                    path,
                )
            self._add(name, self._parameter_schema(parameter, path), location)
            if location == "path" or parameter.get("required") is True:
                self.required.append(name)

    def _identify(self, parameter: Any, path: str) -> tuple[str, str]:
        if not isinstance(parameter, Mapping):
            raise self.refs.error("a parameter must be an object", path)
        name, location = parameter.get("name"), parameter.get("in")
        if not isinstance(name, str) or not name:
            raise self.refs.error('a parameter has no "name"', path)
        if location not in ("path", "query", "header", "cookie"):
            raise self.refs.error(
                f"parameter '{name}' has \"in\": {location!r}; expected path, query, header "
                "or cookie",
                path,
            )
        return name, location

    def _parameter_schema(self, parameter: Mapping[str, Any], path: str) -> Any:
        if "schema" in parameter:
            schema = self.schema(parameter["schema"], f"{path}.schema")
        elif isinstance(parameter.get("content"), Mapping) and parameter["content"]:
            media, entry = next(iter(parameter["content"].items()))
            raw = entry.get("schema", {}) if isinstance(entry, Mapping) else {}
            schema = self.schema(raw, f"{path}.content.{media}.schema")
        else:
            schema = {"type": "string"}
        description = parameter.get("description")
        if isinstance(description, str) and description.strip() and isinstance(schema, dict):
            schema = {**schema, "description": description.strip()}
        if parameter.get("deprecated") is True and isinstance(schema, dict):
            schema = {**schema, "deprecated": True}
        return schema

    def _add(self, name: str, schema: Any, origin: str) -> None:
        self.properties[name] = schema
        self.origins[name] = origin

    # -- request body -------------------------------------------------------------

    def _request_body(self) -> None:
        raw = self.operation.spec.get("requestBody")
        if raw is None:
            return
        body, path = self.refs.deref(raw, f"{self.operation.location}.requestBody")
        if not isinstance(body, Mapping):
            raise self.refs.error("a request body must be an object", path)
        content: Mapping[str, Any] = body.get("content") or {}
        if not isinstance(content, Mapping):
            raise self.refs.error('a request body\'s "content" must be an object', path)
        media = json_media_type(content)
        if media is None:
            if body.get("required") is True:
                raise self.refs.error(
                    "the required request body has no JSON media type "
                    f"({', '.join(map(str, content)) or 'no content'}); leave this operation "
                    "out with an exclude pattern",
                    path,
                )
            return
        entry = content[media] if isinstance(content[media], Mapping) else {}
        where = f"{path}.content.{media}.schema"
        schema = self.schema(entry.get("schema", {}), where)
        flat = self._flattened(schema, where)
        if flat is not None and _is_object(flat):
            self._merge_object(flat, where)
        else:
            self._body_property(schema, body, where)

    def _flattened(self, schema: Any, path: str) -> dict[str, Any] | None:
        """The body schema with top-level ``allOf`` merged, to see whether it is an object."""
        if not isinstance(schema, Mapping):
            return None
        if "allOf" not in schema:
            return dict(schema)
        try:
            merged, _ = SchemaDocument({"$defs": self.defs}).resolve(schema, path=path)
        except UnsupportedSchemaError:
            return None
        return merged

    def _merge_object(self, schema: Mapping[str, Any], path: str) -> None:
        renamed: dict[str, str] = {}
        for name, sub in (schema.get("properties") or {}).items():
            key = name
            if key in self.properties:
                key = f"body_{name}"
                if key in self.properties:
                    raise self.refs.error(
                        f"body property '{name}' collides with parameter '{name}' and "
                        f"'{key}' is taken too",
                        path,
                    )
            renamed[name] = key
            self.body_names[key] = name
            self._add(key, sub, "the request body")
        self.required += [renamed.get(name, name) for name in schema.get("required") or ()]

    def _body_property(self, schema: Any, body: Mapping[str, Any], path: str) -> None:
        if "body" in self.properties:
            raise self.refs.error(
                "the request body needs the argument name 'body', which a parameter uses", path
            )
        description = body.get("description")
        if isinstance(description, str) and description.strip() and isinstance(schema, dict):
            schema = {"description": description.strip(), **schema}
        self._add("body", schema, "the request body")
        if body.get("required") is True:
            self.required.append("body")

    # -- schemas ------------------------------------------------------------------

    def schema(self, node: Any, path: str, stack: tuple[str, ...] = ()) -> Any:
        """An OpenAPI Schema Object rewritten as JSON Schema 2020-12, refs inlined."""
        if isinstance(node, bool):
            return node
        if not isinstance(node, Mapping):
            raise self.refs.error(f"expected a schema object, got {type(node).__name__}", path)
        if "$ref" in node:
            return self._ref(node, path, stack)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED_KEYWORDS or key.startswith("x-"):
                continue
            out[key] = self._keyword(key, value, f"{path}.{key}", stack)
        if isinstance(node.get("properties"), Mapping):
            self._drop_one_way(node["properties"], out, path)
        _exclusive_bounds(out)
        return _nullable(out) if node.get("nullable") is True else out

    def _keyword(self, key: str, value: Any, path: str, stack: tuple[str, ...]) -> Any:
        if key in SCHEMA_MAPS and isinstance(value, Mapping):
            return {name: self.schema(sub, f"{path}.{name}", stack) for name, sub in value.items()}
        if key in SCHEMA_LISTS and isinstance(value, list):
            return [self.schema(sub, f"{path}.{i}", stack) for i, sub in enumerate(value)]
        if key in SCHEMA_VALUES and isinstance(value, list):  # draft-4 tuple items
            return [self.schema(sub, f"{path}.{i}", stack) for i, sub in enumerate(value)]
        if key in SCHEMA_VALUES:
            return self.schema(value, path, stack)
        return value

    def _ref(self, node: Mapping[str, Any], path: str, stack: tuple[str, ...]) -> Any:
        ref = node["$ref"]
        if ref in stack:
            target: Any = {"$ref": f"#/$defs/{self._def_key(ref)}"}
        else:
            raw = self.refs.target(ref, path)
            target = self.schema(raw, ref_location(ref), (*stack, ref))
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if not siblings:
            return target
        extra = self.schema({k: v for k, v in siblings.items() if k != "nullable"}, path, stack)
        merged = {**target, **extra} if isinstance(target, dict) else {"allOf": [target], **extra}
        return _nullable(merged) if siblings.get("nullable") is True else merged

    def _def_key(self, ref: str) -> str:
        if ref not in self.def_keys:
            base = re.sub(r"[^A-Za-z0-9_.-]", "_", ref.rsplit("/", 1)[-1]) or "schema"
            key, n = base, 2
            while key in self.def_keys.values():
                key, n = f"{base}_{n}", n + 1
            self.def_keys[ref] = key
        return self.def_keys[ref]

    def _finish_defs(self) -> None:
        """Convert every recursive target once; converting one may find more."""
        while len(self.defs) < len(self.def_keys):
            ref, key = next((r, k) for r, k in self.def_keys.items() if k not in self.defs)
            self.defs[key] = {}  # placeholder: marks it as in progress
            self.defs[key] = self.schema(self.refs.target(ref, "$defs"), ref_location(ref), (ref,))

    def _drop_one_way(self, raw: Mapping[str, Any], out: dict[str, Any], path: str) -> None:
        """Leave out properties that only travel the other way (readOnly in a request)."""
        dropped = [name for name, sub in raw.items() if self._one_way(sub, path)]
        if not dropped:
            return
        out["properties"] = {n: s for n, s in out["properties"].items() if n not in dropped}
        if isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name not in dropped]
            if not out["required"]:
                del out["required"]

    def _one_way(self, sub: Any, path: str) -> bool:
        if not isinstance(sub, Mapping):
            return False
        resolved, _ = self.refs.deref(sub, path)
        return sub.get(self.one_way) is True or (
            isinstance(resolved, Mapping) and resolved.get(self.one_way) is True
        )


def _code_order(code: str) -> tuple[int, str]:
    """200, 201, ... before 2XX."""
    return (0 if code.isdigit() else 1, code)


def json_media_type(content: Mapping[str, Any]) -> str | None:
    """The request body media type to read as JSON, most specific first."""
    bases = {media: media.split(";")[0].strip().lower() for media in content}
    for accepts in (
        lambda base: base == "application/json",
        lambda base: base.endswith("/json") or base.endswith("+json"),
        lambda base: base == "*/*",
    ):
        for media, base in bases.items():
            if accepts(base):
                return media
    return None


def _is_object(schema: Mapping[str, Any]) -> bool:
    types = schema_types(schema, nullable=False)
    return types == ("object",) or (types is None and "properties" in schema)


def _exclusive_bounds(schema: dict[str, Any]) -> None:
    """3.0's ``exclusiveMinimum: true, minimum: 5`` is 2020-12's ``exclusiveMinimum: 5``."""
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(exclusive)
        if isinstance(flag, bool):
            del schema[exclusive]
            if flag and bound in schema:
                schema[exclusive] = schema.pop(bound)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Allow null as well: add it to the type list, or ``anyOf`` when there is no type."""
    types = schema_types(schema, nullable=False)
    if types is None:
        return {"anyOf": [schema, {"type": "null"}]}
    out = {**schema, "type": list(dict.fromkeys([*types, "null"]))}
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out
