"""Core Group Bot: a chat assistant for child-protection core groups."""

__version__ = "0.1.0"
