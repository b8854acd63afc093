"""The export's working set, kept in DuckDB: which examples go out, on which side, in what order.

Export decides the split over every stored example, so nothing here hands Python
one row per example at once: it reads per-cell counts (one row per (tool,
category)), pages of groups, and finally the conversations a batch at a time.
The working set is temp tables on a connection of its own (so a page is fully
read before a decision is written, and the final stream runs undisturbed):

* ``export_selection``: every chosen example with its cell, its split group and
  its seeded rank (the first 16 hex digits of ``sha256("<seed>:<id>")``, as
  ``splits.order_rank`` computes them; the id breaks a tie);
* ``export_groups``: one row per group with its cells, whether a held-out tool
  forces it into eval, and its place in seeded order (``position``) and in
  smallest-first order (``size_position``);
* ``export_eval``: the positions of the groups decided for eval.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from callforge.generator.records import Cell
from callforge.store.database import STALE, Store, StoredExample

GroupCells = dict[Cell, int]
"""How many of a group's members sit in each cell."""

_RANK = "left(sha256($seed || ':' || {column}), 16)"
_IN_EVAL = "(g.forced OR g.position IN (SELECT position FROM export_eval))"


class ExportSelection:
    """The temp tables of one export (see the module docstring)."""

    PAGE = 500
    READ = 20_000
    """Conversations per query of the final stream (sorted in DuckDB's memory, or spilled)."""

    def __init__(self, store: Store, seed: int) -> None:
        self._db = store.cursor()
        self._stale = STALE
        self._seed = str(seed)

    def close(self) -> None:
        self._db.close()

    def candidates(self, *, include_stale: bool) -> dict[Cell, int]:
        """Gather the exportable examples with their groups and ranks; their cell sizes."""
        self._db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE export_candidates AS
            SELECT e.rowid AS row, e.example_id, e.tool_name, e.category,
                   coalesce(g.group_id, e.example_id) AS group_id,
                   {_RANK.format(column="e.example_id")} AS example_rank
            FROM examples e LEFT JOIN example_groups g USING (example_id)
            WHERE $include_stale OR NOT ({self._stale})
            """,
            {"seed": self._seed, "include_stale": include_stale},
        )
        return self._cell_sizes("SELECT * FROM export_candidates")

    def choose(self, limit: int | None) -> None:
        """Keep the first ``limit`` examples of every cell in seeded order (all: None)."""
        self._db.execute(
            """
            CREATE OR REPLACE TEMP TABLE export_selection AS
            SELECT row, example_id, tool_name, category, group_id, example_rank
            FROM (
                SELECT *, row_number() OVER (
                    PARTITION BY tool_name, category ORDER BY example_rank, example_id
                ) AS place
                FROM export_candidates
            )
            WHERE $limit IS NULL OR place <= $limit
            """,
            {"limit": limit},
        )
        self._db.execute("DROP TABLE export_candidates")

    def choose_groups(self, held_out: Iterable[str]) -> None:
        """Gather the selection's groups in seeded order; a group with a member of, or a
        call to, a ``held_out`` tool is forced into eval."""
        self._db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE export_groups AS
            WITH cells AS (
                SELECT group_id, tool_name, category, count(*) AS n,
                       bool_or(list_contains($held, tool_name)) AS holds
                FROM export_selection GROUP BY ALL
            ),
            calling AS (
                SELECT DISTINCT s.group_id FROM export_selection s JOIN example_calls c
                    USING (example_id)
                WHERE list_contains($held, c.tool_name)
            ),
            grouped AS (
                SELECT group_id, {_RANK.format(column="group_id")} AS group_rank,
                       sum(n)::BIGINT AS size, list(tool_name) AS tools,
                       list(category) AS categories, list(n) AS counts,
                       bool_or(holds) OR group_id IN (SELECT group_id FROM calling) AS forced
                FROM cells GROUP BY group_id
            )
            SELECT row_number() OVER (ORDER BY group_rank, group_id) AS position,
                   row_number() OVER (ORDER BY size, group_rank, group_id) AS size_position,
                   group_id, size, forced, tools, categories, counts
            FROM grouped ORDER BY position
            """,
            {"seed": self._seed, "held": list(held_out)},
        )
        self._db.execute("CREATE OR REPLACE TEMP TABLE export_eval (position BIGINT)")

    def open_cell_sizes(self) -> dict[Cell, int]:
        """Cell sizes of the examples no held-out tool forces into eval."""
        return self._cell_sizes(
            """
            SELECT s.* FROM export_selection s JOIN export_groups g USING (group_id)
            WHERE NOT g.forced
            """
        )

    def train_cell_sizes(self) -> dict[Cell, int]:
        """Cell sizes of the examples in train so far."""
        return self._cell_sizes(
            f"""
            SELECT s.* FROM export_selection s JOIN export_groups g USING (group_id)
            WHERE NOT {_IN_EVAL}
            """
        )

    def open_groups(self, *, smallest_first: bool) -> Iterator[tuple[int, int, GroupCells]]:
        """(position, size, cells) of every group in train so far, in seeded order; with
        ``smallest_first``, by size and then in seeded order. Read a page at a time, so
        ``add_eval`` may be called between two groups."""
        order = "size_position" if smallest_first else "position"
        start, groups = 0, self._group_count()
        while start < groups:
            rows = self._db.execute(
                f"""
                SELECT position, size, tools, categories, counts FROM export_groups g
                WHERE {order} > $start AND {order} <= $start + $page AND NOT {_IN_EVAL}
                ORDER BY {order}
                """,
                {"start": start, "page": self.PAGE},
            ).fetchall()
            for position, size, tools, categories, counts in rows:
                yield (
                    position,
                    size,
                    dict(zip(zip(tools, categories, strict=True), counts, strict=True)),
                )
            start += self.PAGE

    def add_eval(self, positions: list[int]) -> None:
        """Put the groups at these (seeded-order) positions in eval."""
        if positions:
            self._db.execute(
                "INSERT INTO export_eval SELECT unnest($positions)", {"positions": positions}
            )

    def counts(self) -> dict[str, dict[Cell, int]]:
        """Per split ("train", "eval"), the examples in every cell."""
        rows = self._db.execute(
            f"""
            SELECT {_IN_EVAL}, s.tool_name, s.category, count(*)
            FROM export_selection s JOIN export_groups g USING (group_id) GROUP BY ALL
            """
        ).fetchall()
        counts: dict[str, dict[Cell, int]] = {"train": {}, "eval": {}}
        for evaluation, tool, category, count in rows:
            counts["eval" if evaluation else "train"][(tool, category)] = count
        return counts

    def stream(self, split: str, batch_size: int = 200) -> Iterator[StoredExample]:
        """The examples of ``split`` in seeded order, ``batch_size`` at a time in Python.

        Only the row ids are sorted (in a temp table): sorting the conversations
        themselves made DuckDB run out of its memory at a million. The conversations
        are then read ``READ`` seeded places per query, a join of the examples on
        those row ids sorted by place; a query per 200 row ids (``rowid = ANY``)
        scanned the table each time, 961 s for a million."""
        self._db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE export_order AS
            SELECT row_number() OVER (ORDER BY s.example_rank, s.example_id) AS n, s.row
            FROM export_selection s JOIN export_groups g USING (group_id)
            WHERE {_IN_EVAL} = $eval
            """,
            {"eval": split == "eval"},
        )
        counted = self._db.execute("SELECT count(*) FROM export_order").fetchone()
        total = counted[0] if counted else 0
        for first in range(1, total + 1, self.READ):
            self._db.execute(
                f"""
                SELECT e.example_id, e.tool_name, e.category, e.tool_hashes, e.scenario,
                       {self._stale} AS stale, e.failure_kind, e.teacher
                FROM examples e JOIN (
                    SELECT n, row FROM export_order WHERE n >= $first AND n < $first + $size
                ) o ON e.rowid = o.row
                ORDER BY o.n
                """,
                {"first": first, "size": self.READ},
            )
            while rows := self._db.fetchmany(batch_size):
                for example_id, tool, category, hashes, scenario, stale, kind, teacher in rows:
                    yield StoredExample(
                        example_id,
                        tool,
                        category,
                        list(hashes),
                        json.loads(scenario),
                        stale,
                        failure_kind=kind,
                        teacher=teacher,
                    )
        self._db.execute("DROP TABLE export_order")

    def _group_count(self) -> int:
        row = self._db.execute("SELECT count(*) FROM export_groups").fetchone()
        return row[0] if row else 0

    def _cell_sizes(self, rows: str) -> dict[Cell, int]:
        counted = self._db.execute(
            f"SELECT tool_name, category, count(*) FROM ({rows}) GROUP BY ALL"
        ).fetchall()
        return {(tool, category): count for tool, category, count in counted}
