"""``hermes``: Nous Research's Hermes function-calling format (ChatML conversations).

``conversations`` of ``from``/``value`` turns: a system turn listing the tools in
``<tools>`` (wording in ``templates/export/hermes_system.j2``), ``human``, ``gpt``
turns whose calls are ``<tool_call>{"name", "arguments"}</tool_call>`` blocks and
``tool`` turns of ``<tool_response>{"name", "content"}</tool_response>``: the
text a ChatML template renders as it is. The whole conversation is trained, so
mistaken calls follow ``--mistakes`` (``drop`` by default, or ``keep``).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from callforge.generator.exporters import register
from callforge.generator.exporters.base import Conversation, Exporter, apply_mistake_rule
from callforge.generator.exporters.hf import metadata_columns
from callforge.generator.templating import environment


def tool_call_text(name: str, arguments: dict[str, Any]) -> str:
    return f"<tool_call>\n{_json({'name': name, 'arguments': arguments})}\n</tool_call>"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@register
class HermesExporter(Exporter):
    name = "hermes"
    summary = "Hermes function calling: ChatML turns with <tools>, <tool_call>, <tool_response>"
    mistake_rules = ("drop", "keep")
    default_mistakes = "drop"

    def record(self, conversation: Conversation) -> dict[str, Any]:
        _, messages = apply_mistake_rule(
            self.prepared(conversation), self.mistakes or "drop", conversation.retry_note
        )
        system = (
            environment().get_template("export/hermes_system.j2").render(tools=conversation.tools)
        )
        names = {
            call["id"]: call["function"]["name"]
            for message in messages
            for call in message.get("tool_calls") or ()
        }
        turns = [{"from": "system", "value": system.strip()}]
        for message in messages:
            role = message["role"]
            if role == "user":
                turns.append({"from": "human", "value": message["content"]})
            elif role == "tool":
                content = message["content"]
                with contextlib.suppress(ValueError):
                    content = json.loads(content)
                response = _json({"name": names.get(message["tool_call_id"]), "content": content})
                turns.append(
                    {"from": "tool", "value": f"<tool_response>\n{response}\n</tool_response>"}
                )
            elif message.get("tool_calls"):
                blocks = [
                    tool_call_text(call["function"]["name"], call["function"]["arguments"])
                    for call in message["tool_calls"]
                ]
                text = "\n".join(blocks)
                if message.get("content"):
                    text = f"{message['content']}\n{text}"
                turns.append({"from": "gpt", "value": text})
            else:
                turns.append({"from": "gpt", "value": message.get("content") or ""})
        record: dict[str, Any] = {"conversations": turns}
        record.update(metadata_columns(conversation))
        return record

    def card_usage(self, data_files: dict[str, str]) -> str:
        return (
            "ShareGPT-style `conversations` (`from`/`value`), as Hermes function-calling "
            "data: train with a ChatML template (axolotl: `type: chat_template`, "
            "`field_messages: conversations`, `message_property_mappings: {role: from, "
            "content: value}`)."
        )
