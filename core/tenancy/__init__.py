"""Tenants: one broker each, with its time zone and base currencies."""
