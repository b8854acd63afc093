"""Every export format, rendered through the chat templates its trainer uses.

Each format is exported from the same store, loaded with ``datasets`` (checking
nothing changed type on the way) and rendered through real chat templates that
registry packages ship (TRL's training templates, axolotl's), with
``transformers``' renderer. The stored calls are read straight from the DuckDB
file, so the checks never trust the exporter's own view of an example.
"""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Any

import datasets
import duckdb
import pytest

from tests.chat_templates import (
    axolotl_template,
    inside,
    overlaps,
    render,
    tool_calls_in,
    trl_template,
    without_none,
)
from tests.conftest import read_jsonl, run_cli
from tests.openai_format import format_errors

datasets.disable_progress_bars()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from callforge.generator.templating import EXAMPLE_TOOLS

    path = tmp_path_factory.mktemp("formats") / "callforge.duckdb"
    result = run_cli(
        "generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "6", "--seed", "21", "--db", path,
        "--mix", "single=1,error_recovery=2,multi_step=1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return path


def stored_steps(db: Path) -> dict[str, list[dict[str, Any]]]:
    """example_id -> its planned steps, as the store holds them (call, failure)."""
    with duckdb.connect(str(db), read_only=True) as connection:
        rows = connection.execute("SELECT example_id, scenario FROM examples").fetchall()
    return {example_id: json.loads(scenario)["plan"]["steps"] for example_id, scenario in rows}


def is_mistake(step: dict[str, Any]) -> bool:
    return bool(step["failure"] and step["failure"]["assistant_mistake"])


def export(db: Path, out: Path, *args: str) -> dict[str, Any]:
    result = run_cli(
        "export", "--db", db, "--out", out, "--seed", "2", "--eval-fraction", "0.2", *args
    )
    assert result.returncode == 0, result.stderr
    return json.loads((out / "manifest.json").read_text())


def rows_of(out: Path, split: str) -> list[dict[str, Any]]:
    """Rows as ``datasets`` loads the folder (its card), with a cache of its own: the
    shared cache can hand back an earlier folder's rows under the same name."""
    return list(datasets.load_dataset(str(out), split=split, cache_dir=str(out / ".cache")))


def json_rows(path: Path) -> list[dict[str, Any]]:
    cache = str(path.parent / ".cache")
    return list(datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=cache))


def call_text_span(text: str, call: dict[str, Any], start: int = 0) -> tuple[int, int]:
    """Where the <tool_call> block of ``call`` starts and ends in ``text``."""
    needle = json.dumps({"name": call["name"], "arguments": call["arguments"]}, ensure_ascii=False)
    at = text.index(needle, start)
    return at, at + len(needle)


def test_hf_renders_through_trls_qwen_training_template(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "hf"
    manifest = export(store, out, "--format", "hf")
    steps = stored_steps(store)
    template = trl_template("qwen2_5_training")
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    rows = rows_of(out, "train") + rows_of(out, "eval")
    assert len(rows) == sum(manifest["totals"].values()) == len(lines)
    assert rows == lines  # datasets, reading the card's features, changed no type
    mistakes = 0
    for row in rows:
        row = without_none(row)
        prompt_text, _ = render(row["prompt"], row["tools"], template)
        text, spans = render(row["prompt"] + row["completion"], row["tools"], template)
        assert text.startswith(prompt_text)
        trained = [(max(a, len(prompt_text)), b) for a, b in spans if b > len(prompt_text)]
        assert '"arguments": "' not in text  # not encoded twice
        calls = tool_calls_in(text[len(prompt_text.split("<|im_start|>user")[0]) :])
        expected = [step["call"] for step in steps[row["example_id"]]]
        assert [(c["name"], c["arguments"]) for c in calls] == [
            (c["name"], c["arguments"]) for c in expected
        ]
        cursor = 0
        for step in steps[row["example_id"]]:
            start, end = call_text_span(text, step["call"], cursor)
            cursor = end
            if is_mistake(step):
                mistakes += 1
                assert not overlaps(trained, start, end), row["example_id"]
            else:
                assert inside(trained, start, end), row["example_id"]
        final_end = text.rindex("<|im_end|>")
        assert inside(trained, final_end, final_end + len("<|im_end|>"))
    assert mistakes > 0


def test_hf_drop_and_keep_mistakes(store: Path, tmp_path: Path) -> None:
    steps = stored_steps(store)
    template = trl_template("qwen2_5_training")
    for rule in ("drop", "keep"):
        out = tmp_path / rule
        export(store, out, "--format", "hf", "--mistakes", rule)
        rows = rows_of(out, "train")
        assert rows == read_jsonl(out / "train.jsonl")
        seen = 0
        for row in rows:
            row = without_none(row)
            text, spans = render(row["messages"], row["tools"], template)
            for step in steps[row["example_id"]]:
                if not is_mistake(step):
                    continue
                seen += 1
                needle = json.dumps(
                    {"name": step["call"]["name"], "arguments": step["call"]["arguments"]},
                    ensure_ascii=False,
                )
                if rule == "drop":
                    assert needle not in text
                else:
                    start, end = call_text_span(text, step["call"])
                    assert inside(spans, start, end)
        assert seen > 0


# How the offline answers speak of a first call that failed (checked by hand against
# templates/offline/phrases.yaml's retry_notes; words, not the notes themselves).
RETRY_WORDS = re.compile(
    r"at first|first (call|try|attempt)|retr(y|ied)|tried again|mistyped|correct(ed|ing)|"
    r"fixed an invalid",
    re.IGNORECASE,
)


def test_hf_drop_leaves_an_answer_that_never_mentions_the_dropped_call(
    store: Path, tmp_path: Path
) -> None:
    """Under --mistakes drop the conversation is one call that worked, so its answer
    must not say "I had mistyped the order id at first"; under keep it still may."""
    steps = stored_steps(store)
    template = trl_template("qwen2_5_training")
    answers: dict[str, dict[str, str]] = {}
    for rule in ("drop", "keep"):
        out = tmp_path / rule
        export(store, out, "--format", "hf", "--mistakes", rule)
        for row in rows_of(out, "train") + rows_of(out, "eval"):
            row = without_none(row)
            if not any(is_mistake(step) for step in steps[row["example_id"]]):
                continue
            text, _ = render(row["messages"], row["tools"], template)
            final = text.rsplit("<|im_start|>assistant\n", 1)[1].split("<|im_end|>")[0]
            answers.setdefault(row["example_id"], {})[rule] = final
    assert len(answers) >= 10
    for example_id, final in answers.items():
        assert not RETRY_WORDS.search(final["drop"]), (example_id, final["drop"])
        assert final["drop"] and final["drop"][0].isupper(), final["drop"]
    noted = [final for final in answers.values() if RETRY_WORDS.search(final["keep"])]
    assert len(noted) >= len(answers) // 2  # kept, the answers still tell of the retry
    for final in noted:  # and dropping took out those words, nothing else
        assert set(final["drop"].split()) <= set(final["keep"].split())
        assert len(final["drop"].split()) < len(final["keep"].split())


def test_hf_string_fields_and_parquet(store: Path, tmp_path: Path) -> None:
    steps = stored_steps(store)
    text_out, parquet_out = tmp_path / "text", tmp_path / "parquet"
    export(store, text_out, "--format", "hf", "--json-fields", "string", "--parquet")
    export(store, parquet_out, "--format", "hf", "--parquet")
    assert (text_out / "train.parquet").exists() and not (text_out / "train.jsonl").exists()
    as_text, as_objects = rows_of(text_out, "train"), rows_of(parquet_out, "train")
    assert len(as_text) == len(as_objects) > 0
    for text_row, object_row in zip(as_text, as_objects, strict=True):
        assert all(isinstance(tool, str) for tool in text_row["tools"])
        assert [json.loads(tool) for tool in text_row["tools"]] == object_row["tools"]
        stored = [s["call"]["arguments"] for s in steps[object_row["example_id"]]]
        written_text = [
            call["function"]["arguments"]
            for message in text_row["prompt"] + text_row["completion"]
            for call in message["tool_calls"] or ()
        ]
        written = [
            call["function"]["arguments"]
            for message in object_row["prompt"] + object_row["completion"]
            for call in message["tool_calls"] or ()
        ]
        assert written == stored == [json.loads(arguments) for arguments in written_text]


def test_hf_llama_31_template_reads_arguments_as_objects(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "llama"
    export(store, out, "--format", "hf", "--mistakes", "keep")
    steps = stored_steps(store)
    template = trl_template("llama3_1")
    for row in rows_of(out, "train"):
        row = without_none(row)
        text, _ = render(row["messages"], row["tools"], template)
        turns = [
            json.loads(part.split("<|eot_id|>")[0])
            for part in text.split("<|start_header_id|>assistant<|end_header_id|>\n\n")[1:]
            if part.startswith('{"name"')
        ]
        expected = [(s["call"]["name"], s["call"]["arguments"]) for s in steps[row["example_id"]]]
        assert [(turn["name"], turn["parameters"]) for turn in turns] == expected


def axolotl_messages(row: dict[str, Any]) -> list[dict[str, Any]]:
    """What axolotl's chat_template strategy does before templating: JSON text to objects."""
    messages = []
    for message in without_none(row["messages"]):
        for call in message.get("tool_calls") or ():
            call["function"]["arguments"] = json.loads(call["function"]["arguments"])
        messages.append(message)
    return messages


def test_axolotl_train_flags_through_axolotls_qwen_template(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "axolotl"
    export(store, out, "--format", "axolotl")
    steps = stored_steps(store)
    template = axolotl_template("qwen_25")
    lines = read_jsonl(out / "train.jsonl")
    rows = json_rows(out / "train.jsonl")
    assert rows == lines
    untrained = 0
    for row in rows:
        messages, tools = axolotl_messages(row), json.loads(row["tools"])
        # A turn's text is what rendering it adds (how axolotl finds turns); trained turns
        # are those whose ``train`` flag is true.
        trained: list[tuple[int, int]] = []
        previous = ""
        text = render(messages, tools, template)[0]
        for index, message in enumerate(messages):
            upto = render(messages[: index + 1], tools, template)[0]
            common = len(previous)
            if message["train"]:
                trained.append((common, len(upto)))
            previous = upto
        for step in steps[row["example_id"]]:
            start, end = call_text_span(text, step["call"])
            if is_mistake(step):
                untrained += 1
                assert not overlaps(trained, start, end)
            else:
                assert inside(trained, start, end)
        end_of_turn = text.rindex("<|im_end|>")
        assert inside(trained, end_of_turn, end_of_turn + len("<|im_end|>"))
        assert all(m["weight"] == int(m["train"]) for m in messages if m["role"] == "assistant")
    assert untrained > 0


def test_llamafactory_alternation_and_dataset_info(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "lf"
    manifest = export(store, out, "--format", "llamafactory")
    steps = stored_steps(store)
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["callforge_train"]["file_name"] == "train.jsonl"
    assert info["callforge_train"]["formatting"] == "sharegpt"
    assert info["callforge_train"]["columns"] == {"messages": "conversations", "tools": "tools"}
    for split in ("train", "eval"):
        lines = read_jsonl(out / f"{split}.jsonl")
        meta = read_jsonl(out / f"{split}.meta.jsonl")
        assert len(lines) == len(meta) == manifest["totals"][split]
        rows = json_rows(out / f"{split}.jsonl")
        assert rows == lines
        for row, about in zip(rows, meta, strict=True):
            turns = row["conversations"]
            # LLaMA-Factory's SharegptDatasetConverter: human/observation at even positions,
            # gpt/function_call at odd ones, an even count; anything else is skipped.
            for position, turn in enumerate(turns):
                allowed = (
                    ("human", "observation") if position % 2 == 0 else ("gpt", "function_call")
                )
                assert turn["from"] in allowed, (about["example_id"], position)
            assert len(turns) % 2 == 0 and turns[-1]["from"] == "gpt"
            calls = [json.loads(t["value"]) for t in turns if t["from"] == "function_call"]
            expected = [s["call"] for s in steps[about["example_id"]] if not is_mistake(s)]
            assert calls == [{"name": c["name"], "arguments": c["arguments"]} for c in expected]
            assert {t["name"] for t in json.loads(row["tools"])} >= {c["name"] for c in calls}


def test_llamafactory_own_converter_takes_every_row(store: Path, tmp_path: Path) -> None:
    """LLaMA-Factory's own code (tests/llamafactory_loader.py) reads the export: its
    parser reads dataset_info.json, its sharegpt converter aligns every row (a row it
    would skip comes back empty, with a warning), and its formatters parse every
    function_call turn and the tools column."""
    from tests.llamafactory_loader import llamafactory_data

    out = tmp_path / "lf"
    manifest = export(store, out, "--format", "llamafactory", "--mistakes", "keep")
    steps = stored_steps(store)
    with llamafactory_data() as (lf, warnings):
        names = ["callforge_train", "callforge_eval"]
        attrs = lf["parser"].get_dataset_list(names, str(out))
        assert [(a.load_from, a.dataset_name, a.formatting) for a in attrs] == [
            ("file", "train.jsonl", "sharegpt"),
            ("file", "eval.jsonl", "sharegpt"),
        ]
        calls_seen = 0
        for attr, split in zip(attrs, ("train", "eval"), strict=True):
            convert = lf["converter"].SharegptDatasetConverter(
                attr, types.SimpleNamespace(media_dir=str(out))
            )
            rows = read_jsonl(out / attr.dataset_name)
            meta = read_jsonl(out / f"{split}.meta.jsonl")
            assert len(rows) == manifest["totals"][split] > 0
            for row, about in zip(rows, meta, strict=True):
                aligned = convert(row)
                assert aligned["_prompt"] and aligned["_response"], about["example_id"]
                assert aligned["_response"][-1]["role"] == "assistant"
                turns = aligned["_prompt"] + aligned["_response"]
                assert len(turns) == len(row["conversations"])
                tools = lf["formatter"].ToolFormatter(tool_format="default")
                assert "Tool Name:" in tools.apply(content=aligned["_tools"])[0]
                function = lf["formatter"].FunctionFormatter(
                    slots=["{{content}}"], tool_format="default"
                )
                called = [t for t in turns if t["role"] == "function"]
                for turn in called:
                    text = function.apply(content=turn["content"])[0]
                    assert text.startswith("Action: "), text
                expected = [step["call"]["name"] for step in steps[about["example_id"]]]
                named = [
                    line.removeprefix("Action: ")
                    for turn in called
                    for line in function.apply(content=turn["content"])[0].splitlines()
                    if line.startswith("Action: ")
                ]
                assert named == expected, about["example_id"]
                calls_seen += len(named)
        assert warnings.said == []  # no row skipped, no role out of place
    assert calls_seen > sum(manifest["totals"].values())


def test_hermes_renders_through_chatml(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "hermes"
    export(store, out, "--format", "hermes")
    steps = stored_steps(store)
    rows = json_rows(out / "train.jsonl")
    assert rows == read_jsonl(out / "train.jsonl")
    roles = {"system": "system", "human": "user", "gpt": "assistant", "tool": "tool"}
    for row in rows:
        messages = [{"role": roles[t["from"]], "content": t["value"]} for t in row["conversations"]]
        text, _ = render(messages, None, axolotl_template("chatml"))
        system, rest = text.split("<|im_end|>", 1)
        assert "<tools>" in system
        listed = [
            json.loads(line)
            for line in system.split("<tools>\n")[1].split("\n</tools>")[0].splitlines()
        ]
        calls = tool_calls_in(rest)
        expected = [s["call"] for s in steps[row["example_id"]] if not is_mistake(s)]
        assert calls == [{"name": c["name"], "arguments": c["arguments"]} for c in expected]
        assert {c["name"] for c in calls} <= {t["function"]["name"] for t in listed}
        assert rest.count("<tool_response>") == len(calls)
        assert text.endswith("<|im_end|>\n")


def test_openai_lines_weights_sidecar_and_mistral_ids(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "openai"
    export(store, out, "--call-ids", "mistral")
    steps = stored_steps(store)
    lines, meta = read_jsonl(out / "train.jsonl"), read_jsonl(out / "train.meta.jsonl")
    assert len(lines) == len(meta) > 0
    for line, about in zip(lines, meta, strict=True):
        assert format_errors(line) == []
        calls = [m for m in line["messages"] if m.get("tool_calls")]
        plan = steps[about["example_id"]]
        assert [json.loads(m["tool_calls"][0]["function"]["arguments"]) for m in calls] == [
            s["call"]["arguments"] for s in plan
        ]
        assert [m.get("weight", 1) for m in calls] == [0 if is_mistake(s) else 1 for s in plan]
        ids = [m["tool_calls"][0]["id"] for m in calls]
        answered = [m["tool_call_id"] for m in line["messages"] if m["role"] == "tool"]
        assert ids == answered and all(len(i) == 9 and i.isalnum() for i in ids)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--format", "llamafactory", "--mistakes", "prefix"],
            "--mistakes prefix does not apply to --format llamafactory (accepted: drop, keep)",
        ),
        (
            ["--mistakes", "drop"],
            "--mistakes drop does not apply to --format openai "
            "(accepted: none: it masks mistaken turns itself)",
        ),
        (["--format", "axolotl", "--parquet"], "--parquet does not apply to --format axolotl"),
        (
            ["--format", "sharegpt"],
            "unknown --format sharegpt; choose one of axolotl, hermes, hf, llamafactory, openai",
        ),
        (
            ["--format", "hf", "--json-fields", "text"],
            "--json-fields must be one of object, string, got text",
        ),
    ],
)
def test_bad_format_options(store: Path, tmp_path: Path, args: list[str], expected: str) -> None:
    out = tmp_path / "out"
    result = run_cli("export", "--db", store, "--out", out, *args)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {expected}"
    assert not out.exists()


def test_manifest_and_card_record_provenance(store: Path, tmp_path: Path) -> None:
    import yaml

    from callforge.generator.importers import load_tools

    out = tmp_path / "card"
    manifest = export(store, out, "--format", "hf")
    origin = manifest["provenance"]
    assert origin["teachers"] == {"offline": 60}
    (run,) = origin["runs"]
    assert run["seed"] == 21 and run["teacher"] == "offline" and run["per_tool"] == 6
    assert run["mix"] == {"single": 1.0, "error_recovery": 2.0, "multi_step": 1.0}
    from callforge.generator.templating import EXAMPLE_TOOLS

    assert origin["tools"] == {t.name: t.content_hash for t in load_tools(EXAMPLE_TOOLS)}
    assert manifest["callforge_version"] == run_cli("--version").stdout.split()[-1]
    assert manifest["format"] == "hf" and sum(manifest["totals"].values()) == 60
    card = (out / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["configs"][0]["data_files"] == [
        {"split": "train", "path": "train.jsonl"},
        {"split": "eval", "path": "eval.jsonl"},
    ]
    assert "tool-calling" in header["tags"]
    assert f"| train | {manifest['totals']['train']} |" in card
    assert manifest["files"]["README.md"]["sha256"]
