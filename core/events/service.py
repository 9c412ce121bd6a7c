"""Deprecated since contract 1.3: now ``core.failures.service`` (replay: ``core.plugins.dispatch``)."""

from core.failures.service import get_failure, list_failures, open_failures, record_failure, unhealthy_counts
from core.plugins.dispatch import replay_failure as replay

__all__ = ["get_failure", "list_failures", "open_failures", "record_failure", "replay", "unhealthy_counts"]
