"""``source_files``: the files a files source has loaded (path, size, mtime, sha256), so a pass
loads only new or changed files and a restart loads nothing twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .schema import source_files

__all__ = ["loaded_files", "record_file"]


def loaded_files(conn: Connection, source_id: int) -> dict[str, Any]:
    """path -> its row (size, mtime, sha256, loaded_at)."""
    query = select(source_files).where(source_files.c.source_id == source_id)
    return {row.path: row for row in conn.execute(query)}


def record_file(conn: Connection, source_id: int, path: str, size: int, mtime: datetime, sha256: str,
                now: datetime) -> None:
    """``path`` is loaded as it is now (a changed file's row is updated)."""
    values = {"size": size, "mtime": mtime, "sha256": sha256, "loaded_at": now}
    done = conn.execute(update(source_files).where(source_files.c.source_id == source_id,
                                                   source_files.c.path == path).values(values))
    if done.rowcount == 0:
        conn.execute(insert(source_files).values(source_id=source_id, path=path, **values))
