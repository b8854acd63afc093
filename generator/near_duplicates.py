"""Split groups: examples that must land on the same side of the train/eval split.

Two examples belong together when they make the same call (tool and canonical
arguments, whatever their categories) or when their requests are near duplicates:
a model that saw one in training has seen the other's answer. Near duplicates are
found with MinHash signatures (datasketch) of each request's word pairs and
locality-sensitive hashing: signatures are cut into bands, examples sharing a
band are candidates, and a candidate joins when the signatures agree on at least
``THRESHOLD`` of their values (the estimated Jaccard similarity). The signatures
and call keys live in the store, so an export signs only examples it has not seen;
buckets, candidate pairs and the groups' connected components are SQL over the
whole store (``store/split_groups.py``), so grouping stays close to linear in the
number of requests and its memory is DuckDB's, bounded by ``Store.memory_bound``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

from callforge.generator.dedup import normalised_request
from callforge.generator.tools import canonical_json
from callforge.store import Store
from callforge.store.split_groups import join_groups

NUM_PERM = 64
BANDS, ROWS = 16, 4
"""16 bands of 4 values: pairs at Jaccard 0.8 share a band with probability 0.9999,
pairs at 0.3 with 0.12 (and are then refused by the threshold check)."""
THRESHOLD = 0.7
MINHASH_SEED = 1
REPRESENTATIVES = 32
"""In a crowded bucket a member is compared with at most this many of its first members."""


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
        done += _key_batch(store, rows)
    return done


def _key_batch(store: Store, rows: list[tuple[str, str, str]]) -> int:
    """One batch, in a function of its own: its signatures are gone before the next is made."""
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
    return len(rows)


def group_examples(store: Store) -> int:
    """Key new examples, join related ones into groups, store the groups; return their count."""
    with store.memory_bound():
        key_new_examples(store)
        return join_groups(
            store, bands=BANDS, rows=ROWS, threshold=THRESHOLD, representatives=REPRESENTATIVES
        )
