"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

The openai teacher is tested by letting the real ``openai`` client and
``instructor`` talk HTTP to this server, so their request building, parsing,
re-asking and retrying all run unchanged. The server answers the way a model
server would in every instructor mode we use:

- ``Mode.TOOLS``: the request forces a function through ``tools`` and
  ``tool_choice``; the answer is a ``tool_calls`` message whose ``arguments``
  is a JSON string (finish_reason ``tool_calls``).
- ``Mode.JSON_SCHEMA``: the schema is ``response_format.json_schema.schema``;
  the answer's content is the JSON.
- ``Mode.JSON``: ``response_format`` is ``{"type": "json_object"}`` and the
  schema is only in the system message text; the answer's content is the JSON.
- ``Mode.MD_JSON``: no ``response_format``, schema in the system message; the
  answer's content is the JSON inside a ```json fenced block.

What the "model" says comes from a pluggable responder (default:
``SchemaFillingResponder``, which fills the schema and honours a ``FACTS:``
line in the prompt). What goes wrong comes from ``ServerBehaviour``: latency,
429 with ``Retry-After``, 500, timeouts, malformed or schema-invalid output, a
200 that is no chat completion and a wrong API key, each drawn from a seeded
generator so a test is reproducible.

In a test::

    with run_server(ServerBehaviour(rate_429=0.5, seed=3)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
        ...
        assert server.stats.outcomes["429"] == 2

For a benchmark, in its own process (so the server's CPU is not the load
generator's)::

    process, base_url = start_server_process(latency_s=0.3, log_requests=False)
    ...
    print(fetch_stats(base_url)["peak_in_flight"])
    process.terminate()

or from a shell: ``python -m tests.openai_server --port 0 --latency 0.3``,
which prints ``READY http://127.0.0.1:PORT/v1`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import inspect
import json
import math
import random
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import rstr
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

HOST = "127.0.0.1"
MODEL_ID = "callforge-local"
FACTS_PREFIX = "FACTS: "
MAX_DEPTH = 8
OUTCOMES = ("ok", "429", "500", "timeout", "malformed", "invalid", "not_completion", "401", "400")
REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- config


@dataclasses.dataclass
class ServerBehaviour:
    """How the server misbehaves; tests may change it while the server runs.

    Each request draws one number from a generator seeded by ``seed`` and picks
    its outcome from the cumulative rates (429, 500, timeout, malformed,
    invalid, not_completion; the rest succeed), so the n-th request always gets the same fate.
    429 and 401 answer at once, like a gateway would; everything else waits
    ``latency_s`` (+ up to ``latency_jitter_s``) first.
    """

    latency_s: float = 0.0
    latency_jitter_s: float = 0.0
    rate_429: float = 0.0
    retry_after: str | None = "0.05"
    """The 429's ``Retry-After`` header as sent (any text, for hostile values); None: none."""
    rate_500: float = 0.0
    rate_timeout: float = 0.0
    timeout_sleep_s: float = 5.0
    rate_malformed: float = 0.0
    rate_invalid: float = 0.0
    rate_not_completion: float = 0.0
    """HTTP 200 whose body is JSON but no chat completion, as some proxies answer."""
    refuse_all: bool = False
    chunked_replies: bool = False
    """Send answers chunked, without a Content-Length (as a streaming proxy would)."""
    api_key: str | None = None
    seed: int = 0
    log_requests: bool = True
    max_logged_requests: int = 1000
    prompt_cache: bool = True
    """Report ``usage.prompt_tokens_details.cached_tokens`` as OpenAI's prompt cache would."""


@dataclasses.dataclass
class ServerStats:
    """Counters a test or benchmark reads after the traffic has passed."""

    total: int = 0
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    in_flight: int = 0
    peak_in_flight: int = 0
    api_versions: Counter[str] = dataclasses.field(default_factory=Counter)
    """Requests to the Azure-style deployment route, by ``api-version``."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    """Tokens of the answers sent, and the prompt tokens the prompt cache served."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON form, served on ``GET /stats``."""
        return {
            "total": self.total,
            "outcomes": {name: self.outcomes.get(name, 0) for name in OUTCOMES},
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "api_versions": dict(self.api_versions),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
        }


@dataclasses.dataclass(frozen=True)
class CompletionRequest:
    """What a responder sees: the request body and the schema the reply must fit."""

    body: dict[str, Any]
    schema: dict[str, Any] | None
    messages: list[dict[str, Any]]


Responder = Callable[[CompletionRequest], Any]


@dataclasses.dataclass(frozen=True)
class AssistantReply:
    """A responder's whole assistant message (``content`` and/or ``tool_calls``), sent as
    it is: how a test plays a model under evaluation, which chooses its own calls."""

    message: dict[str, Any]


# ------------------------------------------------------------- where the schema is


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whether its content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function the model must call: the one named by tool_choice, else the first."""
    tools: list[dict[str, Any]] = [t.get("function", {}) for t in body.get("tools") or []]
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        return next((t for t in tools if t.get("name") == name), tools[0])
    return tools[0]


def schema_in_text(text: str) -> dict[str, Any] | None:
    """The first JSON object after "json_schema" in a prompt.

    instructor's JSON and MD_JSON modes put the schema only in the system
    message ("...match the following json_schema:\\n\\n{...}"), so that is where
    a real model, and this server, has to read it from.
    """
    decoder = json.JSONDecoder()
    for marker in re.finditer(r"json_schema", text, flags=re.IGNORECASE):
        start = text.find("{", marker.end())
        if start < 0:
            return None
        with contextlib.suppress(json.JSONDecodeError):
            value, _ = decoder.raw_decode(text, start)
            if isinstance(value, dict):
                return value
    return None


def extract_target_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the reply must satisfy, wherever the client put it."""
    tool = forced_tool(body)
    if tool is not None:
        return tool.get("parameters") or {"type": "object", "properties": {}}
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema: dict[str, Any] | None = response_format.get("json_schema", {}).get("schema")
        return schema
    for message in body.get("messages") or []:
        schema = schema_in_text(message_text(message))
        if schema is not None:
            return schema
    return None


# ----------------------------------------------------------------- the "model"


@dataclasses.dataclass(frozen=True)
class Facts:
    """Ground truth a test plants in the prompt: ``FACTS: {"fields": ..., "mention": ...}``.

    ``fields`` are copied verbatim into same-named properties; every item of
    ``mention`` appears verbatim in each free-text string property, so tests of
    grounding and validation have something true to check against.
    """

    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    mention: list[Any] = dataclasses.field(default_factory=list)

    @classmethod
    def from_messages(cls, messages: list[dict[str, Any]]) -> Facts:
        """The last ``FACTS:`` line in any message; no facts if none parses."""
        lines = [
            line[len(FACTS_PREFIX) :]
            for message in messages
            for line in message_text(message).splitlines()
            if line.startswith(FACTS_PREFIX)
        ]
        if not lines:
            return cls()
        try:
            raw = json.loads(lines[-1])
        except json.JSONDecodeError:
            return cls()
        if not isinstance(raw, dict):
            return cls()
        return cls(fields=dict(raw.get("fields") or {}), mention=list(raw.get("mention") or []))


WORDS = [
    "account",
    "order",
    "invoice",
    "meeting",
    "report",
    "customer",
    "project",
    "ticket",
    "shipment",
    "review",
    "budget",
    "schedule",
    "request",
    "update",
    "summary",
    "record",
    "payment",
    "delivery",
    "session",
    "profile",
]


class SchemaFilling:
    """Generates a value valid against one JSON schema (pydantic's dialect).

    Covers what ``model_json_schema()`` emits: objects, arrays, scalars, enums,
    const, ``$ref`` into ``$defs``, ``anyOf``/``oneOf`` (optional fields are
    ``anyOf [..., null]``; the non-null branch is preferred), ``allOf``.
    """

    def __init__(self, root: dict[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow local ``$ref``s ("#/$defs/Name") and merge ``allOf``."""
        while "$ref" in schema:
            target: Any = self.root
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target[part] if part else target
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = _merge_schemas(merged, self.resolve(part))
            schema = merged
        return schema

    def union_branch(self, schema: dict[str, Any], depth: int = 0) -> dict[str, Any] | None:
        """For a union, the branch to fill (None if not a union).

        Non-null branches are preferred so optional fields carry data; past
        MAX_DEPTH null wins, which is what ends recursive models.
        """
        options = schema.get("anyOf") or schema.get("oneOf")
        if not options:
            return None
        resolved = [self.resolve(option) for option in options]
        nulls = [option for option in resolved if option.get("type") == "null"]
        non_null = [option for option in resolved if option.get("type") != "null"]
        if nulls and (depth >= MAX_DEPTH or not non_null):
            return nulls[0]
        return self.rng.choice(non_null)

    def value(self, schema: dict[str, Any] | bool, depth: int = 0) -> Any:
        """A value that validates against ``schema``."""
        if not isinstance(schema, dict):
            return self.rng.choice(WORDS)
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        branch = self.union_branch(schema, depth)
        if branch is not None:
            return self.value(branch, depth + 1)
        kind = _schema_type(schema)
        filler = getattr(self, f"fill_{kind}", self.fill_string)
        return filler(schema, depth)

    def fill_object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        if depth >= MAX_DEPTH:
            required = set(schema.get("required") or [])
            properties = {k: v for k, v in properties.items() if k in required}
        result = {name: self.value(sub, depth + 1) for name, sub in properties.items()}
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, dict) and depth < MAX_DEPTH:
            result = {self.rng.choice(WORDS): self.value(extra, depth + 1)}
        return result

    def fill_array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(low, 3)))
        count = low if depth >= MAX_DEPTH else self.rng.randint(max(low, 1), max(high, low, 1))
        prefix = schema.get("prefixItems") or []
        items = schema.get("items", {})
        count = max(count, len(prefix))
        return [
            self.value(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(count)
        ]

    def fill_string(self, schema: dict[str, Any], depth: int) -> str:
        del depth
        fmt = schema.get("format")
        if fmt in STRING_FORMATS:
            return STRING_FORMATS[fmt](self.rng)
        if "pattern" in schema:
            return rstr.Rstr(self.rng).xeger(schema["pattern"])
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", max(low, 40)))
        text = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(1, 4)))
        while len(text) < low:
            text += " " + self.rng.choice(WORDS)
        return text[:high]

    def fill_integer(self, schema: dict[str, Any], depth: int) -> int:
        del depth
        low, high = _bounds(schema)
        step = int(schema.get("multipleOf", 1)) or 1
        first, last = math.ceil(low / step), math.floor(high / step)
        return step * self.rng.randint(first, max(first, last))

    def fill_number(self, schema: dict[str, Any], depth: int) -> float:
        del depth
        low, high = _bounds(schema)
        value = self.rng.uniform(low, high)
        return round(value, 2) if low <= round(value, 2) <= high else value

    def fill_boolean(self, schema: dict[str, Any], depth: int) -> bool:
        del schema, depth
        return self.rng.random() < 0.5

    def fill_null(self, schema: dict[str, Any], depth: int) -> None:
        del schema, depth
        return None


STRING_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date": lambda rng: f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    "date-time": lambda rng: f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:30:00Z",
    "time": lambda rng: f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00",
    "email": lambda rng: f"{rng.choice(WORDS)}{rng.randint(1, 99)}@example.com",
    "uri": lambda rng: f"https://example.com/{rng.choice(WORDS)}",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
}


def _schema_type(schema: dict[str, Any]) -> str:
    """The JSON type to generate; a list of types picks its first non-null one."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    return str(kind)


def _bounds(schema: dict[str, Any]) -> tuple[float, float]:
    """Inclusive numeric bounds; exclusive ones are pulled in by a small margin."""
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is None:
        low = 0 if high is None else min(0, high - 100)
    if high is None:
        high = low + 100
    margin = min(1.0, (high - low) / 4)
    low += margin if "minimum" not in schema and "exclusiveMinimum" in schema else 0
    high -= margin if "maximum" not in schema and "exclusiveMaximum" in schema else 0
    return low, high


def _merge_schemas(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    merged = {**left, **right}
    merged["properties"] = {**left.get("properties", {}), **right.get("properties", {})}
    merged["required"] = sorted({*left.get("required", []), *right.get("required", [])})
    return merged


def mention_sentence(mention: list[Any], rng: random.Random) -> str:
    """A sentence that contains every mentioned value verbatim."""
    items = [str(item) for item in mention]
    if not items:
        return f"Please take care of the {rng.choice(WORDS)} {rng.choice(WORDS)}."
    listed = items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
    template = rng.choice(
        ("Please handle this with {}.", "Could you take care of {}?", "I need help with {}.")
    )
    return template.format(listed)


def request_rng(body: dict[str, Any]) -> random.Random:
    """A generator seeded by the request, so the same request gets the same answer."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class SchemaFillingResponder:
    """The default "model": a schema-valid answer that repeats the prompt's facts.

    For each top-level property: a ``fields`` fact wins verbatim; a free-text
    string gets a sentence containing every ``mention``; anything else gets a
    generated schema-valid value. Without a schema it answers with the sentence.
    """

    def __call__(self, request: CompletionRequest) -> Any:
        rng = request_rng(request.body)
        facts = Facts.from_messages(request.messages)
        if request.schema is None:
            return mention_sentence(facts.mention, rng)
        filling = SchemaFilling(request.schema, rng)
        root = filling.resolve(request.schema)
        if _schema_type(root) != "object":
            return filling.value(root)
        return {
            name: self.property_value(name, sub, facts, filling)
            for name, sub in (root.get("properties") or {}).items()
        }

    def property_value(
        self, name: str, schema: dict[str, Any], facts: Facts, filling: SchemaFilling
    ) -> Any:
        """One top-level property: fact, sentence with the mentions, or filler."""
        if name in facts.fields:
            return facts.fields[name]
        resolved = filling.resolve(schema)
        target = filling.union_branch(resolved) or resolved
        if _is_free_text(target):
            sentence = mention_sentence(facts.mention, filling.rng)
            if len(sentence) <= int(target.get("maxLength", len(sentence))):
                return sentence
        return filling.value(schema, depth=1)


def _is_free_text(schema: dict[str, Any]) -> bool:
    """A string property a sentence may fill (no enum, format, pattern or const)."""
    constrained = {"enum", "const", "format", "pattern"} & schema.keys()
    return schema.get("type") == "string" and not constrained


def violate_schema(value: Any, schema: dict[str, Any] | None) -> Any:
    """Valid JSON that fails the schema: required fields dropped, else types swapped."""
    required = set((schema or {}).get("required") or [])
    if isinstance(value, dict) and required:
        return {k: v for k, v in value.items() if k not in required}
    if isinstance(value, dict):
        return {k: _wrong_type(v) for k, v in value.items()} or ["not", "an", "object"]
    return _wrong_type(value)


def _wrong_type(value: Any) -> Any:
    if isinstance(value, str):
        return 12345
    if value is None:
        return {"unexpected": "object"}
    return "not the expected type"


def malform(text: str) -> str:
    """Broken JSON: single quotes and cut short, as a sloppy model might write it."""
    broken = text.replace('"', "'")
    return broken[: max(len(broken) // 2, 2)]


# -------------------------------------------------------------- HTTP answers


def estimate_tokens(text: str) -> int:
    """~4 characters per token, like OpenAI's rule of thumb; at least 1."""
    return max(1, len(text) // 4)


def completion_body(
    request: dict[str, Any],
    reply: Any,
    outcome: str,
    schema: dict[str, Any] | None,
    prompt_chars: int,
    cached_tokens: int = 0,
) -> dict[str, Any]:
    """A ``chat.completion`` object carrying ``reply`` in the shape the mode expects.

    Prompt tokens are estimated from the raw request size (messages plus the
    tool or response-format schema, which a real model also bills).
    """
    if isinstance(reply, AssistantReply):  # a model under evaluation: its own message
        message = {"role": "assistant", "content": None, "refusal": None, **reply.message}
        finish_reason = "tool_calls" if message.get("tool_calls") else "stop"
        text = json.dumps(reply.message)
    else:
        if outcome == "invalid":
            reply = violate_schema(reply, schema)
        text = reply_text(request, reply, schema)
        if outcome == "malformed":
            text = malform(text)
        message, finish_reason = reply_message(request, text, schema)
    prompt_tokens, completion_tokens = max(1, prompt_chars // 4), estimate_tokens(text)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model") or MODEL_ID,
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": min(cached_tokens, prompt_tokens)},
        },
    }


def reply_text(request: dict[str, Any], reply: Any, schema: dict[str, Any] | None) -> str:
    """Free text only when nothing asked for JSON; otherwise the reply as JSON."""
    wants_json = schema is not None or request.get("response_format") or request.get("tools")
    return json.dumps(reply) if wants_json or not isinstance(reply, str) else reply


def reply_message(
    request: dict[str, Any], text: str, schema: dict[str, Any] | None
) -> tuple[dict[str, Any], str]:
    """The assistant message: a tool call, bare JSON, or JSON in a ```json block."""
    tool = forced_tool(request)
    if tool is not None:
        call = {
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {"name": tool.get("name", "function"), "arguments": text},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None}
        return message, "tool_calls"
    if schema is not None and not request.get("response_format"):
        text = f"```json\n{text}\n```"
    return {"role": "assistant", "content": text, "refusal": None}, "stop"


def error_response(
    status: int, message: str, kind: str, code: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error in OpenAI's shape, which the openai client turns into its exceptions."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


# ---------------------------------------------------------------------- the app


class PromptCache:
    """OpenAI's automatic prompt caching, as its documentation describes it.

    A request's prefix (the tools and response format, then the messages in
    order) is cached in blocks of 128 tokens once the prompt reaches 1,024; a
    later request is served from the cache for the longest run of leading
    blocks some earlier request shared. Tokens are ~4 characters here, as in
    ``estimate_tokens``. Used from the one answering thread.
    """

    BLOCK_CHARS = 128 * 4
    MIN_CHARS = 1024 * 4

    def __init__(self) -> None:
        self.seen: set[bytes] = set()

    def cached_tokens(self, body: dict[str, Any]) -> int:
        text = json.dumps(
            [body.get("tools"), body.get("response_format"), body.get("messages")],
            ensure_ascii=False,
        ).encode()
        if len(text) < self.MIN_CHARS:
            return 0
        digest = hashlib.sha256()
        cached, hit = 0, True
        for end in range(self.BLOCK_CHARS, len(text) + 1, self.BLOCK_CHARS):
            digest.update(text[end - self.BLOCK_CHARS : end])
            prefix = digest.digest()
            if hit and prefix in self.seen:
                cached = end
            else:
                hit = False
                self.seen.add(prefix)
        return cached // 4 if cached >= self.MIN_CHARS else 0


class FaultSchedule:
    """Which outcome the n-th request gets: one seeded draw per request."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.jitter_rng = random.Random(seed + 1)

    def jitter(self, behaviour: ServerBehaviour) -> float:
        """Extra latency, from its own generator so it never shifts the faults."""
        if not behaviour.latency_jitter_s:
            return 0.0
        return self.jitter_rng.uniform(0, behaviour.latency_jitter_s)

    def draw(self, behaviour: ServerBehaviour) -> str:
        """An outcome name; the rates are cumulative slices of [0, 1)."""
        roll = self.rng.random()
        for outcome, rate in (
            ("429", behaviour.rate_429),
            ("500", behaviour.rate_500),
            ("timeout", behaviour.rate_timeout),
            ("malformed", behaviour.rate_malformed),
            ("invalid", behaviour.rate_invalid),
            ("not_completion", behaviour.rate_not_completion),
        ):
            if roll < rate:
                return outcome
            roll -= rate
        return "ok"


class ChatCompletionsApp:
    """The server's state and its endpoints; ``app`` is the ASGI application."""

    def __init__(self, behaviour: ServerBehaviour, responder: Responder) -> None:
        self.behaviour = behaviour
        self.responder = responder
        self.stats = ServerStats()
        self.requests: deque[dict[str, Any]] = deque(maxlen=behaviour.max_logged_requests)
        self.faults = FaultSchedule(behaviour.seed)
        self.prompt_cache = PromptCache()
        # One thread: responders need not be thread-safe, and answers keep their order.
        self.answering = concurrent.futures.ThreadPoolExecutor(1, "answering")
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route(  # Azure OpenAI's dated API: one URL per deployment, ?api-version=
                    "/openai/deployments/{deployment}/chat/completions",
                    self.azure_chat_completions,
                    methods=["POST"],
                ),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/stats", self.read_stats, methods=["GET"]),
            ]
        )

    def reset(self) -> None:
        """Zero the counters and log and restart the fault sequence from the seed."""
        self.stats = ServerStats()
        self.requests.clear()
        self.faults = FaultSchedule(self.behaviour.seed)

    async def models(self, request: Request) -> Response:
        if self.behaviour.api_key and not self.authorized(request):
            return self.unauthorized()
        model = {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "callforge"}
        return JSONResponse({"object": "list", "data": [model]})

    async def read_stats(self, request: Request) -> Response:
        del request
        return JSONResponse(self.stats.as_dict())

    async def chat_completions(self, request: Request) -> Response:
        stats = self.stats
        stats.total += 1
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        arrived = time.monotonic()
        try:
            outcome, body = await self.triage(request)
            stats.outcomes[outcome] += 1
            return await self.respond(outcome, body, request, arrived)
        finally:
            stats.in_flight -= 1

    async def azure_chat_completions(self, request: Request) -> Response:
        """As Azure answers: the key in ``api-key``; without ``api-version``, no resource."""
        version = request.query_params.get("api-version")
        if not version:
            return error_response(404, "Resource not found", "invalid_request_error", "404")
        if self.behaviour.api_key and request.headers.get("api-key") != self.behaviour.api_key:
            return self.unauthorized()
        self.stats.api_versions[version] += 1
        return await self.chat_completions(request)

    async def triage(self, request: Request) -> tuple[str, dict[str, Any]]:
        """Decide the outcome up front, so counters are right even while a request hangs."""
        behaviour = self.behaviour
        if behaviour.api_key and not self.authorized(request):
            return "401", {}
        body = await self.read_body(request)
        if body is None:
            return "400", {}
        if behaviour.log_requests:
            self.requests.append(body)
        return ("429" if behaviour.refuse_all else self.faults.draw(behaviour)), body

    async def respond(
        self, outcome: str, body: dict[str, Any], request: Request, arrived: float
    ) -> Response:
        """The HTTP response for a decided outcome, ``latency_s`` after it ``arrived``.

        The answer is written first and the latency waited out after, as a model
        server's latency includes the generation: the server's own CPU time must
        not add to the latency a benchmark divides by.
        """
        if outcome == "401":
            return self.unauthorized()
        if outcome == "400":
            return self.bad_request("The body must be a JSON object without stream=True.")
        if outcome == "429":
            return self.rate_limited()
        if outcome == "timeout":
            await self.wait(outcome, request, arrived)  # then answer, if anyone still listens
        if outcome == "500":
            response = error_response(
                500, "The server had an error while processing your request.", "server_error", None
            )
        elif outcome == "not_completion":
            response = JSONResponse({"status": "queued", "detail": "try again later"})
        else:
            prompt_chars = len(await request.body())  # cached by starlette, not re-read
            # Written in the answering thread: the event loop stays free to send the
            # answers that are due, instead of holding them behind this one's CPU.
            response = await asyncio.get_running_loop().run_in_executor(
                self.answering, self.answer, body, outcome, prompt_chars
            )
        if outcome != "timeout":
            await self.wait(outcome, request, arrived)
        return response

    def answer(self, body: dict[str, Any], outcome: str, prompt_chars: int) -> Response:
        """The responder's reply as a chat completion (in the answering thread)."""
        schema = extract_target_schema(body)
        reply = self.responder(CompletionRequest(body, schema, body.get("messages") or []))
        cached = self.prompt_cache.cached_tokens(body) if self.behaviour.prompt_cache else 0
        completion = completion_body(body, reply, outcome, schema, prompt_chars, cached)
        self.stats.prompt_tokens += completion["usage"]["prompt_tokens"]
        self.stats.completion_tokens += completion["usage"]["completion_tokens"]
        self.stats.cached_tokens += completion["usage"]["prompt_tokens_details"]["cached_tokens"]
        if self.behaviour.chunked_replies:
            text = json.dumps(completion).encode()
            parts = [text[i : i + 2**16] for i in range(0, len(text), 2**16)]
            return StreamingResponse(iter(parts), media_type="application/json")
        return JSONResponse(completion)

    @staticmethod
    async def read_body(request: Request) -> dict[str, Any] | None:
        """The request as a dict; None for what this server cannot answer (streaming)."""
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return None
        if not isinstance(body, dict) or body.get("stream"):
            return None
        return body

    @staticmethod
    def bad_request(message: str) -> Response:
        return error_response(400, message, "invalid_request_error", None)

    def authorized(self, request: Request) -> bool:
        key = self.behaviour.api_key
        headers = request.headers
        return headers.get("authorization") == f"Bearer {key}" or headers.get("api-key") == key

    def unauthorized(self) -> Response:
        return error_response(
            401,
            "Incorrect API key provided. You can find your API key in the test's ServerBehaviour.",
            "invalid_request_error",
            "invalid_api_key",
        )

    def rate_limited(self) -> Response:
        retry_after = self.behaviour.retry_after
        return error_response(
            429,
            f"Rate limit reached for requests. Please try again in {retry_after}s.",
            "requests",
            "rate_limit_exceeded",
            headers=None if retry_after is None else {"retry-after": retry_after},
        )

    async def wait(self, outcome: str, request: Request, arrived: float) -> None:
        """Model latency counted from arrival, or for a timeout hang until the client gives up."""
        behaviour = self.behaviour
        if outcome == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_disconnected(request), behaviour.timeout_sleep_s)
            return
        delay = behaviour.latency_s + self.faults.jitter(behaviour) - (time.monotonic() - arrived)
        if delay > 0:
            await asyncio.sleep(delay)


async def _disconnected(request: Request) -> None:
    """Return once the client closes the connection (the body is already read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


# ---------------------------------------------------------------------- running


class _NotifyingServer(uvicorn.Server):
    """A uvicorn server that reports once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.on_ready()


def _fastest_available(module: str, fast: str, fallback: str) -> str:
    try:
        __import__(module)
    except ImportError:
        return fallback
    return fast


def uvicorn_config(app: Any) -> uvicorn.Config:
    """Quiet uvicorn on the fastest installed HTTP parser and event loop."""
    return uvicorn.Config(
        app,
        http=_fastest_available("httptools", "httptools", "h11"),
        loop=_fastest_available("uvloop", "uvloop", "asyncio"),
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        backlog=4096,
    )


def bind_socket(port: int = 0) -> socket.socket:
    """A listening-ready socket on 127.0.0.1; port 0 lets the OS choose.

    The explicit IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted
    sockets whose proto is IPPROTO_TCP, and without it uvicorn's separate
    header and body writes meet delayed ACKs, adding ~40 ms to every
    keep-alive request.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    return sock


@dataclasses.dataclass
class LocalServer:
    """A running server as a test sees it."""

    base_url: str
    state: ChatCompletionsApp

    @property
    def behaviour(self) -> ServerBehaviour:
        return self.state.behaviour

    @property
    def stats(self) -> ServerStats:
        return self.state.stats

    @property
    def requests(self) -> deque[dict[str, Any]]:
        return self.state.requests

    def reset(self) -> None:
        """Zero counters and the request log; the fault sequence starts over."""
        self.state.reset()

    def configure(self, **changes: Any) -> None:
        """Default behaviour plus ``changes``, counters reset: a shared server, fresh per test.

        The behaviour object is updated in place, so references to it stay live.
        """
        fresh = dataclasses.replace(ServerBehaviour(), **changes)
        for field in dataclasses.fields(fresh):
            setattr(self.behaviour, field.name, getattr(fresh, field.name))
        self.reset()


@contextlib.contextmanager
def run_server(
    behaviour: ServerBehaviour | None = None, responder: Responder | None = None
) -> Iterator[LocalServer]:
    """Serve on a free port in a background thread for the duration of the block."""
    state = ChatCompletionsApp(
        behaviour or ServerBehaviour(), responder or SchemaFillingResponder()
    )
    sock = bind_socket()
    ready = threading.Event()
    server = _NotifyingServer(uvicorn_config(state.app), on_ready=ready.set)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not ready.wait(0.05):
            if not thread.is_alive():
                raise RuntimeError("the test OpenAI server failed to start; see its log above")
        yield LocalServer(f"http://{HOST}:{sock.getsockname()[1]}/v1", state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        state.answering.shutdown(wait=False)


# ---------------------------------------------------------- separate process

# CLI flag -> (ServerBehaviour field, type, help); start_server_process takes the field names.
CLI_OPTIONS: dict[str, tuple[str, type, str]] = {
    "--latency": ("latency_s", float, "seconds every answer takes"),
    "--latency-jitter": ("latency_jitter_s", float, "up to this many extra seconds"),
    "--rate-429": ("rate_429", float, "fraction answered 429 with Retry-After"),
    "--retry-after": ("retry_after", str, "Retry-After value in seconds (default 0.05)"),
    "--rate-500": ("rate_500", float, "fraction answered 500"),
    "--rate-timeout": ("rate_timeout", float, "fraction that hang until the client leaves"),
    "--timeout-sleep": ("timeout_sleep_s", float, "longest hang in seconds (default 5)"),
    "--rate-malformed": ("rate_malformed", float, "fraction answered with broken JSON"),
    "--rate-invalid": ("rate_invalid", float, "fraction answered with schema-invalid JSON"),
    "--rate-not-completion": (
        "rate_not_completion",
        float,
        "fraction answered 200 with JSON that is no chat completion",
    ),
    "--api-key": ("api_key", str, "require 'Authorization: Bearer KEY' or 'api-key: KEY'"),
    "--seed": ("seed", int, "seed of the fault sequence (default 0)"),
    "--max-logged-requests": ("max_logged_requests", int, "request log size (default 1000)"),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Serve an OpenAI-compatible test model on 127.0.0.1 until killed.

    Example: python -m tests.openai_server --port 0 --latency 0.3 --rate-429 0.05
    Prints "READY http://127.0.0.1:PORT/v1" once listening; counters on GET /stats.
    """
    parser = argparse.ArgumentParser(
        prog="python -m tests.openai_server",
        description=inspect.cleandoc(parse_args.__doc__ or ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    for flag, (field, kind, help_text) in CLI_OPTIONS.items():
        parser.add_argument(flag, dest=field, type=kind, default=None, help=help_text)
    parser.add_argument("--refuse-all", action="store_true", help="answer everything 429")
    parser.add_argument(
        "--responder",
        choices=("schema", "plan"),
        default="schema",
        help="schema: fill the response schema; plan: answer callforge's prompts well",
    )
    parser.add_argument(
        "--no-log-requests", dest="log_requests", action="store_false", help="for benchmarks"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the server in this process; print READY with its base URL when listening."""
    args = parse_args(argv)
    options = {
        k: v for k, v in vars(args).items() if k not in ("port", "responder") and v is not None
    }
    state = ChatCompletionsApp(ServerBehaviour(**options), make_responder(args.responder))
    # The answering thread holds the GIL while it writes an answer; a short switch
    # interval lets the event loop send the answers that fall due meanwhile.
    sys.setswitchinterval(0.0005)
    sock = bind_socket(args.port)
    base_url = f"http://{HOST}:{sock.getsockname()[1]}/v1"
    server = _NotifyingServer(
        uvicorn_config(state.app), on_ready=lambda: print(f"READY {base_url}", flush=True)
    )
    server.run(sockets=[sock])


def make_responder(name: str) -> Responder:
    if name == "plan":
        from tests.plan_responder import PlanResponder  # imports callforge itself

        return PlanResponder()
    return SchemaFillingResponder()


def behaviour_argv(options: dict[str, Any]) -> list[str]:
    """CLI arguments for ``ServerBehaviour`` field values."""
    flags = {field: flag for flag, (field, _, _) in CLI_OPTIONS.items()}
    argv: list[str] = []
    for field, value in options.items():
        if field == "refuse_all":
            argv += ["--refuse-all"] if value else []
        elif field == "log_requests":
            argv += [] if value else ["--no-log-requests"]
        elif field == "responder":
            argv += ["--responder", str(value)]
        elif field in flags:
            argv += [flags[field], str(value)]
        else:
            raise TypeError(f"unknown server option {field!r}; use a ServerBehaviour field")
    return argv


def start_server_process(
    port: int = 0, ready_timeout_s: float = 20.0, **options: Any
) -> tuple[subprocess.Popen[str], str]:
    """Start the server in its own process; return it and its base URL once ready.

    ``options`` are ``ServerBehaviour`` fields (``latency_s=0.3``,
    ``log_requests=False``). The caller terminates the process.
    """
    command = [sys.executable, "-m", "tests.openai_server", "--port", str(port)]
    process = subprocess.Popen(
        command + behaviour_argv(options), cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], ready_timeout_s)
    line = process.stdout.readline() if readable else ""
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"test OpenAI server did not start (first output: {line!r})")
    return process, line.split()[1]


def fetch_stats(base_url: str) -> dict[str, Any]:
    """The counters of a server, e.g. one started by ``start_server_process``."""
    root = base_url.removesuffix("/").removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/stats", timeout=5) as reply:
        return dict(json.load(reply))


if __name__ == "__main__":
    main()
