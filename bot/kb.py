"""`/multisms kb …` and `/multisms ask`: manage the knowledge base and ask it questions.

Listing and removing are database work, done here. Anything that calls OpenAI (indexing,
`ask`, `kb search`) or downloads a Slack file runs in a worker (`jobs.knowledge`), which
answers the person with an ephemeral message; in the terminal chat the handler waits for it.
"""

from __future__ import annotations

import uuid

from bot import kb_blocks
from bot.context import Bot, Caller, Reply, say
from bot.grammar import Command
from multisms import knowledge
from multisms.queues import KB_ADD_FILE, KB_ASK, KB_REBUILD, KB_SEARCH, JobKind, NoWorker, enqueue, wait_for_result

LIST_LIMIT = 30
SHELL_WAIT_SECONDS = 60
NO_KEY = "The AI is off: set OPENAI_API_KEY to use `ask` and `kb search`. Everything else works."


def kb(bot: Bot, caller: Caller, command: Command) -> Reply:
    return {"add": _add, "list": _list, "remove": _remove, "search": _search, "gaps": _gaps}[command.action](
        bot, caller, command)


def ask(bot: Bot, caller: Caller, command: Command) -> Reply:
    if not bot.settings.openai_api_key:
        return say(NO_KEY)
    return _in_worker(bot, caller, KB_ASK, command.message, waiting="Looking that up…")


def _add(bot: Bot, caller: Caller, command: Command) -> Reply:
    if command.file_id:
        if caller.user is None:
            return say("Slack files are added from Slack. Here, put the file in a folder and run "
                       "`python scripts/build_index.py --folder <folder>`.")
        return _in_worker(bot, caller, KB_ADD_FILE, command.file_id, caller.created_by,
                          waiting="Fetching the file… I'll tell you when it is in the knowledge base.")
    with bot.session() as session:
        document, _ = knowledge.save_document(session, title=knowledge.title_for(command.message),
                                                   text=command.message, source="slack",
                                                   created_by=caller.created_by)
        document_id, title = document.id, document.title
    return say(f"Added #{document_id} “{title}” to the knowledge base. " + _rebuild(bot, caller))


def _remove(bot: Bot, caller: Caller, command: Command) -> Reply:
    with bot.session() as session:
        title = knowledge.remove_document(session, command.document_id).title
    return say(f"Removed #{command.document_id} “{title}”. " + _rebuild(bot, caller))


def _list(bot: Bot, caller: Caller, command: Command) -> Reply:
    with bot.session() as session:
        rows, total = knowledge.list_documents(session, LIST_LIMIT)
        return Reply(f"Knowledge base: {total} documents", kb_blocks.documents(rows, total))


def _gaps(bot: Bot, caller: Caller, command: Command) -> Reply:
    with bot.session() as session:
        rows, total = knowledge.list_gaps(session, LIST_LIMIT)
        return Reply(f"{total} unanswered questions", kb_blocks.gaps(rows, total))


def _search(bot: Bot, caller: Caller, command: Command) -> Reply:
    if not bot.settings.openai_api_key:
        return say(NO_KEY)
    return _in_worker(bot, caller, KB_SEARCH, command.message, waiting="Searching…")


def _rebuild(bot: Bot, caller: Caller) -> str:
    """Queue an incremental rebuild (only changed documents are embedded again)."""
    if not bot.settings.openai_api_key:
        return "The AI is off (no OPENAI_API_KEY), so it will be indexed once a key is set."
    enqueue(bot.redis, KB_REBUILD, caller.user, caller.channel, job_id=f"kb-rebuild-{uuid.uuid4().hex[:12]}")
    return "Indexing it now; the AI can use it in a moment."


def _in_worker(bot: Bot, caller: Caller, kind: JobKind, *args, waiting: str) -> Reply:
    job = enqueue(bot.redis, kind, *args, caller.user, caller.channel, job_id=f"kb-{uuid.uuid4().hex[:12]}")
    if caller.user:
        return say(waiting)  # the job answers in Slack
    try:  # the terminal chat waits for the worker's answer (its return value)
        result = wait_for_result(bot.redis, job, SHELL_WAIT_SECONDS)
    except NoWorker:
        return say("No worker is running, so nobody can answer yet: start one with `python -m jobs.worker` "
                   "(make run does).")
    except RuntimeError:
        return say("That failed in the worker; its log says why.")
    if result is None:
        return say("No answer yet: the worker is busy. Try again in a moment.")
    return Reply(result["text"], result["blocks"])
