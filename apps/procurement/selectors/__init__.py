"""Reads of procurement, one module per noun (import the module; nothing is re-exported):
`suppliers` (supplier pages, the engine's supplier terms), `purchase_orders` (lists, detail,
pick lists, on order), `files` (CSV / XLSX / PDF renderings)."""
