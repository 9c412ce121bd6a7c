"""Deprecated since contract 1.3: what a job handler receives is part of the contract
(``core.contract.JobContext``; plugins import it from ``core.sdk``)."""

from core.contract.values import JobContext, LostLease, NoProgress, Progress, RunAccess
from core.deprecation import moved_module

moved_module(__name__, "core.contract.values")

__all__ = ["JobContext", "LostLease", "NoProgress", "Progress", "RunAccess"]
