"""Writes of procurement, one module per noun (import the module; nothing is re-exported):
`imports` (supplier and supplier-product CSV imports), `consolidation` (member orders →
purchase orders, cancellations), `purchase_orders` (sending, the supplier's confirm / ship /
shortage, cancelling), `replenishment` (the decision engine's suggestions → draft purchase
orders). docs/purchasing.md has the rules."""
