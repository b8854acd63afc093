"""``callforge report``: one self-contained page, opened in a real headless Chromium.

The screenshot is read back pixel by pixel: the heatmap's cells are found by
their colours and must sit in the grid the store says (full, partly filled,
empty, untargeted); the DOM Chromium dumps after running the page's script must
hold the example browser's conversations and the report's tables.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from callforge.store import Store
from tests.conftest import run_cli

COLOURS = {  # the report's heatmap fills (templates/report/report.html.j2)
    (0x2E, 0x7D, 0x32): "full",
    (0xF9, 0xA8, 0x25): "partial",
    (0xC6, 0x28, 0x28): "empty",
    (0xE0, 0xE0, 0xE0): "untargeted",
}
WINDOW = (1100, 1400)


def chromium(page: Path, profile: Path, *action: str) -> subprocess.CompletedProcess[str]:
    """Debian's chromium, headless, fresh profile, nothing fetched from the network."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is not installed: apt-get install -y chromium (see .ci/run)"
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--user-data-dir={profile}",
            *action,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def bands(hits: list[bool], least: int = 12) -> list[tuple[int, int]]:
    """Runs of True at least ``least`` pixels long: the rows (or columns) of heatmap cells.

    Shorter runs are a thin line of the same grey elsewhere on the page.
    """
    runs, start = [], None
    for index, hit in enumerate([*hits, False]):
        if hit and start is None:
            start = index
        elif not hit and start is not None:
            if index - start >= least:
                runs.append((start, index))
            start = None
    return runs


def heatmap_from_screenshot(path: Path) -> list[list[str]]:
    """The heatmap as drawn: one colour class per cell, row by row."""
    image = Image.open(path).convert("RGB")
    width, height = image.size
    pixels = image.load()
    assert pixels is not None
    rows_hit, cols_hit = [False] * height, [False] * width
    for y in range(height):
        for x in range(width):
            if pixels[x, y] in COLOURS:
                rows_hit[y] = cols_hit[x] = True
    grid = []
    for top, bottom in bands(rows_hit):
        row = []
        for left, right in bands(cols_hit):
            counts: dict[str, int] = {}
            for y in range(top, bottom):
                for x in range(left, right):
                    name = COLOURS.get(pixels[x, y])
                    if name:
                        counts[name] = counts.get(name, 0) + 1
            if counts:
                row.append(max(counts, key=lambda n: counts[n]))
        grid.append(row)
    return grid


class _Dom(HTMLParser):
    """The parts of the dumped DOM the test reads."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[list[str]] = []
        self.examples: list[str] = []
        self.tables: dict[str, str] = {}
        self._in_example = False
        self._table: str | None = None
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("script", "img", "link") and (attributes.get("src") or attributes.get("href")):
            self.external.append(str(attributes.get("src") or attributes.get("href")))
        if tag == "table":
            self._table = attributes.get("id") or attributes.get("class") or ""
            self.tables.setdefault(self._table, "")
            if self._table == "grid":
                self.cells = []
        if tag == "tr" and self._table == "grid":
            self.cells.append([])
        if tag == "td" and self._table == "grid" and attributes.get("data-class"):
            self.cells[-1].append(str(attributes["data-class"]))
        if tag == "pre" and "example" in (attributes.get("class") or ""):
            self._in_example = True
            self.examples.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_example = False
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_example:
            self.examples[-1] += data
        if self._table is not None:
            self.tables[self._table] += data


@pytest.fixture
def varied_store(small_store: Path) -> Path:
    """The small store with targets that leave cells full, partly filled, empty, untargeted."""
    with Store(small_store) as store:
        targets = store.targets()
        targets[("search_flights", "single")] = 10  # 4 of 10: partly filled
        targets[("send_email", "multi_step")] = 0  # its 2 examples, no target
        del targets[("send_email", "multi_step")]
        store.set_targets({**targets, ("get_customer", "parallel"): 3})  # empty
    return small_store


def test_report_renders_the_heatmap_and_the_example_browser_in_chromium(
    varied_store: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    result = run_cli("report", "--db", varied_store, "--out", page)
    assert (result.returncode, result.stdout) == (0, f"wrote {page}\n"), result.stderr

    dumped = chromium(page, tmp_path / "profile-dom", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = _Dom()
    dom.feed(dumped.stdout)
    expected = [row for row in dom.cells if row]
    with Store(varied_store) as store:
        targets, accepted = store.targets(), store.accepted_counts()
    assert len(expected) == len({tool for tool, _ in set(targets) | set(accepted)})
    flat = [name for row in expected for name in row]
    assert flat.count("partial") == 1 and flat.count("empty") == 1
    assert flat.count("untargeted") >= 1 and flat.count("full") >= 25
    assert dom.external == []  # self-contained: nothing to fetch
    # The browser's script ran: the first cell's examples are conversations in the DOM.
    assert dom.examples and all(text.lstrip().startswith("user:") for text in dom.examples)
    assert "tokens per accepted example" in dom.tables["usage"]
    assert "distinct-2" in dumped.stdout and "enum values" in dom.tables["diversity-table"]

    shot = tmp_path / "report.png"
    drawn = chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    assert Image.open(shot).size == WINDOW
    assert heatmap_from_screenshot(shot) == expected


def test_report_needs_a_file_name(small_store: Path, tmp_path: Path) -> None:
    result = run_cli("report", "--db", small_store, "--out", tmp_path)
    assert (result.returncode, result.stderr) == (
        2,
        f"error: --out {tmp_path} is a folder; give a file name such as report.html\n",
    )


def _copied(path: Path, into: Path, times: int) -> Path:
    """A copy of the store at ``path`` whose every example is there ``times`` times (new ids)."""
    import duckdb

    shutil.copy(path, into)
    with duckdb.connect(str(into)) as db:
        db.execute(
            f"""
            INSERT INTO examples SELECT e.* REPLACE (
                e.example_id || '-' || n AS example_id, e.dedup_key || '-' || n AS dedup_key
            ) FROM examples e, range(1, {times}) copies(n)
            """
        )
    return into


def _python_peak(path: Path) -> tuple[int, dict[str, Any]]:
    """Peak bytes Python allocated while the report read the store, and what it read."""
    import tracemalloc

    from callforge.generator.report import report_data

    with Store(path) as store:
        tracemalloc.start()
        try:
            data = report_data(store)
            return tracemalloc.get_traced_memory()[1], data
        finally:
            tracemalloc.stop()


def test_report_memory_does_not_grow_with_the_store(small_store: Path, tmp_path: Path) -> None:
    """The report counts in the store and reads calls a batch at a time: a store 200 times
    larger costs it no more Python memory (it used to load every example's scenario)."""
    large = _copied(small_store, tmp_path / "large.duckdb", 200)
    small_peak, small = _python_peak(small_store)
    large_peak, big = _python_peak(large)
    assert large_peak - small_peak < 3 * 2**20, (small_peak, large_peak)
    for few, many in zip(small["cells"], big["cells"], strict=True):
        assert many["diversity"]["examples"] == 200 * few["diversity"]["examples"]
        assert many["diversity"]["bigrams"] == 200 * few["diversity"]["bigrams"]
        # the same distinct bigrams, 200 times as many in all
        assert abs(many["diversity"]["distinct_2"] - few["diversity"]["distinct_2"] / 200) <= 0.001


def test_report_figures_are_those_of_the_stored_examples(small_store: Path) -> None:
    """Distinct-2, argument coverage and the examples shown, worked out here from every
    stored example (in Python, one by one) and compared with what the report counted."""
    import json
    import re
    from itertools import pairwise

    from callforge.generator.report import report_data

    with Store(small_store) as store:
        text = "Café Zürich: ÉTÉ à Ελλάδα, ½ 42_x!"  # words beyond ASCII count as words
        store._db.execute(
            """
            UPDATE examples SET user_request = $text,
                scenario = json_merge_patch(scenario, json_object('draft', json_object(
                    'user_request', $text)))::VARCHAR
            WHERE example_id = (SELECT min(example_id) FROM examples)
            """,
            {"text": text},
        )
        examples = store.examples()
        requests = dict(
            store._db.execute("SELECT example_id, user_request FROM examples").fetchall()
        )
        tools = {name: d["function"]["parameters"] for name, _, d in store.current_tools()}
        data = report_data(store)
    assert any("Ελλάδα" in text for text in requests.values())
    for cell in data["cells"]:
        mine = [
            e for e in examples if (e.tool_name, e.category) == (cell["tool"], cell["category"])
        ]
        pairs = [
            pair
            for e in mine
            for pair in pairwise(re.findall(r"\w+", requests[e.example_id].lower()))
        ]
        calls = [
            step["call"]["arguments"]
            for e in mine
            for step in e.scenario["plan"]["steps"]
            if step["call"]["name"] == cell["tool"] and not step.get("failure")
        ]
        schema = tools[cell["tool"]]
        optional = set(schema.get("properties", {})) - set(schema.get("required", []))
        used = {name for arguments in calls for name in arguments} & optional
        enums = {n: p["enum"] for n, p in schema["properties"].items() if "enum" in p}
        enum_used = sum(
            len({json.dumps(a[n]) for a in calls if n in a} & {json.dumps(v) for v in values})
            for n, values in enums.items()
        )
        diversity = cell["diversity"]
        assert diversity["examples"] == len(mine)
        assert diversity["bigrams"] == len(pairs)
        assert diversity["distinct_2"] == (
            round(len(set(pairs)) / len(pairs), 3) if pairs else None
        )
        assert diversity["optional_used"] == len(used)
        assert diversity["optional_unused"] == sorted(optional - used)
        assert diversity["enum_used"] == enum_used
        shown = sorted(e.example_id for e in mine)[:5]
        assert [e["id"] for e in cell["examples"]] == shown
