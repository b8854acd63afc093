"""Settings from flags, the environment and an optional ``callforge.toml``; flags win.

Order of precedence, highest first: command-line flags, environment variables
(``OPENAI_API_KEY``, ``OPENAI_BASE_URL``), the config file, built-in defaults.
The config file is ``--config PATH`` or else ``./callforge.toml`` if present::

    [teacher]
    name = "openai"
    model = "gpt-4o-mini"
    base_url = "http://localhost:8000/v1"   # optional
    # api_version = "2024-10-21"            # Azure OpenAI's dated API (see the README)
    api_key_env = "MY_PROVIDER_KEY"         # read the key from this variable
    # api_key = "sk-..."                    # or keep it here (mind the file's permissions)
    mode = "tools"
    concurrency = 16
    rpm = 500
    tpm = 200000

    [prices]                                # per million tokens, for stats
    input = 0.15
    output = 0.60

The API key is kept in a ``SecretStr`` from the moment it is read, and
``redact`` scrubs it from any text that could reach a log, the store or the user.
"""

from __future__ import annotations

import os
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callforge.generator.errors import InputError

if TYPE_CHECKING:
    from pydantic import SecretStr

CONFIG_FILE = Path("callforge.toml")
_SOURCE_KEY = "_source"  # where load_config read the file, kept in what it returns
TEACHER_KEYS = {
    "name",
    "model",
    "base_url",
    "api_version",
    "api_key",
    "api_key_env",
    "mode",
    "concurrency",
    "rpm",
    "tpm",
    "timeout",
    "temperature",
    "max_tokens",
    "validation_retries",
    "max_attempts",
    "give_up_after",
    "judge",
}
PRICE_KEYS = {"input", "output"}


def load_config(path: Path | None) -> dict[str, Any]:
    """The parsed config file: ``path``, else ``./callforge.toml`` if it exists, else {}."""
    if path is None:
        if not CONFIG_FILE.exists():
            return {}
        path = CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read config file: {exc.strerror}", source=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", source=str(path)) from exc
    for section, known in (("teacher", TEACHER_KEYS), ("prices", PRICE_KEYS)):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise InputError(f"[{section}] must be a table", source=str(path))
        unknown = sorted(set(table) - known)
        if unknown:
            raise InputError(
                f"unknown key(s) in [{section}]: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})",
                source=str(path),
            )
    data[_SOURCE_KEY] = str(path)
    return data


def teacher_settings(
    flags: Mapping[str, Any],
    config: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Merge teacher options; ``None`` flags fall through to env, file, then defaults."""
    environ = os.environ if environ is None else environ
    from_file = dict(config.get("teacher", {}))
    key_variable = from_file.pop("api_key_env", None) or "OPENAI_API_KEY"
    from_env: dict[str, Any] = {}
    if environ.get(key_variable):
        from_env["api_key"] = environ[key_variable]
    if environ.get("OPENAI_BASE_URL"):
        from_env["base_url"] = environ["OPENAI_BASE_URL"]
    settings = {**from_file, **from_env}
    settings.update({name: value for name, value in flags.items() if value is not None})
    if (settings.get("name") or "offline") != "offline" and isinstance(
        settings.get("base_url"), str
    ):
        check_base_url(settings["base_url"])  # the offline teacher never uses it
    if settings.get("api_key") is not None:
        from pydantic import SecretStr  # only when there is a key: stats never needs it

        settings["api_key"] = SecretStr(str(_plain(settings["api_key"])))
    return settings


def option_labels(flags: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, str]:
    """How the user gave each teacher option: ``--timeout``, or the config file's key."""
    return {
        name: f"--{name.replace('_', '-')}"
        if flags.get(name) is not None
        else f"{config_path_hint(config)}[teacher] {name}"
        for name in TEACHER_KEYS
    }


def check_base_url(url: str) -> None:
    """Refuse a base URL carrying credentials (``https://user:secret@host/v1``).

    A URL is printed in errors, stored with a run's settings and sent in logs;
    a secret inside it would go along. The key has its own, guarded way in.
    The message never repeats the URL.
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        raise InputError("the base URL is not a valid URL") from None
    if "@" in parts.netloc:
        raise InputError(
            "the base URL holds credentials (user:password@); remove them and give the "
            "key with OPENAI_API_KEY (or api_key_env in callforge.toml)"
        )


def prices(flags: Mapping[str, float | None], config: Mapping[str, Any]) -> dict[str, float]:
    """Price per million input/output tokens, from flags or the config file's [prices]."""
    table = config.get("prices", {})
    merged = {
        "input": flags.get("input") if flags.get("input") is not None else table.get("input"),
        "output": flags.get("output") if flags.get("output") is not None else table.get("output"),
    }
    chosen: dict[str, float] = {}
    for name, value in merged.items():
        if value is None:
            continue
        given = f"--price-{'in' if name == 'input' else 'out'}"
        if flags.get(name) is None:
            given = f"{config_path_hint(config)}[prices] {name}"
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InputError(f"{given}: a price per million tokens is a number >= 0, got {value!r}")
        chosen[name] = float(value)
    return chosen


def config_path_hint(config: Mapping[str, Any]) -> str:
    """Where ``config`` came from, as an error message names it (``callforge.toml: ``)."""
    source = config.get(_SOURCE_KEY)
    return f"{source}: " if source else ""


def _plain(value: Any) -> Any:
    reveal = getattr(value, "get_secret_value", None)  # a SecretStr
    return reveal() if callable(reveal) else value


def redact(text: str, *secrets: SecretStr | str | None) -> str:
    """``text`` with every secret (and any 8+ character prefix of it) replaced by ``***``."""
    for secret in secrets:
        plain = _plain(secret)
        if not plain:
            continue
        text = text.replace(plain, "***")
        if len(plain) > 12:
            text = text.replace(plain[:8], "***")  # providers echo a key's prefix
    return text
