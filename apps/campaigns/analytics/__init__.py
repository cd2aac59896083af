"""Pure computations for campaigns (no Django, no ORM): the 接龙 text parser."""
