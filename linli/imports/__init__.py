"""CSV imports and exports, in two modules with one import path per name:

- `linli.imports.contract`: the contract every import follows (Table, RowError, ErrorLog,
  ImportReport, cell parsing, code look-ups, `import_transaction`, `rows_upsert`,
  `formula_escape`, `report_lines`). Import services, management commands and tests use only
  this.
- `linli.imports.admin`: the django-import-export adapter (`ServiceResource`, the admin
  mixins, `CsvImportFormat`). Only `resources.py` and `admin` modules use it.

Nothing is re-exported here: `from linli.imports.contract import …` says which half a module
depends on, and keeps import-export out of services and commands.
"""
