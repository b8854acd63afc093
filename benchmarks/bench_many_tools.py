"""``callforge generate --per-tool 1`` (offline) on a large synthetic tool set.

Run by hand: ``.venv/bin/python benchmarks/bench_many_tools.py [--tools 1000 --tools 3000 ...]``.

For each size, writes ``synthetic_tools(n)`` to a file and runs the CLI in a child
process on a fresh DuckDB file; prints seconds and peak RSS (``wait4``) per size,
the examples stored, and the growth from one size to the next (seconds ratio over
tools ratio: 1.0 is linear).

``synthetic_tools`` is also the test set of ``tests/test_dataflow_index.py``: tools of
many services over a few dozen entities, so names, ids, formats and money fields
overlap across tools the way a big real catalogue's do; a quarter declare their
output schema, the rest get the shape their kind implies.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_ENTITIES = (
    "customer", "order", "invoice", "flight", "hotel", "booking", "ticket", "product",
    "payment", "refund", "shipment", "account", "user", "meeting", "event", "room",
    "vehicle", "driver", "patient", "appointment", "doctor", "course", "student",
    "employee", "project", "task", "repository", "issue", "document", "file",
    "contract", "lead", "campaign", "subscription", "device", "sensor", "store",
    "restaurant", "reservation", "playlist",
)  # fmt: skip
_VERBS = ("get", "search", "list", "create", "update", "cancel", "delete")
_SERVICES = (
    "acme", "globex", "initech", "umbrella", "stark", "wayne", "hooli", "vandelay",
    "soylent", "tyrell", "cyberdyne", "wonka", "oscorp", "aperture", "massive",
)  # fmt: skip
_STRING, _INTEGER, _NUMBER = {"type": "string"}, {"type": "integer"}, {"type": "number"}
_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "email": {"type": "string", "format": "email"},
    "city": _STRING,
    "country": _STRING,
    "country_code": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "phone": _STRING,
    "url": {"type": "string", "format": "uri"},
    "name": _STRING,
    "quantity": _INTEGER,
    "notes": _STRING,
}


_QUALIFIERS = (
    "billing", "shipping", "partner", "legacy", "primary", "backup", "home", "work",
    "internal", "external", "vendor", "retail", "wholesale", "clinic", "campus", "fleet",
)  # fmt: skip
SHARED_VOCABULARY = 300
"""The first tools (services of 12) name things plainly and alike: ``city``, ``amount``,
``customer_id``, emails with ``format: email``. Later services each have a qualifier
(``billing_city``, ``billing_customer_id``), shared by four services, and mark no
formats or amounts: a catalogue's vocabulary grows with it. (A parameter that any
money or any email feeds, or a name every tool shares, has edges from a fixed share
of all tools: such a catalogue's graph grows with the square of its size.)"""


def synthetic_tools(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` OpenAI function tools with unique names, drawn from ``seed``."""
    rng = random.Random(seed)
    tools: list[dict[str, Any]] = []
    names: set[str] = set()
    for number in range(count):
        index = number // 12
        service = f"{_SERVICES[index % len(_SERVICES)]}{index // len(_SERVICES)}"
        shared = number < SHARED_VOCABULARY
        qualifier = "" if shared else _qualifier(index // 4)
        entity, other = (qualifier + rng.choice(_ENTITIES) for _ in range(2))
        verb = rng.choice(_VERBS)
        name = f"{service}_{verb}_{entity}"
        name = f"{name}_{number}" if name in names else name
        names.add(name)
        properties = _parameters(rng, verb, entity, other, qualifier)
        if tools and rng.random() < 0.3:  # "as returned by <an earlier tool>"
            named = rng.choice(tools[-12:])["function"]["name"]
            for schema in properties.values():
                schema["description"] = f"as returned by {named}"
        function: dict[str, Any] = {
            "name": name,
            "description": f"{verb.capitalize()} a {entity} in the {service} system.",
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": [key for key in properties if key.endswith("_id")][:1],
            },
        }
        if rng.random() < 0.25:
            function["x-output-schema"] = _output(rng, verb, entity, other, qualifier)
        tools.append({"type": "function", "function": function})
    return tools


def _qualifier(group: int) -> str:
    word = _QUALIFIERS[group % len(_QUALIFIERS)]
    round_ = group // len(_QUALIFIERS)
    return f"{word}{round_ or ''}_"


def _attribute(name: str, qualifier: str) -> dict[str, Any]:
    schema = dict(_ATTRIBUTES[name])
    return {"type": schema["type"]} if qualifier else schema


def _parameters(
    rng: random.Random, verb: str, entity: str, other: str, qualifier: str
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    if verb in ("get", "update", "cancel", "delete"):
        properties[f"{entity}_id"] = dict(_STRING, description=f"The {entity} to {verb}")
    if rng.random() < 0.5:
        properties[f"{other}_id"] = dict(_STRING, description=f"as returned by a {other} search")
    for attribute in rng.sample(sorted(_ATTRIBUTES), rng.randint(1, 3)):
        properties[qualifier + attribute] = _attribute(attribute, qualifier)
    if not qualifier and rng.random() < 0.2:
        properties["amount"] = _NUMBER
    if not qualifier and rng.random() < 0.15:  # named unlike any field, with a format
        properties[rng.choice(("recipient", "homepage"))] = dict(
            rng.choice((_ATTRIBUTES["email"], _ATTRIBUTES["url"]))
        )
    if not qualifier and rng.random() < 0.1:
        properties["from_currency"] = {"type": "string", "pattern": "^[A-Z]{3}$"}
    if verb in ("search", "list"):
        properties["limit"] = {"type": "integer", "minimum": 1, "maximum": 50}
        properties["status"] = {"type": "string", "enum": ["open", "closed"]}
    return properties


def _output(
    rng: random.Random, verb: str, entity: str, other: str, qualifier: str
) -> dict[str, Any]:
    record: dict[str, Any] = {"id": _STRING, f"{other}_id": _STRING}
    for attribute in rng.sample(sorted(_ATTRIBUTES), rng.randint(2, 4)):
        record[qualifier + attribute] = _attribute(attribute, qualifier)
    if not qualifier and rng.random() < 0.3:
        record["total_price"] = _NUMBER
        record["currency"] = _ATTRIBUTES["currency"]
    if verb in ("search", "list"):
        listing = {"type": "array", "items": {"type": "object", "properties": record}}
        return {"type": "object", "properties": {f"{entity}s": listing, "total": _INTEGER}}
    return {"type": "object", "properties": {entity: {"type": "object", "properties": record}}}


def run_generate(tools_file: Path, db: Path, log: Path) -> tuple[float, int, str]:
    """(seconds, peak RSS in MiB of that process alone, last line printed) of one
    ``generate --per-tool 1`` run."""
    command = [
        sys.executable, "-m", "callforge.cli", "generate", "--tools", str(tools_file),
        "--per-tool", "1", "--seed", "7", "--db", str(db),
    ]  # fmt: skip
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: a few cells ended short
        raise SystemExit(f"generate failed ({status}): " + "\n".join(lines[-20:]))
    return seconds, usage.ru_maxrss // 1024, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tools", type=int, action="append", help="sizes (1000, 3000, 10000)")
    sizes = parser.parse_args().tools or [1000, 3000, 10000]
    previous: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            tools_file = Path(tmp) / f"tools-{size}.json"
            tools_file.write_text(json.dumps(synthetic_tools(size)), encoding="utf-8")
            db, log = Path(tmp) / f"run-{size}.duckdb", Path(tmp) / f"run-{size}.log"
            seconds, peak, last = run_generate(tools_file, db, log)
            growth = ""
            if previous:
                ratio = (seconds / previous[1]) / (size / previous[0])
                growth = f"  growth {ratio:.2f} (seconds ratio / tools ratio)"
            print(f"{size:>6} tools: {seconds:7.1f} s  peak RSS {peak} MiB{growth}  | {last}")
            previous = (size, seconds)


if __name__ == "__main__":
    main()
