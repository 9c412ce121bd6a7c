"""Notifications: client pop-ups shown at next login, and an SMTP email outbox."""
