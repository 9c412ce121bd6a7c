"""Deprecated since contract 1.3: data permissions are ``core.crm.data_permissions`` (plugins
import the helpers from ``core.sdk``)."""

from core.crm.data_permissions import (
    client_condition,
    get_client_owned,
    scope_client_owned,
    scope_clients,
    visible_client_ids,
)
from core.deprecation import moved_module

moved_module(__name__, "core.crm.data_permissions")

__all__ = [
    "client_condition",
    "get_client_owned",
    "scope_client_owned",
    "scope_clients",
    "visible_client_ids",
]
