"""``hf``: Hugging Face TRL's SFTTrainer, read through ``datasets``.

Arguments are JSON objects, as chat templates expect (``tool_call.arguments |
tojson``): JSON text there is encoded a second time and the model learns to
write ``"arguments": "{\\"amount\\": ...}"``. Arrow needs one type per column, and
would pad every tool with every other tool's parameters; so arguments and tools
are declared as ``datasets``' ``Json`` feature in the dataset card (``datasets``
>= 4 loads them back as objects), or with ``--json-fields string`` written as JSON
text for older ``datasets`` (decode them before templating).

TRL trains every assistant turn alike, so a mistaken call needs a rule
(``--mistakes``): ``prefix`` (default) writes ``prompt``/``completion`` records
with the mistake and its error in the untrained prompt (TRL's
``completion_only_loss``); ``drop`` removes the mistake and its error; ``keep``
trains on it. ``--parquet`` writes Parquet instead of JSONL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from callforge.generator.errors import InputError
from callforge.generator.exporters import register
from callforge.generator.exporters.base import (
    Conversation,
    Exporter,
    RecordWriter,
    apply_mistake_rule,
)

METADATA = ("example_id", "tool", "category", "failure_kind", "seed")
MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id")


@register
class HuggingFaceExporter(Exporter):
    name = "hf"
    summary = "TRL SFTTrainer: messages (or prompt/completion) + tools, arguments as objects"
    mistake_rules = ("drop", "prefix", "keep")
    default_mistakes = "prefix"
    takes = frozenset({"json_fields", "parquet"})

    @property
    def suffix(self) -> str:
        return "parquet" if self.options.parquet else "jsonl"

    @property
    def conversation_columns(self) -> tuple[str, ...]:
        return ("prompt", "completion") if self.mistakes == "prefix" else ("messages",)

    def record(self, conversation: Conversation) -> dict[str, Any]:
        prompt, rest = apply_mistake_rule(
            self.prepared(conversation), self.mistakes or "prefix", conversation.retry_note
        )
        as_text = self.options.json_fields == "string"
        columns = {"prompt": prompt, "completion": rest} if prompt else {"messages": rest}
        record: dict[str, Any] = {
            column: [_message(m, as_text) for m in messages] for column, messages in columns.items()
        }
        record["tools"] = [
            json.dumps(tool, ensure_ascii=False) if as_text else tool for tool in conversation.tools
        ]
        record.update(metadata_columns(conversation))
        return record

    def open_writer(self, path: Path) -> RecordWriter:
        if self.options.parquet:
            return ParquetWriter(path, self.conversation_columns)
        return super().open_writer(path)

    def card_features(self) -> list[dict[str, Any]]:
        json_type = "string" if self.options.json_fields == "string" else "json"
        message = [
            {"name": "role", "dtype": "string"},
            {"name": "content", "dtype": "string"},
            {
                "name": "tool_calls",
                "list": [
                    {"name": "id", "dtype": "string"},
                    {"name": "type", "dtype": "string"},
                    {
                        "name": "function",
                        "struct": [
                            {"name": "name", "dtype": "string"},
                            {"name": "arguments", "dtype": json_type},
                        ],
                    },
                ],
            },
            {"name": "tool_call_id", "dtype": "string"},
        ]
        features: list[dict[str, Any]] = [
            {"name": column, "list": message} for column in self.conversation_columns
        ]
        features.append({"name": "tools", "list": json_type})
        features += [{"name": key, "dtype": "string"} for key in METADATA]
        return features

    def card_usage(self, data_files: dict[str, str]) -> str:
        decode = (
            "Arguments and tools are JSON text (`--json-fields string`): decode them with "
            "`json.loads` before applying a chat template.\n\n"
            if self.options.json_fields == "string"
            else ""
        )
        columns = " / ".join(f"`{c}`" for c in self.conversation_columns)
        return (
            f"{decode}```python\nfrom datasets import load_dataset\n"
            'data = load_dataset("path/to/this/folder")  # features from this card\n```\n\n'
            f"Records hold {columns} and `tools`; TRL's `SFTTrainer` reads them as they are "
            "(drop `None` values of absent keys first, as TRL's `remove_none_values` does, "
            "if your template tests `'tool_calls' in message`)."
        )


def metadata_columns(conversation: Conversation) -> dict[str, str | None]:
    """Metadata as flat string columns: a 64-bit seed would lose digits in JSON readers
    that parse numbers as doubles (Arrow's, pandas')."""
    values = {key: conversation.metadata.get(key) for key in METADATA}
    return {key: None if value is None else str(value) for key, value in values.items()}


def _message(message: dict[str, Any], as_text: bool) -> dict[str, Any]:
    """Every message with the same keys (absent ones None): one Arrow type per column."""
    out = {key: message.get(key) for key in MESSAGE_KEYS}
    if message.get("tool_calls"):
        out["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {
                    "name": call["function"]["name"],
                    "arguments": (
                        json.dumps(call["function"]["arguments"], ensure_ascii=False)
                        if as_text
                        else call["function"]["arguments"]
                    ),
                },
            }
            for call in message["tool_calls"]
        ]
    return out


class ParquetWriter(RecordWriter):
    """Parquet, a row group per batch: JSON-typed fields are stored as JSON text and
    decoded by ``datasets`` from the card's ``Json`` features."""

    BATCH = 1_000

    def __init__(self, path: Path, conversation_columns: tuple[str, ...]) -> None:
        super().__init__(path)
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise InputError(
                "--parquet needs pyarrow: pip install pyarrow (it comes with datasets)"
            ) from exc
        self.pa = pa
        call = pa.struct(
            [
                ("id", pa.string()),
                ("type", pa.string()),
                ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())])),
            ]
        )
        message = pa.struct(
            [
                ("role", pa.string()),
                ("content", pa.string()),
                ("tool_calls", pa.list_(call)),
                ("tool_call_id", pa.string()),
            ]
        )
        fields = [(column, pa.list_(message)) for column in conversation_columns]
        fields.append(("tools", pa.list_(pa.string())))
        fields += [(key, pa.string()) for key in METADATA]
        self.schema = pa.schema(fields)
        self.writer = pq.ParquetWriter(str(self.temporary), self.schema)
        self.batch: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self.batch.append(_as_text(record))
        self.records += 1
        if len(self.batch) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            self.writer.write_table(self.pa.Table.from_pylist(self.batch, schema=self.schema))
            self.batch = []

    def finish(self) -> None:
        self._flush()
        self.writer.close()


def _as_text(record: dict[str, Any]) -> dict[str, Any]:
    """JSON-typed values as JSON text: Parquet stores them as strings."""

    def text(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    out = dict(record)
    for column in ("messages", "prompt", "completion"):
        if column not in out:
            continue
        out[column] = [
            {
                **message,
                "tool_calls": message["tool_calls"]
                and [
                    {
                        **call,
                        "function": {
                            "name": call["function"]["name"],
                            "arguments": text(call["function"]["arguments"]),
                        },
                    }
                    for call in message["tool_calls"]
                ],
            }
            for message in out[column]
        ]
    out["tools"] = [text(tool) for tool in out["tools"]]
    return out
