"""Similar problem descriptions on the labelled set shipped in tests/data."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from domain.similarity import (
    SIMILAR_THRESHOLD,
    Item,
    clusters,
    pairwise_precision_recall,
    similar_to_last,
    tokens,
)

LABELLED = Path(__file__).resolve().parents[1] / "data" / "problem_groups.csv"


def labelled() -> list[tuple[str, str]]:
    with LABELLED.open(encoding="utf-8") as handle:
        return [(row["group"], row["text"]) for row in csv.DictReader(handle)]


def test_the_labelled_set_has_60_descriptions_in_10_groups() -> None:
    rows = labelled()
    sizes = Counter(group for group, _ in rows)
    assert len(rows) >= 60 and len(sizes) >= 10
    assert min(sizes.values()) >= 5


def test_precision_at_least_0_8_at_recall_at_least_0_6() -> None:
    precision, recall = pairwise_precision_recall(labelled(), SIMILAR_THRESHOLD)
    assert precision >= 0.8, (precision, recall)
    assert recall >= 0.6, (precision, recall)


def test_clusters_on_the_labelled_set_are_mostly_pure() -> None:
    rows = labelled()
    # Every description from its own enterprise: clusters need 3 enterprises.
    items = [Item(index, index, frozenset(), text) for index, (_, text) in enumerate(rows)]
    found = clusters(items)
    assert len(found) >= 8
    clustered = sum(len(group) for group in found)
    in_majority = sum(
        Counter(rows[item.item_id][0] for item in group).most_common(1)[0][1] for group in found
    )
    assert in_majority / clustered >= 0.8


def test_a_cluster_needs_three_enterprises() -> None:
    texts = [
        "阀门密封面泄漏，压力试验不合格",
        "阀门阀座密封泄漏，试压不合格",
        "闸阀密封面泄漏试压不合格",
    ]
    two_firms = [Item(i, i % 2, frozenset(), text) for i, text in enumerate(texts)]
    three_firms = [Item(i, i, frozenset(), text) for i, text in enumerate(texts)]
    assert clusters(two_firms) == []
    assert [item.item_id for item in clusters(three_firms)[0]] == [0, 1, 2]


def test_the_new_text_finds_its_group_and_not_others() -> None:
    texts = [
        "压力容器焊缝射线探伤发现气孔",
        "漆膜附着力差，涂层脱落",
        "预包装食品标签营养成分表标注不规范",
        "储罐焊缝探伤出现密集气孔，返修多",
    ]
    found = similar_to_last(texts)
    assert [index for index, _ in found] == [0]


def test_tokens_are_chinese_bigrams_and_latin_words() -> None:
    found = tokens("PE管材壁厚<b>不足</b>")
    assert {"pe", "管材", "壁厚", "不足", "b"} <= set(found)
    assert "问题" not in tokens("质量问题")
