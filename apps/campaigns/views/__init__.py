"""Portal pages for campaigns, one module per noun."""
