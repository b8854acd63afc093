"""Split groups: examples that must land on the same side of the train/eval split.

Two examples belong together when they make the same call (tool and canonical
arguments, whatever their categories) or when their requests are near duplicates:
a model that saw one in training has seen the other's answer. Near duplicates are
found with MinHash signatures (datasketch) of each request's word pairs and
locality-sensitive hashing: signatures are cut into bands, examples sharing a
band are candidates, and a candidate joins when the signatures agree on at least
``THRESHOLD`` of their values (the estimated Jaccard similarity). The signatures
and call keys live in the store, so an export signs only examples it has not seen;
the bucketing is a GROUP BY in DuckDB, so grouping stays close to linear in the
number of requests.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

from callforge.generator.dedup import normalised_request
from callforge.generator.tools import canonical_json
from callforge.store import Store

NUM_PERM = 64
BANDS, ROWS = 16, 4
"""16 bands of 4 values: pairs at Jaccard 0.8 share a band with probability 0.9999,
pairs at 0.3 with 0.12 (and are then refused by the threshold check)."""
THRESHOLD = 0.7
MINHASH_SEED = 1
_REPRESENTATIVES = 32
"""In a crowded bucket a candidate is compared with at most this many earlier ones."""


def request_shingles(request: str) -> list[bytes]:
    """The request's word pairs (its words, when it has fewer than two), normalised."""
    words = normalised_request(request).split()
    if len(words) < 2:
        return [word.encode() for word in words] or [b""]
    return [f"{a} {b}".encode() for a, b in itertools.pairwise(words)]


def request_signatures(requests: Iterable[str]) -> list[list[int]]:
    from datasketch import MinHash

    batch = [request_shingles(request) for request in requests]
    return [
        minhash.hashvalues.tolist()
        for minhash in MinHash.bulk(batch, num_perm=NUM_PERM, seed=MINHASH_SEED)
    ]


def call_keys(scenario: dict[str, Any]) -> list[tuple[str, str]]:
    """(tool, key) of every call the example makes successfully: its tasks.

    A call without arguments is no task of its own (every example of a tool without
    parameters makes it): sharing one says nothing, so it keys nothing."""
    return sorted(
        {
            (
                step["call"]["name"],
                canonical_json([step["call"]["name"], step["call"]["arguments"]]),
            )
            for step in scenario["plan"]["steps"]
            if step.get("failure") is None and step["call"]["arguments"]
        }
    )


def key_new_examples(store: Store) -> int:
    """Sign and key the examples the store has no split keys for; return how many."""
    done = 0
    for rows in store.examples_to_key():
        signatures = request_signatures(request for _, request, _ in rows)
        calls = [
            (example_id, tool, key)
            for example_id, _, scenario in rows
            for tool, key in call_keys(json.loads(scenario))
        ]
        store.add_split_keys(
            [(example_id, sig) for (example_id, _, _), sig in zip(rows, signatures, strict=True)],
            calls,
        )
        done += len(rows)
    return done


class _Groups:
    """Union-find over example ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent
        root = item
        while (up := parent.get(root, root)) != root:
            root = up
        while item != root:  # path compression
            up = parent.get(item, item)
            parent[item] = root
            item = up
        return root

    def union(self, a: str, b: str) -> None:
        self.parent.setdefault(a, a)  # every member is recorded, roots included
        self.parent.setdefault(b, b)
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:  # the smaller id names the group: stable across runs
            low, high = sorted((root_a, root_b))
            self.parent[high] = low


def similarity(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity of two requests' shingle sets."""
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def group_examples(store: Store) -> int:
    """Key new examples, join related ones into groups, store the groups; return their count."""
    with store.memory_bound():
        return _group(store)


def _group(store: Store) -> int:
    key_new_examples(store)
    groups = _Groups()
    for ids in store.shared_calls():
        for other in ids[1:]:
            groups.union(ids[0], other)
    for bucket in store.signature_buckets(BANDS, ROWS):
        representatives: list[tuple[str, list[int]]] = []
        for example_id, signature in bucket:
            match = next(
                (rep for rep, sig in representatives if similarity(sig, signature) >= THRESHOLD),
                None,
            )
            if match is not None:
                groups.union(match, example_id)
            elif len(representatives) < _REPRESENTATIVES:
                representatives.append((example_id, signature))
    members = sorted(groups.parent)
    store.replace_groups(members, [groups.find(member) for member in members])
    return len({groups.find(member) for member in members})
