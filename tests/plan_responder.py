"""A competent "model" for the test server: it reads callforge's prompt and answers well.

The LLM teacher's prompt carries the plan as JSON (``## Plan (JSON)``) and the tool
definitions (``## Tools``), as a real model would read them. This responder
parses both and writes the draft with the offline teacher (keeping the seeded
values of the free-text arguments it is asked to write), so end-to-end tests
and benchmarks exercise the real openai + instructor path with answers that pass
validation, while the server's ``ServerBehaviour`` injects the faults.
When the prompt shows real results (``--execute``: "returned, for real: {...}" after
each call), it copies them and answers from them, as a model told they are fixed would.
A judge's request (``--judge``) gets a passing verdict; a prompt without a plan gets
the schema-filling answer.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from callforge.generator.scenarios.base import ScenarioPlan
from callforge.generator.teachers.offline import OfflineTeacher
from callforge.generator.tools import ToolSpec, parse_tools
from tests.openai_server import CompletionRequest, SchemaFillingResponder, message_text

PASSING_VERDICT = {
    "calls_fit_request": True,
    "answer_fits_results": True,
    "reason": "The calls match the request and the answer reports the results.",
}
_BLOCK = r"## {title}\s*```json\s*(.+?)\s*```"
_PLAN = re.compile(_BLOCK.format(title=re.escape("Plan (JSON)")), re.S)
_TOOLS = re.compile(_BLOCK.format(title="Tools"), re.S)
_REAL_RESULT = re.compile(r"^\d+\. .* -- returned, for real: (\{.*\})$", re.M)


class PlanResponder:
    def __init__(self) -> None:
        self._teacher = OfflineTeacher()
        self._fallback = SchemaFillingResponder()

    def __call__(self, request: CompletionRequest) -> Any:
        if "answer_fits_results" in ((request.schema or {}).get("properties") or {}):
            return PASSING_VERDICT  # a judge's request (--judge): this "model" wrote well
        prompt = "\n".join(message_text(m) for m in request.messages if m.get("role") == "user")
        plan_match, tools_match = _PLAN.search(prompt), _TOOLS.search(prompt)
        if not plan_match or not tools_match:
            return self._fallback(request)
        plan = ScenarioPlan.model_validate_json(plan_match.group(1))
        real = [json.loads(result) for result in _REAL_RESULT.findall(prompt)] or None
        draft = self._teacher.write_now(plan, _tools(tools_match.group(1)), real_results=real)
        # The free text it is asked to write: the seeded values, which the draft states.
        written = [{n: step.call.arguments[n] for n in step.free_text} for step in plan.steps]
        # what a model writes: its response model has no retry_note (the offline teacher's own)
        answer = draft.model_dump(mode="json", exclude={"retry_note"})
        if not answer["turn_texts"]:  # a one-request plan's response model has no such field
            del answer["turn_texts"]
        return {**answer, "free_text": written}


@lru_cache(maxsize=256)
def _tools(text: str) -> dict[str, ToolSpec]:
    return {tool.name: tool for tool in parse_tools(json.loads(text))}
