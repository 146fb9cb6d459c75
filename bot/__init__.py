"""The Slack side: the Bolt app, the /multisms grammar, Block Kit rendering and the terminal chat."""
