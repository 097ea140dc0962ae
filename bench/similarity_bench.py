"""Precision and recall of "same group" on the labelled problem descriptions.

    .venv/bin/python bench/similarity_bench.py [--threshold 0.10]

Every pair of descriptions is one decision: predicted "similar" when the cosine of their
character bigram TF-IDF vectors reaches the threshold. Pairs in the same labelled group
are the true ones.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.similarity import (  # noqa: E402
    SIMILAR_THRESHOLD,
    Item,
    clusters,
    pairwise_precision_recall,
)

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "problem_groups.csv"


def load() -> list[tuple[str, Item]]:
    """The labelled set: (group, item) per description."""
    with LABELLED.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        (row["group"], Item(index, index, frozenset(row["areas"].split("|")), row["text"]))
        for index, row in enumerate(rows)
    ]


def precision_recall(threshold: float) -> tuple[float, float]:
    """Pairwise precision and recall of "same group" at the threshold."""
    return pairwise_precision_recall([(group, item.text) for group, item in load()], threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threshold", type=float, default=SIMILAR_THRESHOLD)
    args = parser.parse_args()
    labelled = load()
    groups = {group for group, _ in labelled}
    print(f"{len(labelled)} descriptions in {len(groups)} groups")
    print("threshold  precision  recall")
    for step in range(4, 22, 2):
        threshold = step / 100
        precision, recall = precision_recall(threshold)
        print(f"{threshold:9.2f}  {precision:9.3f}  {recall:6.3f}")
    precision, recall = precision_recall(args.threshold)
    print(f"chosen threshold {args.threshold:.2f}: precision {precision:.3f}, recall {recall:.3f}")
    # The weekly clusters (average linkage), each description from its own enterprise.
    found = clusters([item for _, item in labelled], threshold=args.threshold)
    group_of = {item.item_id: group for group, item in labelled}
    clustered = sum(len(cluster) for cluster in found)
    majority = sum(
        max(sum(group_of[i.item_id] == g for i in cluster) for g in groups) for cluster in found
    )
    print(
        f"clusters: {len(found)}, {clustered} of {len(labelled)} descriptions clustered, "
        f"purity {majority / max(clustered, 1):.3f}"
    )


if __name__ == "__main__":
    main()
