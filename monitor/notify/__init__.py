"""Notification channels and the outbox that delivers their digests exactly once."""
