"""How many argument sets per second seeding draws, for a flat and a deep tool schema.

Run by hand: ``.venv/bin/python benchmarks/bench_seeding.py [--count N] [--repeat R]``.
Prints figures for seed_arguments alone, with violate_argument, and the ratio
of the deep schema to the flat one. Each figure is the best of ``R`` timed runs,
so a busy machine skews it less.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callforge.generator.seeding import seed_arguments, violate_argument

FLAT_TOOL: dict[str, Any] = {
    "type": "object",
    "properties": {
        "customer_email": {"type": "string", "format": "email"},
        "city": {"type": "string", "description": "Delivery city"},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 50},
        "amount": {"type": "number", "description": "Order total"},
        "currency": {"type": "string", "description": "ISO 4217 currency code"},
        "priority": {"type": "string", "enum": ["low", "normal", "high"]},
    },
    "required": ["customer_email", "city", "quantity", "amount"],
}

DEEP_TOOL: dict[str, Any] = {
    "type": "object",
    "$defs": {
        "LineItem": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^SKU-[0-9]{5}$"},
                "quantity": {"type": "integer", "minimum": 1},
                "price": {"anyOf": [{"type": "number", "multipleOf": 0.01}, {"type": "null"}]},
                "options": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/Option"},
                    "maxItems": 3,
                },
            },
            "required": ["sku", "quantity"],
        },
        "Option": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 20},
                "value": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "required": ["name", "value"],
        },
        "Address": {
            "type": "object",
            "properties": {
                "street": {"type": "string"},
                "city": {"type": "string"},
                "postcode": {"type": "string"},
                "country_code": {"type": "string", "pattern": "^[A-Z]{2}$"},
            },
            "required": ["street", "city", "country_code"],
        },
    },
    "properties": {
        "order_id": {"type": "string"},
        "items": {"type": "array", "items": {"$ref": "#/$defs/LineItem"}, "minItems": 1},
        "shipping": {"allOf": [{"$ref": "#/$defs/Address"}, {"required": ["postcode"]}]},
        "delivery_window": {
            "type": "object",
            "properties": {
                "start_date": {"type": "string", "format": "date"},
                "end_date": {"type": "string", "format": "date"},
            },
            "required": ["start_date", "end_date"],
        },
        "notes": {"type": ["string", "null"]},
    },
    "required": ["order_id", "items", "shipping"],
}


def per_second(run: Callable[[], None], count: int, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            run()
        best = min(best, time.perf_counter() - start)
    return count / best


def measure(name: str, schema: dict[str, Any], count: int, repeat: int) -> float:
    rng = random.Random(0)
    faker = Faker()
    faker.seed_instance(0)
    seed_arguments(schema, rng, faker)  # compile the plan outside the timing

    def seed_only() -> None:
        seed_arguments(schema, rng, faker)

    def seed_and_violate() -> None:
        violate_argument(schema, seed_arguments(schema, rng, faker), rng, faker)

    seeded = per_second(seed_only, count, repeat)
    violated = per_second(seed_and_violate, count // 2, repeat)
    print(
        f"{name:<6} seed_arguments: {seeded:>8,.0f} sets/s  + violate_argument: {violated:>8,.0f}/s"
    )
    return seeded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000, help="argument sets per timed run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best one counts")
    args = parser.parse_args()
    flat = measure("flat", FLAT_TOOL, args.count, args.repeat)
    deep = measure("deep", DEEP_TOOL, args.count, args.repeat)
    print(f"deep/flat ratio: {deep / flat:.2f}")


if __name__ == "__main__":
    main()
