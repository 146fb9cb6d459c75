"""Block Kit for the knowledge base and AI replies, as pure functions → list[dict].

Thread posts name their sources (document and chunk) so a person can check what the AI said.
Numbers are masked here, so no caller can put a full number in a channel. Sources and hits are
any objects with `title`, `chunk`, `score` (and `document_id`, `text` for hits): the bot does not
import the knowledge package.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks.primitives import actions, button, clip, context, escape, fit, plural, quote, section
from multisms.numbers import mask

RESUME_AI = "resume_ai"
LIST_LIMIT = 20
HIT_CHARS = 400


def sources_line(sources: Sequence) -> str:
    if not sources:
        return "No sources."
    parts = [f"*{escape(s.title)}* (#{s.document_id}, part {s.chunk}, match {s.score:.2f})" for s in sources]
    return "Sources: " + " · ".join(parts)


def resume_button(conversation_id: int) -> dict:
    return actions(button("Resume AI", RESUME_AI, conversation_id))


def ai_answer(number: str, text: str, sources: Sequence, *, sent: bool, detail: str = "") -> list[dict]:
    """The AI's answer as posted in the conversation thread, with what it was built from."""
    head = f"🤖 *AI answer to {mask(number)}*" + ("" if sent else f" — *not sent:* {escape(detail)}")
    return [section(f"{head}\n{quote(text, 1000)}"), context(clip(sources_line(sources), 2000))]


def ai_handoff(number: str, question: str, reason: str, conversation_id: int, *, holding: str | None,
               gap: bool = True) -> list[dict]:
    """“Needs a human”: the question, why the AI stayed quiet, and the way back to AI replies."""
    lines = [section(f"🙋 *Needs a human:* {mask(number)} asked\n{quote(question, 1500)}"),
             context(f"The AI did not answer: {escape(reason)}."
                     + (" The question is listed in `kb gaps`." if gap else "")
                     + (f" Holding reply sent: “{escape(holding)}”" if holding else ""))]
    return lines + [context("Reply in this thread to answer; that pauses the AI for this number. "
                            "*Resume AI* lets it answer again."), resume_button(conversation_id)]


def ai_paused(conversation_id: int) -> list[dict]:
    """Shown when a person's reply pauses the AI for a conversation."""
    return [context("AI replies are paused for this number because a person answered."),
            resume_button(conversation_id)]


def ask_answer(question: str, text: str, sources: Sequence) -> list[dict]:
    return [section(f"*Q:* {escape(clip(question, 500))}\n*A:* {escape(text)}"),
            context(clip(sources_line(sources), 2000))]


def ask_handoff(question: str, reason: str) -> list[dict]:
    return [section(f"*Q:* {escape(clip(question, 500))}\nI can't answer that from the knowledge base: "
                    f"{escape(reason)}."),
            context("It is listed in `kb gaps`; `kb add <text>` teaches me the answer.")]


def hits(query: str, found: Sequence) -> list[dict]:
    """`kb search`: the excerpts the AI would read, best first."""
    if not found:
        return [section(f"Nothing in the knowledge base matches “{escape(clip(query, 200))}”.")]
    out = [section(f"*Excerpts for “{escape(clip(query, 200))}”* (best first; the AI answers from "
                   "matches above AI_MIN_SCORE)")]
    for hit in found:
        out.append(section(f"*{hit.score:.2f}* · *{escape(hit.title)}* (#{hit.document_id}, part {hit.chunk})\n"
                           f"{quote(hit.text, HIT_CHARS)}"))
    return fit(out)


def documents(rows: Sequence, total: int) -> list[dict]:
    """`kb list`: id, title, where it came from, chunks (or that indexing is pending)."""
    if not rows:
        return [section("The knowledge base is empty. Add to it with `kb add <text or Slack file link>`.")]
    lines = []
    for doc in rows:
        state = plural(doc.chunk_count, "chunk") if doc.chunk_count is not None else "indexing…"
        origin = {"slack": "typed in Slack", "slack_file": "Slack file", "folder": doc.source_ref or "folder"}
        lines.append(f"• *#{doc.id}* {escape(doc.title)} — {escape(origin.get(doc.source, doc.source))}, {state}")
    out = [section(f"*Knowledge base: {plural(total, 'document')}*")]
    out += [section(chunk) for chunk in _sections(lines)]
    if total > len(rows):
        out.append(context(f"Showing the newest {len(rows)}."))
    return fit(out)


def gaps(rows: Sequence, total: int) -> list[dict]:
    """`kb gaps`: questions the AI could not answer, newest first."""
    if not rows:
        return [section("No unanswered questions so far.")]
    lines = [f"• {row.created_at:%Y-%m-%d %H:%M} ({'SMS' if row.source == 'sms' else 'Slack'}) "
             f"“{escape(clip(row.question, 300))}” — {escape(row.reason)}" for row in rows]
    out = [section(f"*Questions the AI could not answer: {total}* (newest first)")]
    out += [section(chunk) for chunk in _sections(lines)]
    out.append(context("Add what was missing with `kb add <text>`; the next rebuild picks it up."))
    return fit(out)


def _sections(lines: list[str], budget: int = 2800) -> list[str]:
    """Lines packed into section-sized texts (Slack's limit is 3000 characters)."""
    packed, current = [], ""
    for line in lines[:LIST_LIMIT * 5]:
        if current and len(current) + len(line) + 1 > budget:
            packed.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return packed + ([current] if current else [])
