"""``llamafactory``: LLaMA-Factory's ``sharegpt`` format, with its ``dataset_info.json``.

LLaMA-Factory's converter (``data/converter.py``) skips, with only a log line,
any row whose roles break its alternation: ``human`` or ``observation`` at even
positions (0, 2, ...), ``gpt`` or ``function_call`` at odd ones, an even count.
Calls are ``function_call`` turns holding ``{"name", "arguments"}`` (a list for
parallel calls) and results ``observation`` turns (parallel results as a JSON
list in one turn); ``tools`` is the tool list as JSON text. It trains every
``gpt`` and ``function_call`` turn, so mistaken calls follow ``--mistakes``
(``drop`` by default, or ``keep``). Metadata goes in ``<split>.meta.jsonl``.
"""

from __future__ import annotations

import json
from typing import Any

from callforge.generator.exporters import register
from callforge.generator.exporters.base import Conversation, Exporter, apply_mistake_rule

ODD_TAGS = ("human", "observation")
EVEN_TAGS = ("gpt", "function_call")


def sharegpt_turns(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = []
    pending_results: list[str] = []

    def flush_results() -> None:
        if pending_results:
            value = (
                pending_results[0]
                if len(pending_results) == 1
                else _json(
                    [json.loads(text) if _is_json(text) else text for text in pending_results]
                )
            )
            turns.append({"from": "observation", "value": value})
            pending_results.clear()

    for message in messages:
        role = message["role"]
        if role == "tool":
            pending_results.append(message["content"])
            continue
        flush_results()
        if role == "user":
            turns.append({"from": "human", "value": message["content"]})
        elif role == "system":
            turns.append({"from": "system", "value": message["content"]})
        elif message.get("tool_calls"):
            calls = [
                {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                for c in message["tool_calls"]
            ]
            turns.append(
                {"from": "function_call", "value": _json(calls[0] if len(calls) == 1 else calls)}
            )
        else:
            turns.append({"from": "gpt", "value": message.get("content") or ""})
    flush_results()
    return turns


def alternation_error(turns: list[dict[str, str]]) -> str | None:
    """Why LLaMA-Factory's sharegpt converter would skip these turns, or None."""
    body = turns[1:] if turns and turns[0]["from"] == "system" else turns
    for index, turn in enumerate(body):
        allowed = ODD_TAGS if index % 2 == 0 else EVEN_TAGS
        if turn["from"] not in allowed:
            return f"turn {index} is {turn['from']}, expected one of {', '.join(allowed)}"
    if len(body) % 2:
        return f"{len(body)} turns: the count must be even"
    return None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@register
class LlamaFactoryExporter(Exporter):
    name = "llamafactory"
    summary = "LLaMA-Factory sharegpt (human/gpt/function_call/observation) + dataset_info.json"
    mistake_rules = ("drop", "keep")
    default_mistakes = "drop"

    def record(self, conversation: Conversation) -> dict[str, Any]:
        _, messages = apply_mistake_rule(
            self.prepared(conversation), self.mistakes or "drop", conversation.retry_note
        )
        turns = sharegpt_turns(messages)
        problem = alternation_error(turns)
        if problem is not None:  # a renderer bug, not bad input: LLaMA-Factory would drop it
            raise AssertionError(f"{conversation.metadata.get('example_id')}: {problem}")
        tools = [tool.get("function", tool) for tool in conversation.tools]
        return {"conversations": turns, "tools": _json(tools)}

    def metadata_sidecar(self) -> bool:
        return True

    def side_files(self, data_files: dict[str, str]) -> dict[str, str]:
        info = {
            f"callforge_{split}": {
                "file_name": file_name,
                "formatting": "sharegpt",
                "columns": {"messages": "conversations", "tools": "tools"},
                "tags": {
                    "role_tag": "from",
                    "content_tag": "value",
                    "user_tag": "human",
                    "assistant_tag": "gpt",
                    "observation_tag": "observation",
                    "function_tag": "function_call",
                    "system_tag": "system",
                },
            }
            for split, file_name in data_files.items()
        }
        return {"dataset_info.json": json.dumps(info, indent=2) + "\n"}

    def card_usage(self, data_files: dict[str, str]) -> str:
        return (
            "Point LLaMA-Factory's `dataset_dir` at this folder and train with "
            "`dataset: callforge_train` (`eval_dataset: callforge_eval`); the entries are in "
            "`dataset_info.json`."
        )
