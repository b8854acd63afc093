"""A staging HTTP API with its OpenAPI document, served on 127.0.0.1 for the execution tests.

It records what each request carried (path, query, headers, JSON body), so a test can
check that every argument went where the document puts it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.openai_server import HOST, _NotifyingServer, bind_socket, uvicorn_config

TOKEN = "staging-secret-7f3a"

ORDERS: dict[str, dict[str, Any]] = {
    "A-100": {"order_id": "A-100", "status": "pending", "total": 42.5},
    "A-200": {"order_id": "A-200", "status": "shipped", "total": 9.99},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Orders", "version": "1.0"},
    "paths": {
        "/orders/{order_id}": {
            "get": {
                "operationId": "get_order",
                "summary": "Look up one order.",
                "parameters": [
                    {
                        "name": "order_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {"name": "currency", "in": "query", "schema": {"type": "string"}},
                    {"name": "X-Region", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "The order.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "order_id": {"type": "string"},
                                        "status": {"type": "string"},
                                        "total": {"type": "number"},
                                    },
                                    "required": ["order_id", "status", "total"],
                                }
                            }
                        },
                    },
                    "404": {"description": "No such order."},
                },
            }
        },
        "/orders": {
            "post": {
                "operationId": "create_order",
                "summary": "Create an order.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "customer": {"type": "string"},
                                    "items": {"type": "integer", "minimum": 1},
                                },
                                "required": ["customer", "items"],
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "Created."}},
            }
        },
    },
}


def order_record(order_id: str) -> dict[str, Any] | None:
    """The stored order, or one made up from any id of letters, digits and dashes."""
    if order_id in ORDERS:
        return ORDERS[order_id]
    if not order_id or order_id.startswith("Z") or not order_id.replace("-", "").isalnum():
        return None
    status = "pending" if len(order_id) % 2 else "shipped"
    return {"order_id": order_id, "status": status, "total": float(len(order_id))}


class OrdersApi:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/orders/{order_id}", self.get_order, methods=["GET"]),
                Route("/orders", self.create_order, methods=["POST"]),
            ]
        )

    async def _record(self, request: Request) -> JSONResponse | None:
        body = await request.json() if await request.body() else None
        self.requests.append(
            {
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": body,
            }
        )
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"detail": "missing or wrong token"}, status_code=401)
        return None

    async def get_order(self, request: Request) -> JSONResponse:
        denied = await self._record(request)
        if denied:
            return denied
        order = order_record(request.path_params["order_id"])
        if order is None:
            return JSONResponse({"detail": "order not found"}, status_code=404)
        return JSONResponse(order)

    async def create_order(self, request: Request) -> JSONResponse:
        denied = await self._record(request)
        if denied:
            return denied
        body = self.requests[-1]["body"]
        return JSONResponse({"order_id": "A-300", **body, "status": "pending"}, status_code=201)


@contextlib.contextmanager
def serve_orders_api() -> Iterator[tuple[str, OrdersApi]]:
    """The API on a free port of 127.0.0.1 for the block: (base URL, the app's record)."""
    api = OrdersApi()
    sock = bind_socket()
    ready = threading.Event()
    server = _NotifyingServer(uvicorn_config(api.app), on_ready=ready.set)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not ready.wait(0.05):
            if not thread.is_alive():
                raise RuntimeError("the orders API failed to start")
        yield f"http://{HOST}:{sock.getsockname()[1]}", api
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
