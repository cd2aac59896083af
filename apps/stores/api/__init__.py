"""REST API of the stores app (store list, POS order ingestion) and POS terminal token auth."""
