"""Who may do what: principals, authentication, roles, permissions and data scopes."""
