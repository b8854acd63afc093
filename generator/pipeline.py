"""Orchestration: fill every (tool, category) cell to its target.

An *attempt* is one try at one cell: plan (seeded arguments), teacher draft,
validation, dedup. Attempts are numbered per cell and every attempt's
randomness comes from ``attempt_seed(seed, tool, category, number)``, so:

* the same command with the same ``--seed`` makes the same examples;
* a run only generates what is missing, making first the attempts a killed
  run left unstored (attempts finish out of order) and then continuing the
  numbering where the store left off, so a killed run resumes where it stopped
  and, with a deterministic teacher, ends with exactly the examples an
  uninterrupted run would have made.

Results are written in batches of whole examples, each batch one transaction,
by one writer thread. A commit costs milliseconds, so a batch waits to fill up;
meanwhile every teacher answer in it is already in the store's journal (the
teacher hands it to the response cache the moment it has it; see
``store/journal.py``), so a killed run has lost only the requests in flight:
resumed, it finds the rest in the response cache.
"""

from __future__ import annotations

import asyncio
import functools
import math
import random
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from faker import Faker

from callforge.generator.dataflow import with_proposed_links
from callforge.generator.dedup import ExactDeduplicator, dedup_key
from callforge.generator.errors import InputError, StoreWriteError
from callforge.generator.rejections import ReasonGroup, reason_group
from callforge.generator.scenarios import CATEGORIES, get_category
from callforge.generator.scenarios.base import PlanContext, Scenario, ScenarioPlan
from callforge.generator.seeding import seed_arguments
from callforge.generator.spend import (
    EXPECTED_COMPLETION_TOKENS,
    RunEstimate,
    SpendLimitReached,
)
from callforge.generator.system_prompts import system_prompt_for
from callforge.generator.teachers.base import (
    NO_USAGE,
    CacheEntry,
    ResponseCache,
    Teacher,
    TeacherFailure,
    TeacherRequest,
    Usage,
)
from callforge.generator.templating import load_yaml, templates_folder
from callforge.generator.tools import ToolSet, sha256_hex, stored_definition
from callforge.generator.validate import DEDUP, Rejection, validate_scenario
from callforge.store import Cell, ExampleRow, RejectionRow, Store
from callforge.store.progress import ProgressFile

if TYPE_CHECKING:
    from callforge.generator.execution.stage import Execution

DEFAULT_MIX = {name: c.default_weight for name, c in CATEGORIES.items() if c.default_weight}
"""Each category's own ``default_weight``: single 2, the other call categories 1, and
no_call and clarify at half that (about 7% each)."""


@dataclass(frozen=True)
class GenerateConfig:
    per_tool: int = 50
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    system_prompts: tuple[str, ...] = ()
    """System messages an example draws one of (``generator.system_prompts``); none if empty."""
    seed: int = 0
    locale: str = "en_US"
    optional_rate: float = 0.5
    attempts_per_example: float = 4.0
    """Budget: a cell gives up after this many attempts per missing example (plus 10)."""
    propose_links: bool = False
    """Ask the teacher once which result fields feed which parameters, and chain along
    the proposals that hold up as well (``generator.dataflow.with_proposed_links``)."""
    batch_size: int = 64
    """Attempts (examples and rejections) per write; DuckDB costs milliseconds per write."""
    flush_seconds: float = 0.5
    templates: Path | None = None
    """A folder overriding shipped ``templates/`` files, for the values and mistakes the
    generator draws (the teacher gets its own option)."""
    pilot_attempts: int = 20
    """The pilot: after this many paid attempts (0: never), a run whose acceptance is
    under ``pilot_min_acceptance`` stops, naming its top rejection reasons."""
    pilot_min_acceptance: float = 0.2
    cell_pilot_attempts: int = 10
    """A cell none of whose first this-many paid attempts was accepted stops trying."""

    def check(self) -> None:
        """Raise ``InputError`` for a value no run can use, before anything is made."""
        if self.per_tool < 1:
            raise InputError(f"--per-tool must be at least 1, got {self.per_tool}")
        if not 0 <= self.optional_rate <= 1:
            raise InputError(f"--optional-rate must be in [0, 1], got {self.optional_rate:g}")
        if self.pilot_attempts < 0:
            raise InputError(f"--pilot must be 0 (off) or more, got {self.pilot_attempts}")
        check_locale(self.locale)


def check_locale(locale: str) -> None:
    """Faker must know ``locale`` (``de_DE``; ``de-DE`` works too)."""
    from faker.config import AVAILABLE_LOCALES

    if locale.replace("-", "_") not in AVAILABLE_LOCALES:
        raise InputError(
            f"--locale: Faker has no locale '{locale}' (for example en_US, de_DE, fr_FR, ja_JP)"
        )


@dataclass
class RunSummary:
    run_id: str
    targets: dict[Cell, int]
    accepted: int = 0
    """Accepted examples committed to the store (a batch lost to a failed write is not)."""
    rejected: Counter[str] = field(default_factory=Counter)
    unfilled: dict[Cell, int] = field(default_factory=dict)
    skipped: dict[Cell, str] = field(default_factory=dict)
    stage_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    seconds: float = 0.0
    usage: Usage = NO_USAGE
    """Requests and tokens this run spent (cached drafts cost nothing)."""
    cached: int = 0
    retries: int = 0
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Rejections by (stage, reason), for saying why a run ended short."""
    reason_groups: Counter[ReasonGroup] = field(default_factory=Counter)
    """The same, grouped by stage and reason with values masked (the pilot, the bar)."""
    stopped: str | None = None
    """Why the run ended before its cells were full (a spend cap, the pilot)."""
    given_up: dict[Cell, str] = field(default_factory=dict)
    """Cells the pilot stopped, with why."""
    missing_at_start: int = 0
    requests_sent: int = 0
    """Every request the teacher sent, those cancelled in flight when the run stopped too."""

    @property
    def status(self) -> str:
        if self.stopped:
            return "stopped"
        return "incomplete" if self.unfilled else "completed"

    def shortfall(self) -> str | None:
        """Why the run ended short of its targets, in one line; None when every cell is full."""
        if not self.unfilled:
            return None
        missing = sum(self.unfilled.values())
        sent = f"{self.requests_sent} requests sent"
        if self.stopped:
            return (
                f"stopped with {missing} of {self.missing_at_start} examples still missing "
                f"({sent}): {self.stopped}"
            )
        cells = len(self.unfilled)
        line = (
            f"the run ended {missing} example{'s'[: missing != 1]} short in {cells} "
            f"cell{'s'[: cells != 1]} after their attempt budgets (accepted {self.accepted})"
        )
        if self.reasons:
            (stage, reason), count = self.reasons.most_common(1)[0]
            line += f"; most common rejection ({count}x): {stage}: {reason[:200]}"
        if self.given_up:
            line += (
                f"; the pilot stopped {len(self.given_up)} of them, none of whose first "
                "drafts was accepted"
            )
        if self.requests_sent:
            line += f"; {sent}"
        return line + "; see 'callforge stats', then run the same command to continue"

    def as_dict(self) -> dict[str, Any]:
        """What ``runs.summary`` keeps and ``stats`` shows per run."""
        return {
            "accepted": self.accepted,
            "rejected": dict(self.rejected),
            "seconds": round(self.seconds, 3),
            "requests": self.usage.requests,
            "retries": self.retries,
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "cached_tokens": self.usage.cached_tokens,
            "cached": self.cached,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class Progress:
    """What the pipeline reports after each attempt, for a progress display."""

    missing_total: int
    accepted: int
    rejected: int
    in_flight: int
    requests: int = 0
    elapsed_s: float = 0.0
    top_reason: str = ""
    """The most common rejection reason so far."""

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace of accepted examples so far; None before the first."""
        if not self.accepted or self.elapsed_s <= 0:
            return None
        return (self.missing_total - self.accepted) * self.elapsed_s / self.accepted


def parse_mix(text: str) -> dict[str, float]:
    """``single=2,error_recovery=1`` -> weights per category."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        name = name.strip()
        get_category(name)
        try:
            mix[name] = float(weight) if weight else 1.0
        except ValueError:
            raise InputError(f"--mix: weight of '{name}' is not a number: '{weight}'") from None
        if mix[name] < 0:
            raise InputError(f"--mix: weight of '{name}' is negative")
    if not mix or sum(mix.values()) <= 0:
        raise InputError("--mix: give at least one category a positive weight")
    return mix


def cell_targets(
    tools: ToolSet, per_tool: int, mix: Mapping[str, float], *, executing: bool = False
) -> tuple[dict[Cell, int], dict[Cell, str]]:
    """Split ``per_tool`` over categories by weight (largest remainder).

    A category that cannot be built for a tool gives its share to the others, so
    every tool still gets ``per_tool`` examples. Returns targets and skipped cells.
    ``executing`` (``--execute``): the calls are made for real, which some categories
    cannot be built around for some tools (``Category.unavailable_executed``).
    """
    targets: dict[Cell, int] = {}
    skipped: dict[Cell, str] = {}
    for tool in tools:
        usable = {}
        for name, weight in mix.items():
            category = CATEGORIES[name]
            reason = category.unavailable_for(tool, tools) or (
                category.unavailable_executed(tool, tools) if executing else None
            )
            if reason:
                skipped[(tool.name, name)] = reason
            elif weight > 0:
                usable[name] = weight
        total = sum(usable.values())
        if not total:
            continue
        shares = {name: per_tool * weight / total for name, weight in usable.items()}
        counts = {name: math.floor(share) for name, share in shares.items()}
        by_remainder = sorted(shares, key=lambda n: (counts[n] - shares[n], list(usable).index(n)))
        for name in by_remainder[: per_tool - sum(counts.values())]:
            counts[name] += 1
        targets.update({(tool.name, name): count for name, count in counts.items() if count})
    return targets, skipped


def attempt_seed(seed: int, tool: str, category: str, attempt: int) -> int:
    return int(sha256_hex(f"{seed}:{tool}:{category}:{attempt}")[:16], 16)


def check_seedable(tools: ToolSet, locale: str, stop: threading.Event | None = None) -> Faker:
    """Seed every tool once, so an unsupported schema fails before anything is stored.

    Returns the Faker it used, for the run to re-seed per attempt (one is slow to make).
    ``stop`` (set on Ctrl-C) ends the check between tools: a thread cannot be
    interrupted, and the process waits for it before exiting.
    """
    faker = Faker(locale)
    for tool in tools:
        if stop is not None and stop.is_set():
            break
        faker.seed_instance(0)
        seed_arguments(tool.parameters, random.Random(0), faker, tool=tool.name)
    return faker


@dataclass
class _Outcome:
    cell: Cell
    attempt: int
    scenario: Scenario | None = None
    rejection: Rejection | None = None
    payload: dict[str, Any] | None = None
    usage: Usage = NO_USAGE
    cached: bool = False
    cache_entries: list[CacheEntry] = field(default_factory=list)


class Generation:
    """One ``generate`` run over a store."""

    def __init__(
        self,
        store: Store,
        tools: ToolSet,
        teacher: Teacher,
        config: GenerateConfig,
        on_progress: Callable[[Progress], None] | None = None,
        faker: Faker | None = None,
        execution: Execution | None = None,
    ) -> None:
        self.store, self.tools, self.teacher, self.config = store, tools, teacher, config
        self.execution = execution
        """With ``--execute``: the real tools, whose outcomes become the tool messages."""
        self.on_progress = on_progress or (lambda _progress: None)
        self.faker = faker or Faker(config.locale)  # re-seeded per attempt; slow to make
        self.style_knobs: dict[str, list[str]] = load_yaml("variety.yaml")
        self._examples: list[ExampleRow] = []
        self._rejections: list[RejectionRow] = []
        self._cache_entries: list[CacheEntry] = []
        self._last_flush = time.perf_counter()
        self._writing: asyncio.Future[None] | None = None
        self.stage_seconds: defaultdict[str, float] = defaultdict(float)
        self._made = 0
        """Accepted examples made, stored or still waiting for their batch: for progress."""
        self._stored = 0
        """Accepted examples committed, counted by the writer thread."""
        self._progress_file = ProgressFile(store.path)
        self._snapshot_due = 0.0
        self._pilot_stopped = False
        self._paid = Counter[Cell]()
        self._paid_accepted = Counter[Cell]()
        self._cell_reasons: defaultdict[Cell, Counter[ReasonGroup]] = defaultdict(Counter)

    async def run(self, run_config: Mapping[str, Any] | None = None) -> RunSummary:
        started = time.perf_counter()
        targets, skipped = cell_targets(
            self.tools,
            self.config.per_tool,
            self.config.mix,
            executing=self.execution is not None,
        )
        self.store.register_tools(
            (t.name, t.content_hash, stored_definition(t)) for t in self.tools
        )
        self.store.set_targets(targets)
        config = {**asdict(self.config), "teacher": self.teacher.id, **(run_config or {})}
        if self.config.templates is not None:
            config["templates"] = str(self.config.templates)
        run_id = self.store.begin_run("generate", config)
        summary = RunSummary(run_id=run_id, targets=targets, skipped=skipped)
        self.stage_seconds = summary.stage_seconds
        status = "interrupted"
        try:
            warming = asyncio.create_task(_warm_up()) if self.teacher.concurrency > 1 else None
            try:
                await self._fill(summary, started)
                status = summary.status
            finally:
                if warming is not None:
                    warming.cancel()
                if not self.store.broken:  # after a failed write, DuckDB takes no more
                    await self._flush(run_id, force=True)
        except StoreWriteError as exc:
            # The run ends here; runs.status stays 'running' and reads 'interrupted' next open.
            raise StoreWriteError(
                f"{self.store.path}: cannot write to the store ({exc.detail}); "
                f"{self._stored} accepted examples of this run were stored before it: free "
                "some space (or fix the folder's permissions) and run the same command to continue",
                detail=exc.detail,
            ) from exc
        finally:
            summary.accepted = self._stored
            summary.seconds = time.perf_counter() - started
            summary.retries = self.teacher.stats.retries
            summary.requests_sent = self.teacher.stats.requests
            if not self.store.broken:
                self.store.finish_run(run_id, status, summary.as_dict())
            self._progress_file.remove()
        return summary

    async def _fill(self, summary: RunSummary, started: float) -> None:
        counts = self.store.accepted_counts()
        missing = {cell: max(0, t - counts.get(cell, 0)) for cell, t in summary.targets.items()}
        unused = self.store.unused_attempts()
        holes = {cell: deque(numbers) for cell, (numbers, _) in unused.items()}
        next_attempt = {cell: number for cell, (_, number) in unused.items()}
        budget = {
            cell: math.ceil(n * self.config.attempts_per_example) + 10
            for cell, n in missing.items()
        }
        dedup = ExactDeduplicator(self.store.dedup_keys())
        in_flight: dict[asyncio.Task[_Outcome], Cell] = {}
        # Attempts report here when done: O(1) per attempt, where asyncio.wait would
        # hook and unhook every attempt in flight each time one finishes.
        finished: asyncio.Queue[asyncio.Task[_Outcome]] = asyncio.Queue()
        pending = Counter[Cell]()
        missing_total = summary.missing_at_start = sum(missing.values())
        if missing_total:
            self.on_progress(Progress(missing_total, 0, 0, 0))

        # The cells that may need an attempt again, in target order: neither a cell's
        # missing count nor its budget ever grows, so a cell out of either leaves for
        # good, and a round-robin pass skips only the cells in flight, not every
        # filled cell of a run over 10,000 tools.
        open_cells = dict.fromkeys(c for c in summary.targets if missing[c] and budget[c] > 0)

        def schedule() -> Iterator[tuple[Cell, int]]:
            """Round-robin over cells that still need examples and have budget."""
            closed: list[Cell] = []
            try:
                while not summary.stopped:
                    progressed = False
                    for cell in open_cells:
                        if missing[cell] <= 0 or budget[cell] <= 0:
                            closed.append(cell)
                        elif missing[cell] - pending[cell] > 0:
                            budget[cell] -= 1
                            if holes.get(cell):
                                number = holes[cell].popleft()
                            else:
                                number = next_attempt.get(cell, 0)
                                next_attempt[cell] = number + 1
                            progressed = True
                            yield cell, number
                            if len(in_flight) >= self.teacher.concurrency:
                                return
                    if not progressed:
                        return
            finally:
                for cell in closed:
                    open_cells.pop(cell, None)

        try:
            while True:
                for cell, number in schedule():
                    pending[cell] += 1
                    task = asyncio.create_task(self._attempt(cell, number, summary))
                    task.add_done_callback(finished.put_nowait)
                    in_flight[task] = cell
                    # Let it plan and send before the next is made: made all at once, the
                    # first wave would prepare together and leave together, then come back
                    # together and queue behind one core, wave after wave.
                    await asyncio.sleep(0)
                if not in_flight:
                    break
                done = [await finished.get()]
                while not finished.empty():
                    done.append(finished.get_nowait())
                for task in done:
                    cell = in_flight.pop(task)
                    pending[cell] -= 1
                    try:
                        outcome = task.result()
                    except SpendLimitReached as reached:
                        # Nothing new is sent; drafts in flight finish (paid for already).
                        summary.stopped = summary.stopped or reached.reason
                        summary.usage += reached.usage
                        continue
                    accepted = self._record(outcome, dedup, summary)
                    missing[cell] -= accepted
                    self._pilot(outcome, accepted, summary, budget)
                await self._flush(summary.run_id)
                progress = Progress(
                    missing_total,
                    self._made,
                    sum(summary.rejected.values()),
                    self.teacher.stats.in_flight or len(in_flight),
                    self.teacher.stats.requests,
                    time.perf_counter() - started,
                    str(summary.reason_groups.most_common(1)[0][0])
                    if summary.reason_groups
                    else "",
                )
                self.on_progress(progress)
                self._snapshot(summary, progress, missing)
                if self._pilot_stopped:
                    break  # the drafts in flight are more of the same: not worth their re-asks
        finally:
            # A teacher that gives up (or a Ctrl-C) ends the run: finished attempts are
            # recorded above, the rest are cancelled so nothing writes after the flush.
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
        summary.unfilled = {cell: n for cell, n in missing.items() if n > 0}

    def _pilot(
        self, outcome: _Outcome, accepted: bool, summary: RunSummary, budget: dict[Cell, int]
    ) -> None:
        """Stop paying for a run, or a cell, whose first paid attempts are mostly rejected."""
        if not outcome.usage.tokens or outcome.cached:
            return  # nothing answered (offline, cached, or only failures): no draft to judge
        config, cell = self.config, outcome.cell
        self._paid[cell] += 1
        self._paid_accepted[cell] += accepted
        paid, kept = self._paid.total(), self._paid_accepted.total()
        if paid == config.pilot_attempts and kept < config.pilot_min_acceptance * paid:
            self._pilot_stopped = True
            summary.stopped = (
                f"the pilot: {kept} of the first {paid} paid attempts were accepted "
                f"({kept / paid:.0%}, under {config.pilot_min_acceptance:.0%}); "
                f"top reasons: {top_reasons(summary.reason_groups)}. Try another --mode "
                "(tools, json, json_schema, md_json) or a stronger --model, and read the "
                "rejected drafts with 'callforge show --rejected'"
            )
        cell_paid = self._paid[cell]
        if cell_paid == config.cell_pilot_attempts and not self._paid_accepted[cell]:
            budget[cell] = 0
            summary.given_up[cell] = (
                f"none of its first {cell_paid} paid attempts was accepted; "
                f"top reasons: {top_reasons(self._cell_reasons[cell])}"
            )

    def _snapshot(self, summary: RunSummary, progress: Progress, missing: dict[Cell, int]) -> None:
        """About once a second, the live figures beside the store (``store/progress.py``)."""
        now = time.perf_counter()
        if now < self._snapshot_due:
            return
        self._snapshot_due = now + 1.0
        done = progress.accepted
        eta = progress.eta_s
        usage = summary.usage
        self._progress_file.write(
            {
                "run_id": summary.run_id,
                "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "elapsed_s": round(progress.elapsed_s, 1),
                "missing_at_start": progress.missing_total,
                "accepted": done,
                "rejected": progress.rejected,
                "in_flight": progress.in_flight,
                "requests": progress.requests,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "eta_s": None if eta is None else round(eta),
                "top_reasons": [[str(g), n] for g, n in summary.reason_groups.most_common(5)],
                "cells_missing": [[t, c, n] for (t, c), n in missing.items() if n > 0],
            }
        )

    async def _attempt(self, cell: Cell, number: int, summary: RunSummary) -> _Outcome:
        tick = time.perf_counter()
        plan = self._plan(cell, number)
        summary.stage_seconds["plan"] += time.perf_counter() - tick
        tools_used = plan.tools_shown(self.tools)
        results: list[dict[str, Any]] | None = None
        executed_entries: list[CacheEntry] = []
        if self.execution is not None:
            tick = time.perf_counter()
            executed = await self.execution.run(plan)
            summary.stage_seconds["execution"] += time.perf_counter() - tick
            executed_entries = executed.cache_entries
            if executed.rejection is not None:
                payload = plan.model_dump(mode="json")
                payload["tool_results"] = executed.results
                return _Outcome(
                    cell,
                    number,
                    rejection=executed.rejection,
                    payload=payload,
                    cache_entries=executed_entries,
                )
            plan, results = executed.plan, executed.results
        tick = time.perf_counter()
        try:
            request = TeacherRequest(
                plan=plan,
                tools=tools_used,
                dataflow=self.tools.dataflow,
                results=tuple(results) if results is not None else None,
            )
            reply = await self.teacher.write(request)
        except TeacherFailure as exc:
            payload = plan.model_dump(mode="json")
            if exc.answer is not None:  # the model's last words, for 'callforge show'
                payload = {"plan": payload, "last_answer": exc.answer}
            return _Outcome(
                cell,
                number,
                rejection=Rejection(exc.stage, exc.reason),
                payload=payload,
                usage=exc.usage,
            )
        finally:
            summary.stage_seconds["teacher"] += time.perf_counter() - tick
        tick = time.perf_counter()
        scenario = Scenario(plan=reply.plan or plan, draft=reply.draft)
        validated = reply.validated
        rejection: Rejection | None = None
        if results is not None:
            scenario, rejection, entries = await self._with_real_results(scenario, plan, results)
            executed_entries += entries
            validated = False  # the teacher validated its own results, not these
        if rejection is None and reply.rejection is not None:
            rejection = Rejection(*reply.rejection)
        elif rejection is None and not validated:
            rejection = validate_scenario(scenario, self.tools)
        summary.stage_seconds["validate"] += time.perf_counter() - tick
        outcome = _Outcome(
            cell,
            number,
            usage=reply.usage,
            cached=reply.cached,
            cache_entries=[
                *([reply.cache_entry] if reply.cache_entry else []),
                *reply.more_cache_entries,
                *executed_entries,
            ],
        )
        if rejection:
            outcome.rejection = rejection
            outcome.payload = scenario.model_dump(mode="json")
        else:
            outcome.scenario = scenario
        return outcome

    async def _with_real_results(
        self, scenario: Scenario, planned: ScenarioPlan, results: list[dict[str, Any]]
    ) -> tuple[Scenario, Rejection | None, list[CacheEntry]]:
        """The scenario with the real tool messages in place of whatever the teacher wrote,
        checked byte for byte against them.

        The teacher was shown the real results and wrote around them. One that wrote
        free-text arguments made other calls than the ones executed: those are made for
        real too (and the validator then holds its answer to their results).
        """
        from callforge.generator.execution.stage import results_kept, same_calls

        assert self.execution is not None
        entries: list[CacheEntry] = []
        if not same_calls(scenario.plan, planned):
            executed = await self.execution.run(scenario.plan)
            entries = executed.cache_entries
            if executed.rejection is not None:
                return scenario, executed.rejection, entries
            scenario = Scenario(plan=executed.plan, draft=scenario.draft)
            results = executed.results
        draft = scenario.draft.model_copy(update={"tool_results": list(results)})
        kept = Scenario(plan=scenario.plan, draft=draft)
        return kept, results_kept(kept, results), entries

    def keep_answer(self, entry: CacheEntry) -> None:
        """Store an answer the teacher gave before the run (proposed links) with the first batch."""
        self._cache_entries.append(entry)

    def _plan(self, cell: Cell, number: int) -> ScenarioPlan:
        return plan_attempt(
            self.tools,
            self.config,
            self.faker,
            self.style_knobs,
            cell,
            number,
            executing=self.execution is not None,
        )

    def _record(self, outcome: _Outcome, dedup: ExactDeduplicator, summary: RunSummary) -> bool:
        """Buffer an outcome for storage; True if it adds an accepted example."""
        tool_name, category = outcome.cell
        tool_hash = self.tools[tool_name].content_hash
        rejection, scenario = outcome.rejection, outcome.scenario
        summary.usage += outcome.usage
        summary.cached += outcome.cached
        self._cache_entries.extend(outcome.cache_entries)
        if scenario is not None:
            key = dedup_key(scenario)
            if not dedup.admit(key):
                rejection = Rejection(
                    DEDUP, "exact duplicate: same request and calls as a stored example"
                )
            else:
                self._examples.append(
                    ExampleRow(
                        example_id=key[:20],
                        tool_name=tool_name,
                        tool_hash=tool_hash,
                        category=category,
                        attempt=outcome.attempt,
                        failure_kind=scenario.plan.failure_kind,
                        dedup_key=key,
                        user_request=scenario.draft.user_request,
                        tool_hashes=[
                            self.tools[n].content_hash for n in scenario.plan.tools_used()
                        ],
                        scenario=scenario.model_dump(mode="json"),
                        teacher=self.teacher.id,
                        usage=outcome.usage,
                        cached=outcome.cached,
                    )
                )
                self._made += 1
                return True
        assert rejection is not None
        summary.rejected[rejection.stage] += 1
        summary.reasons[(rejection.stage, rejection.reason)] += 1
        group = reason_group(rejection.stage, rejection.reason)
        summary.reason_groups[group] += 1
        self._cell_reasons[outcome.cell][group] += 1
        payload = outcome.payload or (scenario.model_dump(mode="json") if scenario else None)
        self._rejections.append(
            RejectionRow(
                tool_name,
                tool_hash,
                category,
                outcome.attempt,
                rejection.stage,
                rejection.reason,
                payload,
                outcome.usage,
            )
        )
        return False

    async def _flush(self, run_id: str, *, force: bool = False) -> None:
        """Hand the buffered rows to the writer thread when a batch is due.

        DuckDB takes milliseconds per batch; in the event loop that would hold back
        every answer arriving meanwhile (and bunch them up), so one writer thread
        does it while the loop goes on. Batches land one at a time, in order; a
        forced flush waits until everything is stored.
        """
        waiting = len(self._examples) + len(self._rejections)  # cache entries ride along
        due = waiting >= self.config.batch_size
        buffered = waiting > 0 or bool(self._cache_entries)
        late = buffered and time.perf_counter() - self._last_flush >= self.config.flush_seconds
        if force or due or late:
            await self._written()  # the previous batch first (its error, if any, surfaces)
            batch = (self._examples, self._rejections, self._cache_entries)
            self._examples, self._rejections, self._cache_entries = [], [], []
            self.store.journal.seal()  # answers kept from now on wait for a later batch
            self._last_flush = time.perf_counter()
            self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, run_id, batch))
            self._writing.add_done_callback(
                functools.partial(self._settle, [entry.key for entry in batch[2]])
            )
        if force:
            await self._written()

    def _settle(self, keys: list[str], writing: asyncio.Future[None]) -> None:
        """A batch is committed: its answers need their journal lines no longer."""
        if not writing.cancelled() and writing.exception() is None:
            self.store.journal.committed(keys)

    async def _written(self) -> None:
        writing, self._writing = self._writing, None
        if writing is not None:
            await writing

    def _write(
        self,
        run_id: str,
        batch: tuple[list[ExampleRow], list[RejectionRow], list[CacheEntry]],
    ) -> None:
        """In the writer thread: one batch, one transaction."""
        tick = time.perf_counter()
        self.store.write_batch(run_id, *batch)
        self._stored += len(batch[0])  # one writer thread at a time: no race
        self.stage_seconds["store"] += time.perf_counter() - tick


def plan_attempt(
    tools: ToolSet,
    config: GenerateConfig,
    faker: Faker,
    style_knobs: Mapping[str, list[str]],
    cell: Cell,
    number: int,
    *,
    executing: bool = False,
) -> ScenarioPlan:
    """The plan of attempt ``number`` of ``cell``: the same for the same seed, always.

    ``executing`` (``--execute``): the calls will be made for real before the teacher
    writes, so they are final and fail only as a real tool does (``PlanContext.executing``).
    """
    tool_name, category_name = cell
    seed = attempt_seed(config.seed, tool_name, category_name, number)
    rng = random.Random(seed)
    faker.seed_instance(seed)
    style = {knob: rng.choice(values) for knob, values in style_knobs.items()}
    context = PlanContext(
        rng=rng,
        faker=faker,
        attempt=number,
        seed=seed,
        optional_rate=config.optional_rate,
        style=style,
        executing=executing,
    )
    plan = get_category(category_name).make_plan(tools[tool_name], tools, context)
    plan.system = system_prompt_for(plan, config.system_prompts)
    return plan


def first_plans(
    tools: ToolSet, config: GenerateConfig, *, executing: bool = False
) -> list[ScenarioPlan]:
    """The plans of a fresh run's first attempts, one per missing example (``--dry-run``).

    Rejected attempts are retried with later numbers, so a real run may make more calls.
    """
    targets, _ = cell_targets(tools, config.per_tool, config.mix, executing=executing)
    faker = check_seedable(tools, config.locale)
    knobs: dict[str, list[str]] = load_yaml("variety.yaml")
    return [
        plan_attempt(tools, config, faker, knobs, cell, number, executing=executing)
        for cell, count in targets.items()
        for number in range(count)
    ]


def top_reasons(reasons: Counter[ReasonGroup], count: int = 3) -> str:
    return "; ".join(f"{group} ({n})" for group, n in reasons.most_common(count)) or "none"


@runtime_checkable
class EstimatingTeacher(Protocol):
    """A paying teacher that can tell what a request's prompt will weigh."""

    def prompt_tokens(self, request: TeacherRequest) -> int: ...

    def judge_prompt_tokens(self, request: TeacherRequest) -> int: ...


def estimate_run(
    store: Store,
    tools: ToolSet,
    teacher: Teacher,
    config: GenerateConfig,
    prices: Mapping[str, float],
    faker: Faker | None = None,
    sample_per_cell: int = 3,
) -> RunEstimate | None:
    """What filling the missing examples will cost, before re-asks and rejections
    (drafts, and with ``--judge`` their grades).

    Prompts are rendered for the first ``sample_per_cell`` planned attempts of
    every cell still missing examples; a cell's average times its missing count,
    summed. None for a teacher that does not pay by the token.
    """
    if not isinstance(teacher, EstimatingTeacher):
        return None
    targets, _ = cell_targets(tools, config.per_tool, config.mix)
    counts = store.accepted_counts()
    planner = Generation(store, tools, teacher, config, faker=faker)
    examples = prompt_tokens = judge_tokens = 0
    for cell, target in targets.items():
        missing = max(0, target - counts.get(cell, 0))
        if not missing:
            continue
        sizes, judged = [], []
        for number in range(min(sample_per_cell, missing)):
            plan = planner._plan(cell, number)
            request = TeacherRequest(plan, tuple(tools[name] for name in plan.tools_used()))
            sizes.append(teacher.prompt_tokens(request))
            judged.append(teacher.judge_prompt_tokens(request))
        examples += missing
        prompt_tokens += round(sum(sizes) / len(sizes) * missing)
        judge_tokens += round(sum(judged) / len(judged) * missing)
    if not examples:
        return None
    return RunEstimate(
        examples,
        round(prompt_tokens / examples),
        EXPECTED_COMPLETION_TOKENS,
        dict(prices),
        judge_prompt_tokens_per_request=round(judge_tokens / examples),
    )


async def generate_into(
    path: Path,
    tools: ToolSet,
    teacher: Teacher,
    config: GenerateConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    run_config: Mapping[str, Any] | None = None,
    use_cache: bool = True,
    prices: Mapping[str, float] | None = None,
    on_estimate: Callable[[RunEstimate], None] | None = None,
    execution: Execution | None = None,
) -> RunSummary:
    """``generate`` into the store at ``path``, opened only once every input is known good.

    The teacher's configuration (key, endpoint) and every tool's seedability are
    checked first, so a bad input leaves no store file behind. A paying
    teacher's estimate goes to ``on_estimate`` before the first request.
    """
    starting = asyncio.ensure_future(teacher.start())
    try:
        with templates_folder(config.templates):
            faker = await _seedable(tools, config.locale)
            await starting
            with Store(path) as store:
                if use_cache and hasattr(teacher, "cache"):
                    cache: ResponseCache = store.response_cache()
                    teacher.cache = cache
                return await _generate_in(
                    store, tools, teacher, config, faker, on_progress, run_config, prices,
                    on_estimate, execution=execution,
                )  # fmt: skip
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await teacher.aclose()
        if execution is not None:
            await execution.aclose()


async def _warm_up() -> None:
    """Build what the first plans of a run would otherwise build one by one between
    replies (25 locales' street Fakers, ~80 ms of CPU), a step at a time, while the first
    requests are out: the loop is idle then, and busy later."""
    from callforge.generator.seeding.places import street_fakers

    for _ in street_fakers():
        await asyncio.sleep(0)


async def _seedable(tools: ToolSet, locale: str) -> Faker:
    """``check_seedable`` in a thread, so the teacher's start-up round trip goes on meanwhile."""
    stop = threading.Event()
    try:
        return await asyncio.to_thread(check_seedable, tools, locale, stop)
    except asyncio.CancelledError:
        stop.set()  # Ctrl-C: the thread stops at the next tool, not after all of them
        raise


async def _generate_in(
    store: Store,
    tools: ToolSet,
    teacher: Teacher,
    config: GenerateConfig,
    faker: Faker,
    on_progress: Callable[[Progress], None] | None,
    run_config: Mapping[str, Any] | None,
    prices: Mapping[str, float] | None = None,
    on_estimate: Callable[[RunEstimate], None] | None = None,
    execution: Execution | None = None,
) -> RunSummary:
    """The run itself, once the teacher is started and the tools are seedable."""
    proposal = None
    if config.propose_links:
        tools, proposal = await _with_proposed_links(teacher, tools)
    if on_estimate is not None:
        estimate = estimate_run(store, tools, teacher, config, prices or {}, faker)
        if estimate is not None:
            on_estimate(estimate)
    if execution is not None:
        execution.executor.cache = store.response_cache()  # outcomes kept in this store
        await execution.start()
    generation = Generation(store, tools, teacher, config, on_progress, faker, execution)
    if proposal is not None and proposal.cache_entry is not None:
        generation.keep_answer(proposal.cache_entry)
    summary = await generation.run(run_config)
    if proposal is not None:
        summary.usage += proposal.usage
        summary.cached += proposal.cached
    return summary


async def _with_proposed_links(teacher: Teacher, tools: ToolSet) -> tuple[ToolSet, Any]:
    """The tool set with the data flows the teacher proposes (one cached request)."""
    propose = getattr(teacher, "propose_links", None)
    if propose is None:
        raise InputError(f"proposing links needs an LLM teacher ('{teacher.id}' cannot)")
    proposal = await propose(tools)
    tools, _ = with_proposed_links(tools, [link.model_dump() for link in proposal.links])
    return tools, proposal


async def generate(
    store: Store,
    tools: ToolSet,
    teacher: Teacher,
    config: GenerateConfig,
    on_progress: Callable[[Progress], None] | None = None,
    run_config: Mapping[str, Any] | None = None,
    execution: Execution | None = None,
) -> RunSummary:
    """Fill every cell of ``tools`` to its target in ``store``; see the module docstring.

    With ``execution`` (``--execute``) every planned call is made for real first.
    """
    # The teacher's start-up check is a round trip to the endpoint; making the run's
    # Faker (tens of milliseconds of lazy imports) and checking seedability is CPU.
    # In a thread, the CPU work does not hold up the round trip.
    with templates_folder(config.templates):
        return await _generate(store, tools, teacher, config, on_progress, run_config, execution)


async def _generate(
    store: Store,
    tools: ToolSet,
    teacher: Teacher,
    config: GenerateConfig,
    on_progress: Callable[[Progress], None] | None,
    run_config: Mapping[str, Any] | None,
    execution: Execution | None,
) -> RunSummary:
    starting = asyncio.ensure_future(teacher.start())
    try:
        faker = await _seedable(tools, config.locale)
        await starting
        return await _generate_in(
            store, tools, teacher, config, faker, on_progress, run_config, execution=execution
        )
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)  # its error is the one raised
        await teacher.aclose()
        if execution is not None:
            await execution.aclose()
