"""The web process: Slack and Twilio webhooks, the REST API, health and the panel."""
