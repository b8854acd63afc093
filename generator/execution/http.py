"""HTTP APIs from an OpenAPI document, called at ``--base-url-for-tools`` (a staging server).

Each tool is one operation; its arguments go where the document puts them: path
parameters into the URL template, query and header parameters as such, body
properties into a JSON object body (or the one ``body`` argument as the whole body).
A 2xx response's JSON is the result; any other status is an error result holding the
status and the API's own message.

Auth comes from the environment, never from a file or a flag: ``CALLFORGE_TOOLS_TOKEN``
is sent as ``Authorization: Bearer ...`` (or under the header ``CALLFORGE_TOOLS_AUTH_HEADER``
names, for an API key). Like the teacher's key it is never stored, logged or exported,
and error messages never quote the request's headers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from callforge.generator.errors import InputError
from callforge.generator.execution.outcome import ToolOutcome, json_result, parsed_text
from callforge.generator.importers.openapi import Route, operation_routes

TOKEN_ENV = "CALLFORGE_TOOLS_TOKEN"
AUTH_HEADER_ENV = "CALLFORGE_TOOLS_AUTH_HEADER"
DEFAULT_TIMEOUT_S = 10.0
_MESSAGE_KEYS = ("detail", "message", "error", "title")


class HttpExecutor:
    """Calls the operations of one OpenAPI document at ``base_url``."""

    kind = "http"

    def __init__(
        self,
        document: Mapping[str, Any],
        base_url: str,
        *,
        source: str = "<openapi>",
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"--base-url-for-tools: expected an http(s) URL, got '{base_url}'")
        self.routes = operation_routes(document, source=source)
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=auth_headers(os.environ),
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        route = self.routes.get(name)
        if route is None:
            return ToolOutcome(error=f"the OpenAPI document has no operation '{name}'")
        await self.start()
        assert self._session is not None
        request = http_request(route, arguments)
        try:
            async with self._session.request(
                route.method.upper(), self.base_url + request.path, **request.options
            ) as response:
                text = await response.text()
                status, reason = response.status, response.reason or ""
        except TimeoutError:
            return ToolOutcome(error=f"the API did not answer within {self.timeout_s:g} s")
        except aiohttp.ClientError as error:
            return ToolOutcome(error=f"the API could not be reached: {type(error).__name__}")
        body = parsed_text(text) if text else None
        if 200 <= status < 300:
            return ToolOutcome(value=json_result(body))
        return ToolOutcome(error=f"HTTP {status} {reason}: {api_message(body)}".rstrip(": "))


class HttpRequest:
    """The path (parameters filled in) and aiohttp options of one call."""

    def __init__(self, path: str, options: dict[str, Any]) -> None:
        self.path = path
        self.options = options


def http_request(route: Route, arguments: Mapping[str, Any]) -> HttpRequest:
    """Place each argument where the document says: path, query, header or body."""
    path = route.path
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    body: dict[str, Any] = {}
    for argument, value in arguments.items():
        if argument == route.body_value:
            continue
        where, name = route.locations.get(argument, ("query", argument))
        if where == "path":
            path = path.replace("{" + name + "}", quote(_text(value), safe=""))
        elif where == "query":
            query[name] = _text(value)
        elif where == "header":
            headers[name] = _text(value)
        else:
            body[name] = value
    options: dict[str, Any] = {"params": query, "headers": headers}
    if route.body_value is not None and route.body_value in arguments:
        options["json"] = arguments[route.body_value]
    elif body:
        options["json"] = body
    return HttpRequest(path, options)


def _text(value: Any) -> str:
    """A parameter as it goes in a URL or header (booleans as JSON writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    return str(value)


def auth_headers(environ: Mapping[str, str]) -> dict[str, str]:
    """The auth header from the environment: a bearer token, or an API key header."""
    token = environ.get(TOKEN_ENV, "").strip()
    if not token:
        return {}
    header = environ.get(AUTH_HEADER_ENV, "").strip()
    return {header: token} if header else {"Authorization": f"Bearer {token}"}


def api_message(body: Any) -> str:
    """The API's own words about a failure: its detail, message or error field, or the text."""
    if isinstance(body, Mapping):
        for key in _MESSAGE_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, Mapping):
                return api_message(value)
    text = body if isinstance(body, str) else "" if body is None else str(body)
    return " ".join(text.split())[:500]
