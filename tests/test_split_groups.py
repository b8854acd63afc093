"""Split groups (``near_duplicates.group_examples``): what the SQL grouping joins, checked
against groups worked out here by brute force from the requests' own words.

The requests are built so every pair is far from the 0.7 threshold or does not
matter: chains of requests, each one its predecessor shifted by three words
(Jaccard 0.90 of word pairs), whose two ends share little (0.37): one group per
chain only if grouping is transitive. Chains use disjoint words, so any merge
across chains is a false one.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import duckdb

from callforge.generator.near_duplicates import group_examples
from callforge.store import Store

CHAINS, LENGTH, WORDS, SHIFT = 40, 10, 60, 3


def word_pairs(request: str) -> set[tuple[str, str]]:
    return set(itertools.pairwise(request.split()))


def jaccard(a: str, b: str) -> float:
    x, y = word_pairs(a), word_pairs(b)
    return len(x & y) / len(x | y)


def chain_requests() -> dict[str, str]:
    """example id -> request; ids ``c{chain}-{link}``."""
    return {
        f"c{chain:03d}-{link}": " ".join(
            f"w{chain}x{word}" for word in range(link * SHIFT, link * SHIFT + WORDS)
        )
        for chain in range(CHAINS)
        for link in range(LENGTH)
    }


def fill(db: Path, requests: dict[str, str], calls: dict[str, dict[str, object]]) -> None:
    """Examples with these requests, each making one call with these arguments."""
    Store(db).close()  # a migrated, empty store
    ids = sorted(requests)
    scenarios = [
        json.dumps(
            {"plan": {"steps": [{"call": {"name": "t", "arguments": calls[i]}, "failure": None}]}}
        )
        for i in ids
    ]
    with duckdb.connect(str(db)) as connection:
        connection.execute(
            """
            INSERT INTO examples (example_id, run_id, tool_name, tool_hash, category, attempt,
                dedup_key, user_request, tool_hashes, scenario, teacher, created_at)
            SELECT unnest($ids), 'run', 't', 'h', 'single', 0, unnest($ids),
                   unnest($requests), ['h'], unnest($scenarios), 'offline', now()
            """,
            {"ids": ids, "requests": [requests[i] for i in ids], "scenarios": scenarios},
        )


def stored_groups(db: Path) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as connection:
        return dict(
            connection.execute("SELECT example_id, group_id FROM example_groups").fetchall()
        )


def brute_force_groups(requests: dict[str, str], threshold: float) -> list[set[str]]:
    """Connected components of the pairs at or above ``threshold``, every pair compared."""
    parent = {i: i for i in requests}

    def root(i: str) -> str:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in itertools.combinations(sorted(requests), 2):
        if jaccard(requests[a], requests[b]) >= threshold:
            parent[root(b)] = root(a)
    components: dict[str, set[str]] = {}
    for i in requests:
        components.setdefault(root(i), set()).add(i)
    return [members for members in components.values() if len(members) > 1]


def as_sets(groups: dict[str, str]) -> list[set[str]]:
    sets: dict[str, set[str]] = {}
    for member, group in groups.items():
        sets.setdefault(group, set()).add(member)
    return sorted(sets.values(), key=min)


def test_near_duplicate_chains_are_one_group_each_and_never_merge(tmp_path: Path) -> None:
    requests = chain_requests()
    first, last = requests["c000-0"], requests[f"c000-{LENGTH - 1}"]
    assert jaccard(first, requests["c000-1"]) > 0.85  # neighbours: near duplicates
    assert jaccard(first, last) < 0.4  # the ends: joined only through the chain
    db = tmp_path / "chains.duckdb"
    fill(db, requests, {i: {"q": n} for n, i in enumerate(sorted(requests))})

    with Store(db) as store:
        count = group_examples(store)

    groups = stored_groups(db)
    expected = sorted(brute_force_groups(requests, 0.85), key=min)
    assert len(expected) == CHAINS and all(len(g) == LENGTH for g in expected)
    assert as_sets(groups) == expected
    assert count == CHAINS
    # a group is named by its smallest member: stable whatever order rows come in
    assert {group for group in groups.values()} == {min(g) for g in expected}


def test_unrelated_requests_stay_apart_and_shared_calls_join(tmp_path: Path) -> None:
    # 300 requests of 20 words each, from a vocabulary of their own: no near duplicates.
    requests = {f"u{n:03d}": " ".join(f"v{n}y{word}" for word in range(20)) for n in range(300)}
    calls: dict[str, dict[str, object]] = {i: {"q": n} for n, i in enumerate(sorted(requests))}
    calls["u007"] = calls["u200"] = calls["u250"] = {"q": "same call"}  # one task, three ways
    calls["u010"] = calls["u011"] = {}  # a call without arguments is no shared task
    db = tmp_path / "unrelated.duckdb"
    fill(db, requests, calls)

    with Store(db) as store:
        count = group_examples(store)

    assert brute_force_groups(requests, 0.3) == []  # nothing alike, checked pair by pair
    assert as_sets(stored_groups(db)) == [{"u007", "u200", "u250"}]
    assert count == 1


def test_grouping_again_replaces_the_groups(tmp_path: Path) -> None:
    requests = chain_requests()
    db = tmp_path / "again.duckdb"
    fill(db, requests, {i: {"q": n} for n, i in enumerate(sorted(requests))})
    with Store(db) as store:
        group_examples(store)
    before = stored_groups(db)
    middle = [f"c000-{link}" for link in range(3, 8)]  # links 2 and 8 are 6 shifts apart
    assert jaccard(requests["c000-2"], requests["c000-8"]) < 0.55
    with duckdb.connect(str(db)) as connection:  # a chain's middle becomes unrelated
        connection.execute(
            "UPDATE examples SET user_request = 'nothing alike ' || example_id "
            "WHERE list_contains($middle, example_id)",
            {"middle": middle},
        )
        for table in ("request_signatures", "example_calls"):  # re-signed as edited
            connection.execute(
                f"DELETE FROM {table} WHERE list_contains($middle, example_id)",
                {"middle": middle},
            )

    with Store(db) as store:
        group_examples(store)

    after = as_sets(stored_groups(db))
    assert {f"c000-{link}" for link in range(3)} in after
    assert {f"c000-{link}" for link in range(8, LENGTH)} in after
    assert not any(set(middle) & group for group in after)
    assert len(after) == CHAINS + 1 and len(as_sets(before)) == CHAINS
