"""callforge command line: a thin layer over the ``generator`` library.

Each command parses its options, calls one library function and prints. Errors a
user can act on (``CallforgeError``) become one line on stderr and exit code 2.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import rich.markup
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from callforge.generator.config import load_config, prices, teacher_settings
from callforge.generator.errors import CallforgeError, InputError, RunIncompleteError
from callforge.generator.execution.safety import check_side_effects, planned_calls
from callforge.generator.execution.setup import ExecuteOptions, execution_for, server_tool_set
from callforge.generator.export import ExportConfig, export_dataset
from callforge.generator.exporters import FormatOptions, format_names
from callforge.generator.pipeline import (
    DEFAULT_MIX,
    GenerateConfig,
    RunSummary,
    first_plans,
    generate,
    parse_mix,
)
from callforge.generator.pipeline import Progress as RunProgress
from callforge.generator.splits import parse_holdout
from callforge.generator.stats import collect_stats
from callforge.generator.teachers import get_teacher
from callforge.generator.tools import load_tools, stored_definition
from callforge.store import Store

app = typer.Typer(
    help="Manufacture verified tool-calling fine-tuning data from your tool schemas.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from callforge.generator import __version__

        typer.echo(f"callforge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Manufacture verified tool-calling fine-tuning data from your tool schemas."""
    _show_warnings()


def _show_warnings() -> None:
    """The library's warnings (``logging``) as ``warning: ...`` lines on stderr."""
    logger = logging.getLogger("callforge")
    if not any(isinstance(handler, _WarningLines) for handler in logger.handlers):
        logger.addHandler(_WarningLines(logging.WARNING))
        logger.propagate = False


class _WarningLines(logging.Handler):
    """One ``warning: ...`` line per record, on whatever stderr is when it is logged."""

    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(f"warning: {visible(record.getMessage())}", err=True)


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
            typer.echo(f"error: {visible(str(error))}", err=True)
            raise typer.Exit(error.exit_code) from None
        except OSError as error:
            if error.filename is None:
                raise  # no path the user gave: a bug, shown as one
            # A path the user gave cannot be written or read (below a file, read-only, full).
            where = visible(str(error.filename))
            typer.echo(f"error: {where}: {error.strerror or error}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """Text from a tool file or an endpoint, safe to show on a terminal, on one line.

    Control characters (ANSI escape sequences, bells, bidirectional overrides)
    are shown as ``\\x1b``-style escapes instead of acting on the terminal;
    line breaks and tabs become spaces.
    """
    text = text.replace("\n", " ").replace("\t", " ").replace("\r", " ")
    return _UNPRINTABLE.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def shown(text: str) -> str:
    """``visible`` text for a Rich console: ``[/bold]`` in a description is text, not markup."""
    return rich.markup.escape(visible(text))


ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Settings file (default ./callforge.toml).")
]


@app.command("generate")
@user_errors
def generate_command(
    tools: Annotated[
        str | None,
        typer.Option(
            "--tools", help="Tool set: OpenAI tools, MCP, OpenAPI, BFCL JSON, or Python module."
        ),
    ] = None,
    tool_format: FormatOption = None,
    include: IncludeOption = None,
    exclude: ExcludeOption = None,
    per_tool: Annotated[int, typer.Option("--per-tool", min=1, help="Examples per tool.")] = 50,
    mix: Annotated[
        str, typer.Option("--mix", help="Category weights, e.g. single=2,error_recovery=1.")
    ] = DEFAULT_MIX_TEXT,
    seed: SeedOption = 0,
    locale: Annotated[str, typer.Option("--locale", help="Faker locale for values.")] = "en_US",
    optional_rate: Annotated[
        float, typer.Option("--optional-rate", min=0.0, max=1.0, help="Share of optional args.")
    ] = 0.5,
    teacher: Annotated[
        str | None, typer.Option("--teacher", help="offline (default) or openai.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Teacher model name.")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint URL.")
    ] = None,
    api_version: Annotated[
        str | None,
        typer.Option(
            "--api-version",
            help="Azure OpenAI's dated API (base URL of a deployment; key sent as api-key).",
        ),
    ] = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="tools | json | json_schema | md_json.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Requests in flight (16).")
    ] = None,
    rpm: Annotated[float | None, typer.Option("--rpm", help="Requests per minute cap.")] = None,
    tpm: Annotated[float | None, typer.Option("--tpm", help="Tokens per minute cap.")] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds per request (60).")
    ] = None,
    temperature: Annotated[float | None, typer.Option("--temperature")] = None,
    judge: Annotated[
        bool,
        typer.Option(
            "--judge",
            help="Grade each draft with a second request (calls fit the request, "
            "answer fits the results); a failing grade is a rejection.",
        ),
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor reuse cached responses.")
    ] = False,
    templates: Annotated[
        Path | None, typer.Option("--templates", help="Folder overriding shipped templates.")
    ] = None,
    graph: Annotated[
        Path | None,
        typer.Option("--graph", help="Data-flow graph to chain along (from 'tools graph --out')."),
    ] = None,
    propose_links: Annotated[
        bool,
        typer.Option(
            "--propose-links", help="Also chain along data flows the LLM teacher proposes (once)."
        ),
    ] = False,
    execute: Annotated[
        bool,
        typer.Option(
            "--execute",
            help="Call the real tools (Python, --mcp-command/--mcp-url, or OpenAPI at "
            "--base-url-for-tools); their real results become the tool messages.",
        ),
    ] = False,
    mcp_command: Annotated[
        str | None, typer.Option("--mcp-command", help='Start an MCP server: "python server.py".')
    ] = None,
    mcp_url: Annotated[str | None, typer.Option("--mcp-url", help="An MCP server's URL.")] = None,
    base_url_for_tools: Annotated[
        str | None,
        typer.Option(
            "--base-url-for-tools",
            help="Where the OpenAPI tools live (auth: CALLFORGE_TOOLS_TOKEN).",
        ),
    ] = None,
    allow_side_effects: Annotated[
        bool,
        typer.Option("--allow-side-effects", help="Let --execute call tools that change things."),
    ] = False,
    side_effects: Annotated[
        list[str] | None,
        typer.Option("--side-effects", help="Mark a tool as changing things (repeatable)."),
    ] = None,
    refresh_tools: Annotated[
        bool, typer.Option("--refresh-tools", help="Call the tools again, not their cache.")
    ] = False,
    tool_timeout: Annotated[
        float, typer.Option("--tool-timeout", min=0.1, help="Seconds per real tool call.")
    ] = 10.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --execute: show the calls, make none.")
    ] = False,
    config_file: ConfigOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Fill every (tool, category) cell to its target, generating only what is missing.

    Example: callforge generate --tools tools.json --per-tool 50 --seed 7

    Example: callforge generate --tools shop.py --execute --allow-side-effects
    """
    execute_options = ExecuteOptions(
        tools=tools,
        mcp_command=mcp_command,
        mcp_url=mcp_url,
        base_url=base_url_for_tools,
        allow_side_effects=allow_side_effects,
        side_effects=tuple(side_effects or ()),
        refresh=refresh_tools,
        timeout_s=tool_timeout,
    )
    given = [flag for flag, on in _execute_flags(execute_options, dry_run) if on]
    if given and not execute:
        raise InputError(f"{given[0]} needs --execute")
    if tools is None and not execute_options.mcp:
        raise InputError("--tools is required (or --execute with --mcp-command/--mcp-url)")
    if tools is None:
        tool_set = server_tool_set(
            execute_options, include=tuple(include or ()), exclude=tuple(exclude or ())
        )
    else:
        tool_set = load_tools(
            tools, format=tool_format, include=tuple(include or ()), exclude=tuple(exclude or ())
        )
    if graph is not None:
        from callforge.generator.dataflow import load_graph, with_graph

        tool_set = with_graph(tool_set, load_graph(graph, tool_set))
    config = GenerateConfig(
        per_tool=per_tool,
        mix=parse_mix(mix),
        seed=seed,
        locale=locale,
        optional_rate=optional_rate,
        propose_links=propose_links,
    )
    flags = {
        "name": teacher,
        "model": model,
        "base_url": base_url,
        "api_version": api_version,
        "mode": mode,
        "concurrency": concurrency,
        "rpm": rpm,
        "tpm": tpm,
        "timeout": timeout,
        "temperature": temperature,
        "judge": True if judge else None,
    }
    settings = teacher_settings(flags, load_config(config_file))
    teacher_name = settings.pop("name", None) or "offline"
    if teacher_name == "offline":
        given = sorted(
            name for name, value in flags.items() if value is not None and name != "name"
        )
        if given or propose_links:
            flag = given[0].replace("_", "-") if given else "propose-links"
            raise InputError(f"--{flag} needs --teacher openai")
        options: dict[str, Any] = {"templates": templates, "locale": locale}
    else:
        options = {**settings, "templates": templates}
    if execute:
        changing = check_side_effects(
            tool_set, allowed=allow_side_effects, marked=execute_options.side_effects
        )
        if changing:
            console.print(f"--execute will call tools that change things: {', '.join(changing)}")
        if dry_run:
            for line in planned_calls(first_plans(tool_set, config)):
                typer.echo(line)
            return
    with Store(db) as store:
        if teacher_name != "offline" and not no_cache:
            options["cache"] = store.response_cache()
        teacher_impl = get_teacher(teacher_name, **options)
        execution = None
        if execute:
            execution, _ = execution_for(tool_set, execute_options, store.response_cache())
        run_config: dict[str, Any] = {
            "tools": str(tools or mcp_command or mcp_url),
            "teacher_options": _public(settings),
        }
        if execution is not None:
            run_config["execute"] = execution.executor.teacher_id
        if graph is not None:
            run_config["graph"] = str(graph)
        with _progress_bar() as (progress, on_progress):
            summary = asyncio.run(
                generate(store, tool_set, teacher_impl, config, on_progress, run_config, execution)
            )
            progress.stop()
    _print_summary(summary)
    shortfall = summary.shortfall()
    if shortfall:
        raise RunIncompleteError(shortfall)


def _execute_flags(options: ExecuteOptions, dry_run: bool) -> list[tuple[str, bool]]:
    """The flags that only mean something with --execute, and whether each was given."""
    return [
        ("--mcp-command", bool(options.mcp_command)),
        ("--mcp-url", bool(options.mcp_url)),
        ("--base-url-for-tools", bool(options.base_url)),
        ("--allow-side-effects", options.allow_side_effects),
        ("--side-effects", bool(options.side_effects)),
        ("--refresh-tools", options.refresh),
        ("--dry-run", dry_run),
    ]


def _public(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings fit to store with a run: never the key."""
    return {k: v for k, v in settings.items() if k not in ("api_key", "api_key_env", "cache")}


tools_app = typer.Typer(help="Import tool sets and see what a store holds.", no_args_is_help=True)
app.add_typer(tools_app, name="tools")
FormatOption = Annotated[
    str | None,
    typer.Option("--format", help="openai | mcp | openapi | python | bfcl (default: detect)."),
]
IncludeOption = Annotated[
    list[str] | None,
    typer.Option("--include", help="Keep tools by name glob (OpenAPI: also tag or path)."),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="Drop tools by name glob (OpenAPI: also tag or path)."),
]


@tools_app.command("import")
@user_errors
def tools_import_command(
    source: Annotated[str, typer.Argument(help="Tool file, or module[:function] for Python.")],
    tool_format: FormatOption = None,
    include: IncludeOption = None,
    exclude: ExcludeOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the OpenAI tools JSON here.")
    ] = None,
) -> None:
    """Convert a tool set to OpenAI tools JSON and show what came in.

    Example: callforge tools import openapi.yaml --include 'pets*' --out tools.json
    """
    tool_set = load_tools(
        source, format=tool_format, include=tuple(include or ()), exclude=tuple(exclude or ())
    )
    # A tool file to pass back with --tools: declared result schemas kept (x-output-schema).
    entries = [stored_definition(tool) for tool in tool_set]
    text = json.dumps(entries, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    _print_tools(
        f"{len(tool_set)} tools from {source}",
        [(tool.name, tool.original_name, tool.parameters, tool.description) for tool in tool_set],
    )


@tools_app.command("graph")
@user_errors
def tools_graph_command(
    tools: Annotated[
        str, typer.Option("--tools", help="Tool set, in any format 'generate' reads.")
    ],
    tool_format: FormatOption = None,
    include: IncludeOption = None,
    exclude: ExcludeOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the graph as editable JSON here.")
    ] = None,
) -> None:
    """Which result field of which tool can feed which parameter: the chains multi_step follows.

    Edit the file --out writes (drop an edge, add one) and pass it back with
    'generate --graph'.

    Example: callforge tools graph --tools tools.json --out graph.json
    """
    from callforge.generator.dataflow import infer_graph, write_graph

    tool_set = load_tools(
        tools, format=tool_format, include=tuple(include or ()), exclude=tuple(exclude or ())
    )
    graph = infer_graph(tool_set)
    if out is not None:
        write_graph(graph, tool_set, out)
    table = Table(title=f"{len(graph.edges)} data-flow edges in {escape(tools)}")
    table.add_column("from: tool, result field", no_wrap=True)
    table.add_column("to: tool, parameter", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("evidence")
    for edge in graph.edges:
        table.add_row(
            f"{escape(edge.from_tool)}\n  [cyan]{escape(edge.field)}[/]",
            f"{escape(edge.to_tool)}\n  [cyan]{escape(edge.parameter)}[/]",
            f"{edge.score:.2f}",
            escape(edge.evidence),
        )
    shown = Console()
    shown.print(table)
    unfed = [name for name in tool_set.names if not graph.edges_into(name)]
    if unfed:
        shown.print(f"no multi_step (nothing feeds them): {escape(', '.join(unfed))}")
    if out is not None:
        typer.echo(f"wrote {len(graph.edges)} edges to {out}", err=True)


@tools_app.command("list")
@user_errors
def tools_list_command(db: DbOption = DEFAULT_DB) -> None:
    """The tool set a store generates for, with each tool's content hash.

    Example: callforge tools list --db demo/callforge.duckdb
    """
    with Store(db, must_exist=True) as store:
        current = store.current_tools()
    _print_tools(
        f"{len(current)} tools in {db}",
        [
            (name, tool_hash, d["function"]["parameters"], d["function"].get("description", ""))
            for name, tool_hash, d in current
        ],
        second_column="hash",
        out=Console(),
    )


def _print_tools(
    title: str,
    rows: list[tuple[str, str | None, dict[str, Any], str]],
    second_column: str = "renamed from",
    out: Console = console,
) -> None:
    table = Table(title=shown(title))
    table.add_column("tool", no_wrap=True, min_width=max((len(r[0]) for r in rows), default=4))
    table.add_column(second_column, no_wrap=True, min_width=12)
    table.add_column("req/all", justify="right", no_wrap=True, min_width=7)
    table.add_column("description", overflow="ellipsis", no_wrap=True, max_width=32)
    for name, second, parameters, description in rows:
        count = len(parameters.get("properties", {}))
        table.add_row(
            shown(name),
            shown((second or "")[:12]),
            f"{len(parameters.get('required', []))}/{count}",
            shown(description),
        )
    out.print(table)


@app.command("stats")
@user_errors
def stats_command(
    db: DbOption = DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    price_in: Annotated[
        float | None, typer.Option("--price-in", help="Price per million prompt tokens.")
    ] = None,
    price_out: Annotated[
        float | None, typer.Option("--price-out", help="Price per million completion tokens.")
    ] = None,
    config_file: ConfigOption = None,
) -> None:
    """Accepted examples per tool and category against target, rejections, stale, tokens.

    Example: callforge stats --json | jq .accepted_total
    """
    price_table = prices({"input": price_in, "output": price_out}, load_config(config_file))
    with Store(db, must_exist=True) as store:
        stats = collect_stats(store, price_table)
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
        table.add_row(
            shown(row["tool"]),
            shown(row["category"]),
            accepted,
            str(row["target"]),
            str(row["stale"]),
        )
    out.print(table)
    out.print(
        f"accepted: {stats['accepted_total']} of {stats['target_total']} targeted; "
        f"stale: {stats['stale_total']}; rejections: {stats['rejections_total']}"
    )
    for stage, count in stats["rejections_by_stage"].items():
        out.print(f"  rejected at {shown(stage)}: {count}")
    for row in stats["rejections_by_reason"][:10]:
        out.print(f"    {row['count']:>6}  {shown(row['stage'])}: {shown(row['reason'])}")
    usage = stats["usage"]
    if usage["requests"]:
        line = (
            f"teacher: {usage['requests']} requests, {usage['prompt_tokens']:,} prompt + "
            f"{usage['completion_tokens']:,} completion tokens, "
            f"{usage['tokens_per_accepted']} per accepted example"
        )
        if "cost" in usage:
            line += f"; cost {usage['cost']:.4f} ({usage['cost_per_accepted']:.6f} per example)"
        out.print(line)


@app.command("export")
@user_errors
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the split files.")],
    format: Annotated[
        str,
        typer.Option("--format", help=f"Trainer format: {', '.join(format_names())}."),
    ] = "openai",
    eval_fraction: Annotated[float, typer.Option("--eval-fraction")] = 0.1,
    eval_per_cell: Annotated[
        int | None,
        typer.Option("--eval-per-cell", help="N eval examples per (tool, category) cell."),
    ] = None,
    holdout_tools: Annotated[
        str | None,
        typer.Option("--holdout-tools", help="K tools (or NAMES, comma-separated) only in eval."),
    ] = None,
    seed: SeedOption = 0,
    balance: Annotated[bool, typer.Option("--balance", help="Cap cells at the smallest.")] = False,
    cap: Annotated[int | None, typer.Option("--cap", help="Cap every cell at N.")] = None,
    include_stale: Annotated[
        bool, typer.Option("--include-stale", help="Keep examples of edited tools.")
    ] = False,
    tools_per_example: Annotated[
        int | None,
        typer.Option(
            "--tools-per-example",
            help="List K tools per line: the called ones plus distractors (default: all).",
        ),
    ] = None,
    mistakes: Annotated[
        str | None,
        typer.Option(
            "--mistakes",
            help="hf, llamafactory, hermes: drop|prefix|keep the assistant's mistaken calls.",
        ),
    ] = None,
    json_fields: Annotated[
        str, typer.Option("--json-fields", help="hf: arguments and tools as object|string.")
    ] = "object",
    parquet: Annotated[bool, typer.Option("--parquet", help="hf: write Parquet.")] = False,
    call_ids: Annotated[
        str, typer.Option("--call-ids", help="keep|mistral (9-character tool-call ids).")
    ] = "keep",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write train/eval files in a trainer's format, manifest.json and a dataset card.

    Example: callforge export --out data/ --format hf --eval-fraction 0.1 --holdout-tools 1
    """
    config = ExportConfig(
        eval_fraction=eval_fraction,
        seed=seed,
        balance=balance,
        cap=cap,
        include_stale=include_stale,
        tools_per_example=tools_per_example,
        format=format,
        options=FormatOptions(
            mistakes=mistakes, json_fields=json_fields, parquet=parquet, call_ids=call_ids
        ),
        eval_per_cell=eval_per_cell,
        holdout_tools=parse_holdout(holdout_tools),
    )
    config.check()
    with Store(db, must_exist=True) as store:
        manifest = export_dataset(store, out, config)
    totals = manifest["totals"]
    typer.echo(f"wrote {totals['train']} train and {totals['eval']} eval examples to {out}")


@app.command("evaluate")
@user_errors
def evaluate_command(
    eval_file: Annotated[
        Path | None, typer.Argument(help="An eval.jsonl written by 'export' (openai format).")
    ] = None,
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions",
            help='JSONL of {"id": "<line>:<turn>", "message": {...}} made elsewhere.',
        ),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model to evaluate.")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint URL.")
    ] = None,
    api_version: Annotated[
        str | None, typer.Option("--api-version", help="Azure OpenAI's dated API.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Requests in flight (16).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds per request (60).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report as JSON.")] = None,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option("--compare", help="Two reports side by side: --compare BASE.json TUNED.json"),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Ask again instead of reading cached answers.")
    ] = False,
    config_file: ConfigOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Score a model's tool calls on an eval file (AST, exact, fuzzy, functional match,
    behaviour, invented names), per tool and per category.

    Example: callforge evaluate data/eval.jsonl --model my-tuned --base-url http://localhost:8000/v1
    """
    from callforge.generator.evaluate import compare as compare_reports
    from callforge.generator.evaluate import evaluate_file

    if compare is not None:
        reports = [_read_report(path) for path in compare]
        _print_comparison(reports, compare_reports(reports))
        return
    if eval_file is None:
        raise InputError("evaluate needs an eval file (or --compare A.json B.json)")
    if predictions is not None:
        report = evaluate_file(eval_file, predictions_file=predictions)
    else:
        flags = {
            "name": "openai",
            "model": model,
            "base_url": base_url,
            "api_version": api_version,
            "concurrency": concurrency,
            "timeout": timeout,
            "temperature": 0.0,
        }
        settings = teacher_settings(flags, load_config(config_file))
        settings.pop("name", None)
        if not settings.get("model"):
            raise InputError("evaluate needs --model (and --base-url) or --predictions FILE")
        with Store(db) as store:
            if not no_cache:
                settings["cache"] = store.response_cache()
            teacher_impl = get_teacher("openai", **settings)
            report = evaluate_file(eval_file, teacher=teacher_impl, store=store)
    if out is not None:
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _print_report(report)


def _read_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"--compare {path}: not a readable evaluate report ({exc})") from None
    if not isinstance(report, dict) or "overall" not in report:
        raise InputError(f"--compare {path}: not an evaluate report (no 'overall')")
    return report


def _report_console() -> Console:
    """Standard output; 120 columns when it is not a terminal (a file, a pipe, CI logs)."""
    return Console(width=None if sys.stdout.isatty() else 120)


def _percent(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print_report(report: dict[str, Any]) -> None:
    out = _report_console()
    table = Table(title=f"evaluate: {report['model']}")
    columns = ("turns", "ast", "exact", "fuzzy", "functional", "invented tools", "invented params")
    table.add_column("slice")
    for column in columns:
        table.add_column(column, justify="right")
    slices = [("all", report["overall"])]
    slices += [(f"tool {name}", row) for name, row in report["per_tool"].items()]
    slices += [(f"category {name}", row) for name, row in report["per_category"].items()]
    for name, row in slices:
        table.add_row(
            name,
            str(row["turns"]),
            *(_percent(row[m]) for m in ("ast", "exact", "fuzzy", "functional")),
            _percent(row["invented_tool_rate"]),
            _percent(row["invented_parameter_rate"]),
        )
    out.print(table)
    matrix = Table(title="behaviour: reference (rows) vs model (columns)")
    matrix.add_column("reference")
    kinds = ("call", "ask", "answer", "none")
    for kind in kinds:
        matrix.add_column(kind, justify="right")
    for kind, row in report["behaviour"].items():
        matrix.add_row(kind, *(str(row[k]) for k in kinds))
    out.print(matrix)
    out.print(f"unparsable outputs: {report['overall']['unparsable']}")


def _print_comparison(reports: list[dict[str, Any]], rows: list[tuple[str, list[Any]]]) -> None:
    table = Table(title="evaluate: side by side")
    table.add_column("metric")
    for report in reports:
        table.add_column(str(report["model"]), justify="right")
    table.add_column("change", justify="right")
    for metric, values in rows:
        change = (
            f"{values[1] - values[0]:+.1%}" if None not in values[:2] and len(values) > 1 else "-"
        )
        table.add_row(metric, *(_percent(v) for v in values), change)
    _report_console().print(table)


class _progress_bar:
    """A Rich progress bar fed by the pipeline's progress callback."""

    def __enter__(self) -> tuple[Progress, Callable[[RunProgress], None]]:
        self.progress = Progress(
            TextColumn("generating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "rejected {task.fields[rejected]} · in flight {task.fields[in_flight]}"
                " · {task.fields[rate]}"
            ),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task = self.progress.add_task("generate", total=None, rejected=0, in_flight=0, rate="")
        self.started = False

        def update(state: RunProgress) -> None:
            if not self.started:  # only once work begins: a failed setup prints one line
                self.progress.start()
                self.started = True
            self.progress.update(
                self.task,
                total=state.missing_total,
                completed=state.accepted,
                rejected=state.rejected,
                in_flight=state.in_flight,
                rate=f"{state.requests_per_s:.1f} req/s" if state.requests else "",
            )

        return self.progress, update

    def __exit__(self, kind: type[BaseException] | None, *exc_info: object) -> None:
        if kind is None:
            self.progress.stop()
            return
        # The error's one line says what happened: no half-full bar left above it.
        self.progress.live.transient = True
        quiet, self.progress.console.quiet = self.progress.console.quiet, True
        try:
            self.progress.stop()
        finally:
            self.progress.console.quiet = quiet


def _print_summary(summary: RunSummary) -> None:
    rejected = ", ".join(f"{stage} {n}" for stage, n in summary.rejected.most_common()) or "none"
    console.print(
        f"run {summary.run_id}: accepted {summary.accepted}, rejected {rejected} "
        f"in {summary.seconds:.1f}s"
    )
    usage = summary.usage
    if usage.requests or summary.cached:
        console.print(
            f"teacher: {usage.requests} requests ({summary.retries} retries), "
            f"{usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion tokens, "
            f"{summary.cached} drafts from cache"
        )
    for (tool, category), reason in summary.skipped.items():
        console.print(f"[yellow]skipped[/] {shown(tool)} / {category}: {shown(reason)}")
    for (tool, category), missing in summary.unfilled.items():
        console.print(
            f"[yellow]unfilled[/] {shown(tool)} / {category}: {missing} short after its attempt "
            "budget; "
            "see 'callforge stats' for rejection reasons"
        )


if __name__ == "__main__":
    app()
