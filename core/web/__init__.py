"""The pages: server-rendered HTML with htmx, for staff, clients and account managers."""
