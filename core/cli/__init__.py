"""The ``crm`` command line: migrations, the server, tenants, users, operators, the outbox."""
