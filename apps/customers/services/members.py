"""Writes about one member that must not race the member's erasure or merge."""

from __future__ import annotations

from apps.customers.models import Member


def member_lock(*, member_id: int) -> Member | None:
    """The member re-read with its row locked (`FOR NO KEY UPDATE`) until the caller's
    transaction ends, or None when it is gone (merged into another meanwhile).

    Precondition: inside `transaction.atomic`, before the write locks anything else (the
    member's row first, as `member_erase` and `member_merge` take it). `member_erase` locks the
    row `FOR UPDATE`, which conflicts with this lock, so a write that stores something about
    the member (a delivery address, a chat name, a tag, an admin edit) and the erasure
    serialize: either the erasure waits for this transaction and then empties what it wrote,
    or this call waits for the erasure and the row it returns has `is_erased` set — the
    caller must then refuse. A plain read of the member before the write is not enough: an
    erasure may commit between it and the write. `NO KEY` lets orders and other rows that
    point at the member be inserted meanwhile."""
    return Member.objects.select_for_update(no_key=True).filter(pk=member_id).first()
