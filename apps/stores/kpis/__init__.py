"""The KPI pack: definitions, the monthly computation and the reads behind the HQ and owner
dashboards (docs/kpis.md). A derived part: it reads the ledger, campaigns, members' NPS and
chat messages and inspections; nothing in the ledger imports it."""
