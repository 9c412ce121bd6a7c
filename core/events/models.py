"""Deprecated since contract 1.3: now ``core.failures.models``."""

from core.failures.models import PluginFailure

__all__ = ["PluginFailure"]
