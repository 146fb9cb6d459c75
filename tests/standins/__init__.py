"""Local HTTP stand-ins for Twilio, Slack and OpenAI (driven through the real SDKs), and news feeds."""
from .feeds import FeedStandIn
from .openai_api import OpenAIStandIn
from .slack_api import SlackStandIn
from .twilio_api import TwilioStandIn

__all__ = ["FeedStandIn", "OpenAIStandIn", "SlackStandIn", "TwilioStandIn"]
