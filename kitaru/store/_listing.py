"""The web UI's executions list as store queries: one keyset page with filters, and a few rows' live status.

Reads only; the columns are the list's (no JSON documents), so a page over many rows stays cheap.
"""

from __future__ import annotations

from typing import Any

from kitaru.store._guards import like_prefix

LIST_COLUMNS = ("id", "flow_name", "status", "stack", "runs", "created_at", "ended_at", "updated_at")
STATUS_IDS_MAX = 200


class ListingQueries:
    """The UI's list queries over `self.db` (mixed into StateService)."""

    db: Any

    def records_owners(self) -> bool:
        """Whether executions record their owner (a store migrated before owners existed has no such column)."""
        cached = getattr(self.db, "_ui_has_owner", None)
        if cached is None:
            try:
                self.db.query("SELECT owner_name FROM executions WHERE 1=0")
                cached = True
            except Exception:  # noqa: BLE001 - the column arrives with the identity model (owners)
                cached = False
            try:
                self.db._ui_has_owner = cached
            except AttributeError:
                pass
        return bool(cached)

    def execution_page(self, *, status: str = "", flow: str = "", stack: str = "", owner: str = "",
                       created_after: float | None = None, id_prefix: str = "",
                       before: tuple[float, str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Up to `limit` executions (list columns, plus owner_name when recorded), newest first, matching every
        filter given; `before` = (created_at, id) of the previous page's last row."""
        has_owner = self.records_owners()
        columns = ", ".join(LIST_COLUMNS + (("owner_name",) if has_owner else ()))
        where: list[str] = []
        params: dict[str, Any] = {"n": limit}
        for name, column, value in (("status", "status", status), ("flow", "flow_name", flow),
                                    ("stack", "stack", stack)):
            if value:
                where.append(f"{column} = :{name}")
                params[name] = value
        if owner and has_owner:
            where.append("owner_name = :owner")
            params["owner"] = owner
        if created_after is not None:
            where.append("created_at >= :since")
            params["since"] = created_after
        if id_prefix:
            where.append("id LIKE :q ESCAPE '!'")
            params["q"] = like_prefix("".join(c for c in id_prefix if c.isalnum() or c in "-_"))
        if before:
            where.append("(created_at < :bt OR (created_at = :bt AND id < :bid))")
            params["bt"], params["bid"] = before
        sql = (f"SELECT {columns} FROM executions {'WHERE ' + ' AND '.join(where) if where else ''}"
               " ORDER BY created_at DESC, id DESC LIMIT :n")
        return [dict(r) for r in self.db.query(sql, params)]

    def execution_statuses(self, ids: list[str]) -> list[dict[str, Any]]:
        """id, status, runs, created_at and ended_at of (up to STATUS_IDS_MAX of) the executions `ids`."""
        if not ids:
            return []
        names = {f"i{n}": i for n, i in enumerate(ids[:STATUS_IDS_MAX])}
        return [dict(r) for r in self.db.query(f"SELECT id, status, runs, created_at, ended_at FROM executions"
                                               f" WHERE id IN ({', '.join(':' + k for k in names)})", names)]
