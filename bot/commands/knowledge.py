"""`kb …` and `ask`: manage the knowledge base and ask it questions; the Resume AI button.

Listing and removing are database work, done here. Anything that calls OpenAI (indexing,
`ask`, `kb search`) or downloads a Slack file runs in a worker (`jobs.knowledge`), which
answers the person with an ephemeral message; in the terminal chat the handler waits for it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bot.blocks import knowledge as kb_blocks
from bot.commands.file_links import slack_file_id
from bot.commands.registry import Usage, button, command, first_word
from bot.context import Bot, Caller, Reply, say
from multisms import autoreply, conversations, knowledge
from multisms.batches import parse_id
from multisms.errors import NoWorker
from multisms.numbers import mask
from multisms.queues import KB_ADD_FILE, KB_ASK, KB_REBUILD, KB_SEARCH, JobKind, enqueue, wait_for_result

LIST_LIMIT = 30
SHELL_WAIT_SECONDS = 60
NO_KEY = "The AI is off: set OPENAI_API_KEY to use `ask` and `kb search`. Everything else works."
KB_ACTIONS = ("add", "list", "remove", "search", "gaps")
KB_EXAMPLE = "kb add Parking is free for guests at the main entrance."



@dataclass(frozen=True)
class KbRequest:
    """`kb <action>`: a note's text or search words, a document id (`remove`), or a Slack file id (`add`)."""

    action: str
    text: str = ""
    document_id: int | None = None
    file_id: str = ""


def read_kb(verb: str, rest: str) -> KbRequest:
    action, arg = first_word(rest)
    if action not in KB_ACTIONS:
        raise Usage("Say what to do: `kb add <text or Slack file link>`, `kb list`, `kb remove <id>`, "
                    "`kb search <words>` or `kb gaps`.", KB_EXAMPLE)
    if action in ("list", "gaps"):
        return KbRequest(action)
    if action == "remove":
        document_id = parse_id(arg)
        if document_id is None:
            raise Usage("Which document? Add its number from `kb list`.", "kb remove 3")
        return KbRequest("remove", document_id=document_id)
    if not arg:
        raise Usage("Add the text (or a Slack file link) to add." if action == "add" else "Add the words to look for.",
                    KB_EXAMPLE if action == "add" else "kb search parking")
    file_id = slack_file_id(arg)
    if action == "add" and file_id:
        return KbRequest("add", file_id=file_id)
    return KbRequest(action, text=arg)


def read_question(verb: str, rest: str) -> str:
    if not rest:
        raise Usage("What would you like to ask?", "ask Is parking free?")
    return rest


@command("kb", grammar=read_kb, access=lambda request: "send" if request.action in ("add", "remove") else "read", help={
    "kb add <text or Slack file link>": "teach the AI: a note, or a Markdown, text, HTML or PDF file shared in Slack",
    "kb list": "what the knowledge base holds",
    "kb remove <id>": "take a document out of the knowledge base",
    "kb search <words>": "the excerpts the AI would read for these words, with their scores",
    "kb gaps": "questions the AI could not answer, newest first"})
def kb(bot: Bot, caller: Caller, request: KbRequest) -> Reply:
    return {"add": _add, "list": _list, "remove": _remove, "search": _search, "gaps": _gaps}[request.action](
        bot, caller, request)


@command("ask", grammar=read_question, access="read",
         help={"ask <question>": "an answer from the knowledge base, only for you, with its sources"})
def ask(bot: Bot, caller: Caller, question: str) -> Reply:
    if not bot.settings.openai_api_key:
        return say(NO_KEY)
    return _in_worker(bot, caller, KB_ASK, question, waiting="Looking that up…")


@button(kb_blocks.RESUME_AI, access="send")
def resume_ai(bot: Bot, caller: Caller, conversation_id: int) -> Reply:
    """Let the AI answer this conversation again after a person took it over."""
    with bot.session() as session:
        was_paused, number = conversations.resume_ai(session, conversation_id)
    text = f"AI replies are {'back' if was_paused else 'already'} on for {mask(number)}."
    if autoreply.current_mode(bot.redis, bot.settings) != "ai":
        text += " Auto-reply is not in AI mode, though: `/multisms autoreply ai` turns it on."
    return say(text)


def _add(bot: Bot, caller: Caller, request: KbRequest) -> Reply:
    if request.file_id:
        if caller.user is None:
            return say("Slack files are added from Slack. Here, put the file in a folder and run "
                       "`python scripts/build_index.py --folder <folder>`.")
        return _in_worker(bot, caller, KB_ADD_FILE, request.file_id, caller.created_by,
                          waiting="Fetching the file… I'll tell you when it is in the knowledge base.")
    with bot.session() as session:
        document, _ = knowledge.save_document(session, title=knowledge.title_for(request.text), text=request.text,
                                              source="slack", created_by=caller.created_by)
        document_id, title = document.id, document.title
    return say(f"Added #{document_id} “{title}” to the knowledge base. " + _rebuild(bot, caller))


def _remove(bot: Bot, caller: Caller, request: KbRequest) -> Reply:
    with bot.session() as session:
        title = knowledge.remove_document(session, request.document_id).title
    return say(f"Removed #{request.document_id} “{title}”. " + _rebuild(bot, caller))


def _list(bot: Bot, caller: Caller, request: KbRequest) -> Reply:
    with bot.session() as session:
        rows, total = knowledge.list_documents(session, LIST_LIMIT)
        return Reply(f"Knowledge base: {total} documents", kb_blocks.documents(rows, total))


def _gaps(bot: Bot, caller: Caller, request: KbRequest) -> Reply:
    with bot.session() as session:
        rows, total = knowledge.list_gaps(session, LIST_LIMIT)
        return Reply(f"{total} unanswered questions", kb_blocks.gaps(rows, total))


def _search(bot: Bot, caller: Caller, request: KbRequest) -> Reply:
    if not bot.settings.openai_api_key:
        return say(NO_KEY)
    return _in_worker(bot, caller, KB_SEARCH, request.text, waiting="Searching…")


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
