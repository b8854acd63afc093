"""The exporter interface: one stored example in, one record of a trainer's format out.

An exporter renders a ``Conversation`` (the stored scenario as OpenAI chat
messages with arguments as objects, the tools listed for it and its metadata)
into one record of its consumer's format. It knows its consumer's rules (what it
can mask, how it wants arguments, which roles must alternate) and nothing of
splits, balance or the store: ``generator/export.py`` chooses the examples and
their order, each exporter only renders and writes them.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from callforge.generator.errors import InputError
from callforge.generator.tools import sha256_hex

MISTAKE_RULES = ("drop", "prefix", "keep")
"""What a format that cannot mask one turn does with the assistant's mistaken call:
drop it (and the error it got), move it into the untrained prompt, or train on it."""

JSON_FIELDS = ("object", "string")
CALL_ID_STYLES = ("keep", "mistral")


@dataclass(frozen=True)
class FormatOptions:
    """Options for model-family and consumer quirks; each format says which it takes."""

    mistakes: str | None = None
    """``drop|prefix|keep``; None: the format's default."""
    json_fields: str = "object"
    """``object``: arguments and tools as JSON objects (datasets' Json feature);
    ``string``: as JSON text, for ``datasets`` versions without Json."""
    parquet: bool = False
    call_ids: str = "keep"
    """``mistral``: tool-call ids of 9 letters and digits, as Mistral's templates demand."""


@dataclass(frozen=True)
class Conversation:
    """One stored example, ready to render."""

    messages: list[dict[str, Any]]
    """OpenAI chat messages; arguments as objects; ``weight: 0`` on untrained turns."""
    tools: list[dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)
    """example_id, tool, category, failure_kind, seed."""
    retry_note: str = ""
    """The final answer's words about the assistant's mistaken call
    (``ScenarioDraft.retry_note``); ``--mistakes drop`` removes them with the call."""


class RecordWriter(ABC):
    """Writes a split's records to a temporary file; ``close`` finishes and measures it,
    and the export renames it into place with the others once every file is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(f".{path.name}.tmp")
        self.records = 0

    @abstractmethod
    def write(self, record: dict[str, Any]) -> None: ...

    @abstractmethod
    def finish(self) -> None: ...

    def close(self) -> dict[str, Any]:
        self.finish()
        digest = hashlib.sha256()
        size = 0
        with self.temporary.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return {"sha256": digest.hexdigest(), "records": self.records, "bytes": size}


class JsonlWriter(RecordWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.stream = self.temporary.open("w", encoding="utf-8", newline="\n")

    def write(self, record: dict[str, Any]) -> None:
        self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.records += 1

    def finish(self) -> None:
        self.stream.close()


class Exporter(ABC):
    """A trainer's format. Subclasses register with ``@register`` (``exporters/__init__``)."""

    name: ClassVar[str]
    summary: ClassVar[str]
    mistake_rules: ClassVar[tuple[str, ...]] = ()
    """Rules the format accepts for mistaken turns; empty: it masks them per turn."""
    default_mistakes: ClassVar[str | None] = None
    takes: ClassVar[frozenset[str]] = frozenset()
    """Which ``FormatOptions`` beyond ``mistakes`` it honours (``json_fields``, ...)."""

    def __init__(self, options: FormatOptions) -> None:
        self.options = options
        self.mistakes = options.mistakes or self.default_mistakes
        self.check()

    def check(self) -> None:
        options = self.options
        if options.mistakes is not None:
            if options.mistakes not in MISTAKE_RULES:
                raise InputError(
                    f"--mistakes must be one of {', '.join(MISTAKE_RULES)}, got {options.mistakes}"
                )
            if options.mistakes not in self.mistake_rules:
                accepted = ", ".join(self.mistake_rules) or "none: it masks mistaken turns itself"
                raise InputError(
                    f"--mistakes {options.mistakes} does not apply to --format {self.name} "
                    f"(accepted: {accepted})"
                )
        if options.json_fields not in JSON_FIELDS:
            raise InputError(
                f"--json-fields must be one of {', '.join(JSON_FIELDS)}, got {options.json_fields}"
            )
        if options.call_ids not in CALL_ID_STYLES:
            raise InputError(
                f"--call-ids must be one of {', '.join(CALL_ID_STYLES)}, got {options.call_ids}"
            )
        for option, default in (("json_fields", "object"), ("parquet", False)):
            if getattr(options, option) != default and option not in self.takes:
                flag = "--" + option.replace("_", "-")
                raise InputError(f"{flag} does not apply to --format {self.name}")

    @property
    def suffix(self) -> str:
        return "jsonl"

    def data_file(self, split: str) -> str:
        return f"{split}.{self.suffix}"

    def open_writer(self, path: Path) -> RecordWriter:
        return JsonlWriter(path)

    @abstractmethod
    def record(self, conversation: Conversation) -> dict[str, Any]:
        """The example as one record of this format."""

    def metadata_sidecar(self) -> bool:
        """True where the format has no room for metadata: it goes in ``<split>.meta.jsonl``."""
        return False

    def side_files(self, data_files: dict[str, str]) -> dict[str, str]:
        """Extra files a consumer needs beside the data (name -> text)."""
        return {}

    def card_features(self) -> list[dict[str, Any]] | None:
        """The ``datasets`` features of a record (the card's ``dataset_info``), if fixed."""
        return None

    def card_usage(self, data_files: dict[str, str]) -> str:
        """How to load the files, for the dataset card."""
        return ""

    # -- shared renderings ----------------------------------------------------

    def prepared(self, conversation: Conversation) -> list[dict[str, Any]]:
        """The messages with call ids restyled as ``--call-ids`` asks."""
        if self.options.call_ids == "keep":
            return conversation.messages
        return restyle_call_ids(conversation.messages)


def restyle_call_ids(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mistral's tool-call ids: exactly 9 characters from [a-zA-Z0-9], kept consistent
    between a call and the tool message answering it."""

    def short(call_id: str) -> str:
        return sha256_hex(call_id)[:9]

    restyled = []
    for message in messages:
        message = dict(message)
        if message.get("tool_calls"):
            message["tool_calls"] = [
                {**call, "id": short(call["id"])} for call in message["tool_calls"]
            ]
        if "tool_call_id" in message:
            message["tool_call_id"] = short(message["tool_call_id"])
        restyled.append(message)
    return restyled


def is_mistake(message: dict[str, Any]) -> bool:
    return message.get("role") == "assistant" and message.get("weight") == 0


def without_weight(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if key != "weight"}


def apply_mistake_rule(
    messages: list[dict[str, Any]], rule: str, retry_note: str = ""
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split messages into (untrained prompt, trained rest) under a mistake rule.

    ``prefix``: the prompt runs to the last mistaken call's tool results (to the
    first user message when there is none); ``drop``: mistaken calls and the tool
    messages answering them go, and so does ``retry_note`` from the final answer
    (what is left reads as if the first call had worked); ``keep``: they stay as
    ordinary turns. Under ``drop`` and ``keep`` the prompt is empty: the format
    decides what it trains.
    """
    if rule == "drop":
        dropped = {
            call["id"]
            for message in messages
            if is_mistake(message)
            for call in message["tool_calls"]
        }
        kept = [
            without_weight(m)
            for m in messages
            if not is_mistake(m) and m.get("tool_call_id") not in dropped
        ]
        if dropped and retry_note:
            kept = _without_note(kept, retry_note)
        return [], kept
    if rule == "keep":
        return [], [without_weight(m) for m in messages]
    cut = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    for index, message in enumerate(messages):
        if is_mistake(message):
            answered = {call["id"] for call in message["tool_calls"]}
            cut = index + 1
            while cut < len(messages) and messages[cut].get("tool_call_id") in answered:
                cut += 1
    cleaned = [without_weight(m) for m in messages]
    return cleaned[:cut], cleaned[cut:]


def _without_note(messages: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """The messages with ``note`` taken out of the final answer: "Done. I had mistyped
    the id at first; ... The total is 9." -> "Done. The total is 9."."""
    last = messages[-1]
    content = last.get("content")
    if last.get("role") != "assistant" or not isinstance(content, str) or note not in content:
        return messages
    answer = " ".join(content.replace(note, " ", 1).split())
    return [*messages[:-1], {**last, "content": answer}]
