"""`phones_masked`: text a member wrote (an NPS comment, a chat message quoted as a tag's
evidence) with every mobile number in it masked (`138****1234`), as the member's own phone is
on every portal page."""

from __future__ import annotations

from django import template

from linli.phones import phones_masked_in

register = template.Library()


@register.filter
def phones_masked(text: str | None) -> str:
    return phones_masked_in(str(text or ""))
