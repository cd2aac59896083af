"""Who may read the knowledge base (store-scoped training uses the store actions
`VIEW_TRAINING` and `TRAIN` in apps/stores/access.py; docs/access.md).

The knowledge base is network-wide reference (product knowledge, storage, after-sales rules):
every store's staff (owner, clerk, inspector) reads it, HQ staff read it with the admin's
`training.view_article` permission, suppliers and others do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.stores.access import user_is_hq
from apps.stores.models import StoreStaff

if TYPE_CHECKING:
    from apps.stores.access import UserLike

KNOWLEDGE_HQ_PERMISSION = "training.view_article"


def may_read_knowledge(user: UserLike) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user_is_hq(user):
        return user.has_perm(KNOWLEDGE_HQ_PERMISSION)
    return StoreStaff.objects.filter(user=user).exists()
