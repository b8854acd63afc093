"""Python functions and Pydantic models -> OpenAI function objects.

A spec names what to import:

* ``module:function`` or ``module:Model``: one tool (``module`` a dotted name
  importable from the current directory, or a path to a ``.py`` file);
* ``module`` or ``file.py``: every public function (name not starting with
  ``_``) and every Pydantic model defined in that module, in source order.
  Functions and classes it only imports are left out.

A function's parameters schema is Pydantic's schema of its signature
(``TypeAdapter(function)``), so every parameter needs a type hint; Pydantic
models in the hints become ``$defs``. A model is a tool named after its class in
snake_case (``CreateTicket`` -> ``create_ticket``) whose fields are the
parameters. The docstring's first paragraph is the description and its
``Args:`` / ``:param:`` / NumPy entries describe the parameters (a ``Field``
description wins). Pydantic's generated ``title`` keywords are dropped. A
function's return annotation (a TypedDict, dataclass, Pydantic model, ``list[...]``
or plain type) becomes its declared result schema; ``None`` and ``Any`` declare
nothing.

Importing a module runs its code, as ``python -c "import module"`` would, so a
module is imported only when the spec names one unambiguously: a ``.py`` path,
``--format python``, or a dotted name that resolves to a module file before
anything runs. A missing data file's name (``tools.jsn``, ``schema.yaml.orig``)
never imports ``tools.py`` or a ``schema/`` package on the way to "no such file".
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import re
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, PydanticUserError, TypeAdapter

from callforge.generator.errors import InputError
from callforge.generator.importers.docstrings import parse_docstring
from callforge.generator.schema import iter_subschemas
from callforge.generator.tools import OUTPUT_SCHEMA_KEY

_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_DATA_SUFFIXES = (".json", ".jsonl", ".yaml", ".yml")


def looks_like_python(spec: str) -> bool:
    """Whether a ``--tools`` value names Python code rather than a data file.

    A ``.py`` file, ``something:object``, or a dotted name that is not an
    existing file, does not end like a data file (``tools.json``) and resolves to
    a module without running any code (``tools.jsn`` does not, even beside a
    ``tools.py``: ``tools`` is no package with a ``jsn`` in it).
    """
    module, _, attribute = split_spec(spec)
    if module.endswith(".py"):
        return True
    if Path(spec).exists():
        return False
    if attribute:
        return True
    return shaped_like_module(spec) and module_location(spec) is not None


def shaped_like_module(spec: str) -> bool:
    """A dotted name (``pkg.tools``) that does not end like a data file (``tools.json``)."""
    return bool(_DOTTED.match(spec)) and not spec.lower().endswith(_DATA_SUFFIXES)


def module_location(name: str) -> str | None:
    """Where the module ``name`` (dotted) would be imported from, found without importing.

    The current folder comes first, as for ``python -m``. The top-level name is
    looked up by Python's finders (which import nothing); below it, the package's
    folders are searched for ``part.py``, ``part/`` or an extension module, so no
    ``__init__.py`` runs just to find out that a name is not a module.
    """
    top, *rest = name.split(".")
    with _current_folder_first():
        try:
            found = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return None
    if found is None:
        return None
    location: str | None = found.origin or top
    # A namespace package's folder list recomputes through sys.modules: take it as found.
    locations = found.submodule_search_locations
    folders = list(getattr(locations, "_path", locations) or [])
    for part in rest:
        location, folders = _submodule(folders, part)
        if location is None:
            return None
    return location


def _submodule(folders: list[str], part: str) -> tuple[str | None, list[str]]:
    """``part`` in a package's folders: (its file or folder, its own folders if a package)."""
    suffixes = importlib.machinery.all_suffixes()
    for folder in map(Path, folders):
        package = folder / part
        if package.is_dir():
            return str(package), [str(package)]
        for suffix in suffixes:
            if (folder / f"{part}{suffix}").is_file():
                return str(folder / f"{part}{suffix}"), []
    return None, []


class _current_folder_first:
    """``sys.path`` with the current folder first, for the duration of a lookup or import."""

    def __enter__(self) -> None:
        self.folder = os.getcwd()
        sys.path.insert(0, self.folder)

    def __exit__(self, *exc_info: object) -> None:
        sys.path.remove(self.folder)


def split_spec(spec: str) -> tuple[str, str, str]:
    """``("module", ":", "object")`` for ``module:object``, else ``(spec, "", "")``."""
    module, colon, attribute = spec.rpartition(":")
    if colon and module and _IDENTIFIER.match(attribute):
        return module, colon, attribute
    return spec, "", ""


def python_functions(spec: str, *, source: str) -> list[dict[str, Any]]:
    """One OpenAI function object per tool the spec names."""
    module_spec, _, attribute = split_spec(spec)
    module = _import(module_spec, source)
    if attribute:
        if not hasattr(module, attribute):
            raise InputError(f"module has no function or model '{attribute}'", source=source)
        return [_tool(getattr(module, attribute), attribute, source)]
    tools = [
        _tool(value, name, source)
        for name, value in vars(module).items()
        if not name.startswith("_") and _defined_tool(value, module)
    ]
    if not tools:
        raise InputError(
            "no public functions or Pydantic models are defined in this module", source=source
        )
    return tools


def _defined_tool(value: Any, module: ModuleType) -> bool:
    if getattr(value, "__module__", None) != module.__name__:
        return False
    return inspect.isfunction(value) or _is_model(value)


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel


def _tool(value: Any, attribute: str, source: str) -> dict[str, Any]:
    if _is_model(value):
        return _model_tool(value, source)
    if inspect.isfunction(value):
        return _function_tool(value, source)
    raise InputError("is neither a function nor a Pydantic model", source=source, tool=attribute)


def _function_tool(function: Callable[..., Any], source: str) -> dict[str, Any]:
    name = function.__name__
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as error:
        raise InputError(
            f"cannot resolve its type hints: {_one_line(error)}", source=source, tool=name
        ) from None
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise InputError(
                f"parameter '{parameter.name}' collects extra arguments (*args/**kwargs); "
                "a tool takes named, typed parameters only",
                source=source,
                tool=name,
            )
        if parameter.name not in hints:
            raise InputError(
                f"parameter '{parameter.name}' has no type hint; annotate it "
                f"(e.g. '{parameter.name}: str')",
                source=source,
                tool=name,
            )
    docstring = parse_docstring(function.__doc__)
    signature: Any = function  # a TypeAdapter of a function validates its call arguments
    schema = _schema_of(lambda: TypeAdapter(signature).json_schema(), name, source)
    tool = _function_object(name, docstring.summary, schema, docstring.params)
    output_schema = _return_schema(hints.get("return", inspect.Signature.empty), name, source)
    if output_schema:
        tool[OUTPUT_SCHEMA_KEY] = output_schema
    return tool


def _return_schema(annotation: Any, tool: str, source: str) -> dict[str, Any] | None:
    """The JSON Schema of what the function returns, or None when it declares nothing."""
    if annotation in (inspect.Signature.empty, None, type(None), Any, object):
        return None
    schema = _schema_of(
        lambda: TypeAdapter(annotation).json_schema(mode="serialization"),
        tool,
        source,
        what="its return annotation",
    )
    return schema or None


def _model_tool(model: type[BaseModel], source: str) -> dict[str, Any]:
    name = snake_case(model.__name__)
    docstring = parse_docstring(model.__dict__.get("__doc__"))
    schema = _schema_of(model.model_json_schema, name, source)
    return _function_object(name, docstring.summary, schema, docstring.params)


def snake_case(name: str) -> str:
    """``CreateTicket`` -> ``create_ticket``, ``HTTPRequest`` -> ``http_request``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _schema_of(
    build: Callable[[], dict[str, Any]], tool: str, source: str, what: str = "its type hints"
) -> dict[str, Any]:
    try:
        schema = build()
    except (PydanticUserError, NameError, TypeError, ValueError) as error:
        raise InputError(
            f"cannot build a JSON Schema from {what}: {_one_line(error)}",
            source=source,
            tool=tool,
        ) from None
    schema.pop("description", None)  # the whole docstring; the summary replaces it
    for sub in iter_subschemas(schema):
        if isinstance(sub, dict):
            sub.pop("title", None)
    return schema


def _function_object(
    name: str, description: str, schema: dict[str, Any], params: dict[str, str]
) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    for param, text in params.items():
        if isinstance(properties.get(param), dict):
            properties[param].setdefault("description", text)
    return {"name": name, "description": description, "parameters": schema}


def tool_module(module_spec: str, source: str) -> ModuleType:
    """The module a ``--tools`` spec names, imported as the importer imports it.

    ``generator.execution.python_worker`` imports the same module to call its functions.
    """
    return _import(module_spec, source)


def _import(module_spec: str, source: str) -> ModuleType:
    path = Path(module_spec)
    if module_spec.endswith(".py") or path.is_file():
        return _import_file(path, source)
    if not _DOTTED.match(module_spec):
        raise InputError(f"'{module_spec}' is not a Python file or module name", source=source)
    if module_location(module_spec) is None:
        raise no_such_module(module_spec, source)
    with _current_folder_first():
        try:
            return importlib.import_module(module_spec)
        except Exception as error:
            raise _import_error(error, source) from None


def no_such_module(name: str, source: str) -> InputError:
    """The error for a spec that is neither a file nor a module (nothing was imported)."""
    return InputError(
        f"no such file, and no module '{name}' importable from the current directory",
        source=source,
    )


def _import_file(path: Path, source: str) -> ModuleType:
    if not path.is_file():
        raise InputError("cannot read tool file: No such file or directory", source=source)
    resolved = path.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    stem = re.sub(r"\W", "_", resolved.stem)
    name = f"callforge_tools_{stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise InputError("cannot load this file as a Python module", source=source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Pydantic resolves string annotations through it
    sys.path.insert(0, str(resolved.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise _import_error(error, source) from None
    finally:
        sys.path.remove(str(resolved.parent))
    return module


def _import_error(error: BaseException, source: str) -> InputError:
    return InputError(f"importing it failed: {_one_line(error)}", source=source)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
