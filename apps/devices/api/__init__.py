"""REST API of the devices app."""
