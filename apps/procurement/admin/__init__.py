"""The procurement admin, one module per noun; importing them registers the model admins."""

from apps.procurement.admin import aftersales, core, delivery, disputes  # noqa: F401
