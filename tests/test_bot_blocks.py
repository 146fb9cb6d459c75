"""Block Kit rendering: within Slack's limits, and channel messages never carry a full number."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot import blocks
from bot.blocks import batch as batch_blocks
from bot.shell import render
from multisms.batches import validate_batch
from multisms.models import Batch
from multisms.numbers import NumberEntry, split_entries
from multisms.storage import BatchCounts


def fits_slack(content: list[dict]) -> bool:
    sections = [b["text"]["text"] for b in content if b["type"] == "section"]
    return len(content) <= blocks.MAX_BLOCKS and all(len(text) <= blocks.MAX_SECTION for text in sections)


def a_batch(**fields) -> Batch:
    defaults = dict(id=7, body="Hello <team> & friends", status="completed_with_errors", created_by="slack:U1",
                    segments=1, encoding="GSM-7", approved_by=None, error=None,
                    started_at=datetime(2025, 1, 1, 12, tzinfo=UTC),
                    completed_at=datetime(2025, 1, 1, 12, tzinfo=UTC) + timedelta(seconds=130))
    return Batch(**{**defaults, **fields})


def test_a_preview_of_250_numbers_and_250_mistakes_stays_within_slack_limits():
    numbers = ", ".join(f"+48600{100000 + i}" for i in range(250))
    mistakes = [NumberEntry(f"not-a-number-{i}", reason="not a phone number") for i in range(250)]
    validation = validate_batch("Zażółć 😀", split_entries(numbers) + mistakes, sender="+15005550006",
                                max_recipients=250)
    content = batch_blocks.preview(validation, batch_id=3, price=0.0083, currency="USD", seconds=250)
    assert fits_slack(content)
    text = json.dumps(content, ensure_ascii=False)
    assert "…and " in text and "more" in text
    assert "UCS-2" in text and "`ż`" in text and "`😀`" in text
    assert [b["action_id"] for b in content[-1]["elements"]] == ["confirm_batch", "cancel_batch"]


def test_listing_cuts_long_lists_with_a_count_of_what_was_left_out():
    cut = blocks.listing([f"item-{i:03d}" for i in range(1000)], sep=", ", budget=100)
    assert len(cut) < 130 and cut.endswith("item-009, …and 990 more")


def test_fit_keeps_the_buttons_when_there_are_too_many_blocks():
    content = [blocks.section(str(i)) for i in range(80)] + [blocks.actions(blocks.button("Go", "go", 1))]
    fitted = blocks.fit(content)
    assert len(fitted) == 50 and fitted[-1]["type"] == "actions"
    assert "…and 32 more" in json.dumps(fitted, ensure_ascii=False)


def test_channel_renderers_mask_every_number_and_escape_user_text():
    numbers = [f"+48600{100000 + i}" for i in range(250)]
    batch = a_batch()
    counts = BatchCounts({"sent": 240, "failed": 10})
    posts = [
        batch_blocks.progress(batch, counts),
        batch_blocks.approval_request(batch, numbers, threshold=100),
        batch_blocks.failures(7, [(n, 30007, "Message filtered") for n in numbers]),
        batch_blocks.pause_note(a_batch(status="paused", error="Twilio refused the sender (21606)"), counts),
        batch_blocks.summary(batch, counts),
        batch_blocks.recipients_view(7, [(n, "sent", None) for n in numbers], masked=True),
    ]
    for content in posts:
        text = json.dumps(content, ensure_ascii=False)
        assert fits_slack(content)
        assert not any(number in text for number in numbers), text[:200]
        assert "<team>" not in text
    assert "+48••••••100" in json.dumps(posts[2], ensure_ascii=False)


def test_the_summary_offers_retry_only_when_something_failed():
    with_failures = batch_blocks.summary(a_batch(), BatchCounts({"sent": 3, "failed": 1}))
    clean = batch_blocks.summary(a_batch(status="completed"), BatchCounts({"sent": 4}))
    assert [b["action_id"] for b in with_failures[-1]["elements"]] == ["retry_batch", "view_recipients"]
    assert [b["action_id"] for b in clean[-1]["elements"]] == ["view_recipients"]
    assert "all 4 sent" in clean[0]["text"]["text"] and "took about 2 min" in with_failures[0]["text"]["text"]


def test_failures_are_grouped_by_reason_most_common_first():
    rows = [("+48600100001", 21211, "Invalid To"), ("+48600100002", 30007, "Message filtered"),
            ("+48600100003", 30007, "Message filtered")]
    content = batch_blocks.failures(7, rows)
    assert "3 recipients of batch #7 could not be texted" in content[0]["text"]["text"]
    assert "30007" in content[1]["text"]["text"] and ": 2\n" in content[1]["text"]["text"]
    assert "21211" in content[2]["text"]["text"]


def test_the_terminal_renders_blocks_as_text_with_buttons_in_brackets():
    text = render(batch_blocks.summary(a_batch(), BatchCounts({"sent": 3, "failed": 1})))
    assert "Batch #7 is done, with errors" in text and "[Retry failed]  [View recipients]" in text
    assert render([blocks.section("<@U1> wrote &lt;hi&gt; <https://x.test|a link>")]) == "@U1 wrote <hi> a link"
