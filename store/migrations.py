"""Numbered, append-only schema migrations for the callforge DuckDB file.

Each migration runs in one transaction together with the row recording it, so a
store is always at exactly one known version. Never edit an applied migration:
append a new one.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

Migration = Callable[[duckdb.DuckDBPyConnection], None]
MIGRATIONS: list[Migration] = []
migration = MIGRATIONS.append


@migration
def m001_initial(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(
        """
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            command VARCHAR NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status VARCHAR NOT NULL,
            config VARCHAR NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE tools (
            tool_hash VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            definition VARCHAR NOT NULL,
            first_seen TIMESTAMP NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE current_tools (
            name VARCHAR PRIMARY KEY,
            tool_hash VARCHAR NOT NULL,
            position INTEGER NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE targets (
            tool_name VARCHAR NOT NULL,
            category VARCHAR NOT NULL,
            target INTEGER NOT NULL,
            PRIMARY KEY (tool_name, category)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE examples (
            example_id VARCHAR PRIMARY KEY,
            run_id VARCHAR NOT NULL,
            tool_name VARCHAR NOT NULL,
            tool_hash VARCHAR NOT NULL,
            category VARCHAR NOT NULL,
            attempt INTEGER NOT NULL,
            failure_kind VARCHAR,
            dedup_key VARCHAR NOT NULL UNIQUE,
            user_request VARCHAR NOT NULL,
            tool_hashes VARCHAR[] NOT NULL,
            scenario VARCHAR NOT NULL,
            teacher VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE rejections (
            run_id VARCHAR NOT NULL,
            tool_name VARCHAR NOT NULL,
            tool_hash VARCHAR NOT NULL,
            category VARCHAR NOT NULL,
            attempt INTEGER NOT NULL,
            stage VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            payload VARCHAR,
            created_at TIMESTAMP NOT NULL
        )
        """
    )


@migration
def m002_teacher_cache_and_usage(db: duckdb.DuckDBPyConnection) -> None:
    """LLM teachers: a response cache, tokens per example/rejection, a summary per run."""
    db.execute(
        """
        CREATE TABLE teacher_cache (
            key VARCHAR PRIMARY KEY,
            teacher VARCHAR NOT NULL,
            response VARCHAR NOT NULL,
            requests INTEGER NOT NULL,
            prompt_tokens BIGINT NOT NULL,
            completion_tokens BIGINT NOT NULL,
            created_at TIMESTAMP NOT NULL
        )
        """
    )
    for table in ("examples", "rejections"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN requests INTEGER DEFAULT 0")
        db.execute(f"ALTER TABLE {table} ADD COLUMN prompt_tokens BIGINT DEFAULT 0")
        db.execute(f"ALTER TABLE {table} ADD COLUMN completion_tokens BIGINT DEFAULT 0")
    db.execute("ALTER TABLE examples ADD COLUMN cached BOOLEAN DEFAULT false")
    db.execute("ALTER TABLE runs ADD COLUMN summary VARCHAR")


@migration
def m003_tool_output_schemas(db: duckdb.DuckDBPyConnection) -> None:
    """A tool's declared result schema, kept apart from the definition trainers see."""
    db.execute("ALTER TABLE tools ADD COLUMN output_schema VARCHAR")


@migration
def m004_split_groups(db: duckdb.DuckDBPyConnection) -> None:
    """Export: what keeps related examples on one side of the train/eval split.

    ``request_signatures`` holds each example's MinHash signature of its request
    (made once, so a new export signs only new examples); ``example_calls`` the
    canonical key of every call it makes successfully; ``example_groups`` the
    groups the last export joined them into (shared call or near-duplicate request).
    """
    db.execute(
        """
        CREATE TABLE request_signatures (
            example_id VARCHAR PRIMARY KEY,
            signature UINTEGER[] NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE example_calls (
            example_id VARCHAR NOT NULL,
            tool_name VARCHAR NOT NULL,
            call_key VARCHAR NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE example_groups (
            example_id VARCHAR PRIMARY KEY,
            group_id VARCHAR NOT NULL
        )
        """
    )


@migration
def m005_cached_prompt_tokens(db: duckdb.DuckDBPyConnection) -> None:
    """Prompt tokens the provider served from its prompt cache, where it reports them."""
    for table in ("examples", "rejections"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN cached_tokens BIGINT DEFAULT 0")
