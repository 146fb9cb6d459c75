"""`/`, where Heroku's "Open app" lands: the web panel when it is on, else a short page saying where
things are. It shows paths only, never a setting's value."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from webhooks import resources
from webhooks.panel.views import SECURITY_HEADERS

bp = Blueprint("home", __name__, template_folder="templates")


@bp.get("/")
def home():
    if resources.settings().panel_password:
        return redirect(url_for("panel.index"))
    return render_template("home.html"), 200, SECURITY_HEADERS
