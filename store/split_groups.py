"""Split groups in SQL: LSH buckets, candidate pairs and connected components.

``generator/near_duplicates.py`` signs requests and states the rules (bands,
threshold); this module joins related examples over the whole store without
holding one row per example in Python. Every example gets an integer ``node``
in example-id order, so the smallest node of a group is its smallest id, which
names the group (stable across runs). Steps, each a query over temp tables:

1. each example's band keys (one hash per band of its signature);
2. per band, the buckets with two or more members; a member is a candidate with
   each of the first ``representatives`` members of its bucket (a crowded bucket
   costs ``representatives`` comparisons per member, not a square);
3. candidates whose signatures agree on at least ``threshold`` of their values
   are edges, and so is every example with the first one sharing its call;
4. connected components by label propagation: every node takes the smallest
   label among its own and its neighbours', then its label's label (pointer
   jumping), until no label changes; a handful of rounds for real groups.
"""

from __future__ import annotations

import duckdb

from callforge.store.database import Store


def join_groups(
    store: Store, *, bands: int, rows: int, threshold: float, representatives: int
) -> int:
    """Replace ``example_groups`` with the groups of related examples; return their count."""
    db = store.cursor()
    try:
        _band_keys(db, bands, rows)
        _candidates(db, bands, representatives)
        _edges(db, threshold)
        _components(db)
        return _store_groups(db)
    finally:
        db.close()


def _band_keys(db: duckdb.DuckDBPyConnection, bands: int, rows: int) -> None:
    db.execute(
        """
        CREATE OR REPLACE TEMP TABLE group_ids AS
        SELECT row_number() OVER (ORDER BY example_id) AS node, example_id
        FROM request_signatures
        """
    )
    db.execute(
        """
        CREATE OR REPLACE TEMP TABLE group_nodes AS
        SELECT n.node, n.example_id,
               list_transform(range($bands), lambda b:
                   hash(s.signature[b * $rows + 1 : (b + 1) * $rows])) AS band_keys
        FROM request_signatures s JOIN group_ids n USING (example_id)
        """,
        {"bands": bands, "rows": rows},
    )
    db.execute("DROP TABLE group_ids")


def _candidates(db: duckdb.DuckDBPyConnection, bands: int, representatives: int) -> None:
    db.execute("CREATE OR REPLACE TEMP TABLE group_candidates (low BIGINT, high BIGINT)")
    for band in range(1, bands + 1):
        db.execute(
            """
            INSERT INTO group_candidates
            WITH keyed AS (SELECT node, band_keys[$band] AS bucket FROM group_nodes),
            shared AS (SELECT bucket FROM keyed GROUP BY bucket HAVING count(*) > 1),
            members AS (
                SELECT node, bucket,
                       row_number() OVER (PARTITION BY bucket ORDER BY node) AS place
                FROM keyed SEMI JOIN shared USING (bucket)
            )
            SELECT early.node, late.node
            FROM members late JOIN members early
                ON early.bucket = late.bucket AND early.place < late.place
            WHERE early.place <= $representatives
            """,
            {"band": band, "representatives": representatives},
        )


def _edges(db: duckdb.DuckDBPyConnection, threshold: float) -> None:
    db.execute(
        """
        CREATE OR REPLACE TEMP TABLE group_edges AS
        WITH pairs AS (SELECT DISTINCT low, high FROM group_candidates),
        signed AS (
            SELECT n.node, s.signature FROM group_nodes n JOIN request_signatures s
                USING (example_id)
            WHERE n.node IN (SELECT low FROM pairs UNION ALL SELECT high FROM pairs)
        )
        SELECT p.low, p.high
        FROM pairs p JOIN signed a ON a.node = p.low JOIN signed b ON b.node = p.high
        WHERE len(list_filter(range(1, len(a.signature) + 1),
                              lambda i: a.signature[i] = b.signature[i]))
              / len(a.signature) >= $threshold
        """,
        {"threshold": threshold},
    )
    db.execute("DROP TABLE group_candidates")
    db.execute(
        """
        INSERT INTO group_edges
        SELECT DISTINCT first_node, node FROM (
            SELECT n.node, min(n.node) OVER (PARTITION BY c.call_key) AS first_node
            FROM example_calls c JOIN group_nodes n USING (example_id)
        )
        WHERE node <> first_node
        """
    )


def _components(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(
        """
        CREATE OR REPLACE TEMP TABLE group_labels AS
        SELECT node, node AS label FROM (
            SELECT low AS node FROM group_edges UNION SELECT high FROM group_edges
        )
        """
    )
    changed = 1
    while changed:
        db.execute(
            """
            CREATE OR REPLACE TEMP TABLE group_offers AS
            SELECT node, min(label) AS label FROM (
                SELECT node, label FROM group_labels
                UNION ALL
                SELECT e.high, l.label FROM group_edges e JOIN group_labels l ON l.node = e.low
                UNION ALL
                SELECT e.low, l.label FROM group_edges e JOIN group_labels l ON l.node = e.high
            )
            GROUP BY node
            """
        )
        db.execute(
            """
            CREATE OR REPLACE TEMP TABLE group_jumped AS
            SELECT o.node, least(o.label, j.label) AS label
            FROM group_offers o JOIN group_offers j ON j.node = o.label
            """
        )
        row = db.execute(
            """
            SELECT count(*) FROM group_jumped j JOIN group_labels l USING (node)
            WHERE j.label <> l.label
            """
        ).fetchone()
        changed = row[0] if row else 0
        db.execute("CREATE OR REPLACE TEMP TABLE group_labels AS SELECT * FROM group_jumped")
    for table in ("group_offers", "group_jumped"):
        db.execute(f"DROP TABLE IF EXISTS {table}")


def _store_groups(db: duckdb.DuckDBPyConnection) -> int:
    db.execute("BEGIN TRANSACTION")
    try:
        db.execute("DELETE FROM example_groups")
        db.execute(
            """
            INSERT INTO example_groups
            SELECT member.example_id, first.example_id
            FROM group_labels l JOIN group_nodes member ON member.node = l.node
                JOIN group_nodes first ON first.node = l.label
            """
        )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    row = db.execute("SELECT count(DISTINCT label) FROM group_labels").fetchone()
    return row[0] if row else 0
