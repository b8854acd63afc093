"""``openai``: OpenAI's chat fine-tuning format, the stored conversation as it is.

``{"messages": [...], "tools": [...]}`` with ``function.arguments`` as JSON text
and ``"weight": 0`` on the assistant's mistaken calls (OpenAI trains only
assistant turns of weight 1); ``"parallel_tool_calls": true`` on a line whose
assistant makes several calls in one turn. Metadata goes in a sidecar
(``<split>.meta.jsonl``, line for line): the fine-tuning API accepts no other keys.
"""

from __future__ import annotations

import json
from typing import Any

from callforge.generator.exporters import register
from callforge.generator.exporters.base import Conversation, Exporter


def as_openai(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Arguments back to JSON text, the form OpenAI's API sends and reads."""
    rendered = []
    for message in messages:
        if message.get("tool_calls"):
            message = {
                **message,
                "tool_calls": [
                    {
                        **call,
                        "function": {
                            "name": call["function"]["name"],
                            "arguments": json.dumps(
                                call["function"]["arguments"], ensure_ascii=False
                            ),
                        },
                    }
                    for call in message["tool_calls"]
                ],
            }
        rendered.append(message)
    return rendered


@register
class OpenAIExporter(Exporter):
    name = "openai"
    summary = "OpenAI chat fine-tuning JSONL (messages + tools, weight 0 on mistakes)"

    def record(self, conversation: Conversation) -> dict[str, Any]:
        messages = as_openai(self.prepared(conversation))
        record: dict[str, Any] = {"messages": messages, "tools": conversation.tools}
        if any(len(m.get("tool_calls") or ()) > 1 for m in messages):
            record["parallel_tool_calls"] = True
        return record

    def metadata_sidecar(self) -> bool:
        return True

    def card_usage(self, data_files: dict[str, str]) -> str:
        return (
            "Upload `train.jsonl` (and `eval.jsonl` as the validation file) to OpenAI's "
            'fine-tuning API, or load it with `datasets.load_dataset("json", ...)`.'
        )
