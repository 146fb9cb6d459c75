"""`/api/opt-outs`: the numbers that asked not to be texted (STOP, Slack, API, Twilio 21610)."""

from __future__ import annotations

from flask import Blueprint, Response

from multisms import optouts
from webhooks import resources
from webhooks.api.models import OptOut, OptOutPage, OptOutQuery
from webhooks.api.openapi import operation

bp = Blueprint("optouts", __name__)

CSV_ROWS = 10**6
"""A download holds every opt-out; a million rows is far past any real list."""


@bp.get("/opt-outs")
@operation("Numbers that opted out (STOP, Slack, API, Twilio 21610)", query=OptOutQuery, csv=True,
           responses={200: (OptOutPage, "A page of opt-outs, or all of them as CSV")})
def opt_outs(query: OptOutQuery):
    """Numbers that opted out, newest first; `format=csv` downloads them all."""
    session = resources.db()
    if query.format == "csv":
        rows, _ = optouts.list_all(session, limit=CSV_ROWS)
        lines = ["number,since,source"] + [f"{r.number},{r.since.isoformat()},{r.source}" for r in rows]
        return Response("\n".join(lines) + "\n", mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=opt-outs.csv"})
    rows, total = optouts.list_all(session, limit=query.limit, offset=query.offset)
    return OptOutPage(items=[OptOut.of(r) for r in rows], count=len(rows), total=total)
