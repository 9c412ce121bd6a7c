"""Deprecated since contract 1.3: this package stored plugins' handler *failures*; it is now
``core.failures`` (replay: ``core.plugins.dispatch.replay_failure``)."""

from core.deprecation import moved_module

moved_module(__name__, "core.failures")
