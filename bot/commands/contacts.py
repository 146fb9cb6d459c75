"""`contacts …`, `forget`, `unforget` and the import buttons: contact lists kept from Slack.

`contacts import <list> <Slack file link>` fetches the CSV in a worker (`jobs.contacts`), which
shows the person a dry run with Confirm and Cancel; Confirm imports exactly the previewed bytes
(`multisms.import_drafts`). Lists, members, removal and forgetting are database work, done here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from bot.blocks import contacts as contact_blocks
from bot.blocks.primitives import plural
from bot.commands.file_links import slack_file_id
from bot.commands.registry import Usage, button, command, first_word
from bot.context import Bot, Caller, Reply, say
from multisms import forget as forgetting
from multisms import import_drafts
from multisms.contact_import import import_csv
from multisms.contacts import checked_list_name, contact_number, delete_list, get_list, list_lists, list_members
from multisms.errors import CsvRejected, ForgetKeyUnusable, InvalidListName, InvalidNumber, SendInFlight
from multisms.numbers import mask
from multisms.queues import CONTACTS_IMPORT_FILE, enqueue

ACTIONS = ("import", "lists", "list", "remove")
MEMBERS_SHOWN = 50
IMPORT_EXAMPLE = "contacts import drivers https://yourteam.slack.com/files/U0123ABCD/F0123ABCD/drivers.csv"
FORGET_EXAMPLE = "forget +48600123456"
_LIST_PREFIX = re.compile(r"^list:", re.IGNORECASE)
_QUOTES = "\"'“”„"


@dataclass(frozen=True)
class ContactsRequest:
    """`contacts <action>`: the list it is about, and for `import` the Slack file's id."""

    action: str
    name: str = ""
    file_id: str = ""


def read_contacts(verb: str, rest: str) -> ContactsRequest:
    action, arg = first_word(rest)
    if action not in ACTIONS:
        raise Usage("Say what to do: `contacts import <list> <Slack file link>`, `contacts lists`, "
                    "`contacts list <name>` or `contacts remove <name>`.", IMPORT_EXAMPLE)
    if action == "lists":
        return ContactsRequest("lists")
    if action == "import":
        return _read_import(arg)
    name = list_name(arg)
    if not name:
        raise Usage("Which list? Add its name (`contacts lists` shows them).", f"contacts {action} drivers")
    return ContactsRequest(action, name)


def read_number(verb: str, rest: str) -> tuple[str, str]:
    if not rest:
        raise Usage(f"Add the number to {verb}.", f"{verb} +48600123456")
    return verb, rest


def list_name(text: str) -> str:
    """`drivers`, `list:drivers` or `"Night shift"` → the name (`checked_list_name` judges it)."""
    return _LIST_PREFIX.sub("", text.strip()).strip(_QUOTES).strip()


@command("contacts", grammar=read_contacts, access=lambda request: "read" if request.action in ("lists", "list")
         else "send", help={
    "contacts import <list> <Slack file link>": "add people from a CSV shared in Slack (columns: a phone number, "
                                                "any others become fields); shows what it holds, then Confirm",
    "contacts lists": "the contact lists, with how many people each holds",
    "contacts list <name>": "who is in a list (numbers masked in channels)",
    "contacts remove <name>": "delete a list; its people stay contacts and what was sent stays in the history"})
def contacts(bot: Bot, caller: Caller, request: ContactsRequest) -> Reply:
    return {"import": _import, "lists": _lists, "list": _members, "remove": _remove}[request.action](
        bot, caller, request)


@command("forget", "unforget", grammar=read_number, access="send", help={
    "forget <number>": "a privacy request: erase the number's contact, names and texts (statuses and opt-out stay); "
                       "no later import brings it back silently",
    "unforget <number>": "let a forgotten number be imported again (what was erased stays erased)"})
def forget(bot: Bot, caller: Caller, request: tuple[str, str]) -> Reply:
    verb, number = request
    try:
        with bot.session() as session:
            if verb == "unforget":
                e164 = contact_number(bot.settings, number)
                was = forgetting.unforget(session, bot.settings, number)
                return say(f"{mask(e164)} may be imported again." if was else f"{mask(e164)} was not forgotten.")
            report = forgetting.forget(session, bot.settings, number)
    except InvalidNumber as exc:
        raise Usage(str(exc), f"{verb} +48600123456") from exc
    except (ForgetKeyUnusable, SendInFlight) as exc:
        return say(str(exc))
    return Reply(f"{report.number} is forgotten.", contact_blocks.forgotten(report))


@button(contact_blocks.CONFIRM_IMPORT, access="send")
def confirm_import(bot: Bot, caller: Caller, draft_id: int) -> Reply:
    """Import the previewed file (taken once: a second click finds nothing to import)."""
    draft = import_drafts.take(bot.redis, draft_id, caller.created_by)
    try:
        with bot.session() as session:
            report = import_csv(session, bot.settings, draft.list_name, draft.data, dry_run=False)
    except (CsvRejected, InvalidListName, ForgetKeyUnusable) as exc:
        return Reply(f"Nothing was imported: {exc}", contact_blocks.import_refused(str(exc)))
    text = f"Imported into {report.list_name}: {report.imported} added, {report.updated} updated."
    return Reply(text, contact_blocks.import_done(report))


@button(contact_blocks.CANCEL_IMPORT, access="send")
def cancel_import(bot: Bot, caller: Caller, draft_id: int) -> Reply:
    import_drafts.drop(bot.redis, draft_id, caller.created_by)
    return say("Cancelled: nothing was imported.")


def _import(bot: Bot, caller: Caller, request: ContactsRequest) -> Reply:
    if caller.user is None:
        return say("Slack files are imported from Slack. Here, use the web panel's Contacts tab or "
                   "`POST /api/contacts/import?list=<name>` with the CSV.")
    try:
        name = checked_list_name(request.name)
    except InvalidListName as exc:
        raise Usage(str(exc), IMPORT_EXAMPLE) from exc
    enqueue(bot.redis, CONTACTS_IMPORT_FILE, request.file_id, name, caller.user, caller.channel,
            job_id=f"contacts-import-{uuid.uuid4().hex[:12]}")
    return say("Reading the file… I'll show you what it holds before anything is imported.")


def _lists(bot: Bot, caller: Caller, request: ContactsRequest) -> Reply:
    with bot.session() as session:
        found = list_lists(session)
    return Reply(f"{plural(len(found), 'contact list')}", contact_blocks.list_overview(found))


def _members(bot: Bot, caller: Caller, request: ContactsRequest) -> Reply:
    with bot.session() as session:
        name = get_list(session, request.name).name
        shown, total = list_members(session, request.name, limit=MEMBERS_SHOWN)
    masked = bool(caller.channel) and not caller.channel.startswith("D")
    return Reply(f"{name}: {plural(total, 'member')}", contact_blocks.members(name, shown, total, masked=masked))


def _remove(bot: Bot, caller: Caller, request: ContactsRequest) -> Reply:
    with bot.session() as session:
        removed = delete_list(session, request.name)
    return say(f"Removed the list “{removed.name}” ({plural(removed.members, 'member')}). Its people stay contacts, "
               "and what was sent to them stays in the history.")


def _read_import(arg: str) -> ContactsRequest:
    parts = arg.rsplit(maxsplit=1)
    if len(parts) < 2:
        raise Usage("Add the list's name, then the link of a CSV file shared in Slack.", IMPORT_EXAMPLE)
    file_id = slack_file_id(parts[1])
    if not file_id:
        raise Usage(f"“{parts[1][:60]}” is not a Slack file link: share the CSV in Slack, then use its "
                    "“Copy link”.", IMPORT_EXAMPLE)
    return ContactsRequest("import", list_name(parts[0]), file_id)
