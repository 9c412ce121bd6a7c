"""The pages, one module per area; each router is mounted by ``core.web.app``."""
