"""The marketplace: which plugins each tenant has installed, enabled, licensed and configured."""
