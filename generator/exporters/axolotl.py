"""``axolotl``: conversations for axolotl's ``chat_template`` dataset type.

Every message carries ``train`` (axolotl's ``message_field_training``): true on
the assistant's turns, false on the assistant's mistaken calls and on every
other role, so a mistake stays in the context but out of the loss; assistant
turns also carry ``weight`` (0 or 1). Arguments and tools are JSON text, which
axolotl parses back into objects before templating, so Arrow never unifies
one tool's parameters with another's.
"""

from __future__ import annotations

import json
from typing import Any

from callforge.generator.exporters import register
from callforge.generator.exporters.base import Conversation, Exporter
from callforge.generator.exporters.hf import metadata_columns
from callforge.generator.exporters.openai import as_openai

MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "train", "weight")


@register
class AxolotlExporter(Exporter):
    name = "axolotl"
    summary = "axolotl chat_template: messages with per-message train/weight, tools as JSON"

    def record(self, conversation: Conversation) -> dict[str, Any]:
        messages = []
        for message in as_openai(self.prepared(conversation)):
            trained = message["role"] == "assistant" and message.get("weight", 1) != 0
            marked = {**message, "train": trained}
            if message["role"] == "assistant":
                marked["weight"] = 1 if trained else 0
            messages.append({key: marked.get(key) for key in MESSAGE_KEYS})
        record: dict[str, Any] = {
            "messages": messages,
            "tools": json.dumps(conversation.tools, ensure_ascii=False),
        }
        record.update(metadata_columns(conversation))
        return record

    def card_usage(self, data_files: dict[str, str]) -> str:
        return (
            "```yaml\ndatasets:\n  - path: .\n    data_files: "
            f"{data_files['train']}\n    type: chat_template\n    field_messages: messages\n"
            "    field_tools: tools\n    message_field_training: train\n"
            "    roles_to_train: []      # the per-message train flags decide\n"
            "    train_on_eos: turn\n```"
        )
