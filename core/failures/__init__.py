"""Plugins' failures: what an event handler or a query hook raised, kept for the plugin-health view
and for replay after a fix (replay itself calls the plugin: ``core.plugins.dispatch``)."""
