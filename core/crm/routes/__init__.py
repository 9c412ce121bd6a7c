"""HTTP routes of the CRM records, one module per area."""
