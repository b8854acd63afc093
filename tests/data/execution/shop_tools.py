"""Python tools the execution tests call for real (``--execute``)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pydantic import BaseModel

ORDERS = {"A-100": ("pending", 3), "A-200": ("shipped", 1)}


@dataclass
class Order:
    order_id: str
    status: str
    items: int
    placed_at: datetime


class Quote(BaseModel):
    currency: str
    amount: float
    valid_until: date


def find_order(order_id: str) -> Order:
    """Look up one order by its id.

    Args:
        order_id: The order's id, e.g. A-100.
    """
    if order_id not in ORDERS:
        raise KeyError(f"no order with id {order_id}")
    status, items = ORDERS[order_id]
    return Order(order_id, status, items, datetime(2026, 3, 1, 9, 30, tzinfo=UTC))


def quote_price(amount: float, currency: str) -> Quote:
    """Quote an amount in a currency, valid for a fixed date."""
    return Quote(
        currency=currency.upper(), amount=round(amount * 1.1, 2), valid_until=date(2026, 4, 1)
    )


def count_words(text: str) -> int:
    """Count the words of a text."""
    print("counting")  # printed output never reaches the result
    log = os.environ.get("SHOP_CALL_LOG")
    if log:  # the tests count real calls here
        with open(log, "a", encoding="utf-8") as calls:
            calls.write(text.replace("\n", " ") + "\n")
    return len(text.split())


def reject_customer(customer_id: str) -> dict[str, str]:
    """Look up a customer; this one always fails."""
    raise ValueError(f"customer {customer_id} is suspended")


def wait_for_report(seconds: float) -> str:
    """Wait for a report; hangs past any short timeout."""
    time.sleep(seconds)
    return "done"


def open_lock(name: str) -> object:
    """Returns an object that has no JSON form."""
    return threading.Lock()


def fill_memory(megabytes: int) -> int:
    """Allocate memory, to hit the worker's limit."""
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def list_orders(customer_name: str) -> list[Order]:
    """List a customer's orders (this shop has one customer's worth of orders)."""
    return [find_order(order_id) for order_id in ORDERS]
