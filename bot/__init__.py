"""The Slack side: the Bolt app, the `/multisms` commands (`commands/`), Block Kit (`blocks/`), the terminal chat."""
