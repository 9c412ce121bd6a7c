"""crm-marketplace core: the host every marketplace module plugs into."""

__version__ = "0.1.0"
