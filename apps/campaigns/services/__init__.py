"""Writes for campaigns, one module per noun (no re-exports: import the module)."""
