"""callforge command line: a thin layer over the ``generator`` library.

Each command parses its options, calls one library function and prints. Errors a
user can act on (``CallforgeError``) become one line on stderr and exit code 2.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from generator.errors import CallforgeError
from generator.export import ExportConfig, export_dataset
from generator.pipeline import DEFAULT_MIX, GenerateConfig, RunSummary, generate, parse_mix
from generator.pipeline import Progress as RunProgress
from generator.stats import collect_stats
from generator.teachers import get_teacher
from generator.tools import load_tools
from store import Store

app = typer.Typer(
    help="Manufacture verified tool-calling fine-tuning data from your tool schemas.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[Path, typer.Option("--db", help="DuckDB store file.", envvar="CALLFORGE_DB")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed: same seed, same output.")]
DEFAULT_DB = Path("callforge.duckdb")
DEFAULT_MIX_TEXT = ",".join(f"{name}={weight:g}" for name, weight in DEFAULT_MIX.items())


def user_errors(command: F) -> F:
    """Turn a ``CallforgeError`` into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CallforgeError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@app.command("generate")
@user_errors
def generate_command(
    tools: Annotated[Path, typer.Option("--tools", help="Tool file (OpenAI tools JSON).")],
    per_tool: Annotated[int, typer.Option("--per-tool", min=1, help="Examples per tool.")] = 50,
    mix: Annotated[
        str, typer.Option("--mix", help="Category weights, e.g. single=2,error_recovery=1.")
    ] = DEFAULT_MIX_TEXT,
    seed: SeedOption = 0,
    locale: Annotated[str, typer.Option("--locale", help="Faker locale for values.")] = "en_US",
    optional_rate: Annotated[
        float, typer.Option("--optional-rate", min=0.0, max=1.0, help="Share of optional args.")
    ] = 0.5,
    teacher: Annotated[str, typer.Option("--teacher", help="Who writes the words.")] = "offline",
    templates: Annotated[
        Path | None, typer.Option("--templates", help="Folder overriding shipped templates.")
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Fill every (tool, category) cell to its target, generating only what is missing.

    Example: callforge generate --tools tools.json --per-tool 50 --seed 7
    """
    tool_set = load_tools(tools)
    config = GenerateConfig(
        per_tool=per_tool, mix=parse_mix(mix), seed=seed, locale=locale, optional_rate=optional_rate
    )
    teacher_impl = get_teacher(teacher, templates=templates)
    with Store(db) as store, _progress_bar() as (progress, on_progress):
        summary = asyncio.run(
            generate(store, tool_set, teacher_impl, config, on_progress, {"tools": str(tools)})
        )
        progress.stop()
    _print_summary(summary)


@app.command("stats")
@user_errors
def stats_command(
    db: DbOption = DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Accepted examples per tool and category against target, rejections, stale examples.

    Example: callforge stats --json | jq .accepted_total
    """
    with Store(db, must_exist=True) as store:
        stats = collect_stats(store)
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    out = Console()
    table = Table(title=f"callforge store {stats['db']}")
    for column in ("tool", "category", "accepted", "target", "stale"):
        table.add_column(column, justify="left" if column in ("tool", "category") else "right")
    for row in stats["cells"]:
        done = row["accepted"] >= row["target"]
        accepted = f"[green]{row['accepted']}[/]" if done else f"[yellow]{row['accepted']}[/]"
        table.add_row(row["tool"], row["category"], accepted, str(row["target"]), str(row["stale"]))
    out.print(table)
    out.print(
        f"accepted: {stats['accepted_total']} of {stats['target_total']} targeted; "
        f"stale: {stats['stale_total']}; rejections: {stats['rejections_total']}"
    )
    for stage, count in stats["rejections_by_stage"].items():
        out.print(f"  rejected at {stage}: {count}")
    for row in stats["rejections_by_reason"][:10]:
        out.print(f"    {row['count']:>6}  {row['stage']}: {row['reason']}")


@app.command("export")
@user_errors
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for train/eval JSONL.")],
    eval_fraction: Annotated[float, typer.Option("--eval-fraction")] = 0.1,
    seed: SeedOption = 0,
    balance: Annotated[bool, typer.Option("--balance", help="Cap cells at the smallest.")] = False,
    cap: Annotated[int | None, typer.Option("--cap", help="Cap every cell at N.")] = None,
    include_stale: Annotated[
        bool, typer.Option("--include-stale", help="Keep examples of edited tools.")
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write balanced, stratified, leak-free train.jsonl, eval.jsonl and manifest.json.

    Example: callforge export --out data/ --eval-fraction 0.1 --balance
    """
    config = ExportConfig(
        eval_fraction=eval_fraction,
        seed=seed,
        balance=balance,
        cap=cap,
        include_stale=include_stale,
    )
    config.check()
    with Store(db, must_exist=True) as store:
        manifest = export_dataset(store, out, config)
    totals = manifest["totals"]
    typer.echo(f"wrote {totals['train']} train and {totals['eval']} eval examples to {out}")


class _progress_bar:
    """A Rich progress bar fed by the pipeline's progress callback."""

    def __enter__(self) -> tuple[Progress, Callable[[RunProgress], None]]:
        self.progress = Progress(
            TextColumn("generating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rejected {task.fields[rejected]} · in flight {task.fields[in_flight]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("generate", total=None, rejected=0, in_flight=0)

        def update(state: RunProgress) -> None:
            self.progress.update(
                self.task,
                total=state.missing_total,
                completed=state.accepted,
                rejected=state.rejected,
                in_flight=state.in_flight,
            )

        return self.progress, update

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()


def _print_summary(summary: RunSummary) -> None:
    rejected = ", ".join(f"{stage} {n}" for stage, n in summary.rejected.most_common()) or "none"
    console.print(
        f"run {summary.run_id}: accepted {summary.accepted}, rejected {rejected} "
        f"in {summary.seconds:.1f}s"
    )
    for (tool, category), reason in summary.skipped.items():
        console.print(f"[yellow]skipped[/] {tool} / {category}: {reason}")
    for (tool, category), missing in summary.unfilled.items():
        console.print(
            f"[yellow]unfilled[/] {tool} / {category}: {missing} short after its attempt budget; "
            "see 'callforge stats' for rejection reasons"
        )


if __name__ == "__main__":
    app()
