"""Simplified Chinese: Django's MONTH_DAY_FORMAT is "m月j日", which pads the month
("09月8日"); Chinese writes the month and day unpadded, "9月8日", as its DATE_FORMAT does."""

MONTH_DAY_FORMAT = "n月j日"
