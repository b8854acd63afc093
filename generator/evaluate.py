"""Evaluate a model on an exported eval file: does it call the right tool, right?

Each conversation is replayed up to every assistant turn it trains (a turn of
weight 0, the assistant's own mistake, is context but no target); the model is
asked for the next turn with the example's tools (through the LLM teacher's
request machinery: ``OpenAITeacher.complete``, so requests are limited, paced,
retried and cached exactly as the teacher's are), or its answers are read from a
``--predictions`` file made elsewhere. Each turn is scored:

* **calls** (turns whose reference makes calls):
  - ``ast``: BFCL's AST check: the same functions (parallel calls matched in any
    order), every required parameter present, no parameter the reference lacks
    or the schema does not declare, values of the same type (an int where a float
    is expected is fine; a bool is never a number), strings equal after BFCL's
    normalisation (case, spaces and ``,./-_*^`` ignored), lists and objects
    compared element by element;
  - ``exact`` / ``fuzzy`` / ``functional``: the definitions of
    ``fine-tuning-for-agentic-tasks``: exact is the same name and arguments;
    fuzzy the same name and the arguments' sorted JSON at least 0.8 similar
    (``difflib.SequenceMatcher``), functional at least 0.5 (both include exact);
* **behaviour** (every scored turn): what the reference does (``call``, ``ask``
  a question back, or ``answer``) against what the model does, as a confusion
  matrix; the shape of the turn decides, so ``no_call`` and ``clarify`` examples
  land in it as they are;
* **invented** tool names and parameters (rates over the calls the model made)
  and **unparsable** outputs (arguments that are no JSON object, or no reply).

Results come per tool (the reference call's tool) and per category (from the
export's ``<split>.meta.jsonl`` sidecar when it sits beside the file).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from callforge.generator.errors import InputError
from callforge.store import Store

KINDS = ("call", "ask", "answer")
CALL_METRICS = ("ast", "exact", "fuzzy", "functional")
FUZZY, FUNCTIONAL = 0.8, 0.5
_BFCL_IGNORED = re.compile(r"[ ,./\-_*^]")


@dataclass(frozen=True)
class Turn:
    """One assistant turn to predict: the conversation before it and the reference."""

    id: str
    context: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    reference: dict[str, Any]
    kind: str
    tool: str | None
    category: str


@dataclass
class Prediction:
    message: dict[str, Any] | None
    """The assistant message the model gave; None when no reply came."""
    error: str | None = None


# -- reading ----------------------------------------------------------------------


def read_turns(path: Path) -> list[Turn]:
    """Every trained assistant turn of an OpenAI-format eval file."""
    examples = _read_jsonl(path, "eval file")
    meta_path = path.with_name(path.name.removesuffix(".jsonl") + ".meta.jsonl")
    meta = _read_jsonl(meta_path, "metadata file") if meta_path.exists() else []
    turns: list[Turn] = []
    for line, record in enumerate(examples, start=1):
        if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
            raise InputError(f"{path}:{line}: not an OpenAI chat record (no 'messages' list)")
        category = meta[line - 1].get("category", "unknown") if line <= len(meta) else "unknown"
        messages = record["messages"]
        for index, message in enumerate(messages):
            if message.get("role") != "assistant" or message.get("weight") == 0:
                continue
            calls = message.get("tool_calls") or []
            turns.append(
                Turn(
                    id=f"{line}:{index}",
                    context=[_without_weight(m) for m in messages[:index]],
                    tools=record.get("tools") or [],
                    reference=_without_weight(message),
                    kind=reference_kind(messages, index),
                    tool=calls[0]["function"]["name"] if calls else None,
                    category=category,
                )
            )
    return turns


def read_predictions(path: Path) -> dict[str, Prediction]:
    """``{"id": "<line>:<message index>", "message": {assistant message}}`` per line."""
    predictions = {}
    for line, record in enumerate(_read_jsonl(path, "predictions file"), start=1):
        if not isinstance(record, dict) or "id" not in record:
            raise InputError(f"{path}:{line}: a prediction needs an 'id' and a 'message'")
        message = record.get("message")
        predictions[str(record["id"])] = Prediction(message if isinstance(message, dict) else None)
    return predictions


def _read_jsonl(path: Path, what: str) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    records = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            records.append(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{line}: not JSON ({exc.msg})") from None
    return records


def _without_weight(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if key != "weight"}


# -- behaviour ----------------------------------------------------------------------


def reference_kind(messages: list[dict[str, Any]], index: int) -> str:
    """``call`` (it makes calls), ``ask`` (a question the user answers next) or ``answer``."""
    message = messages[index]
    if message.get("tool_calls"):
        return "call"
    following = messages[index + 1] if index + 1 < len(messages) else None
    if following is not None and following.get("role") == "user":
        return "ask"
    return "ask" if _is_question(message.get("content")) else "answer"


def predicted_kind(message: dict[str, Any] | None) -> str | None:
    if message is None:
        return None
    if message.get("tool_calls"):
        return "call"
    return "ask" if _is_question(message.get("content")) else "answer"


def _is_question(content: Any) -> bool:
    return isinstance(content, str) and content.rstrip().endswith("?")


# -- calls ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any] | None
    """None when the arguments were no JSON object."""


def calls_of(message: dict[str, Any] | None) -> list[Call]:
    calls = []
    for call in (message or {}).get("tool_calls") or []:
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                arguments = None
        calls.append(
            Call(str(function.get("name")), arguments if isinstance(arguments, dict) else None)
        )
    return calls


def bfcl_string(value: str) -> str:
    return _BFCL_IGNORED.sub("", value).lower().replace("'", '"')


def values_match(predicted: Any, reference: Any) -> bool:
    """BFCL's value check: strict types (an int for a float is fine), normalised strings."""
    if isinstance(reference, bool) or isinstance(predicted, bool):
        return type(predicted) is type(reference) and predicted == reference
    if isinstance(reference, float):
        return isinstance(predicted, int | float) and float(predicted) == reference
    if isinstance(reference, int):
        return type(predicted) is int and predicted == reference
    if isinstance(reference, str):
        return isinstance(predicted, str) and bfcl_string(predicted) == bfcl_string(reference)
    if isinstance(reference, list):
        return (
            isinstance(predicted, list)
            and len(predicted) == len(reference)
            and all(values_match(p, r) for p, r in zip(predicted, reference, strict=True))
        )
    if isinstance(reference, dict):
        return (
            isinstance(predicted, dict)
            and set(predicted) == set(reference)
            and all(values_match(predicted[k], reference[k]) for k in reference)
        )
    return bool(predicted == reference)


def ast_call_match(predicted: Call, reference: Call, schema: dict[str, Any] | None) -> bool:
    if predicted.name != reference.name or predicted.arguments is None:
        return False
    declared = set((schema or {}).get("properties", {}))
    required = set((schema or {}).get("required", []))
    given, expected = set(predicted.arguments), set(reference.arguments or {})
    if not required <= given or (declared and not given <= declared) or given != expected:
        return False
    return all(values_match(predicted.arguments[k], (reference.arguments or {})[k]) for k in given)


def matched_in_any_order(
    predicted: list[Call], reference: list[Call], same: Callable[[Call, Call], bool]
) -> bool:
    """A one-to-one pairing where every pair is ``same`` (parallel calls, any order)."""
    if len(predicted) != len(reference):
        return False
    left = list(predicted)
    for wanted in reference:
        partner = next((i for i, call in enumerate(left) if same(call, wanted)), None)
        if partner is None:
            return False
        left.pop(partner)
    return True


def similarity(predicted: Call, reference: Call) -> float:
    """The article's fuzzy measure: sorted-JSON text similarity of the arguments."""
    if predicted.name != reference.name or predicted.arguments is None:
        return 0.0
    if predicted.arguments == reference.arguments:
        return 1.0
    return SequenceMatcher(
        None,
        json.dumps(predicted.arguments, sort_keys=True),
        json.dumps(reference.arguments, sort_keys=True),
    ).ratio()


def call_scores(
    predicted: list[Call], reference: list[Call], schemas: dict[str, dict[str, Any]]
) -> dict[str, bool]:
    return {
        "ast": matched_in_any_order(
            predicted, reference, lambda p, r: ast_call_match(p, r, schemas.get(r.name))
        ),
        "exact": matched_in_any_order(
            predicted, reference, lambda p, r: p.name == r.name and p.arguments == r.arguments
        ),
        "fuzzy": matched_in_any_order(predicted, reference, lambda p, r: similarity(p, r) > FUZZY),
        "functional": matched_in_any_order(
            predicted, reference, lambda p, r: similarity(p, r) > FUNCTIONAL
        ),
    }


# -- scoring ----------------------------------------------------------------------------


@dataclass
class Tally:
    """Counts for one slice (all, a tool, a category)."""

    turns: int = 0
    call_turns: int = 0
    matches: Counter[str] = field(default_factory=Counter)
    calls_made: int = 0
    invented_tools: int = 0
    invented_parameters: int = 0
    unparsable: int = 0

    def add(self, turn: Turn, prediction: Prediction | None) -> None:
        message = prediction.message if prediction else None
        self.turns += 1
        predicted = calls_of(message)
        schemas = {t["function"]["name"]: t["function"].get("parameters") or {} for t in turn.tools}
        self.unparsable += message is None or any(c.arguments is None for c in predicted)
        self.calls_made += len(predicted)
        for call in predicted:
            if call.name not in schemas:
                self.invented_tools += 1
            elif call.arguments is not None:
                declared = set(schemas[call.name].get("properties", {}))
                self.invented_parameters += bool(set(call.arguments) - declared)
        if turn.kind == "call":
            self.call_turns += 1
            scores = call_scores(predicted, calls_of(turn.reference), schemas)
            self.matches.update(metric for metric, hit in scores.items() if hit)

    def as_dict(self) -> dict[str, Any]:
        rate = _rate
        return {
            "turns": self.turns,
            "call_turns": self.call_turns,
            **{metric: rate(self.matches[metric], self.call_turns) for metric in CALL_METRICS},
            "calls_made": self.calls_made,
            "invented_tool_rate": rate(self.invented_tools, self.calls_made),
            "invented_parameter_rate": rate(self.invented_parameters, self.calls_made),
            "unparsable": self.unparsable,
            "unparsable_rate": rate(self.unparsable, self.turns),
        }


def _rate(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def score(turns: Iterable[Turn], predictions: dict[str, Prediction], model: str) -> dict[str, Any]:
    """The report: overall, per tool, per category, and the behaviour matrix."""
    overall = Tally()
    per_tool: dict[str, Tally] = defaultdict(Tally)
    per_category: dict[str, Tally] = defaultdict(Tally)
    behaviour: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    missing = 0
    for turn in turns:
        prediction = predictions.get(turn.id)
        missing += prediction is None
        for tally in (overall, per_tool[turn.tool or "(no call)"], per_category[turn.category]):
            tally.add(turn, prediction)
        made = predicted_kind(prediction.message if prediction else None)
        behaviour[turn.kind][made or "none"] += 1
    return {
        "model": model,
        "overall": overall.as_dict(),
        "per_tool": {name: t.as_dict() for name, t in sorted(per_tool.items())},
        "per_category": {name: t.as_dict() for name, t in sorted(per_category.items())},
        "behaviour": {
            kind: {made: row.get(made, 0) for made in (*KINDS, "none")}
            for kind, row in behaviour.items()
        },
        "missing_predictions": missing,
    }


# -- asking a model ---------------------------------------------------------------------


def request_body(turn: Turn) -> dict[str, Any]:
    """The chat completion request for a turn: the conversation so far and its tools."""
    body: dict[str, Any] = {"messages": turn.context, "temperature": 0}
    if turn.tools:
        body["tools"] = turn.tools
    return body


async def ask_model(
    turns: list[Turn], teacher: Any, on_answer: Callable[[], None] | None = None
) -> tuple[dict[str, Prediction], list[Any]]:
    """Every turn's prediction from ``teacher.complete`` (an ``OpenAITeacher``), with the
    cache entries of new answers; a turn whose request fails is a prediction of nothing."""
    from callforge.generator.teachers.base import TeacherFailure

    gate = asyncio.Semaphore(teacher.concurrency)
    entries: list[Any] = []

    async def one(turn: Turn) -> tuple[str, Prediction]:
        async with gate:
            try:
                completion, usage, entry = await teacher.complete(request_body(turn))
            except TeacherFailure as failure:
                return turn.id, Prediction(None, failure.reason)
        if usage.requests:
            entries.append(entry)
        if on_answer is not None:
            on_answer()
        message = completion.choices[0].message.model_dump(mode="json", exclude_none=True)
        return turn.id, Prediction(message)

    answers = await asyncio.gather(*(one(turn) for turn in turns))
    return dict(answers), entries


def compare(reports: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """Rows of (metric, value per report), overall and per category, for side by side."""
    rows: list[tuple[str, list[Any]]] = []
    metrics = (*CALL_METRICS, "invented_tool_rate", "invented_parameter_rate", "unparsable_rate")
    for metric in metrics:
        rows.append((metric, [report["overall"][metric] for report in reports]))
    categories = sorted({c for report in reports for c in report["per_category"]})
    for category in categories:
        for metric in ("ast", "exact"):
            rows.append(
                (
                    f"{category}: {metric}",
                    [report["per_category"].get(category, {}).get(metric) for report in reports],
                )
            )
    return rows


def evaluate_file(
    eval_file: Path,
    *,
    predictions_file: Path | None = None,
    teacher: Any = None,
    db: Path | None = None,
    use_cache: bool = True,
    on_answer: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Score a model on ``eval_file``: its answers come from ``predictions_file`` or are
    asked of ``teacher`` (an ``OpenAITeacher``; answers cached in the store at ``db``).

    The store is opened last, once the eval file has been read and the teacher built,
    so a bad option or file leaves no store behind (and an existing one untouched).
    """
    turns = read_turns(eval_file)
    if not turns:
        raise InputError(f"{eval_file}: no assistant turn to evaluate")
    if predictions_file is not None:
        report = score(turns, read_predictions(predictions_file), str(predictions_file))
        report["source"] = {"predictions": str(predictions_file)}
        return report
    if teacher is None:
        raise InputError("evaluate needs --model (and --base-url) or --predictions FILE")
    if db is None:
        predictions, _ = asyncio.run(_ask(turns, teacher, on_answer))
    else:
        with Store(db) as store:
            if use_cache:
                teacher.cache = store.response_cache()
            predictions, entries = asyncio.run(_ask(turns, teacher, on_answer))
            if entries:
                store.write_batch("evaluate", [], [], entries)
    report = score(turns, predictions, teacher.model)
    report["source"] = {"model": teacher.model, "base_url": teacher.base_url}
    report["failed_requests"] = sum(p.error is not None for p in predictions.values())
    return report


async def _ask(
    turns: list[Turn], teacher: Any, on_answer: Callable[[], None] | None
) -> tuple[dict[str, Prediction], list[Any]]:
    await teacher.start()
    try:
        return await ask_model(turns, teacher, on_answer)
    finally:
        await teacher.aclose()
