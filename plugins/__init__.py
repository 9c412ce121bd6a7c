"""Marketplace modules shipped with the platform. Each is an installable plugin, discovered
through the ``crm.plugins`` entry point exactly like a third-party one."""
