"""A small MCP server (the official SDK's MCPServer) the execution tests start over stdio,
or over streamable HTTP with ``--http PORT``."""

from __future__ import annotations

from typing import TypedDict

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("weather")

TEMPERATURES = {"Oslo": -3.5, "Lima": 19.0}


def temperature_of(city: str) -> float:
    """A known city's reading; any other city's made up from its name, the same every time."""
    return TEMPERATURES.get(city, round(len(city) * 1.5 - 10, 1))


class Reading(TypedDict):
    city: str
    celsius: float


@server.tool()
def get_temperature(city: str) -> Reading:
    """Current temperature of a city."""
    if not city.strip() or city.isdigit():
        raise ToolError(f"unknown city: {city}")  # the SDK's way to report a failure
    return {"city": city, "celsius": temperature_of(city)}


@server.tool(structured_output=False)
def station_note(city: str) -> str:
    """A plain-text note about a city's weather station."""
    return f"{city} station is online"


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--http":  # streamable HTTP on 127.0.0.1:PORT/mcp
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
