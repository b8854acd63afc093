"""Does the data say something, and are the words right? Issues 10 and 11, measured.

Run by hand::

    .venv/bin/python benchmarks/bench_quality.py                 # make demo's dataset
    .venv/bin/python benchmarks/bench_quality.py --export demo/data
    .venv/bin/python benchmarks/bench_quality.py --json          # one JSON object

Without ``--export`` it generates the dataset ``make demo`` makes (the offline
teacher on ``templates/examples/tools.json``, ``--per-tool 60 --seed 7``, exported
with ``--eval-fraction 0.1 --seed 7``) into a temporary folder, through the CLI as a
user would, and scores that. ``--export DIR`` scores the ``*.jsonl`` files of an
existing export instead. Each figure is printed with its target and PASS/FAIL;
``--show N`` prints up to N flagged examples per figure (#K is the line's position
across the export's files, sorted by name); ``--check`` exits 1 when a figure fails.

The measures live in ``benchmarks/quality_measures.py`` with their rules; they are
the benchmark's own, so it checks the generator instead of agreeing with it. The
only project code used is ``GroundingText``, for the grounding figures, which
measure that function against hand-written cases.

Hand-labelled data (``tests/data``)
-----------------------------------
``plausible_links.json``: ``{"about", "tool_set", "links": [...]}``; each link is
``{"from_tool", "to_tool", "to_parameter", "plausible", "reason"?}``: can the result
of ``from_tool`` really supply ``to_parameter`` of ``to_tool``? Every (tool, other
tool, string/integer/number parameter) combination of the example tool set is
listed; plausible ones carry a one-line reason (``get_customer`` ->
``create_order.customer_id`` yes; ``get_weather_forecast`` -> ``send_email.subject`` no).

``grounding_paraphrases.json``: ``{"about", "cases": [...]}``; each case is ``{"id",
"kind", "value", "options"?, "text", "today"?, "note"}``. ``kind`` is ``natural`` (the text states
the value as people write it: must be accepted) or ``wrong`` (the value is missing
or different: must be rejected). ``today`` (ISO date) is the example's today,
``options`` the enum a value is one of; the case is asked as the validator asks:
``GroundingText([text], today=date).missing({"value": value}, {"value": rivals})``.

Figures and targets
-------------------
Issue 10: free-text arguments that are random words (<= 10%); results of lookup,
search, conversion and computation tools with no data (<= 10%); reversed start/end
argument pairs (0); multi_step examples whose every link is plausible (>= 90%).
Issue 11: requests containing a 6-word span of a tool description (<= 5%); final
answers using a result value the user did not state (>= 80%); the most common
request opener's and closer's share (<= 5% each); grounding verdicts on the
paraphrases (every natural form accepted, every wrong value rejected).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_measures import (
    Example,
    Figure,
    answers_using_results,
    hollow_results,
    implausible_chains,
    load_link_labels,
    pasted_descriptions,
    random_free_text,
    read_example,
    reversed_ranges,
    stock_phrases,
)

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "templates" / "examples" / "tools.json"
LINKS = ROOT / "tests" / "data" / "plausible_links.json"
PARAPHRASES = ROOT / "tests" / "data" / "grounding_paraphrases.json"


def generate_demo_export(work: Path, per_tool: int, seed: int) -> Path:
    """``make demo``'s generate and export, through the CLI, into ``work``."""
    db, out = work / "callforge.duckdb", work / "data"
    cli = [sys.executable, "-m", "callforge.cli"]
    for args in (
        [
            "generate",
            "--tools",
            str(TOOLS),
            "--per-tool",
            str(per_tool),
            "--seed",
            str(seed),
            "--db",
            str(db),
        ],
        [
            "export",
            "--db",
            str(db),
            "--out",
            str(out),
            "--eval-fraction",
            "0.1",
            "--seed",
            str(seed),
        ],
    ):
        subprocess.run([*cli, *args], check=True, capture_output=True, text=True)
    return out


def read_export(folder: Path) -> list[Example]:
    """Every OpenAI-format line of the export's ``*.jsonl`` files, in file-name order.

    The folder's own ``*.jsonl`` files, else those below it; lines without
    ``messages`` (another trainer format) are left out. A metadata sidecar
    (``train.meta.jsonl`` beside ``train.jsonl``, line for line) gives each line its
    stored category.
    """
    files = sorted(folder.glob("*.jsonl")) or sorted(folder.rglob("*.jsonl"))
    files = [path for path in files if not path.name.endswith(".meta.jsonl")]
    if not files:
        raise SystemExit(f"no *.jsonl files in {folder}")
    examples = []
    for path in files:
        sidecar = path.with_name(path.name.removesuffix(".jsonl") + ".meta.jsonl")
        metadata = _json_lines(sidecar) if sidecar.exists() else []
        for number, parsed in enumerate(_json_lines(path)):
            if not isinstance(parsed, dict) or not parsed.get("messages"):
                continue
            if number < len(metadata) and isinstance(metadata[number], dict):
                parsed = {**parsed, "metadata": parsed.get("metadata") or metadata[number]}
            examples.append(read_example(parsed, len(examples)))
    if not examples:
        raise SystemExit(f"no OpenAI-format lines (with messages) in {folder}")
    return examples


def _json_lines(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) if line.strip() else None for line in lines]


def grounding_figures(document: dict[str, Any]) -> list[Figure]:
    """Grounding's verdicts on the hand-written paraphrases: natural accepted, wrong rejected."""
    from callforge.generator.grounding import GroundingText

    accepted = Figure(
        "grounding_natural_accepted", "grounding accepts natural forms", 11, None, "== 100%"
    )
    rejected = Figure(
        "grounding_wrong_rejected", "grounding rejects wrong values", 11, None, "== 100%"
    )
    for case in document["cases"]:
        verdict = grounding_verdict(GroundingText, case)
        figure = accepted if case["kind"] == "natural" else rejected
        figure.denominator += 1
        if verdict == (case["kind"] == "natural"):
            figure.numerator += 1
        else:
            when = f" (today {case['today']})" if case.get("today") else ""
            figure.flag(f"case {case['id']}: {case['value']!r} in {case['text']!r}{when}", 40)
    for figure in (accepted, rejected):
        figure.value = figure.numerator / figure.denominator if figure.denominator else None
    return [accepted, rejected]


def grounding_verdict(grounding: Any, case: dict[str, Any]) -> bool:
    """Whether ``grounding`` (``GroundingText``) finds the case's value in its text.

    As the validator asks: the text with the example's today, and an enum option
    checked against its rivals (the case's other ``options``), so "premium economy"
    does not state ``economy``.
    """
    today = date.fromisoformat(case["today"]) if case.get("today") else None
    value, options = case["value"], case.get("options") or []
    rivals = {"value": [option for option in options if option != value]} if options else None
    return not grounding([case["text"]], today=today).missing({"value": value}, rivals)


def score(examples: list[Example]) -> list[Figure]:
    labels = load_link_labels(json.loads(LINKS.read_text(encoding="utf-8")))
    return [
        random_free_text(examples),
        hollow_results(examples),
        reversed_ranges(examples),
        implausible_chains(examples, labels),
        pasted_descriptions(examples),
        answers_using_results(examples),
        stock_phrases(examples, "opener"),
        stock_phrases(examples, "closer"),
        *grounding_figures(json.loads(PARAPHRASES.read_text(encoding="utf-8"))),
    ]


def render(figure: Figure, show: int) -> list[str]:
    if figure.value is None:
        shown, verdict = "n/a", "n/a"
    elif figure.key == "reversed_ranges":
        shown, verdict = f"{figure.numerator} of {figure.denominator} pairs", ""
    else:
        shown = f"{figure.value:6.1%} ({figure.numerator}/{figure.denominator})"
        verdict = ""
    if figure.passed is not None:
        verdict = "PASS" if figure.passed else "FAIL"
    lines = [f"#{figure.issue} {figure.label:<62} {shown:>22}  target {figure.target:<7} {verdict}"]
    strict = figure.detail.get("share_without_action_ids")
    if strict is not None:
        lines.append(f"      ({strict:.1%} when the ids an acting tool made do not count either)")
    for note in figure.flagged[:show]:
        lines.append(f"      {note}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path, help="score this export folder (*.jsonl)")
    parser.add_argument("--per-tool", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--show", type=int, default=0, help="flagged examples per figure")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure fails")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as work:
        folder = args.export or generate_demo_export(Path(work), args.per_tool, args.seed)
        examples = read_export(folder)
    figures = score(examples)
    source = str(args.export) if args.export else f"make demo (--per-tool {args.per_tool} "
    source += "" if args.export else f"--seed {args.seed})"
    if args.json:
        print(
            json.dumps(
                {
                    "source": source,
                    "examples": len(examples),
                    "figures": [f.as_dict() for f in figures],
                },
                indent=1,
            )
        )
    else:
        print(f"quality of {len(examples)} examples from {source}")
        for figure in figures:
            print("\n".join(render(figure, args.show)))
    failed = any(figure.passed is False for figure in figures)
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
