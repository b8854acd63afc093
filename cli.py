"""callforge command line: a thin layer over the ``generator`` library.

Each command parses its options, calls one library function and prints. Errors a
user can act on (``CallforgeError``) and bad command-line usage become one line
on stderr and exit code 2.

Start-up stays light: a command imports what it uses when it runs (the library,
DuckDB, Rich), so ``--help`` and ``stats`` do not pay for Faker, jsonschema,
instructor and the teachers.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

try:  # typer 0.2x carries its own copy of click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click.exceptions import ClickException  # type: ignore[assignment]

from callforge.generator.errors import CallforgeError, InputError, RunIncompleteError

if TYPE_CHECKING:
    from rich.console import Console

    from callforge.generator.pipeline import Progress as RunProgress
    from callforge.generator.pipeline import RunSummary
    from callforge.generator.spend import SpendLimit


class _OneLineErrors(TyperGroup):
    """Bad usage (a missing option, ``--per-tool abc``) is one line and exit 2, as promised."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, *rest: Any, **options: Any
    ) -> Any:
        if not options.get("standalone_mode", True):
            return super().main(args, *rest, **options)
        try:
            code = super().main(args, *rest, **{**options, "standalone_mode": False})
        except ClickException as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # bare ``callforge``: the help
                error.show()
            else:
                typer.echo(f"error: {visible(error.format_message())}", err=True)
            sys.exit(error.exit_code)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            code = 130
        if code == 130:
            _exit_interrupted()
        sys.exit(code if isinstance(code, int) else 0)


def _exit_interrupted() -> None:
    """Ctrl-C: exit 130 without the interpreter's teardown (0.2-0.5 s of module and
    object finalisation), so the shell gets its prompt back well within a second.

    By now the interrupt has unwound every ``with``: the store is closed, files are
    whole or removed. Only a process that owns its streams exits this way; a test
    runner calling ``main`` in its own process (its streams swapped in) gets
    ``SystemExit`` as before.
    """
    if sys.stdout is not sys.__stdout__ or sys.stderr is not sys.__stderr__:
        sys.exit(130)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()  # type: ignore[union-attr]
    os._exit(130)


app = typer.Typer(
    cls=_OneLineErrors,
    help="Manufacture verified tool-calling fine-tuning data from your tool schemas.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _stderr() -> Console:
    """A console on stderr, made per use: it reads the terminal's width (COLUMNS) when made."""
    from rich.console import Console

    return Console(stderr=True)


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
DEFAULT_MIX_TEXT = (  # pipeline.DEFAULT_MIX, from the categories' weights; a test checks
    "single=2,error_recovery=1,multi_step=1,parallel=1,no_call=0.5,clarify=0.5,multi_turn=1"
)


def user_errors(command: F) -> F:
    """Turn a ``CallforgeError`` into one line on stderr and exit code 2 (Ctrl-C: 130)."""
    name = command.__name__.removesuffix("_command").replace("_", " ")  # "tools import"

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CallforgeError as error:
            typer.echo(f"error: {visible(str(error))}", err=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            # Ctrl-C: one line and 130, as a shell expects; what the command had
            # committed (store rows, whole files) stays, nothing half-written does.
            typer.echo(f"interrupted: 'callforge {name}' stopped before it finished", err=True)
            raise typer.Exit(130) from None
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
    from rich.markup import escape

    return escape(visible(text))


ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Settings file (default ./callforge.toml).")
]


PriceInOption = Annotated[
    float | None, typer.Option("--price-in", help="Price per million prompt tokens.")
]
PriceOutOption = Annotated[
    float | None, typer.Option("--price-out", help="Price per million completion tokens.")
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
    per_tool: Annotated[int, typer.Option("--per-tool", help="Examples per tool.")] = 50,
    mix: Annotated[
        str, typer.Option("--mix", help="Category weights, e.g. single=2,error_recovery=1.")
    ] = DEFAULT_MIX_TEXT,
    seed: SeedOption = 0,
    locale: Annotated[str, typer.Option("--locale", help="Faker locale for values.")] = "en_US",
    optional_rate: Annotated[
        float, typer.Option("--optional-rate", help="Share of optional args, 0 to 1.")
    ] = 0.5,
    system_prompt: Annotated[
        list[str] | None,
        typer.Option("--system-prompt", help="A system message for the examples (repeatable)."),
    ] = None,
    system_prompts: Annotated[
        str | None,
        typer.Option(
            "--system-prompts",
            help="File of system messages (blank-line separated), or 'shipped' for ours.",
        ),
    ] = None,
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
        int | None, typer.Option("--concurrency", help="Requests in flight (16).")
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
    max_requests: Annotated[
        int | None, typer.Option("--max-requests", help="Stop the run after N requests.")
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", help="Stop the run before it spends more (needs prices)."),
    ] = None,
    price_in: PriceInOption = None,
    price_out: PriceOutOption = None,
    pilot: Annotated[
        int,
        typer.Option(
            "--pilot",
            help="Stop if under 20% of the first N paid attempts are accepted (0: off).",
        ),
    ] = 20,
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

    A paid run prints its estimated cost first and stops early when its pilot
    attempts are mostly rejected, or at --max-requests / --max-cost.

    Example: callforge generate --tools tools.json --per-tool 50 --seed 7

    Example: callforge generate --tools shop.py --execute --allow-side-effects
    """
    from callforge.generator import interrupts
    from callforge.generator.config import (
        load_config,
        option_labels,
        prices,
        teacher_settings,
    )
    from callforge.generator.importers import load_tools
    from callforge.generator.pipeline import GenerateConfig, generate_into, parse_mix
    from callforge.generator.system_prompts import load_system_prompts
    from callforge.generator.teachers import get_teacher
    from callforge.generator.templating import check_templates

    # Every input is checked before the store is opened: a bad one leaves no file behind.
    config = GenerateConfig(
        per_tool=per_tool,
        mix=parse_mix(mix),
        seed=seed,
        locale=locale,
        optional_rate=optional_rate,
        system_prompts=load_system_prompts(system_prompt or (), system_prompts),
        propose_links=propose_links,
        templates=templates,
        pilot_attempts=pilot,
    )
    config.check()
    check_templates(templates)
    settings_file = load_config(config_file)
    price_table = prices({"input": price_in, "output": price_out}, settings_file)
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
    settings = teacher_settings(flags, settings_file)
    teacher_name = settings.pop("name", None) or "offline"
    if teacher_name == "offline":
        spend_flags = {"max_requests": max_requests, "max_cost": max_cost}
        given = sorted(
            name
            for name, value in {**flags, **spend_flags}.items()
            if value is not None and name != "name"
        )
        if given or propose_links:
            flag = given[0].replace("_", "-") if given else "propose-links"
            raise InputError(f"--{flag} needs --teacher openai")
        options: dict[str, Any] = {"templates": templates, "locale": locale}
    else:
        limit = _spend_limit(max_requests, max_cost, price_table)
        options = {**settings, "templates": templates, "spend_limit": limit}
    from callforge.generator.execution.safety import check_side_effects, planned_calls
    from callforge.generator.execution.setup import (
        ExecuteOptions,
        execution_for,
        server_tool_set,
    )

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
    given_flags = [flag for flag, on in _execute_flags(execute_options, dry_run) if on]
    if given_flags and not execute:
        raise InputError(f"{given_flags[0]} needs --execute")
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
    execution = None
    if execute:
        changing = check_side_effects(
            tool_set, allowed=allow_side_effects, marked=execute_options.side_effects
        )
        if changing:
            _stderr().print(
                f"--execute will call tools that change things: {', '.join(changing)}",
                soft_wrap=True,
                highlight=False,
                markup=False,
            )
        if dry_run:
            from callforge.generator.pipeline import first_plans

            for line in planned_calls(first_plans(tool_set, config, executing=True)):
                typer.echo(line)
            return
        execution, _ = execution_for(tool_set, execute_options, None)
    teacher_impl = get_teacher(teacher_name, option_labels(flags, settings_file), **options)
    run_config: dict[str, Any] = {
        "tools": str(tools or mcp_command or mcp_url),
        "teacher_options": _public(settings),
    }
    if execution is not None:
        run_config["execute"] = execution.executor.teacher_id
    if graph is not None:
        run_config["graph"] = str(graph)
    with _progress_bar() as bar:
        try:
            summary = interrupts.run(
                generate_into(
                    db,
                    tool_set,
                    teacher_impl,
                    config,
                    on_progress=bar.update,
                    run_config=run_config,
                    use_cache=not no_cache,
                    prices=price_table,
                    on_estimate=functools.partial(_show_estimate, options.get("spend_limit")),
                    execution=execution,
                )
            )
        except KeyboardInterrupt:
            bar.stop()
            _stderr().print(bar.interrupted_message(db), soft_wrap=True, highlight=False)
            raise typer.Exit(130) from None
        bar.stop()
    _print_summary(summary)
    shortfall = summary.shortfall()
    if shortfall:
        raise RunIncompleteError(shortfall)


def _show_estimate(limit: Any, estimate: Any) -> None:
    """Print the run's estimate; a cost cap reserves its first requests at it."""
    _stderr().print(estimate.describe(), soft_wrap=True, highlight=False, markup=False)
    if limit is not None:
        limit.expect(estimate)


def _spend_limit(
    max_requests: int | None, max_cost: float | None, price_table: dict[str, float]
) -> SpendLimit:
    from callforge.generator.spend import SpendLimit

    if max_requests is not None and max_requests < 1:
        raise InputError(f"--max-requests must be at least 1, got {max_requests}")
    if max_cost is not None:
        if max_cost <= 0:
            raise InputError(f"--max-cost must be more than 0, got {max_cost:g}")
        if not price_table:
            raise InputError(
                "--max-cost needs prices: --price-in and --price-out, or [prices] in callforge.toml"
            )
    return SpendLimit(max_requests=max_requests, max_cost=max_cost, prices=price_table)


def _execute_flags(options: Any, dry_run: bool) -> list[tuple[str, bool]]:
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
    import json

    from callforge.generator.importers import load_tools
    from callforge.generator.tools import stored_definition

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


@tools_app.command("list")
@user_errors
def tools_list_command(db: DbOption = DEFAULT_DB) -> None:
    """The tool set a store generates for, with each tool's content hash.

    Example: callforge tools list --db demo/callforge.duckdb
    """
    from rich.console import Console

    from callforge.store import Store

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
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from callforge.generator.dataflow import infer_graph, write_graph
    from callforge.generator.importers import load_tools

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


def _print_tools(
    title: str,
    rows: list[tuple[str, str | None, dict[str, Any], str]],
    second_column: str = "renamed from",
    out: Console | None = None,
) -> None:
    from rich.table import Table

    out = out or _stderr()
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
    price_in: PriceInOption = None,
    price_out: PriceOutOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Accepted examples per cell against target, acceptance, rejection reasons, spend.

    While a generate runs on the store, shows that run's live progress instead.

    Example: callforge stats --json | jq .accepted_total
    """
    from callforge.generator.config import load_config, prices
    from callforge.generator.errors import StoreInUseError
    from callforge.generator.stats import collect_stats
    from callforge.store import Store
    from callforge.store.progress import ProgressFile

    price_table = prices({"input": price_in, "output": price_out}, load_config(config_file))
    try:
        with Store(db, must_exist=True) as store:
            stats = collect_stats(store, price_table)
    except StoreInUseError:
        live = ProgressFile(db).read()
        if live is None:
            raise
        _print_live(db, live, as_json)
        return
    if as_json:
        import json

        typer.echo(json.dumps(stats, indent=2))
        return
    _print_stats(stats)


def _print_stats(stats: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    table = Table(title=f"callforge store {shown(stats['db'])}")
    for column in ("tool", "category", "accepted", "target", "stale", "acceptance"):
        table.add_column(column, justify="left" if column in ("tool", "category") else "right")
    for row in stats["cells"]:
        done = row["accepted"] >= row["target"]
        accepted = f"[green]{row['accepted']}[/]" if done else f"[yellow]{row['accepted']}[/]"
        rate = row["acceptance"]
        table.add_row(
            shown(row["tool"]),
            shown(row["category"]),
            accepted,
            str(row["target"]),
            str(row["stale"]),
            "-" if rate is None else f"{rate:.0%} of {row['attempts']}",
        )
    out.print(table)
    for row in stats["categories"]:
        kinds = ", ".join(f"{kind} {n}" for kind, n in row["subcategories"].items())
        line = f"  {row['category']}: {row['accepted']} of {row['target']}"
        out.print(line + (f" ({kinds})" if kinds else ""))
    out.print(
        f"accepted: {stats['accepted_total']} of {stats['target_total']} targeted; "
        f"stale: {stats['stale_total']}; rejections: {stats['rejections_total']}"
    )
    for stage, count in stats["rejections_by_stage"].items():
        out.print(f"  rejected at {shown(stage)}: {count}")
    if stats["rejections_by_reason"]:
        out.print("  reasons, grouped by the validator's stage (values masked):")
    for row in stats["rejections_by_reason"][:12]:
        reasked = " (after re-asks)" if row["reasked"] else ""
        out.print(
            f"    {row['count']:>6}  {shown(row['stage'])}: {shown(row['reason'])}{reasked}",
            highlight=False,
            soft_wrap=True,
        )
    usage = stats["usage"]
    if usage["requests"]:
        out.print(_usage_line(usage), highlight=False, soft_wrap=True)


def _usage_line(usage: dict[str, Any]) -> str:
    line = (
        f"teacher: {usage['requests']} requests, {usage['prompt_tokens']:,} prompt "
        f"({usage.get('cached_tokens', 0):,} served from the provider's prompt cache) + "
        f"{usage['completion_tokens']:,} completion tokens"
    )
    per = usage["tokens_per_accepted"]
    line += "; nothing accepted yet" if per is None else f"; {per:,} tokens per accepted example"
    if "cost" in usage:
        line += f"; cost {usage['cost']:.4f}"
        if usage["cost_per_accepted"] is not None:
            line += f" ({usage['cost_per_accepted']:.6f} per accepted example)"
    return line


def _print_live(db: Path, live: dict[str, Any], as_json: bool) -> None:
    """A running generate's progress file, shown while its store is locked."""
    if as_json:
        import json

        typer.echo(json.dumps({"live": True, "db": str(db), **live}, indent=2))
        return
    from rich.console import Console

    out = Console()
    eta = live.get("eta_s")
    out.print(
        f"{shown(str(db))} is being written by a running generate (run {live['run_id']}, "
        f"updated {live['updated_at']}): accepted {live['accepted']} of "
        f"{live['missing_at_start']} missing, rejected {live['rejected']}, "
        f"{live['requests']} requests, {live['elapsed_s']:.0f}s elapsed"
        + (f", about {eta:.0f}s to go" if eta is not None else ""),
        highlight=False,
        soft_wrap=True,
    )
    for reason, count in live.get("top_reasons", []):
        out.print(f"    {count:>6}  {shown(reason)}", highlight=False, soft_wrap=True)


@app.command("show")
@user_errors
def show_command(
    tool: Annotated[str | None, typer.Option("--tool", help="Only this tool's examples.")] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="Only this category's examples.")
    ] = None,
    rejected: Annotated[
        bool, typer.Option("--rejected", help="Rejected drafts, with their reasons.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many to show.")] = 3,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Print examples of a cell as readable conversations, or rejected drafts and why.

    Example: callforge show --tool search_flights --category multi_step --rejected
    """
    from callforge.generator.transcript import example_text, printable, rejected_text
    from callforge.store import Store

    if limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    with Store(db, must_exist=True) as store:
        if rejected:
            rows = store.rejected_drafts(tool, category, limit)
            blocks = [
                (
                    f"rejected: {row['tool']} / {row['category']} attempt {row['attempt']} "
                    f"at {row['stage']}: {printable(row['reason'])}",
                    list(rejected_text(row["payload"])),
                )
                for row in rows
            ]
        else:
            examples = store.cell_examples(tool, category, limit)
            blocks = [
                (
                    f"example {e.example_id}: {e.tool_name} / {e.category}"
                    + (" (stale)" if e.stale else ""),
                    list(example_text(e.scenario)),
                )
                for e in examples
            ]
    if not blocks:
        which = " / ".join(part for part in (tool, category) if part) or "this store"
        kind = "rejected drafts" if rejected else "examples"
        raise InputError(f"no {kind} for {which} in {db}")
    for heading, lines in blocks:
        typer.echo(f"== {heading}")
        for line in lines:
            typer.echo(f"  {line}")
        typer.echo("")


@app.command("report")
@user_errors
def report_command(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    price_in: PriceInOption = None,
    price_out: PriceOutOption = None,
    config_file: ConfigOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write one self-contained HTML page: coverage heatmap, rejections, spend, diversity,
    and a browser of examples by cell.

    Example: callforge report --out report.html
    """
    from callforge.generator.config import load_config, prices
    from callforge.generator.report import write_report
    from callforge.store import Store

    price_table = prices({"input": price_in, "output": price_out}, load_config(config_file))
    with Store(db, must_exist=True) as store:
        written = write_report(store, out, price_table)
    typer.echo(f"wrote {written}")


@app.command("export")
@user_errors
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the split files.")],
    format: Annotated[
        str,
        # The names live in generator.exporters, whose import is slow: listing them here
        # would cost every command's start-up. An unknown name is answered with the list.
        typer.Option("--format", help="Trainer format: openai (default), hf, ...; see README."),
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
    from callforge.generator.export import ExportConfig, export_dataset
    from callforge.generator.exporters import FormatOptions
    from callforge.generator.splits import parse_holdout
    from callforge.store import Store

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
    import json

    from callforge.generator.config import load_config, teacher_settings
    from callforge.generator.evaluate import compare as compare_reports
    from callforge.generator.evaluate import evaluate_file
    from callforge.generator.teachers import get_teacher

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
        teacher_impl = get_teacher("openai", **settings)
        report = evaluate_file(eval_file, teacher=teacher_impl, db=db, use_cache=not no_cache)
    if out is not None:
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _print_report(report)


def _read_report(path: Path) -> dict[str, Any]:
    import json

    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"--compare {path}: not a readable evaluate report ({exc})") from None
    if not isinstance(report, dict) or "overall" not in report:
        raise InputError(f"--compare {path}: not an evaluate report (no 'overall')")
    return report


def _report_console() -> Console:
    """Standard output; 120 columns when it is not a terminal (a file, a pipe, CI logs)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120)


def _percent(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print_report(report: dict[str, Any]) -> None:
    from rich.table import Table

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
    from rich.table import Table

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
    """A Rich progress bar fed by the pipeline's progress callback: ETA, top rejection."""

    def __enter__(self) -> _progress_bar:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("generating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta {task.fields[eta]}"),
            TextColumn(
                "rejected {task.fields[rejected]} · in flight {task.fields[in_flight]}"
                " · {task.fields[rate]}{task.fields[reason]}",
                markup=False,
            ),
            console=_stderr(),
            transient=False,
        )
        self.task = self.progress.add_task(
            "generate", total=None, rejected=0, in_flight=0, rate="", reason="", eta="-:--:--"
        )
        self.started = False
        self.last: RunProgress | None = None
        return self

    def update(self, state: RunProgress) -> None:
        if not self.started:  # only once work begins: a failed setup prints one line
            self.progress.start()
            self.started = True
        self.last = state
        reason = state.top_reason
        eta = state.eta_s
        if eta is None:
            clock = "-:--:--"
        else:
            minutes, seconds = divmod(round(eta), 60)
            clock = f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"
        self.progress.update(
            self.task,
            total=state.missing_total,
            completed=state.accepted,
            rejected=state.rejected,
            in_flight=state.in_flight,
            rate=f"{state.requests_per_s:.1f} req/s" if state.requests else "",
            reason=f" · top: {reason[:60]}" if reason else "",
            eta=clock,
        )

    def stop(self) -> None:
        self.progress.stop()

    def interrupted_message(self, db: Path) -> str:
        kept = self.last.accepted if self.last else 0
        return (
            f"interrupted: the {kept} examples accepted in this run are kept in "
            f"{shown(str(db))}; run the same command again to resume (it makes only "
            "what is missing, and re-sends only the requests that were in flight)"
        )

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
    console = _stderr()
    rejected = ", ".join(f"{stage} {n}" for stage, n in summary.rejected.most_common()) or "none"
    console.print(
        f"run {summary.run_id}: accepted {summary.accepted}, rejected {rejected} "
        f"in {summary.seconds:.1f}s"
    )
    usage = summary.usage
    if usage.requests or summary.cached:
        console.print(
            f"teacher: {usage.requests} requests ({summary.retries} retries), "
            f"{usage.prompt_tokens:,} prompt ({usage.cached_tokens:,} cached) + "
            f"{usage.completion_tokens:,} completion tokens, {summary.cached} drafts from cache",
            soft_wrap=True,
        )
    for group, count in summary.reasons.most_common(3):
        console.print(f"  rejected {count}x: {shown(str(group))}", highlight=False, soft_wrap=True)
    for (tool, category), reason in summary.skipped.items():
        console.print(f"[yellow]skipped[/] {shown(tool)} / {category}: {shown(reason)}")
    for (tool, category), reason in summary.given_up.items():
        console.print(f"[yellow]gave up[/] {shown(tool)} / {category}: {shown(reason)}")
    for (tool, category), missing in summary.unfilled.items():
        if (tool, category) in summary.given_up or summary.stopped:
            continue
        console.print(
            f"[yellow]unfilled[/] {shown(tool)} / {category}: {missing} short after its "
            "attempt budget; see 'callforge stats' for rejection reasons"
        )


if __name__ == "__main__":
    app()
