from __future__ import annotations

# Models arrive with their own issues.
