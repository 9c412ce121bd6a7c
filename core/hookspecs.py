"""Deprecated since contract 1.3: the contract is ``core.contract`` (plugins import ``core.sdk``).
This module re-exports it for one minor version."""

from core.contract import HOOKS_VERSION, PROJECT, CrmHooks, hookimpl, hookspec
from core.deprecation import moved_module

moved_module(__name__, "core.contract")

__all__ = ["HOOKS_VERSION", "PROJECT", "CrmHooks", "hookimpl", "hookspec"]
