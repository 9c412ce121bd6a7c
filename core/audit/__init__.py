"""The operation log: every back-office write, with who, when, which record, before and after."""
