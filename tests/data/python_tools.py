"""Example tools written as typed Python: functions in three docstring styles and a model.

``callforge generate --tools tests/data/python_tools.py`` imports every public
function and Pydantic model defined here; tests/test_importers.py checks the result.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    URGENT = "urgent"


class Address(BaseModel):
    """A postal address."""

    street: str = Field(description="Street and house number")
    city: str = Field(description="City or town")
    country: str = Field(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code")


class CreateTicket(BaseModel):
    """Open a support ticket for a customer.

    Attributes:
        subject: One-line summary of the problem.
        priority: How urgent the ticket is.
    """

    subject: str = Field(max_length=80)
    customer_email: str = Field(description="The customer's email address")
    priority: Priority = Priority.NORMAL


def search_products(
    query: str,
    category: Literal["books", "music", "games"] | None = None,
    max_results: int = 10,
) -> list[dict[str, str]]:
    """Search the product catalogue.

    Matches product names and descriptions.

    Args:
        query: Words to look for in product names.
        category: Only return products of this category.
        max_results: How many products to return
            at most.
    """
    return []


def ship_order(order_id: str, address: Address, express: bool = False) -> str:
    """Ship an order to an address.

    :param order_id: Identifier of the order to ship.
    :param Address address: Where to deliver the parcel.
    :param express: Use next-day delivery.
    """
    return order_id


def book_meeting(
    title: str, day: date, priority: Priority = Priority.NORMAL, attendees: list[str] | None = None
) -> dict[str, str]:
    """Book a meeting room for a day.

    Parameters
    ----------
    title : str
        What the meeting is about.
    day : date
        The day of the meeting.
    priority : Priority
        How important the meeting is.
    attendees : list of str, optional
        Email addresses of the people to invite.
    """
    return {"title": title}


def _format_receipt(order_id: str) -> str:
    return f"receipt for {order_id}"
