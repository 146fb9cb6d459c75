"""Slack files in and out: fetch a shared file with the bot token, upload a CSV where it may be seen.

Fetching sends the bot token to Slack's file host only (never wherever a link points) and holds
the size limit while reading. Uploading uses `files_upload_v2` (Slack's three steps); a file for
one person goes to their DM, which `conversations.open` names (Slack takes no user id there).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests
from slack_sdk import WebClient

from multisms.config import Settings
from multisms.errors import FileUnavailable

log = logging.getLogger(__name__)

SLACK_FILE_HOST = "files.slack.com"
"""Where `url_private` points; the bot token is sent nowhere else."""
DOWNLOAD_TIMEOUT_SECONDS = 30
CHUNK_BYTES = 64 * 1024


def download(settings: Settings, info: dict, *, max_bytes: int) -> bytes:
    """The file's bytes (`info` as `files.info` gives it), at most `max_bytes`: the limit holds while
    reading, not after. Raises `FileUnavailable` saying why it was not fetched."""
    url = info.get("url_private_download") or info.get("url_private")
    if not url:
        raise FileUnavailable("Slack did not give a download link for this file.")
    if not slack_file_host(settings, url):
        log.warning("refused to send the bot token to %s for a Slack file", urlsplit(url).hostname)
        raise FileUnavailable("Slack's answer pointed the download somewhere other than Slack's file host, "
                              "so it was not fetched.")
    headers = {"Authorization": f"Bearer {settings.slack_bot_token}"}
    with requests.get(url, headers=headers, timeout=DOWNLOAD_TIMEOUT_SECONDS, stream=True,
                      allow_redirects=False) as response:
        if response.is_redirect:
            raise FileUnavailable("Slack redirected the download; share the file again and retry.")
        response.raise_for_status()
        served_html = response.headers.get("Content-Type", "").startswith("text/html")
        if served_html and not (info.get("mimetype") or "").startswith("text/html"):
            raise FileUnavailable("Slack answered with its sign-in page: the app needs the files:read scope "
                                  "(reinstall it after adding the scope).")
        data = bytearray()
        for chunk in response.iter_content(CHUNK_BYTES):
            data += chunk
            if len(data) > max_bytes:
                raise FileUnavailable(f"“{info.get('name') or 'The file'}” is over {megabytes(max_bytes)}.")
    return bytes(data)


def slack_file_host(settings: Settings, url: str) -> bool:
    """Slack's file host over https, or the host of SLACK_API_URL (a proxy, or the tests' stand-in)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname == SLACK_FILE_HOST:
        return True
    if settings.slack_api_url:
        api = urlsplit(settings.slack_api_url)
        return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
    return False


def megabytes(size: int) -> str:
    return f"{size / 1_048_576:.3g} MB"


def upload_csv(client: WebClient, *, channel: str, data: bytes, filename: str, title: str, comment: str,
               thread_ts: str | None = None) -> None:
    """Share a CSV in a channel (or a thread of it) with a line saying what it is."""
    client.files_upload_v2(channel=channel, content=data, filename=filename, title=title,
                           initial_comment=comment, thread_ts=thread_ts)


def direct_channel(client: WebClient, user: str) -> str:
    """The app's DM with this person (opened if new): where a file only they may see goes."""
    return client.conversations_open(users=user)["channel"]["id"]
