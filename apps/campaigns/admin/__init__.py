"""The campaigns admin, one module per noun; importing them registers the model admins."""

from apps.campaigns.admin import broadcasts, campaigns, promotions, tracking  # noqa: F401
