"""The plugin host: discovery, loading, checking and calling plugins (internal to core).

Plugins import what they need from ``core.sdk``; ``from core.plugins import hookimpl`` still works
for one minor version of the contract, with a deprecation warning.
"""

from core.deprecation import moved_names

__getattr__ = moved_names(__name__, {"hookimpl": "core.contract", "HOOKS_VERSION": "core.contract"})
