"""Block Kit for contacts: an import's preview and result, lists, a list's members, forget, reports.

All of these are answers to one person (ephemeral). A list's members are masked unless the
caller says otherwise (`masked=False` only in a DM or the terminal chat).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.blocks.primitives import actions, button, code, context, escape, fit, header, listing, plural, section
from multisms.numbers import mask

if TYPE_CHECKING:
    from multisms.contact_import import ImportReport
    from multisms.contacts import ListSummary, Member
    from multisms.forget import ForgetReport

CONFIRM_IMPORT = "confirm_import"
CANCEL_IMPORT = "cancel_import"
PROBLEMS_SHOWN = 10
"""Bad rows named in a preview; the rest are counted (a spreadsheet shows them all by line)."""


def import_preview(report: ImportReport, draft_id: int, filename: str) -> list[dict]:
    """What importing the file would do, its first problems, and Confirm / Cancel."""
    return fit([
        header(f"Import preview #{draft_id}: {filename}"),
        section(f"Into the list *{escape(report.list_name)}*:\n" + _counts(report)),
        context(_how_read(report)),
        *_problem_sections(report),
        context("Nothing is stored until you confirm. Bad rows are skipped; fix them in the file and import it "
                "again any time (existing contacts are updated, not doubled)."),
        actions(button("Confirm import", CONFIRM_IMPORT, draft_id, "primary"),
                button("Cancel", CANCEL_IMPORT, draft_id, "danger")),
    ])


def import_done(report: ImportReport) -> list[dict]:
    return fit([
        section(f"✅ *Imported into {escape(report.list_name)}*\n" + _counts(report)),
        *_problem_sections(report),
        context(f"Send to them with {code('send list:' + _token(report.list_name) + ' | Hi {name|there}!')}"),
    ])


def import_refused(message: str, invalid: Sequence = ()) -> list[dict]:
    """A file that cannot be imported at all: why, and its first bad rows."""
    blocks = [section(f"*Nothing was imported.* {escape(message)}")]
    if invalid:
        blocks.append(section("*Rows*\n" + listing(_row_lines(invalid[:PROBLEMS_SHOWN], len(invalid)))))
    return fit(blocks)


def list_overview(lists: Sequence[ListSummary]) -> list[dict]:
    if not lists:
        return [section("*Contact lists*\nNo lists yet. Import a CSV with "
                        "`contacts import <list> <Slack file link>`.")]
    lines = [f"• *{escape(found.name)}*: {plural(found.members, 'member')}"
             + (f" ({found.opted_out} opted out)" if found.opted_out else "") for found in lists]
    return [section(f"*Contact lists* ({len(lists)})\n" + listing(lines)),
            context("`contacts list <name>` shows who is in one; `send list:<name> | …` texts them.")]


def members(name: str, shown: Sequence[Member], total: int, *, masked: bool) -> list[dict]:
    if not shown:
        return [section(f"*{escape(name)}* has no members.")]
    lines = [_member_line(member, masked) for member in shown]
    more = f" (the first {len(shown)} of {total})" if total > len(shown) else ""
    blocks = [section(f"*{escape(name)}*: {plural(total, 'member')}{more}\n" + listing(lines))]
    if masked:
        blocks.append(context("Numbers are masked in channels; ask in a DM with the app to see them in full."))
    return fit(blocks)


def forgotten(report: ForgetReport) -> list[dict]:
    done = [f"texts erased: {report.messages_blanked} messages, {report.recipients_blanked} batch recipients"]
    if report.contact_removed:
        done.insert(0, f"contact removed (from {plural(report.lists_left, 'list')})")
    if report.cancelled:
        done.append(f"{plural(report.cancelled, 'text')} still waiting cancelled")
    kept = "kept: the opt-out, and that something was sent" if report.opted_out else "kept: that something was sent"
    return [section(f"*{report.number} is forgotten.* " + "; ".join(done) + f"; {kept}."),
            context("No import brings the number back silently; `unforget <number>` lets it be imported again.")]


def _counts(report: ImportReport) -> str:
    new, updated = (("will be added", "will be updated") if report.dry_run else ("added", "updated"))
    parts = [f"*{report.imported}* {new}", f"*{report.updated}* {updated}", f"{report.unchanged} unchanged"]
    skipped = [f"{plural(report.duplicates, 'duplicate row')} merged" if report.duplicates else "",
               f"{plural(len(report.invalid), 'bad row')} skipped" if report.invalid else "",
               f"{len(report.forgotten)} forgotten on request, skipped" if report.forgotten else ""]
    return " · ".join(parts) + ("\n" + " · ".join(part for part in skipped if part) if any(skipped) else "")


def _how_read(report: ImportReport) -> str:
    read = report.source.to_dict()
    column = f"“{escape(read['number_column'])}”" if read["number_column"] else "found by its content"
    fields = ", ".join(code("{" + name + "}") for name in read["fields"]) or "none"
    return (f"{plural(read['rows_read'], 'row')} read ({read['encoding']}, {read['delimiter']}s) · numbers: {column}"
            f" · fields for personal texts: {fields}")


def _problem_sections(report: ImportReport) -> list[dict]:
    blocks = []
    if report.invalid:
        blocks.append(section("*Bad rows, skipped*\n" + listing(
            _row_lines(report.invalid[:PROBLEMS_SHOWN], len(report.invalid)))))
    if report.forgotten:
        lines = [f"• line {row.line}: {row.number}" for row in report.forgotten[:PROBLEMS_SHOWN]]
        more = [f"…and {len(report.forgotten) - PROBLEMS_SHOWN} more"] if len(report.forgotten) > PROBLEMS_SHOWN else []
        blocks.append(section("*Forgotten on request, skipped* (`unforget <number>` first to import one again)\n"
                              + "\n".join(lines + more)))
    return blocks


def _row_lines(rows: Sequence, total: int) -> list[str]:
    lines = [f"• line {row.line}: {code(row.value) if row.value else '(empty)'}: {escape(row.reason)}"
             for row in rows]
    return lines + ([f"…and {total - len(rows)} more"] if total > len(rows) else [])


def _member_line(member: Member, masked: bool) -> str:
    number = mask(member.number) if masked else member.number
    name = f" {escape(member.name)}" if member.name else ""
    return f"• {code(number)}{name}" + (" _(opted out)_" if member.opted_out else "")


def _token(name: str) -> str:
    return f'"{name}"' if " " in name else name
