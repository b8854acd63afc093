"""Spend guards: caps on what a paid run may send and cost, and the estimate before it.

``SpendLimit`` is consulted by a paying teacher before every request it sends
and told what every answer cost; when the next request would pass
``--max-requests`` or ``--max-cost`` it raises ``SpendLimitReached`` and the
pipeline ends the run there, keeping everything stored. The cost cap reserves
every request in flight at the dearest request answered so far (before the first
answer, at the run's estimate), so a run stops *at* its cap, not a round of
requests past it.

Token counts for the estimate are characters / 4, OpenAI's rule of thumb:
``tiktoken`` would count exactly but downloads its encodings on first use,
which an offline machine cannot, and the estimate must not need the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from callforge.generator.records import Usage

CHARS_PER_TOKEN = 4
EXPECTED_COMPLETION_TOKENS = 350
"""A draft's answer, for the estimate: 200-400 tokens on the example tool set."""
EXPECTED_VERDICT_TOKENS = 60
"""A judge's grade (``--judge``): two booleans and one sentence of reason."""


def estimate_tokens(text: str | bytes) -> int:
    """Tokens in ``text`` by OpenAI's rule of thumb (~4 characters a token), at least 1."""
    return max(1, len(text) // CHARS_PER_TOKEN)


def cost_of(usage: Usage, prices: Mapping[str, float]) -> float:
    """What ``usage`` costs at ``prices`` (per million ``input``/``output`` tokens)."""
    return (
        usage.prompt_tokens * prices.get("input", 0.0)
        + usage.completion_tokens * prices.get("output", 0.0)
    ) / 1e6


class SpendLimitReached(Exception):
    """The next request would pass a spend cap; the run stops, keeping what it stored."""

    def __init__(self, reason: str, usage: Usage | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage or Usage()
        """What the draft it stopped had cost already (its earlier asks)."""


@dataclass
class SpendLimit:
    """Caps on one run's requests and cost, and what it spent so far."""

    max_requests: int | None = None
    max_cost: float | None = None
    prices: Mapping[str, float] = field(default_factory=dict)
    sent: int = 0
    answered: Usage = field(default_factory=Usage)
    dearest: float = 0.0
    """The highest cost of one request so far: what each request in flight is reserved at."""

    @property
    def cost(self) -> float:
        return cost_of(self.answered, self.prices)

    def before_request(self, in_flight: int) -> None:
        """Count one request about to be sent, or raise ``SpendLimitReached``."""
        if self.max_requests is not None and self.sent >= self.max_requests:
            raise SpendLimitReached(f"--max-requests {self.max_requests} reached")
        # In flight, requests are reserved at the dearest one seen, not the average: the
        # answers still to come are charged whatever they cost, and the cap is a cap.
        reserved = self.cost + (in_flight + 1) * self.dearest
        if self.max_cost is not None and self.dearest and reserved > self.max_cost:
            raise SpendLimitReached(
                f"--max-cost {self.max_cost:g} reached (spent {self.cost:.4f}, "
                f"{in_flight} requests in flight)"
            )
        self.sent += 1

    def after_answer(self, usage: Usage) -> None:
        self.answered += usage
        if usage.requests:
            self.dearest = max(self.dearest, cost_of(usage, self.prices) / usage.requests)

    def expect(self, estimate: RunEstimate) -> None:
        """Reserve requests at the estimate's cost per request until answers say more.

        Without it the first round of requests (``--concurrency`` of them) would leave
        before any answer priced one, and a small cap would be passed by that round.
        """
        if estimate.examples:
            draft = Usage(
                1, estimate.prompt_tokens_per_request, estimate.completion_tokens_per_request
            )
            grade = Usage(
                1,
                estimate.judge_prompt_tokens_per_request,
                estimate.judge_completion_tokens_per_request,
            )
            per_request = max(cost_of(draft, self.prices), cost_of(grade, self.prices))
            self.dearest = max(self.dearest, per_request)


@dataclass(frozen=True)
class RunEstimate:
    """What a run is expected to send and cost before re-asks and rejections.

    With ``--judge`` every draft is followed by a grade: a second request whose
    prompt is the judge's template, the tools and the finished conversation.
    """

    examples: int
    prompt_tokens_per_request: int
    completion_tokens_per_request: int
    prices: Mapping[str, float]
    judge_prompt_tokens_per_request: int = 0
    """The judge's prompt per example (``--judge``); 0: no judge, one request each."""

    @property
    def judged(self) -> bool:
        return self.judge_prompt_tokens_per_request > 0

    @property
    def judge_completion_tokens_per_request(self) -> int:
        return EXPECTED_VERDICT_TOKENS if self.judged else 0

    @property
    def usage(self) -> Usage:
        per_example = 2 if self.judged else 1
        return Usage(
            self.examples * per_example,
            self.examples * (self.prompt_tokens_per_request + self.judge_prompt_tokens_per_request),
            self.examples
            * (self.completion_tokens_per_request + self.judge_completion_tokens_per_request),
        )

    @property
    def cost(self) -> float | None:
        return cost_of(self.usage, self.prices) if self.prices else None

    def describe(self) -> str:
        usage = self.usage
        draft = f"~{self.prompt_tokens_per_request:,} + ~{self.completion_tokens_per_request}"
        if self.judged:
            each = "2 requests each (the draft and its --judge grade)"
            per = (
                f"{draft} per draft, ~{self.judge_prompt_tokens_per_request:,} + "
                f"~{self.judge_completion_tokens_per_request} per grade"
            )
        else:
            each, per = "one request each", f"{draft} per request"
        text = (
            f"estimate: {self.examples} examples to make, {each} before re-asks: "
            f"~{usage.prompt_tokens:,} prompt + ~{usage.completion_tokens:,} completion tokens "
            f"({per}, counted as characters / 4)"
        )
        if self.cost is None:
            return text + "; give --price-in/--price-out (or [prices]) for a cost"
        return (
            text + f", about {self.cost:.4f} at {self.prices.get('input', 0):g} in / "
            f"{self.prices.get('output', 0):g} out per million tokens"
        )
