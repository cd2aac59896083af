"""Writes of the stores app: the stock ledger, orders, POS terminals, KPI snapshots, imports.

Import from the module that owns the function (`apps.stores.services.orders`, ...): this package
re-exports nothing, so each caller depends only on the part it uses."""
