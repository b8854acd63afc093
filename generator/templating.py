"""Access to ``templates/``: the one place that holds wording.

Jinja2 templates and phrase banks are looked up first in a user's override
folder (``--templates DIR``) and then in the shipped ``callforge.templates``
package data (the repository's ``templates/`` folder), so a
user can replace one file without copying the rest.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import yaml

from callforge.generator.errors import InputError

# Package data, wherever the package is installed (a wheel, an sdist, an editable checkout).
TEMPLATES_DIR = Path(str(files("callforge.templates")))
EXAMPLE_TOOLS = TEMPLATES_DIR / "examples" / "tools.json"


def _search_path(override: Path | None) -> list[str]:
    return [str(override), str(TEMPLATES_DIR)] if override else [str(TEMPLATES_DIR)]


@lru_cache(maxsize=8)
def environment(override: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_search_path(override)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # a run reads each template once; no stat() per render
    )
    env.filters["json"] = as_json
    return env


@lru_cache(maxsize=1)
def _html_environment() -> jinja2.Environment:
    """For pages (the report): the shipped templates, every value HTML-escaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_search_path(None)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def html_template(name: str) -> jinja2.Template:
    return _html_environment().get_template(name)


def as_json(value: Any) -> str:
    """A value as the JSON a model reads: ``O'Brien & Co`` stays that, not ``\u0027``.

    Jinja's own ``tojson`` escapes ``<>&'`` for HTML, and a model shown
    ``O\u0027Brien`` may well write it that way, which grounding then rejects.
    """
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=32)
def load_yaml(name: str, override: Path | None = None) -> Any:
    for folder in _search_path(override):
        path = Path(folder) / name
        if path.exists():
            return yaml.safe_load(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"template file {name} not found in {_search_path(override)}")


def check_templates(override: Path | None) -> None:
    """Every template and phrase bank in a ``--templates`` folder parses.

    Run before any work, so a broken override is one error naming the file and
    line, not a traceback halfway through a run.
    """
    if override is None:
        return
    if not override.is_dir():
        raise InputError(f"--templates {override}: no such folder")
    env = environment(override)
    for path in sorted(override.rglob("*")):
        kind = "prompt template" if path.parent.name == "prompts" else "template"
        try:
            if path.suffix == ".j2":
                env.parse(path.read_text(encoding="utf-8"))
            elif path.suffix in (".yaml", ".yml"):
                yaml.safe_load(path.read_text(encoding="utf-8"))
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(f"{kind}: {path}:{exc.lineno}: {exc.message}") from None
        except yaml.YAMLError as exc:
            problem = str(exc).splitlines()[0]
            raise InputError(f"{kind}: {path}: not valid YAML ({problem})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{kind}: {path}: cannot read it ({exc})") from None
