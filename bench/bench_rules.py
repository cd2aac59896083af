"""Benchmark: co-purchase rules on 1,000,000 baskets, sparse matrix vs pure-Python pair count.

    python bench/bench_rules.py                    # 1,000,000 baskets, 2,000 products
    python bench/bench_rules.py --baskets 200000 --sample 20000

No database: baskets are drawn with numpy (sizes 1 + Poisson(1.6), Zipf-like popularity over
`--products` products in 60 categories, three planted pairs). The sparse path is what the
nightly run does per scope: build the binarised basket × item matrix (products plus their
categories), C = Xᵀ X, rules with support / confidence / lift above the thresholds.

The baseline is `rules_reference` (the pure-Python pair count the tests compare against) on
the first `--sample` baskets, extrapolated linearly to all baskets (its cost is linear in the
baskets: a dictionary update per pair). On that sample both paths must give the same rules.
Prints both times, the ratio and whether the sparse path met the target (< 30 s); exits 1 when
it did not.
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

from apps.catalog.analytics.rules import (  # noqa: E402
    basket_matrix_build,
    rules_from_matrix,
    rules_reference,
    with_categories,
)

TARGET_SECONDS = 30.0


def baskets_draw(count: int, products: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(basket id, product id) per line for `count` baskets."""
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.poisson(1.6, size=count)
    popularity = 1.0 / np.arange(1, products + 1) ** 0.9
    popularity /= popularity.sum()
    lines = int(sizes.sum())
    basket_ids = np.repeat(np.arange(count), sizes)
    product_ids = rng.choice(products, size=lines, p=popularity) + 1
    # Planted pairs: a basket holding A gets B with a fixed probability.
    for a, b, probability in ((50, 51, 0.7), (120, 300, 0.5), (7, 900, 0.4)):
        holders = np.unique(basket_ids[product_ids == a])
        chosen = holders[rng.random(holders.size) < probability]
        basket_ids = np.concatenate([basket_ids, chosen])
        product_ids = np.concatenate([product_ids, np.full(chosen.size, b)])
    return basket_ids, product_ids


def sparse_rules(
    basket_ids: np.ndarray,
    product_ids: np.ndarray,
    categories: dict[int, int],
    args: argparse.Namespace,
) -> tuple[float, object]:
    started = time.perf_counter()
    baskets = basket_matrix_build(basket_ids, product_ids)
    matrix, items, parent = with_categories(baskets, categories)
    table = rules_from_matrix(
        matrix,
        items,
        min_support=args.min_support,
        min_confidence=args.min_confidence,
        min_pair_count=args.min_pair_count,
        parent=parent,
    )
    return time.perf_counter() - started, table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baskets", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=50_000, help="baskets for the baseline")
    parser.add_argument("--min-support", type=float, default=0.0001)
    parser.add_argument("--min-confidence", type=float, default=0.05)
    parser.add_argument("--min-pair-count", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    basket_ids, product_ids = baskets_draw(args.baskets, args.products, args.seed)
    categories = {p: 1 + p % 60 for p in range(1, args.products + 1)}
    print(f"{args.baskets:,} baskets, {basket_ids.size:,} lines, {args.products:,} products")

    seconds, table = sparse_rules(basket_ids, product_ids, categories, args)
    print(f"sparse (scipy CSR, Xᵀ X):     {seconds:8.2f} s  → {len(table):,} rules")

    in_sample = basket_ids < args.sample
    sample_ids, sample_products = basket_ids[in_sample], product_ids[in_sample]
    order = np.argsort(sample_ids, kind="stable")
    sample_ids, sample_products = sample_ids[order], sample_products[order]
    bounds = np.flatnonzero(np.diff(sample_ids)) + 1
    sample_baskets = [chunk.tolist() for chunk in np.split(sample_products, bounds)]
    started = time.perf_counter()
    reference = rules_reference(
        sample_baskets,
        min_support=args.min_support,
        min_confidence=args.min_confidence,
        min_pair_count=args.min_pair_count,
        product_category=categories,
    )
    baseline_sample = time.perf_counter() - started
    baseline = baseline_sample * args.baskets / args.sample
    print(
        f"pure Python pair count:        {baseline_sample:8.2f} s on {args.sample:,} baskets "
        f"→ {baseline:8.1f} s extrapolated to {args.baskets:,}"
    )

    _seconds, sample_table = sparse_rules(sample_ids, sample_products, categories, args)
    same = {
        (int(a), int(b)): (int(p), int(ca), int(cb), float(s), float(c), float(lift))
        for a, b, p, ca, cb, s, c, lift in zip(
            sample_table.antecedent,
            sample_table.consequent,
            sample_table.pair_count,
            sample_table.antecedent_count,
            sample_table.consequent_count,
            sample_table.support,
            sample_table.confidence,
            sample_table.lift,
            strict=True,
        )
    } == reference
    print(f"same rules as the reference on the sample: {'yes' if same else 'NO'}")
    print(f"speed-up: {baseline / seconds:.0f}×")
    met = seconds < TARGET_SECONDS and same
    verdict = "met" if met else "NOT met"
    print(f"target: < {TARGET_SECONDS:.0f} s for {args.baskets:,} baskets — {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
