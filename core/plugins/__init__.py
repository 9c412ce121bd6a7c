"""What a plugin imports from core to talk to the host.

    from core.plugins import hookimpl

The contract itself — every hook and its arguments — is ``core/hookspecs.py``.
"""

from core.hookspecs import HOOKS_VERSION, hookimpl

__all__ = ["HOOKS_VERSION", "hookimpl"]
