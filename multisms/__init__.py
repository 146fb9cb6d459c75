"""multisms: the domain and storage that the Slack bot, jobs and web app share.

Nothing in this package imports `bot`, `jobs`, `webhooks` or `knowledge`.
"""
