"""The LLM teacher: any OpenAI-compatible endpoint, structured by ``instructor``.

One plan, one structured request: the model returns a ``TeacherDraft`` (user
request, tool results, final answer) written around the generator's seeded
calls; it never chooses the arguments.

The request path is built for throughput on one core (see
``benchmarks/bench_teacher.py``):

* instructor's mode handler for ``--mode`` (``instructor.v2.mode_registry``)
  shapes the request once per run: the ``tools``/``tool_choice`` or
  ``response_format`` of ``TeacherDraft`` and, for the JSON modes, the schema in
  the system message. Each request only puts its own prompt in.
* The body goes out over one shared ``aiohttp`` session speaking the
  chat-completions protocol. ``openai.AsyncOpenAI`` costs 2.5-5 ms of CPU per
  request (request transform, httpx layers), more than our whole budget; the
  reply is still read into openai's own ``ChatCompletion`` type.
* instructor's handler parses the reply into ``TeacherDraft``, whose validator
  checks it against the plan; when that fails, the handler's re-ask (the
  validator's reason, in the mode's own form) goes back to the model, up to
  ``--validation-retries`` times. A draft that arrives here has been validated.

Three layers keep a run going: re-asks for answers that do not fit; tenacity
retries for transport failures (429, 5xx, timeouts, connection errors) with
exponential backoff and jitter, honouring ``Retry-After``; ``AdaptiveLimiter``
for how many requests are in flight (it backs off when 429s dominate and grows
back as the endpoint recovers). If nothing but failures comes back for
``give_up_after`` seconds, the run stops with a clear message and keeps what it
stored.

A draft that still fails is a ``TeacherFailure`` (stored as a rejection at stage
``teacher``); a rejected API key or unreachable endpoint is a
``TeacherConfigError`` before any work starts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import hashlib
import json
import math
import random
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiohttp
from instructor.core.exceptions import (
    AsyncValidationError,
    IncompleteOutputException,
    ResponseParsingError,
)
from instructor.v2 import Mode, ModeHandlers, Provider, mode_registry
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from callforge.generator import __version__
from callforge.generator.config import check_base_url, redact
from callforge.generator.errors import TeacherConfigError, TeacherUnavailableError
from callforge.generator.limits import MAX_REASK_BYTES, MAX_REPLY_BYTES
from callforge.generator.scenarios.base import ScenarioDraft, ScenarioPlan
from callforge.generator.spend import (
    EXPECTED_COMPLETION_TOKENS,
    SpendLimit,
    SpendLimitReached,
    estimate_tokens,
)
from callforge.generator.teachers.base import (
    NO_USAGE,
    CacheEntry,
    ResponseCache,
    TeacherFailure,
    TeacherReply,
    TeacherRequest,
    TeacherStats,
    Usage,
)
from callforge.generator.teachers.flow import AdaptiveLimiter, RateBudget
from callforge.generator.teachers.prompting import (
    JudgeVerdict,
    PromptBuilder,
    ProposedLink,
    ProposedLinks,
    TeacherDraft,
    checking_against,
    draft_model_for,
    rejected_stage,
)
from callforge.generator.tools import ToolSet
from callforge.generator.validate import JUDGE

OPENAI_BASE_URL = "https://api.openai.com/v1"
MODES = {
    "tools": Mode.TOOLS,
    "json": Mode.JSON,
    "json_schema": Mode.JSON_SCHEMA,
    "md_json": Mode.MD_JSON,
}
_BAD_REQUESTS_BEFORE_GIVING_UP = 5
MAX_RETRY_AFTER_S = 60.0
"""The longest a server's ``Retry-After`` makes a request wait (and never past give-up)."""
_USER_PROMPT = "\x00callforge:user-prompt\x00"
"""Stands in for each request's prompt while instructor shapes the request once."""
_Answer = TypeVar("_Answer", TeacherDraft, JudgeVerdict)
_DOES_NOT_FIT = (ValidationError, json.JSONDecodeError, AsyncValidationError, ResponseParsingError)
"""What instructor itself re-asks on: the reply is there, it does not fit."""


class _Transient(Exception):
    """A failure worth retrying: the same request may well succeed later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Refused(Exception):
    """The endpoint answered with an HTTP error status."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.headers = headers
        self.body = body


class _TooLarge(Exception):
    """A reply above ``MAX_REPLY_BYTES``: dropped unread beyond the limit."""

    def __init__(self, size: str) -> None:
        super().__init__(size)
        self.size = size


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    """The body, read only while it stays within ``MAX_REPLY_BYTES``."""
    declared = response.content_length
    if declared is not None and declared > MAX_REPLY_BYTES:  # not one byte is read
        raise _TooLarge(f"{declared:,} bytes declared")
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(2**16):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise _TooLarge(f"over {MAX_REPLY_BYTES:,} bytes sent")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class LinkProposal:
    """The data flows a model proposed for a tool set, and what asking cost."""

    links: list[ProposedLink]
    usage: Usage = NO_USAGE
    cached: bool = False
    cache_entry: CacheEntry | None = None


class OpenAITeacher:
    """Writes drafts with a model behind an OpenAI-compatible chat completions API."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

        model: str | None = None
        base_url: str | None = None
        api_key: SecretStr | None = None
        mode: Literal["tools", "json", "json_schema", "md_json"] = "tools"
        concurrency: int = Field(16, ge=1, le=4096)
        rpm: float | None = Field(None, gt=0)
        tpm: float | None = Field(None, gt=0)
        timeout: float = Field(60.0, gt=0)
        """Seconds one HTTP request may take."""
        temperature: float = Field(0.8, ge=0, le=2)
        max_tokens: int | None = Field(None, ge=16)
        validation_retries: int = Field(2, ge=0, le=10)
        max_attempts: int = Field(8, ge=1, le=100)
        """Transport attempts per request (429, 5xx, timeouts) before the draft is rejected."""
        give_up_after: float = Field(300.0, gt=0)
        """Stop the run when nothing but failures came back for this many seconds."""
        api_version: str | None = Field(None, min_length=1)
        """Azure OpenAI's dated API: ``base_url`` is a deployment's URL, every request
        carries ``?api-version=`` and the key goes in an ``api-key`` header."""
        judge: bool = False
        """Grade every finished draft with a second structured request (``JudgeVerdict``)."""
        templates: Path | None = None
        cache: ResponseCache | None = None
        spend_limit: SpendLimit | None = None
        """Caps on requests and cost, checked before every request (``--max-*``)."""
        name: str | None = None  # the [teacher] table's own name; already chosen

    def __init__(self, **options: Any) -> None:
        if isinstance(options.get("base_url"), str):
            check_base_url(options["base_url"])  # before pydantic, whose errors echo values
        self.options = self.Options(**options)
        self.model = self.options.model or ""
        self.base_url = (self.options.base_url or OPENAI_BASE_URL).rstrip("/")
        self.id = f"openai:{self.model}"
        requests = self.options.concurrency
        # The limiter caps requests in flight; the pipeline keeps more drafts going so
        # that one waiting out a backoff or being validated does not leave a slot idle.
        self.concurrency = requests + requests // 2 + 4
        self.stats = TeacherStats(concurrency_limit=float(requests))
        self.cache: ResponseCache | None = self.options.cache
        self._spend = self.options.spend_limit
        self._prompts = PromptBuilder(self.options.templates)
        self._limiter = AdaptiveLimiter(requests)
        self._budget = RateBudget(self.options.rpm, self.options.tpm)
        self._handlers: ModeHandlers = mode_registry.get_handlers(
            Provider.OPENAI, MODES[self.options.mode]
        )
        self._shape = self._shape_request(TeacherDraft, self._prompts.system)
        self._shapes: dict[type[TeacherDraft], dict[str, Any]] = {TeacherDraft: self._shape}
        self._judge_shape = (
            self._shape_request(JudgeVerdict, self._prompts.judge_system)
            if self.options.judge
            else None
        )
        self._session: aiohttp.ClientSession | None = None
        version = self.options.api_version
        self._query = f"?{urllib.parse.urlencode({'api-version': version})}" if version else ""
        self._key_prefix = hashlib.sha256(
            f"{self.base_url}{self._query}\n{self.options.mode}\n".encode()
        )
        self._last_success = time.monotonic()
        self._succeeded = False
        self._bad_requests = 0
        self._completion_tokens_seen = (0, 0)  # (sum, count), for token estimates

    def _shape_request(self, response_model: type[BaseModel], system: str) -> dict[str, Any]:
        """The request as instructor shapes it for this mode, with a placeholder prompt."""
        params: dict[str, Any] = {"model": self.model, "temperature": self.options.temperature}
        if self.options.max_tokens:
            params["max_tokens"] = self.options.max_tokens
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": _USER_PROMPT},
        ]
        _, shaped = self._handlers.request_handler(
            response_model=response_model, kwargs={**params, "messages": messages}
        )
        shaped.pop("strict", None)
        if not any(_USER_PROMPT in str(m.get("content")) for m in shaped["messages"]):
            raise RuntimeError(f"instructor's {self.options.mode} mode dropped the prompt")
        return dict(shaped)

    # -- setup -----------------------------------------------------------------

    async def start(self) -> None:
        if not self.model:
            raise TeacherConfigError(
                "--teacher openai needs --model (or model in callforge.toml [teacher])"
            )
        key = self.options.api_key.get_secret_value() if self.options.api_key else ""
        if not key:
            if self.base_url == OPENAI_BASE_URL:
                raise TeacherConfigError(
                    "no API key for api.openai.com: set OPENAI_API_KEY "
                    "(or api_key_env in callforge.toml)"
                )
            key = "not-needed"  # local servers (vLLM, Ollama, LM Studio) ignore it
        auth = {"api-key": key} if self._query else {"Authorization": f"Bearer {key}"}
        self._session = aiohttp.ClientSession(
            headers={
                **auth,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"callforge/{__version__}",
            },
            connector=aiohttp.TCPConnector(limit=self.options.concurrency, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=self.options.timeout),
            raise_for_status=False,
        )
        await self._check_endpoint()
        self._last_success = time.monotonic()

    async def _check_endpoint(self) -> None:
        """A cheap authenticated call, so a bad key or URL fails before any work."""
        try:
            await self._call("GET", "/models", timeout=min(self.options.timeout, 15.0))
        except _Refused as refused:
            if refused.status in (401, 403):
                raise self._key_rejected(refused.status) from None
            # some compatible servers have no /models; the first request will tell
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TeacherConfigError(
                f"cannot reach {self.base_url}: {self._clean(_describe(exc))}"
            ) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    # -- writing -----------------------------------------------------------------

    async def write(self, request: TeacherRequest) -> TeacherReply:
        reply = await self._write_draft(request)
        if self._judge_shape is None:
            return reply
        return await self._judged(request, reply, self._judge_shape)

    async def _write_draft(self, request: TeacherRequest) -> TeacherReply:
        prompt = self._prompts.user_prompt(request.plan, request.tools, request.results)
        model = draft_model_for(request.plan)
        body = self._request_body(prompt, self._draft_shape(model))
        payload = _dumps(body)
        key = self.cache_key(payload)
        cache = self.cache
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            valid = _still_valid(hit, request, model)
            if valid is not None:
                self.stats.cache_hits += 1
                cached, plan = valid
                return TeacherReply(cached.to_draft(), cached=True, validated=True, plan=plan)
            # A cached answer that no longer validates (a journal line gone bad, a
            # validator grown stricter) is a miss: asked again, the answer replaces it.
        draft, spent = await self._converse(request, body, payload, model)
        entry = CacheEntry(key, self.id, draft.model_dump(mode="json"), spent)
        if cache is not None:
            cache.keep(entry)
        return TeacherReply(
            draft.to_draft(),
            usage=spent,
            cache_entry=entry,
            validated=True,
            plan=_written(draft, request),
        )

    def prompt_tokens(self, request: TeacherRequest) -> int:
        """The prompt ``request`` would send, in tokens (estimated), for a cost estimate."""
        prompt = self._prompts.user_prompt(request.plan, request.tools, request.results)
        return estimate_tokens(_dumps(self._request_body(prompt, self._shape)))

    def judge_prompt_tokens(self, request: TeacherRequest) -> int:
        """The judge's prompt for ``request``'s draft, in tokens (estimated); 0 without
        ``--judge``. The draft is not written yet: the judge's request is rendered with
        the plan's calls and empty texts and results, plus the draft's expected answer
        (the conversation the judge reads is what the teacher wrote)."""
        if self._judge_shape is None:
            return 0
        unwritten = ScenarioDraft(
            user_request="", tool_results=[{} for _ in request.plan.steps], final_answer=""
        )
        prompt = self._prompts.judge_prompt(request.plan, request.tools, unwritten)
        body = self._request_body(prompt, self._judge_shape)
        return estimate_tokens(_dumps(body)) + EXPECTED_COMPLETION_TOKENS

    async def complete(self, body: dict[str, Any]) -> tuple[ChatCompletion, Usage, CacheEntry]:
        """One chat completion of ``body`` as it is (no response model): cached, paced,
        limited and retried like the drafts. ``callforge evaluate`` asks a model with it."""
        body = {"model": self.model, **body}
        payload = _dumps(body)
        key = self.cache_key(payload)
        cache = self.cache
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            self.stats.cache_hits += 1
            completion = _completion(_dumps(hit.response))
            if completion is not None:
                return completion, NO_USAGE, hit
        completion, spent, _ = await self._complete(payload, Usage())
        entry = CacheEntry(key, self.id, completion.model_dump(mode="json"), spent)
        if cache is not None:
            cache.keep(entry)
        return completion, spent, entry

    async def propose_links(self, tools: ToolSet) -> LinkProposal:
        """Ask once which result fields of ``tools`` feed which parameters (``links.j2``).

        Cached like every request: the same tool set and model ask nothing the
        second time. An answer that does not parse is no proposal, not an error.
        """
        params: dict[str, Any] = {"model": self.model, "temperature": self.options.temperature}
        messages = [{"role": "user", "content": self._prompts.links_prompt(tools)}]
        _, body = self._handlers.request_handler(
            response_model=ProposedLinks, kwargs={**params, "messages": messages}
        )
        body.pop("strict", None)
        payload = _dumps(dict(body))
        key = self.cache_key(payload)
        cache = self.cache
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            try:
                links = ProposedLinks.model_validate(hit.response).links
            except ValidationError:
                pass  # a cached answer gone bad is a miss; the fresh one replaces it
            else:
                self.stats.cache_hits += 1
                return LinkProposal(links, cached=True)
        completion, spent, _size = await self._complete(payload, Usage())
        try:
            proposed = self._handlers.response_parser(
                response=completion, response_model=ProposedLinks
            )
        except (*_DOES_NOT_FIT, IncompleteOutputException, AssertionError):
            return LinkProposal([], usage=spent)
        entry = CacheEntry(key, self.id, proposed.model_dump(mode="json"), spent)
        if cache is not None:
            cache.keep(entry)
        return LinkProposal(proposed.links, usage=spent, cache_entry=entry)

    def _draft_shape(self, model: type[TeacherDraft]) -> dict[str, Any]:
        """The shaped request for a draft model (one with ``turn_texts`` for turn plans)."""
        shape = self._shapes.get(model)
        if shape is None:
            shape = self._shapes[model] = self._shape_request(model, self._prompts.system)
        return shape

    async def _judged(
        self, request: TeacherRequest, reply: TeacherReply, shape: dict[str, Any]
    ) -> TeacherReply:
        """Grade a draft with a second structured request, cached like the first.

        A failing grade becomes the reply's rejection at stage ``judge``, with the
        judge's reason; the draft's cost and the verdict's add up in ``usage``.
        """
        prompt = self._prompts.judge_prompt(request.plan, request.tools, reply.draft)
        body = self._request_body(prompt, shape)
        payload = _dumps(body)
        key = self.cache_key(payload)
        cache = self.cache
        hit = cache.get(key) if cache is not None else None
        entries: tuple[CacheEntry, ...] = ()
        if hit is not None:
            self.stats.cache_hits += 1
            verdict = JudgeVerdict.model_validate(hit.response)
            spent = Usage()
        else:
            try:
                verdict, spent = await self._converse(request, body, payload, JudgeVerdict)
            except TeacherFailure as exc:
                raise TeacherFailure(
                    f"judge: {exc.reason}", reply.usage + exc.usage, JUDGE
                ) from None
            entry = CacheEntry(key, self.id, verdict.model_dump(mode="json"), spent)
            if cache is not None:
                cache.keep(entry)
            entries = (entry,)
        rejection = None if verdict.passed else (JUDGE, self._clean(verdict.failure()))
        return dataclasses.replace(
            reply,
            usage=reply.usage + spent,
            rejection=rejection,
            more_cache_entries=reply.more_cache_entries + entries,
        )

    def _request_body(self, prompt: str, shape: dict[str, Any]) -> dict[str, Any]:
        messages = [
            {**m, "content": m["content"].replace(_USER_PROMPT, prompt)}
            if isinstance(m.get("content"), str)
            else m
            for m in shape["messages"]
        ]
        return {**shape, "messages": messages}

    def cache_key(self, payload: bytes) -> str:
        """Hash of endpoint, mode and the whole body: model, messages, schema, sampling."""
        digest = self._key_prefix.copy()
        digest.update(payload)
        return digest.hexdigest()

    async def _converse(
        self,
        request: TeacherRequest,
        body: dict[str, Any],
        payload: bytes,
        response_model: type[_Answer],
    ) -> tuple[_Answer, Usage]:
        """Ask, and re-ask with the reason while the answer does not fit the plan."""
        spent = Usage()
        problem, stage = "no answer", "teacher"
        answer_text: str | None = None
        for ask in range(self.options.validation_retries + 1):
            try:
                completion, usage, size = await self._complete(payload, spent)
            except TeacherFailure as failure:
                raise TeacherFailure(
                    failure.reason, failure.usage, failure.stage, answer=answer_text
                ) from None
            except SpendLimitReached as reached:
                reached.usage = spent  # the asks before this one were paid for
                raise
            spent += usage
            try:
                with checking_against(
                    request.plan, request.tools, request.dataflow, request.results
                ):
                    answer = self._handlers.response_parser(
                        response=completion, response_model=response_model
                    )
                return answer, spent
            except _DOES_NOT_FIT as exc:
                problem, stage = _why(exc), rejected_stage(exc, "teacher")
                answer_text = _answer_text(completion)
                if size > MAX_REASK_BYTES and ask < self.options.validation_retries:
                    raise TeacherFailure(  # a re-ask would send the whole answer back
                        self._clean(
                            f"output did not fit ({problem}), and the answer ({size:,} bytes) "
                            f"is too long to send back in a re-ask (limit {MAX_REASK_BYTES:,})"
                        ),
                        spent,
                        stage,
                        answer=answer_text,
                    ) from None
                body = self._handlers.reask_handler(
                    kwargs={**body, "messages": list(body["messages"])},
                    response=completion,
                    exception=exc,
                )
                payload = _dumps(body)
            except IncompleteOutputException:
                raise TeacherFailure(
                    "the answer was cut off (finish_reason=length); raise max_tokens", spent
                ) from None
            except AssertionError as exc:  # instructor's signal for a refusal
                raise TeacherFailure(self._clean(_first_line(str(exc))), spent) from None
        raise TeacherFailure(
            self._clean(f"output did not fit after {spent.requests} tries: {problem}"),
            spent,
            stage,
            answer=answer_text,
        )

    async def _complete(self, payload: bytes, spent: Usage) -> tuple[ChatCompletion, Usage, int]:
        """One chat completion (and its size in bytes), retried on transport failures.

        Raises ``TeacherFailure`` when no usable reply comes.
        """
        requests = 1
        try:
            reply = await self._post(payload)
        except _Transient as first:
            reply, requests = await self._retry(payload, first, spent)
        except TeacherFailure as exc:
            raise TeacherFailure(exc.reason, spent + Usage(requests=1)) from None
        completion = _completion(reply)
        if completion is None:
            raise TeacherFailure(
                "the endpoint's reply is not a chat completion", spent + Usage(requests=requests)
            )
        usage = completion.usage
        details = getattr(usage, "prompt_tokens_details", None)  # where the endpoint says
        tokens = Usage(
            requests=requests,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cached_tokens=int(getattr(details, "cached_tokens", 0) or 0),
        )
        total, count = self._completion_tokens_seen
        self._completion_tokens_seen = (total + tokens.completion_tokens, count + 1)
        if self._spend is not None:
            self._spend.after_answer(tokens)
        return completion, tokens, len(reply)

    async def _retry(self, payload: bytes, first: _Transient, spent: Usage) -> tuple[bytes, int]:
        """After a transient failure: back off and try again (tenacity); (reply, requests)."""
        requests = 1
        if self.options.max_attempts == 1:
            raise TeacherFailure(f"gave up after 1 attempt: {first.reason}", spent + Usage(1))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.options.max_attempts - 1),
            wait=self._backoff,
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        self.stats.retries += 1
        await asyncio.sleep(self._backoff_after(first, 1))
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.stats.retries += 1
                    requests += 1
                    return await self._post(payload), requests
        except _Transient as exc:
            raise TeacherFailure(
                f"gave up after {requests} attempts: {exc.reason}",
                spent + Usage(requests=requests),
            ) from None
        except TeacherFailure as exc:
            raise TeacherFailure(exc.reason, spent + Usage(requests=requests)) from None
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    async def _post(self, payload: bytes) -> bytes:
        """One POST /chat/completions under the rate budget and the limiter."""
        estimate = self._token_estimate(payload)
        await self._budget.acquire(estimate)
        await self._limiter.acquire()
        if self._spend is not None:
            try:
                self._spend.before_request(self.stats.in_flight)
            except SpendLimitReached:
                self._limiter.release()
                raise
        self.stats.in_flight += 1
        self.stats.requests += 1
        started = time.monotonic()
        try:
            reply = await self._call("POST", "/chat/completions", data=payload, limit=True)
        except _Refused as refused:
            raise self._refusal(refused) from None
        except _TooLarge as large:
            raise TeacherFailure(
                f"the reply is larger than {MAX_REPLY_BYTES:,} bytes ({large.size}); "
                "not read further"
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
                raise self._transient(f"timed out after {self.options.timeout:g}s") from None
            raise self._transient(f"connection error: {_describe(exc)}") from None
        finally:
            self.stats.in_flight -= 1
            handed_over = self._limiter.release()
        self._limiter.on_success(time.monotonic() - started)
        self._last_success = time.monotonic()
        self._succeeded = True
        self._bad_requests = 0
        if handed_over:
            # The request that takes this slot goes out before this reply is parsed and
            # validated (a few ms of CPU) rather than after.
            await asyncio.sleep(0)
        return reply

    async def _call(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        timeout: float | None = None,
        limit: bool = False,
    ) -> bytes:
        """One HTTP request; with ``limit``, a reply above ``MAX_REPLY_BYTES`` is not read."""
        assert self._session is not None, "start() first"
        options: dict[str, Any] = {"data": data}
        if timeout is not None:  # None would mean no timeout at all, not the session's
            options["timeout"] = aiohttp.ClientTimeout(total=timeout)
        url = self.base_url + path + self._query
        async with self._session.request(method, url, **options) as response:
            length = response.content_length
            plain = "Content-Encoding" not in response.headers  # a gzip body grows on reading
            if not limit or (plain and length is not None and length <= MAX_REPLY_BYTES):
                body = await response.read()
            else:
                body = await _read_bounded(response)
            if response.status >= 400:
                raise _Refused(response.status, response.headers, body)
            return body

    def _refusal(self, refused: _Refused) -> Exception:
        """Map an HTTP error to: retry (``_Transient``), reject (``TeacherFailure``) or stop."""
        status = refused.status
        detail = self._clean(_error_detail(refused.body))
        if status in (401, 403):
            return self._key_rejected(status)
        if status == 404:
            return TeacherConfigError(
                f"HTTP 404 from {self.base_url}: is the model '{self.model}' served there? "
                f"({detail})"
            )
        if status == 429:
            return self._transient(
                "HTTP 429 rate limited", _retry_after(refused.headers), overloaded=True
            )
        if status >= 500 or status in (408, 409):
            return self._transient(f"HTTP {status}: {detail}", _retry_after(refused.headers))
        self._bad_requests += 1
        if not self._succeeded and self._bad_requests >= _BAD_REQUESTS_BEFORE_GIVING_UP:
            return TeacherConfigError(
                f"{self.base_url} refused the first {self._bad_requests} requests "
                f"(HTTP {status}: {detail}); if the server lacks tool calling, try --mode json"
            )
        return TeacherFailure(f"HTTP {status}: {detail}")

    def _key_rejected(self, status: int) -> TeacherConfigError:
        return TeacherConfigError(
            f"{self.base_url} rejected the API key (HTTP {status}); "
            "check OPENAI_API_KEY or the key in callforge.toml"
        )

    def _transient(
        self, reason: str, retry_after: float | None = None, *, overloaded: bool = False
    ) -> Exception:
        if overloaded:
            self._limiter.on_overload()
            self.stats.concurrency_limit = self._limiter.limit
        else:
            self._limiter.on_failure()
        kind = reason.split(":")[0]
        self.stats.status_counts[kind] = self.stats.status_counts.get(kind, 0) + 1
        quiet_for = time.monotonic() - self._last_success
        if quiet_for > self.options.give_up_after:
            return TeacherUnavailableError(
                f"{self.base_url} answered nothing but failures for {quiet_for:.0f}s "
                f"(last: {reason}); what was stored is kept, run the same command to continue"
            )
        return _Transient(reason, retry_after)

    def _backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        # tenacity counts from the first retry; the request before it failed too
        return self._backoff_after(exc, state.attempt_number + 1)

    def _backoff_after(self, exc: BaseException | None, failures: int) -> float:
        """Seconds to wait after ``failures`` failed tries: Retry-After, else exponential.

        A server's Retry-After is capped at ``MAX_RETRY_AFTER_S``, and no wait
        outlives the give-up time: the next try lands by then, and if it fails
        too the run stops (``_transient``) instead of waiting on.
        """
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            asked = min(exc.retry_after, MAX_RETRY_AFTER_S)
            wait = asked + random.uniform(0, 0.1 + asked / 10)
        else:
            wait = min(20.0, 0.25 * 2 ** (failures - 1)) + random.uniform(0, 0.5)
        left = self._last_success + self.options.give_up_after - time.monotonic()
        return max(0.0, min(wait, left + 0.01))

    def _token_estimate(self, payload: bytes) -> int:
        if not self._budget.limited:
            return 0
        total, count = self._completion_tokens_seen
        return len(payload) // 4 + (total // count if count else 500)

    def _clean(self, text: str) -> str:
        return redact(text, self.options.api_key)


def _still_valid(
    hit: CacheEntry, request: TeacherRequest, model: type[TeacherDraft] = TeacherDraft
) -> tuple[TeacherDraft, ScenarioPlan | None] | None:
    """The cached draft and its written plan, checked as a fresh answer is; None if it fails."""
    try:
        with checking_against(request.plan, request.tools, request.dataflow, request.results):
            draft = model.model_validate(hit.response)
        return draft, _written(draft, request)
    except (ValidationError, ValueError, TypeError):
        return None


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _completion(reply: bytes) -> ChatCompletion | None:
    """The reply as openai's ``ChatCompletion``; lenient for servers that omit fields."""
    try:
        return ChatCompletion.model_validate_json(reply)
    except ValidationError:
        pass
    try:
        data = json.loads(reply)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        return None
    return ChatCompletion.construct(**data)


def _answer_text(completion: ChatCompletion) -> str | None:
    """What the model wrote: its forced tool call's arguments, or its message text."""
    try:
        message = completion.choices[0].message
        calls = message.tool_calls or []
        text = calls[0].function.arguments if calls else message.content  # type: ignore[union-attr]
    except (AttributeError, IndexError, TypeError):
        return None
    return text[:20_000] if isinstance(text, str) else None


def _error_detail(body: bytes) -> str:
    """The ``error.message`` of an OpenAI-style error body, else its first line."""
    try:
        data = json.loads(body)
    except ValueError:
        return _first_line(body.decode("utf-8", "replace")) or "no detail"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return _first_line(str(error["message"]))
    if isinstance(error, str):
        return _first_line(error)
    return _first_line(json.dumps(data))


def _why(exc: Exception) -> str:
    """What did not fit: the validator's own words, not pydantic's headline."""
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        return _first_line(f"{where}: {message}" if where else message)
    return _first_line(str(exc))


def _describe(exc: BaseException) -> str:
    return _first_line(str(exc)) or type(exc).__name__


def _retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Hostile or broken values (``inf``, ``nan``, ``soon``, a date in the year 9999)
    read as no hint; the caller caps what is left.
    """
    if (millis := _seconds(headers.get("retry-after-ms"))) is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _seconds(value: Any) -> float | None:
    """A finite, non-negative number of seconds, or None."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:300]


def _written(draft: TeacherDraft, request: TeacherRequest) -> ScenarioPlan | None:
    """The request's plan with the draft's free text (None when the plan marks none)."""
    if not any(step.free_text for step in request.plan.steps):
        return None
    return draft.written_plan(request.plan, request.tools)
