"""The SMS keywords carriers and Twilio reserve, recognised as they do: one word, any case.

Pure: no I/O. An opt-out keyword is honoured without exception; none of them ever gets an
automatic or AI reply.
"""

from __future__ import annotations

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "UNSTOP", "YES"})
HELP = frozenset({"HELP", "INFO"})


def classify(body: str | None) -> str | None:
    """`opt_out`, `opt_in`, `help`, or None for an ordinary message.

    `" Stop. "` and `"stop!"` count; `"stop sending me ads"` does not (as with Twilio).
    """
    word = (body or "").strip().strip(".!").strip().upper()
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    if word in HELP:
        return "help"
    return None
