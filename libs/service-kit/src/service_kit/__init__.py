"""Shared bootstrap of the rewards services. See the README's architecture section for what belongs here."""
