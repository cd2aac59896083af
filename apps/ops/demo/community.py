"""Member chat groups and NPS answers of the demo (row tuples; no ORM)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from apps.ops.demo import catalogue, scenes
from apps.ops.demo.orders import TZ
from apps.ops.demo.people import (
    SEGMENT_CAT,
    SEGMENT_DOG,
    SEGMENT_FITNESS,
    SEGMENT_KIDS,
    MemberDraft,
)

MESSAGE_SCENE_WRITERS = 0.8  # planted members who talk about each of their scenes
MESSAGE_SCENE_EXTRA_MEAN = 1.5  # scene messages per writer: 1 + Poisson(1.5)
MESSAGE_GENERIC_WRITERS = 0.35
MESSAGE_GENERIC_EXTRA_MEAN = 1.0
ANNOUNCEMENT_SHARE = 0.4  # store-days with an announcement from the store
NPS_SHARE = 0.12  # members who answered the NPS survey once
NPS_MEAN, NPS_SPREAD, STORE_QUALITY_SPREAD = 8.2, 1.8, 0.6
NPS_COMMENT_SHARE = 0.6


@dataclass(frozen=True)
class StoreRef:
    pk: int
    name: str

    @property
    def group_name(self) -> str:
        """邻里优选·翠苑店 → 翠苑店邻里群."""
        return f"{self.name.split('·', 1)[-1]}邻里群"


def _moment(days: list[dt.date], rng: np.random.Generator, first_day: int) -> dt.datetime:
    """A random time between 07:00 and 23:00 on a day from `first_day` to the last day."""
    index = int(rng.integers(max(first_day, 0), len(days)))
    midnight = dt.datetime.combine(days[index], dt.time(), tzinfo=TZ)
    return midnight + dt.timedelta(seconds=int(rng.integers(7 * 3600, 23 * 3600)))


def _scene_pools(segment: int) -> list[tuple[str, ...]]:
    pools = []
    if segment & SEGMENT_KIDS:
        pools.append(scenes.KIDS_MESSAGES)
    if segment & SEGMENT_FITNESS:
        pools.append(scenes.FITNESS_MESSAGES)
    if segment & SEGMENT_CAT:
        pools.append(scenes.CAT_MESSAGES)
    if segment & SEGMENT_DOG:
        pools.append(scenes.DOG_MESSAGES)
    return pools


def message_rows(
    *,
    stores: list[StoreRef],
    announceable_products: list[str],
    members: MemberDraft,
    member_ids: list[int],
    days: list[dt.date],
    rng: np.random.Generator,
) -> list[tuple[dt.datetime, int, str, int | None, str]]:
    """(sent_at, store id, group name, member id or None, text) rows in time order.

    Planted members write scene lines (with their scene's keywords) in their home store's
    group; anyone may write generic lines (no keyword); stores post announcements (no member,
    no keyword). Nobody writes before joining.
    """
    rows: list[tuple[dt.datetime, int, str, int | None, str]] = []
    generic = scenes.GENERIC_MESSAGES
    for index, member_id in enumerate(member_ids):
        store = stores[int(members.home_store[index])]
        join_day = int(members.join_day[index])
        texts = []
        for pool in _scene_pools(int(members.segment[index])):
            if rng.random() < MESSAGE_SCENE_WRITERS:
                for _ in range(1 + int(rng.poisson(MESSAGE_SCENE_EXTRA_MEAN))):
                    texts.append(pool[int(rng.integers(len(pool)))])
        if rng.random() < MESSAGE_GENERIC_WRITERS:
            for _ in range(1 + int(rng.poisson(MESSAGE_GENERIC_EXTRA_MEAN))):
                texts.append(generic[int(rng.integers(len(generic)))])
        for text in texts:
            rows.append((_moment(days, rng, join_day), store.pk, store.group_name, member_id, text))
    templates = scenes.ANNOUNCEMENT_TEMPLATES
    for store in stores:
        for day_index in np.flatnonzero(rng.random(len(days)) < ANNOUNCEMENT_SHARE).tolist():
            template = templates[int(rng.integers(len(templates)))]
            product = announceable_products[int(rng.integers(len(announceable_products)))]
            morning = dt.datetime.combine(days[day_index], dt.time(8), tzinfo=TZ)
            sent_at = morning + dt.timedelta(seconds=int(rng.integers(0, 4 * 3600)))
            text = template.format(store=store.name, product=product)
            rows.append((sent_at, store.pk, store.group_name, None, text))
    rows.sort(key=lambda row: (row[0], row[1], row[3] or 0, row[4]))
    return rows


def announceable_product_names() -> list[str]:
    """Products a store may announce: active, not new, from categories without scene words."""
    return [
        spec.name
        for spec in catalogue.PRODUCTS
        if spec.is_active
        and not spec.is_new
        and catalogue.top_level(spec.category) in scenes.ANNOUNCEMENT_CATEGORIES
    ]


def nps_rows(
    *,
    store_ids: list[int],
    members: MemberDraft,
    member_ids: list[int],
    days: list[dt.date],
    rng: np.random.Generator,
) -> list[tuple[int, int, int, str, dt.datetime]]:
    """(member id, store id, score, comment, answered_at): one answer from ~12% of members for
    their home store; score = N(8.2 + store quality, 1.8) rounded into 0–10, store quality
    ~ N(0, 0.6), so some stores have clearly more detractors."""
    quality = rng.normal(0.0, STORE_QUALITY_SPREAD, len(store_ids))
    answering = np.flatnonzero(rng.random(len(member_ids)) < NPS_SHARE)
    rows = []
    for index in answering.tolist():
        store_index = int(members.home_store[index])
        score = int(
            np.clip(np.rint(rng.normal(NPS_MEAN + quality[store_index], NPS_SPREAD)), 0, 10)
        )
        band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comments = scenes.NPS_COMMENTS[band]
        comment = ""
        if rng.random() < NPS_COMMENT_SHARE:
            comment = comments[int(rng.integers(len(comments)))]
        answered_at = _moment(days, rng, int(members.join_day[index]))
        rows.append((member_ids[index], store_ids[store_index], score, comment, answered_at))
    return rows
