"""What several benchmarks share: a database of their own for one run."""

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def fresh_database(name: str) -> tuple[str, Callable[[], None]]:
    """A new var directory, and the database a run works in: a SQLite file there, or, when
    DATABASE_URL names a PostgreSQL server, the database `name` created on it (the URL's own database
    is not touched). Returns a description to print and the function that removes both."""
    var = tempfile.mkdtemp(prefix=f"{name.replace('_', '-')}-")
    os.environ["TOUCHPOINT_VAR"] = var
    Path(var, "static").mkdir()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"SQLite file {var}/touchpoint.sqlite3 (WAL)", lambda: shutil.rmtree(var, ignore_errors=True)
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(var, ignore_errors=True)

    return f"PostgreSQL database {name} on {parts.hostname}:{parts.port or 5432}", drop
