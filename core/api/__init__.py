"""HTTP layer: translates requests into service calls. No business rules live here."""
