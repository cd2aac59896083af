"""REST API for campaigns: group-buy joins, comments and tracking events."""
