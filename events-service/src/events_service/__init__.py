"""The events service: each tenant's log of domain events, replayable by cursor (docs/events.md)."""
