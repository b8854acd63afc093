"""The LLM teacher: any OpenAI-compatible endpoint through ``openai`` + ``instructor``.

One plan, one structured request: the model returns a ``TeacherDraft`` (user
request, tool results, final answer) written around the generator's seeded
calls; it never chooses the arguments. Three layers keep a run going:

* instructor re-asks when the answer does not fit the response model or the
  plan (``--validation-retries``), with the validator's reason;
* tenacity retries transport failures (429, 5xx, timeouts, connection errors)
  with exponential backoff and jitter, honouring ``Retry-After``;
* ``AdaptiveLimiter`` halves the requests in flight on 429 and grows them back
  as the endpoint recovers; if nothing but failures comes back for
  ``give_up_after`` seconds, the run stops with a clear message and keeps what
  it stored.

A draft that still fails is a ``TeacherFailure`` (stored as a rejection at stage
``teacher``); a rejected API key or unreachable endpoint is a
``TeacherConfigError`` before any work starts.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import instructor
import openai
from instructor.core.exceptions import InstructorRetryException
from instructor.core.hooks import Hooks
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from generator.config import redact
from generator.errors import TeacherConfigError, TeacherUnavailableError
from generator.teachers.base import (
    CacheEntry,
    ResponseCache,
    TeacherFailure,
    TeacherReply,
    TeacherRequest,
    TeacherStats,
    Usage,
)
from generator.teachers.flow import AdaptiveLimiter, RateBudget
from generator.teachers.prompting import PromptBuilder, TeacherDraft, checking_against
from generator.tools import canonical_json, sha256_hex

OPENAI_BASE_URL = "https://api.openai.com/v1"
MODES = {
    "tools": instructor.Mode.TOOLS,
    "json": instructor.Mode.JSON,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "md_json": instructor.Mode.MD_JSON,
}
_RESPONSE_SCHEMA = TeacherDraft.model_json_schema()
_BAD_REQUESTS_BEFORE_GIVING_UP = 5


class _Transient(Exception):
    """A failure worth retrying: the same request may well succeed later."""

    def __init__(self, reason: str, retry_after: float | None = None, requests: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.usage = Usage(requests=requests)


class _CountCalls:
    """An instructor hook: counts the HTTP requests one ``create`` makes (re-asks too)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls += 1


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
        """Transport attempts per draft (429, 5xx, timeouts) before it is rejected."""
        give_up_after: float = Field(300.0, gt=0)
        """Stop the run when nothing but failures came back for this many seconds."""
        templates: Path | None = None
        cache: ResponseCache | None = None
        name: str | None = None  # the [teacher] table's own name; already chosen

    def __init__(self, **options: Any) -> None:
        self.options = self.Options(**options)
        self.model = self.options.model or ""
        self.base_url = (self.options.base_url or OPENAI_BASE_URL).rstrip("/")
        self.id = f"openai:{self.model}"
        self.concurrency = self.options.concurrency
        self.stats = TeacherStats(concurrency_limit=float(self.concurrency))
        self._prompts = PromptBuilder(self.options.templates)
        self._limiter = AdaptiveLimiter(self.concurrency)
        self._budget = RateBudget(self.options.rpm, self.options.tpm)
        self._params: dict[str, Any] = {
            "model": self.model,
            "temperature": self.options.temperature,
        }
        if self.options.max_tokens:
            self._params["max_tokens"] = self.options.max_tokens
        self._raw: openai.AsyncOpenAI | None = None
        self._client: Any = None
        self._last_success = time.monotonic()
        self._succeeded = False
        self._bad_requests = 0
        self._completion_tokens_seen = (0, 0)  # (sum, count), for token estimates

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
        self._raw = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=key,
            timeout=self.options.timeout,
            max_retries=0,  # retries are ours: backoff, Retry-After and the limiter
        )
        self._client = instructor.from_openai(self._raw, mode=MODES[self.options.mode])
        await self._check_endpoint()
        self._last_success = time.monotonic()

    async def _check_endpoint(self) -> None:
        """A cheap authenticated call, so a bad key or URL fails before any work."""
        assert self._raw is not None
        try:
            await self._raw.models.list(timeout=min(self.options.timeout, 15.0))
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise TeacherConfigError(
                f"{self.base_url} rejected the API key (HTTP {exc.status_code}); "
                "check OPENAI_API_KEY or the key in callforge.toml"
            ) from None
        except openai.APIConnectionError as exc:
            raise TeacherConfigError(
                f"cannot reach {self.base_url}: {self._clean(str(exc.__cause__ or exc))}"
            ) from None
        except openai.APIStatusError:
            pass  # some compatible servers have no /models; the first request will tell

    async def aclose(self) -> None:
        if self._raw is not None:
            await self._raw.close()

    # -- writing -----------------------------------------------------------------

    def cache_key(self, messages: list[dict[str, str]]) -> str:
        return sha256_hex(
            canonical_json(
                {
                    "base_url": self.base_url,
                    "mode": self.options.mode,
                    "messages": messages,
                    "response_schema": _RESPONSE_SCHEMA,
                    "params": self._params,
                }
            )
        )

    async def write(self, request: TeacherRequest) -> TeacherReply:
        messages = self._prompts.messages(request.plan, request.tools)
        key = self.cache_key(messages)
        cache = self.options.cache
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            self.stats.cache_hits += 1
            return TeacherReply(TeacherDraft.model_validate(hit.response).to_draft(), cached=True)
        spent = Usage()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.options.max_attempts),
            wait=self._backoff,
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.stats.retries += 1
                    try:
                        draft, usage = await self._request(request, messages)
                    except _Transient as exc:
                        spent += exc.usage
                        raise
                    spent += usage
        except _Transient as exc:
            raise TeacherFailure(
                f"gave up after {self.options.max_attempts} attempts: {exc.reason}", spent
            ) from None
        except TeacherFailure as exc:
            raise TeacherFailure(exc.reason, spent + exc.usage) from None
        entry = CacheEntry(key, self.id, draft.model_dump(mode="json"), spent)
        return TeacherReply(draft.to_draft(), usage=spent, cache_entry=entry)

    async def _request(
        self, request: TeacherRequest, messages: list[dict[str, str]]
    ) -> tuple[TeacherDraft, Usage]:
        """One instructor call (re-asks included); transport failures become ``_Transient``."""
        estimate = self._token_estimate(messages)
        await self._budget.acquire(estimate)
        await self._limiter.acquire()
        counter = _CountCalls()
        hooks = Hooks()
        hooks.on("completion:kwargs", counter)
        self.stats.in_flight += 1
        started = time.monotonic()
        try:
            with checking_against(request.plan, request.tools):
                draft, completion = await self._client.chat.completions.create_with_completion(
                    messages=messages,
                    response_model=TeacherDraft,
                    max_retries=self.options.validation_retries,
                    hooks=hooks,
                    **self._params,
                )
        except Exception as exc:
            self.stats.requests += max(counter.calls, 1)
            raise self._classify(exc, max(counter.calls, 1)) from None
        finally:
            self.stats.in_flight -= 1
            self._limiter.release()
        self.stats.requests += counter.calls
        self._limiter.on_success(time.monotonic() - started)
        self._last_success = time.monotonic()
        self._succeeded = True
        self._bad_requests = 0
        usage = _usage(getattr(draft, "_total_usage", None) or completion.usage, counter.calls)
        self._budget.correct(estimate, usage.tokens)
        total, count = self._completion_tokens_seen
        self._completion_tokens_seen = (total + usage.completion_tokens, count + 1)
        return draft, usage

    def _classify(self, exc: Exception, calls: int) -> Exception:
        """Map a failed call to: retry (``_Transient``), reject (``TeacherFailure``) or stop."""
        api_error = next((e for e in _causes(exc) if isinstance(e, openai.APIError)), None)
        if api_error is None:
            usage = _usage(getattr(exc, "total_usage", None), calls)
            if isinstance(exc, InstructorRetryException):
                reason = f"output did not fit after {calls} tries: {_first_line(str(exc))}"
            else:
                reason = f"{type(exc).__name__}: {_first_line(str(exc))}"
            return TeacherFailure(self._clean(reason), usage)
        status = getattr(api_error, "status_code", None)
        detail = self._clean(_first_line(getattr(api_error, "message", str(api_error))))
        if isinstance(api_error, openai.AuthenticationError | openai.PermissionDeniedError):
            return TeacherConfigError(
                f"{self.base_url} rejected the API key (HTTP {status}); "
                "check OPENAI_API_KEY or the key in callforge.toml"
            )
        if isinstance(api_error, openai.NotFoundError):
            return TeacherConfigError(
                f"HTTP 404 from {self.base_url}: is the model '{self.model}' served there? "
                f"({detail})"
            )
        if isinstance(api_error, openai.RateLimitError):
            self._limiter.on_overload()
            self.stats.concurrency_limit = self._limiter.limit
            return self._transient("HTTP 429 rate limited", calls, _retry_after(api_error))
        if isinstance(api_error, openai.APITimeoutError):
            return self._transient(f"timed out after {self.options.timeout:g}s", calls)
        if isinstance(api_error, openai.APIConnectionError):
            return self._transient(f"connection error: {detail}", calls)
        if status is not None and (status >= 500 or status in (408, 409)):
            return self._transient(f"HTTP {status}: {detail}", calls, _retry_after(api_error))
        self._bad_requests += 1
        if not self._succeeded and self._bad_requests >= _BAD_REQUESTS_BEFORE_GIVING_UP:
            return TeacherConfigError(
                f"{self.base_url} refused the first {self._bad_requests} requests "
                f"(HTTP {status}: {detail}); if the server lacks tool calling, try --mode json"
            )
        return TeacherFailure(f"HTTP {status}: {detail}", Usage(requests=calls))

    def _transient(self, reason: str, calls: int, retry_after: float | None = None) -> Exception:
        kind = reason.split(":")[0]
        self.stats.status_counts[kind] = self.stats.status_counts.get(kind, 0) + 1
        quiet_for = time.monotonic() - self._last_success
        if quiet_for > self.options.give_up_after:
            return TeacherUnavailableError(
                f"{self.base_url} answered nothing but failures for {quiet_for:.0f}s "
                f"(last: {reason}); what was stored is kept, run the same command to continue"
            )
        return _Transient(reason, retry_after, calls)

    def _backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        exponential = min(20.0, 0.25 * 2 ** (state.attempt_number - 1)) + random.uniform(0, 0.5)
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, 120.0) + random.uniform(0, 0.1 + exc.retry_after / 10)
        return exponential

    def _token_estimate(self, messages: list[dict[str, str]]) -> int:
        prompt = sum(len(m["content"]) for m in messages) // 4 + len(str(_RESPONSE_SCHEMA)) // 4
        total, count = self._completion_tokens_seen
        return prompt + (total // count if count else 500)

    def _clean(self, text: str) -> str:
        return redact(text, self.options.api_key)


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _usage(raw: Any, calls: int) -> Usage:
    return Usage(
        requests=calls,
        prompt_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
    )


def _retry_after(error: openai.APIError) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not isinstance(error, openai.APIStatusError):
        return None
    headers = error.response.headers
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:300]
