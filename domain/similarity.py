"""Similar problem descriptions: character n-gram TF-IDF cosine, and clusters across
enterprises (行业共性问题). Pure Python, no model and no network.

Chinese has no spaces between words; character bigrams and trigrams stand in for words
(a bigram already carries most two-character words such as 泄漏, 焊缝), Latin letters and
digits count as whole tokens. IDF is computed over the texts compared, so words every
report uses (问题, 产品, 公司) weigh little.

The service areas are not a condition: enterprises file the same problem under different
areas (a leaking valve under inspection or under standards), and requiring a shared area cut
recall on the labelled set from 0.71 to 0.47 at the same threshold. The notice shows them.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# Chosen on the labelled set in tests/data (bench/similarity_bench.py prints the curve).
SIMILAR_THRESHOLD = 0.10
# Document frequencies count this many extra documents that share nothing: with a handful of
# reports, a word all of them use would otherwise weigh as little as 问题 does in thousands.
EMPTY_DOCUMENTS = 10
# A cluster worth a research topic spans at least this many enterprises.
CLUSTER_MIN_ENTERPRISES = 3

_LATIN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
# Words that say nothing about which problem it is.
_STOP_BIGRAMS = frozenset(
    ["问题", "我们", "公司", "产品", "出现", "现在", "需要", "希望", "帮助", "一些", "没有", "目前"]
)


def tokens(text: str) -> Counter[str]:
    """Character bigrams of each run of Chinese, and Latin/number words.

    Trigrams were tried too: on the labelled set they lowered recall at every precision.
    """
    lowered = text.lower()
    found: Counter[str] = Counter(_LATIN.findall(lowered))
    for run in _HAN_RUN.findall(lowered):
        if len(run) == 1:
            found[run] += 1
        for start in range(len(run) - 1):
            gram = run[start : start + 2]
            if gram not in _STOP_BIGRAMS:
                found[gram] += 1
    return found


@dataclass(frozen=True)
class Vectors:
    """Unit-length TF-IDF vectors of a list of texts, in the same order."""

    weights: list[dict[str, float]]

    @classmethod
    def of(cls, texts: Sequence[str]) -> Vectors:
        counted = [tokens(text) for text in texts]
        document_frequency: Counter[str] = Counter()
        for counts in counted:
            document_frequency.update(counts.keys())
        total = len(counted)
        weights = []
        for counts in counted:
            vector = {
                term: (1 + math.log(count))
                * (math.log((1 + total + EMPTY_DOCUMENTS) / (1 + document_frequency[term])) + 1)
                for term, count in counts.items()
            }
            norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
            weights.append({term: value / norm for term, value in vector.items()})
        return cls(weights)

    def cosine(self, first: int, second: int) -> float:
        a, b = self.weights[first], self.weights[second]
        if len(a) > len(b):
            a, b = b, a
        return sum(value * b.get(term, 0.0) for term, value in a.items())


def similar_to_last(
    texts: Sequence[str], threshold: float = SIMILAR_THRESHOLD
) -> list[tuple[int, float]]:
    """Indexes of the texts similar to the last one, most similar first, with the score."""
    if not texts:
        return []
    vectors = Vectors.of(texts)
    last = len(texts) - 1
    scored = [(index, vectors.cosine(index, last)) for index in range(last)]
    return sorted(
        ((index, score) for index, score in scored if score >= threshold), key=lambda pair: -pair[1]
    )


@dataclass(frozen=True)
class Item:
    """One report to cluster: its id, its enterprise, its areas and its text."""

    item_id: int
    enterprise_id: int
    areas: frozenset[str]
    text: str


def clusters(
    items: Sequence[Item],
    threshold: float = SIMILAR_THRESHOLD,
    min_enterprises: int = CLUSTER_MIN_ENTERPRISES,
) -> list[list[Item]]:
    """Groups of similar reports from at least `min_enterprises` enterprises, largest first;
    each group in the order given.

    Average linkage: two groups merge while the mean similarity of all their pairs reaches
    the threshold. Single linkage (any one pair) chained unrelated problems through one
    vague report into a single cluster on the labelled set.
    """
    vectors = Vectors.of([item.text for item in items])
    # Summed similarity between groups; pairs that share no n-gram add nothing.
    links: dict[int, dict[int, float]] = {index: {} for index in range(len(items))}
    for first in range(len(items)):
        for second in range(first + 1, len(items)):
            score = vectors.cosine(first, second)
            if score > 0:
                links[first][second] = links[second][first] = score
    members: dict[int, list[int]] = {index: [index] for index in range(len(items))}
    candidates = [
        (-score, first, second, 1, 1)
        for first, row in links.items()
        for second, score in row.items()
        if first < second and score >= threshold
    ]
    heapq.heapify(candidates)
    while candidates:
        _, first, second, first_size, second_size = heapq.heappop(candidates)
        if first not in members or second not in members:
            continue
        if (len(members[first]), len(members[second])) != (first_size, second_size):
            continue  # a stale entry: one of the groups has grown since
        # Merge `second` into `first`, summing their links to every other group.
        members[first].extend(members.pop(second))
        second_links = links.pop(second)
        second_links.pop(first, None)
        links[first].pop(second, None)
        for other, score in second_links.items():
            links[other].pop(second, None)
            merged = links[first].get(other, 0.0) + score
            links[first][other] = links[other][first] = merged
        size = len(members[first])
        for other, total in links[first].items():
            average = total / (size * len(members[other]))
            if average >= threshold:
                heapq.heappush(candidates, (-average, first, other, size, len(members[other])))
    found = [
        [items[index] for index in sorted(group)]
        for group in members.values()
        if len({items[index].enterprise_id for index in group}) >= min_enterprises
    ]
    return sorted(found, key=lambda group: (-len(group), group[0].item_id))


def pairwise_precision_recall(
    labelled: Sequence[tuple[str, str]], threshold: float = SIMILAR_THRESHOLD
) -> tuple[float, float]:
    """Precision and recall of "same group" over every pair of (group, text): a pair is
    predicted similar when its cosine reaches the threshold."""
    vectors = Vectors.of([text for _, text in labelled])
    true_positive = predicted = actual = 0
    for first in range(len(labelled)):
        for second in range(first + 1, len(labelled)):
            same = labelled[first][0] == labelled[second][0]
            similar = vectors.cosine(first, second) >= threshold
            actual += same
            predicted += similar
            true_positive += same and similar
    precision = true_positive / predicted if predicted else 1.0
    return precision, (true_positive / actual if actual else 1.0)
