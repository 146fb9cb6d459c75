"""One hourly budget of AI model calls for the whole deployment (AI_MAX_CALLS_PER_HOUR).

Per-number limits stop one conversation from running up a bill; this stops all of them
together (a flood of texts, a loop between auto-responders, many digests) from doing so.
The count lives in Redis, shared by every worker, one key per clock hour.
"""

from __future__ import annotations

import time

from multisms.config import Settings


def claim(connection, settings: Settings) -> bool:
    """Take one model call from this hour's budget; False when it is spent."""
    key = f"multisms:ai-calls:{int(time.time() // 3600)}"
    pipe = connection.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, 2 * 3600, nx=True)
    count, _ = pipe.execute()
    return count <= settings.ai_max_calls_per_hour
