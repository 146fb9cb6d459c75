"""`python -m bot.shell`: the terminal chat. Same commands, same handlers, same content as Slack.

Type what you would type after `/multisms` (`send +48600123456 | Hello`, `status 3`, `help`).
Buttons are printed as `[Confirm]  [Cancel]`; type a button's label to press it. After a
confirm the chat follows the batch by reading the database until it finishes or pauses
(Ctrl-C stops following). The sending itself is done by a worker (`make run` starts one).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections.abc import Callable

from bot.blocks.batch import failure_rows, failures, pause_note, progress_text, summary
from bot.commands import parse, press, run
from bot.commands.send import prepare
from bot.context import Bot, Caller, Reply
from multisms.batches import FINISHED
from multisms.config import Settings, get_settings
from multisms.queues import workers_running
from multisms.storage import batch_counts, get_batch, list_recipients

QUIT = frozenset({"quit", "exit", "bye", ":q"})
_LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>")
_MENTION = re.compile(r"<([@#!])([^<>|]*)>")


def render(content: list[dict]) -> str:
    """Block Kit as plain text: headers, sections, context lines, and buttons as `[Label]`."""
    lines = []
    for block in content:
        kind = block["type"]
        if kind == "header":
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "section":
            lines.append(_plain(block["text"]["text"]))
        elif kind == "context":
            lines.append("  " + " ".join(_plain(element.get("text", "")) for element in block["elements"]))
        elif kind == "actions":
            lines.append("  ".join(f"[{element['text']['text']}]" for element in block["elements"]))
        elif kind == "divider":
            lines.append("-" * 40)
    return "\n".join(lines)


def _plain(mrkdwn: str) -> str:
    text = _LINK.sub(lambda m: m.group(2), mrkdwn)
    text = _MENTION.sub(lambda m: ("@" if m.group(1) == "@" else "#") + m.group(2), text)
    return html.unescape(text)


class Shell:
    """One person at a terminal: reads lines, answers with the Slack handlers' replies as text."""

    def __init__(self, settings: Settings, *, ask: Callable[[str], str] = input,
                 write: Callable[[str], None] = print, poll_seconds: float = 0.5):
        self.bot = Bot(settings, prefix="")
        self.caller = Caller.shell(settings)
        self.ask, self.write, self.poll_seconds = ask, write, poll_seconds
        self.buttons: dict[str, tuple[str, int]] = {}
        """Label (lower case) → (action id, value: a batch id or other id) of the buttons shown so far; the
        latest wins."""

    def handle(self, line: str) -> bool:
        """Answer one line; False when the person wants to leave."""
        text = line.strip()
        if text.lower() in QUIT:
            return False
        if not text:
            return True
        if text.lower() in self.buttons:
            action_id, value = self.buttons[text.lower()]
            self.show(press(self.bot, self.caller, action_id, value))
            return True
        reply = run(self.bot, self.caller, parse(text))
        self.show(self._form() if reply.form else reply)
        return True

    def show(self, reply: Reply) -> None:
        self._print(reply.blocks)
        if reply.follow:
            self.follow(reply.follow)

    def follow(self, batch_id: int) -> None:
        """Print progress as the worker sends, then the same thread posts Slack gets."""
        if not workers_running(self.bot.redis):
            self.write("No worker is running, so nothing is sent yet: start one with `python -m jobs.worker` "
                       f"(make run does), then type `status {batch_id}`.")
            return
        last = None
        try:
            while True:
                batch, counts, failed = self._read(batch_id)
                line = progress_text(batch, counts)
                if line != last:
                    self.write(line)
                    last = line
                if batch.status not in ("pending", "processing"):
                    break
                time.sleep(self.poll_seconds)
        except KeyboardInterrupt:
            self.write(f"Stopped following; `status {batch_id}` shows where it is.")
            return
        self._report(batch, counts, failed)

    def _report(self, batch, counts, failed) -> None:
        if batch.status == "paused":
            self._print(pause_note(batch, counts))
        elif batch.status in FINISHED:
            if failed:
                self._print(failures(batch.id, failed))
            self._print(summary(batch, counts))

    def _read(self, batch_id: int):
        with self.bot.session() as session:
            batch = get_batch(session, batch_id)
            counts = batch_counts(session, [batch_id])[batch_id]
            return batch, counts, failure_rows(list_recipients(session, batch_id)[0])

    def _form(self) -> Reply:
        """The modal's two boxes, asked one after the other."""
        numbers = self.ask("Numbers (spaces, commas, semicolons or new lines): ")
        body = self.ask("Message: ")
        return prepare(self.bot, self.caller, numbers=numbers, body=body)

    def _print(self, content: list[dict]) -> None:
        for block in content:
            if block["type"] == "actions":
                for element in block["elements"]:
                    self.buttons[element["text"]["text"].lower()] = (element["action_id"], int(element["value"]))
        self.write(render(content))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Chat with multisms in the terminal (the Slack commands).")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between progress checks")
    args = parser.parse_args(argv)
    shell = Shell(get_settings(), poll_seconds=args.poll)
    print("multisms terminal chat. Type `help` for the commands, `quit` to leave.")
    while True:
        try:
            line = input("multisms> ")
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if not shell.handle(line):
            break


if __name__ == "__main__":
    sys.exit(main())
