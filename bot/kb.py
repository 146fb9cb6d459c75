"""`/multisms kb …` and `/multisms ask`: manage the knowledge base and ask it questions.

Listing and removing are database work, done here. Anything that calls OpenAI (indexing,
`ask`, `kb search`) or downloads a Slack file runs in a worker (`jobs.knowledge`), which
answers the person with an ephemeral message; in the terminal chat the handler waits for it.
"""

from __future__ import annotations

import time
import uuid

from rq import Worker
from rq.job import Job, JobStatus

from bot import kb_blocks
from bot.context import Bot, Caller, Reply, say
from bot.grammar import Command
from multisms import knowledge_base
from multisms.queues import enqueue

LIST_LIMIT = 30
SHELL_WAIT_SECONDS = 60
NO_KEY = "The AI is off: set OPENAI_API_KEY to use `ask` and `kb search`. Everything else works."


def kb(bot: Bot, caller: Caller, command: Command) -> Reply:
    return {"add": _add, "list": _list, "remove": _remove, "search": _search, "gaps": _gaps}[command.action](
        bot, caller, command)


def ask(bot: Bot, caller: Caller, command: Command) -> Reply:
    if not bot.settings.openai_api_key:
        return say(NO_KEY)
    return _in_worker(bot, caller, "jobs.knowledge.ask", command.message, waiting="Looking that up…")


def _add(bot: Bot, caller: Caller, command: Command) -> Reply:
    if command.file_id:
        if caller.user is None:
            return say("Slack files are added from Slack. Here, put the file in a folder and run "
                       "`python scripts/build_index.py --folder <folder>`.")
        return _in_worker(bot, caller, "jobs.knowledge.add_slack_file", command.file_id, caller.created_by,
                          waiting="Fetching the file… I'll tell you when it is in the knowledge base.")
    with bot.session() as session:
        document, _ = knowledge_base.save_document(session, title=knowledge_base.title_for(command.message),
                                                   text=command.message, source="slack",
                                                   created_by=caller.created_by)
        document_id, title = document.id, document.title
    return say(f"Added #{document_id} “{title}” to the knowledge base. " + _rebuild(bot, caller))


def _remove(bot: Bot, caller: Caller, command: Command) -> Reply:
    with bot.session() as session:
        title = knowledge_base.remove_document(session, command.document_id).title
    return say(f"Removed #{command.document_id} “{title}”. " + _rebuild(bot, caller))


def _list(bot: Bot, caller: Caller, command: Command) -> Reply:
    with bot.session() as session:
        rows, total = knowledge_base.list_documents(session, LIST_LIMIT)
        return Reply(f"Knowledge base: {total} documents", kb_blocks.documents(rows, total))


def _gaps(bot: Bot, caller: Caller, command: Command) -> Reply:
    with bot.session() as session:
        rows, total = knowledge_base.list_gaps(session, LIST_LIMIT)
        return Reply(f"{total} unanswered questions", kb_blocks.gaps(rows, total))


def _search(bot: Bot, caller: Caller, command: Command) -> Reply:
    if not bot.settings.openai_api_key:
        return say(NO_KEY)
    return _in_worker(bot, caller, "jobs.knowledge.search_excerpts", command.message, waiting="Searching…")


def _rebuild(bot: Bot, caller: Caller) -> str:
    """Queue an incremental rebuild (only changed documents are embedded again)."""
    if not bot.settings.openai_api_key:
        return "The AI is off (no OPENAI_API_KEY), so it will be indexed once a key is set."
    enqueue(bot.redis, "jobs.knowledge.rebuild", caller.user, caller.channel, queue="ai",
            job_id=f"kb-rebuild-{uuid.uuid4().hex[:12]}", job_timeout=3600)
    return "Indexing it now; the AI can use it in a moment."


def _in_worker(bot: Bot, caller: Caller, func: str, *args, waiting: str) -> Reply:
    job = enqueue(bot.redis, func, *args, caller.user, caller.channel, queue="ai",
                  job_id=f"kb-{uuid.uuid4().hex[:12]}")
    if caller.user:
        return say(waiting)  # the job answers in Slack
    return _wait(bot, job)


def _wait(bot: Bot, job: Job) -> Reply:
    """Terminal chat: wait for the worker's answer (its return value)."""
    if not Worker.count(connection=bot.redis):
        return say("No worker is running, so nobody can answer yet: start one with `python -m jobs.worker` "
                   "(make run does).")
    deadline = time.monotonic() + SHELL_WAIT_SECONDS
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status == JobStatus.FINISHED:
            result = job.return_value()
            return Reply(result["text"], result["blocks"])
        if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            return say("That failed in the worker; its log says why.")
        time.sleep(0.2)
    return say("No answer yet: the worker is busy. Try again in a moment.")
