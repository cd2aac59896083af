"""Benchmark: set-wise member profile recompute against a naive per-member loop.

Creates synthetic data (default 100,000 members, 2,000,000 order lines in the 90-day window,
chat messages and NPS answers) with COPY in a DEDICATED PostgreSQL database, then times

1. `member_profiles_recompute` for all members (first run inserts, second run upserts), and
2. a naive per-member loop (ORM queries and a save per member, the way one would write it
   without thinking set-wise) on a random sample of members, extrapolated to all members.

Usage (the database is created if missing and its tables are emptied — never point it at real
data; the name must contain "bench"):

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_h7_bench \\
        python bench/bench_profiles.py [--members 100000] [--lines 2000000] [--sample 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/linli_h7_bench"
SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2026, 11, 27, tzinfo=SHANGHAI)
CHAT_SAMPLES = [
    "宝宝最近不爱吃辅食，有什么推荐",
    "孩子放学想吃水果",
    "最近在健身减脂，鸡胸肉还有吗",
    "蛋白粉到货了吗",
    "家里猫粮快吃完了",
    "狗粮有优惠吗",
]
CHAT_PLAIN = [
    "今天的西瓜很甜",
    "明天几点开门",
    "谢谢店长",
    "团购的葡萄什么时候到",
    "收到了，新鲜",
    "周末有活动吗",
]


def database_prepare(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to use database {name!r}: its name must contain 'bench'")
    admin_url = url.replace(f"/{name}", "/postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def copy_frame(table: str, frame: pd.DataFrame) -> None:
    from django.db import connection

    buffer = io.StringIO()
    # NULL is written as \\N so that empty strings stay empty strings (not NULL) in CSV COPY.
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N", date_format="%Y-%m-%d %H:%M:%S%z")
    columns = ", ".join(f'"{column}"' for column in frame.columns)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY \"{table}\" ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        ) as copy:
            copy.write(buffer.getvalue())


def utc_text(moments: object) -> np.ndarray:
    """ISO strings with offset for UTC timestamps, vectorised (strftime is slow at 10^6 rows)."""
    values = pd.DatetimeIndex(moments).tz_convert("UTC").tz_localize(None).to_numpy()
    return np.char.add(np.datetime_as_string(values, unit="s"), "+00:00")


def sequences_reset(models: list[type]) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)


def data_generate(*, members: int, lines: int, seed: int) -> dict[str, int]:
    """Empty the bench tables and fill them with synthetic data via COPY."""
    from django.db import connection

    from apps.catalog.models import Category, Product
    from apps.customers.models import (
        CommunityMessage,
        Member,
        MemberProfile,
        MemberTag,
        NpsAnswer,
        Tag,
        TagCategoryRule,
        TagKeyword,
    )
    from apps.customers.services.profiles import tag_defaults_ensure
    from apps.stores.models import Order, OrderLine, Region, Store

    rng = np.random.default_rng(seed)
    models = [
        OrderLine, Order, CommunityMessage, NpsAnswer, MemberTag, MemberProfile,
        TagCategoryRule, TagKeyword, Tag, Member, Product, Category, Store, Region,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        tables = ", ".join(f'"{model._meta.db_table}"' for model in models)
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")

    now = pd.Timestamp(AS_OF).tz_convert("UTC")
    region_count, store_count, product_count = 10, 200, 2_000
    copy_frame(
        Region._meta.db_table,
        pd.DataFrame(
            {
                "id": np.arange(1, region_count + 1),
                "code": [f"R{i:02d}" for i in range(1, region_count + 1)],
                "name": [f"区域{i}" for i in range(1, region_count + 1)],
                "city": "杭州",
            }
        ),
    )
    copy_frame(
        Store._meta.db_table,
        pd.DataFrame(
            {
                "id": np.arange(1, store_count + 1),
                "code": [f"S{i:04d}" for i in range(1, store_count + 1)],
                "name": [f"邻里优选{i}号店" for i in range(1, store_count + 1)],
                "region_id": rng.integers(1, region_count + 1, store_count),
                "address": "",
                "status": "open",
            }
        ),
    )
    parents = [f"大类{i}" for i in range(8)]
    children = ["婴儿辅食"] + [f"小类{i}" for i in range(31)]
    categories = pd.DataFrame(
        {
            "id": np.arange(1, 41),
            "code": [f"C{i:03d}" for i in range(1, 41)],
            "name": parents + children,
            "parent_id": [None] * 8 + [1 + (i % 8) for i in range(32)],
            "is_fresh": False,
        }
    )
    categories["parent_id"] = categories["parent_id"].astype("Int64")
    copy_frame(Category._meta.db_table, categories)
    prices = np.round(rng.uniform(2, 80, product_count), 1)
    copy_frame(
        Product._meta.db_table,
        pd.DataFrame(
            {
                "id": np.arange(1, product_count + 1),
                "sku": [f"SKU{i:05d}" for i in range(1, product_count + 1)],
                "name": [f"商品{i}" for i in range(1, product_count + 1)],
                "category_id": rng.integers(9, 41, product_count),
                "unit": "piece",
                "price": prices,
                "cost": np.round(prices * 0.6, 2),
                "is_new": False,
                "is_high_value": False,
                "is_active": True,
                "created_at": now,
            }
        ),
    )

    member_ids = np.arange(1, members + 1)
    joined = now - pd.to_timedelta(rng.integers(0, 3 * 365 * 24, members), unit="h")
    copy_frame(
        Member._meta.db_table,
        pd.DataFrame(
            {
                "id": member_ids,
                "member_no": [f"M{i:08d}" for i in member_ids],
                "phone": [f"+86139{i:08d}" for i in member_ids],
                "name": [f"会员{i}" for i in member_ids],
                "gender": "unknown",
                "home_store_id": rng.integers(1, store_count + 1, members),
                "joined_at": utc_text(joined),
                "marketing_consent": rng.random(members) < 0.7,
                "is_erased": False,
                "created_at": now,
                "updated_at": now,
            }
        ),
    )

    # Orders: activity is skewed (a few members buy a lot), 15% of members buy nothing.
    order_count = lines // 4
    weights = rng.gamma(0.6, 1.0, members)
    weights[rng.random(members) < 0.15] = 0
    order_member = rng.choice(member_ids, size=order_count, p=weights / weights.sum())
    hour_weights = np.array([0.2] * 7 + [3, 4, 2, 2, 2, 3, 2, 1, 1, 2, 3, 5, 5, 4, 2, 1, 0.4])
    hours = rng.choice(np.arange(24), size=order_count, p=hour_weights / hour_weights.sum())
    day_offset = rng.integers(1, 91, order_count)
    local_midnight = pd.Timestamp(AS_OF).tz_convert(SHANGHAI)
    placed = (
        local_midnight
        - pd.to_timedelta(day_offset, unit="D")
        + pd.to_timedelta(hours, unit="h")
        + pd.to_timedelta(rng.integers(0, 3600, order_count), unit="s")
    ).tz_convert("UTC")
    order_ids = np.arange(1, order_count + 1)
    # Every order has a line; the remaining lines land on random orders (1–10 lines each).
    line_order = np.sort(
        np.concatenate([order_ids, rng.integers(1, order_count + 1, lines - order_count)])
    )
    product = rng.integers(1, product_count + 1, lines)
    quantity = rng.integers(1, 4, lines)
    unit_price = prices[product - 1]
    discounted = rng.random(lines) < 0.25
    gross = np.round(quantity * unit_price, 2)
    discount = np.where(discounted, np.round(gross * 0.1, 2), 0.0)
    line_total = np.round(gross - discount, 2)
    totals = pd.Series(line_total).groupby(line_order).sum().reindex(order_ids, fill_value=0)
    discounts = pd.Series(discount).groupby(line_order).sum().reindex(order_ids, fill_value=0)
    status = np.where(rng.random(order_count) < 0.02, "cancelled", "completed")
    copy_frame(
        Order._meta.db_table,
        pd.DataFrame(
            {
                "id": order_ids,
                "store_id": rng.integers(1, store_count + 1, order_count),
                "member_id": order_member,
                "channel": "pos",
                "fulfilment": "in_store",
                "status": status,
                "idempotency_key": [f"k{i}" for i in order_ids],
                "reference": "",
                "total": np.round(totals.to_numpy(), 2),
                "discount_total": np.round(discounts.to_numpy(), 2),
                "placed_at": utc_text(placed),
                "created_at": utc_text(placed),
            }
        ),
    )
    copy_frame(
        OrderLine._meta.db_table,
        pd.DataFrame(
            {
                "id": np.arange(1, lines + 1),
                "order_id": line_order,
                "product_id": product,
                "quantity": quantity,
                "unit_price": unit_price,
                "discount": discount,
                "line_total": line_total,
            }
        ),
    )

    message_count = members * 2
    texts = np.where(
        rng.random(message_count) < 0.2,
        rng.choice(CHAT_SAMPLES, message_count),
        rng.choice(CHAT_PLAIN, message_count),
    )
    sent = now - pd.to_timedelta(rng.integers(60, 90 * 86_400, message_count), unit="s")
    copy_frame(
        CommunityMessage._meta.db_table,
        pd.DataFrame(
            {
                "id": np.arange(1, message_count + 1),
                "store_id": rng.integers(1, store_count + 1, message_count),
                "group_name": "邻里群",
                "member_id": rng.integers(1, members + 1, message_count),
                "text": texts,
                "sent_at": utc_text(sent),
            }
        ),
    )
    nps_count = members // 3
    copy_frame(
        NpsAnswer._meta.db_table,
        pd.DataFrame(
            {
                "id": np.arange(1, nps_count + 1),
                "member_id": rng.integers(1, members + 1, nps_count),
                "store_id": rng.integers(1, store_count + 1, nps_count),
                "score": rng.integers(0, 11, nps_count),
                "comment": "",
                "answered_at": utc_text(
                    now - pd.to_timedelta(rng.integers(1, 400, nps_count), unit="D")
                ),
            }
        ),
    )
    sequences_reset([Region, Store, Category, Product, Member, Order, OrderLine,
                     CommunityMessage, NpsAnswer])  # fmt: skip
    tag_defaults_ensure()
    TagCategoryRule.objects.create(
        tag=Tag.objects.get(name="有孩家庭"),
        category=Category.objects.get(name="婴儿辅食"),
        min_purchases=2,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"orders": order_count, "lines": lines, "messages": message_count, "nps": nps_count}


def naive_member_recompute(member: object, *, as_of: dt.datetime) -> None:
    """The per-member way: a handful of ORM queries and writes for every single member."""
    from django.utils import timezone

    from apps.customers.analytics.tagging import keywords_in_text, tokenizer_for
    from apps.customers.models import (
        CommunityMessage,
        MemberProfile,
        MemberTag,
        NpsAnswer,
        TagCategoryRule,
        TagKeyword,
    )
    from apps.stores.models import Order, OrderLine

    start = as_of - dt.timedelta(days=90)
    counted = Order.objects.filter(member=member).exclude(status__in=["cancelled", "refunded"])
    window_lines = list(
        OrderLine.objects.filter(
            order__in=counted.filter(placed_at__gte=start, placed_at__lt=as_of)
        ).select_related("order", "product__category")
    )
    last = counted.filter(placed_at__lt=as_of).order_by("-placed_at").first()
    nps = (
        NpsAnswer.objects.filter(member=member, answered_at__lt=as_of)
        .order_by("-answered_at", "-pk")
        .first()
    )
    orders = {line.order_id: line.order for line in window_lines}
    spend = sum((line.line_total for line in window_lines), Decimal("0"))
    discounted = sum((line.line_total for line in window_lines if line.discount > 0), Decimal(0))
    by_category: dict[str, Decimal] = {}
    for line in window_lines:
        name = line.product.category.name
        by_category[name] = by_category.get(name, Decimal(0)) + line.line_total
    hours: dict[int, int] = {}
    windows = set()
    for order in orders.values():
        hour = timezone.localtime(order.placed_at).hour
        hours[hour] = hours.get(hour, 0) + 1
        windows.add((order.placed_at - start) // dt.timedelta(days=30))
    repurchase = Decimal(len(windows)) / 3
    tenure = max((as_of.date() - timezone.localtime(member.joined_at).date()).days, 0)
    nps_part = Decimal(nps.score) / 10 if nps else Decimal("0.5")
    score = 40 * repurchase + 30 * min(Decimal(tenure) / 365, Decimal(1)) + 30 * nps_part
    level = 1 + sum(score >= threshold for threshold in (30, 50, 70, 85))
    top = sorted(by_category.items(), key=lambda item: (-item[1], item[0]))[:3]
    MemberProfile.objects.update_or_create(
        member=member,
        defaults={
            "recency_days": (as_of.date() - timezone.localtime(last.placed_at).date()).days
            if last
            else None,
            "frequency_90d": len(orders),
            "spend_90d": spend,
            "average_basket": (spend / len(orders)).quantize(Decimal("0.01")) if orders else 0,
            "top_categories": [
                {"category": name, "share": float(round(value / spend, 4))} for name, value in top
            ],
            "price_sensitivity": round(discounted / spend, 4) if spend else 0,
            "usual_hours": [h for h, _n in sorted(hours.items(), key=lambda i: (-i[1], i[0]))[:2]],
            "monthly_repurchase_rate": round(repurchase, 4),
            "trust_score": round(score, 2),
            "trust_level": level,
            "computed_at": as_of,
        },
    )
    keywords = dict(TagKeyword.objects.values_list("keyword", "tag_id"))
    tokenizer = tokenizer_for(keywords)
    tag_ids = set()
    for message in CommunityMessage.objects.filter(
        member=member, sent_at__gte=start, sent_at__lt=as_of
    ):
        for keyword in keywords_in_text(message.text, keywords=keywords, tokenizer=tokenizer):
            tag_ids.add(keywords[keyword])
    for rule in TagCategoryRule.objects.all():
        bought = {
            line.order_id for line in window_lines if line.product.category_id == rule.category_id
        }
        if len(bought) >= rule.min_purchases:
            tag_ids.add(rule.tag_id)
    MemberTag.objects.filter(member=member, source__in=["chat", "purchase"]).exclude(
        tag_id__in=tag_ids
    ).delete()
    for tag_id in tag_ids:
        MemberTag.objects.get_or_create(
            member=member, tag_id=tag_id, defaults={"source": "chat", "evidence": ""}
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--sample", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-data", action="store_true", help="reuse data already generated")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    database_prepare(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from apps.customers.models import Member, MemberProfile, MemberTag
    from apps.customers.services.profiles import member_profiles_recompute

    print(f"database: {urlparse(url).path.lstrip('/')}")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s")

    if not args.keep_data:
        started = time.perf_counter()
        counts = data_generate(members=args.members, lines=args.lines, seed=args.seed)
        print(
            f"generated {args.members:,} members, {counts['orders']:,} orders, "
            f"{counts['lines']:,} order lines, {counts['messages']:,} chat messages, "
            f"{counts['nps']:,} NPS answers via COPY in {time.perf_counter() - started:.1f} s"
        )
    member_total = Member.objects.count()

    timings = []
    set_wise_profiles: dict[int, tuple] = {}
    next_night = AS_OF + dt.timedelta(days=1)
    runs = [
        ("first run (empty profile table unless --keep-data)", AS_OF),
        ("next night (as_of + 1 day: every profile row updated)", next_night),
        ("same-day rerun (nothing changes, nothing rewritten)", next_night),
    ]
    for label, as_of in runs:
        started = time.perf_counter()
        stats = member_profiles_recompute(as_of=as_of)
        seconds = time.perf_counter() - started
        timings.append(seconds)
        print(
            f"set-wise recompute, {label}: {seconds:.2f} s — {stats.members:,} profiles, "
            f"{stats.order_lines:,} lines, {stats.chat_tags:,} chat tags, "
            f"{stats.purchase_tags:,} purchase tags"
        )
        if not set_wise_profiles:
            set_wise_profiles = {
                row[0]: row[1:]
                for row in MemberProfile.objects.values_list(
                    "member_id", "frequency_90d", "spend_90d", "trust_score", "recency_days"
                )
            }
    setwise = max(timings)

    auto_tags = MemberTag.objects.filter(source__in=["chat", "purchase"]).count()
    rng = np.random.default_rng(args.seed + 1)
    sample_ids = rng.choice(member_total, size=min(args.sample, member_total), replace=False) + 1
    sample = list(Member.objects.filter(pk__in=sample_ids.tolist()))
    started = time.perf_counter()
    for member in sample:
        naive_member_recompute(member, as_of=AS_OF)
    naive_sample = time.perf_counter() - started
    naive_total = naive_sample * member_total / len(sample)
    agree = sum(
        set_wise_profiles[row[0]] == row[1:]
        for row in MemberProfile.objects.filter(member__in=sample).values_list(
            "member_id", "frequency_90d", "spend_90d", "trust_score", "recency_days"
        )
    )
    print(
        f"naive per-member loop: {naive_sample:.2f} s for a random sample of {len(sample):,} "
        f"members, EXTRAPOLATED to {member_total:,} members: {naive_total:.0f} s"
    )
    print(f"naive and set-wise agree (orders, spend, trust, recency) on {agree}/{len(sample)}")
    print(f"automatic tags after the set-wise run: {auto_tags:,}")
    print(
        f"ratio naive/set-wise: {naive_total / setwise:.1f}x (slower set-wise run: {setwise:.2f} s)"
    )
    verdict = "PASS" if setwise < 60 else "FAIL"
    print(f"target: {member_total:,} members / {args.lines:,} lines in < 60 s — {verdict}")


if __name__ == "__main__":
    main()
