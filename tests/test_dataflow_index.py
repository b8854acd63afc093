"""The indexed ``infer_graph`` finds exactly the graph of scoring every pair of tools.

The reference below is the pairwise inference as it was before the index (every
source, every target, every parameter against every field of the source), kept
here only to compare with: same edges, same scores, same evidence, same order, on
every tool set in the repository and on synthetic tool sets whose names, ids,
formats and money fields overlap across hundreds of tools.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.bench_many_tools import synthetic_tools
from callforge.generator.dataflow import (
    NAMED_IN_DESCRIPTION,
    DataFlowGraph,
    Edge,
    OutputField,
    _echoed_names,
    _echoes,
    _match,
    _priced,
    chainable_parameters,
    infer_graph,
    output_fields,
)
from callforge.generator.importers import load_tools
from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.generator.tools import ToolSet, ToolSpec, parse_tools

DATA = Path(__file__).parent / "data"
TOOL_FILES = [
    EXAMPLE_TOOLS,
    DATA / "bfcl_simple.jsonl",
    DATA / "mcp_filesystem.json",
    DATA / "petstore.yaml",
    DATA / "petstore-expanded.yaml",
    DATA / "python_tools.py",
    DATA / "execution" / "shop_tools.py",
    DATA / "execution" / "worker_tools.py",
]


def pairwise_graph(tools: ToolSet) -> DataFlowGraph:
    """``infer_graph`` before the index: every (source, target) pair scored in full."""
    fields = {tool.name: output_fields(tool) for tool in tools}
    edges = [
        edge
        for source in tools
        for target in tools
        if source.name != target.name
        for edge in _pairwise_edges(source, fields[source.name], target)
    ]
    edges.sort(key=lambda e: -e.score)
    return DataFlowGraph(tuple(edges))


def _pairwise_edges(
    source: ToolSpec, fields: tuple[OutputField, ...], target: ToolSpec
) -> Iterator[Edge]:
    echoes, priced = _echoed_names(source), _priced(fields)
    for parameter, schema in chainable_parameters(target).items():
        best: tuple[float, OutputField, str] | None = None
        for output in fields:
            if _echoes(output, echoes):
                continue
            match = _match(output, parameter, schema, target, priced)
            if match and (best is None or match[0] > best[0]):
                best = (match[0], output, match[1])
        if best is None:
            continue
        score, output, evidence = best
        if source.name in str(schema.get("description", "")):
            score = min(1.0, score + NAMED_IN_DESCRIPTION)
            evidence += f"; its description names {source.name}"
        yield Edge(source.name, output.path, target.name, parameter, round(score, 2), evidence)


@pytest.mark.parametrize("path", TOOL_FILES, ids=lambda p: Path(p).name)
def test_the_graph_of_every_tool_file_is_the_pairwise_one(path: Path) -> None:
    tools = load_tools(path)
    assert infer_graph(tools).edges == pairwise_graph(tools).edges


# Each way ``_match`` matches, by the words of its evidence, and the description bonus.
EVERY_KIND = {
    "both identify the",
    "both are named",
    "is given as",
    "of a price, to convert from",
    "is an amount of money",
    "both have format",
    "its description names",
}


def kinds(edges: tuple[Edge, ...]) -> set[str]:
    return {kind for edge in edges for kind in EVERY_KIND if kind in edge.evidence}


@pytest.mark.parametrize("seed", [0, 1])
def test_the_graph_of_overlapping_synthetic_tools_is_the_pairwise_one(seed: int) -> None:
    tools = parse_tools(synthetic_tools(300, seed=seed))
    expected = pairwise_graph(tools).edges
    assert len(expected) > 1000 and kinds(expected) == EVERY_KIND, "many edges of every kind"
    assert infer_graph(tools).edges == expected


def test_a_subset_gets_the_pairwise_graph_too() -> None:
    """Sources before and after the target, the same names in many tools: the order holds."""
    tools = parse_tools(synthetic_tools(120, seed=3))
    subset = tools.subset(tools.names[::-1][:60])
    assert infer_graph(subset).edges == pairwise_graph(subset).edges
