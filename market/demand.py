"""Demand structures: which intermediary holds which buyers (a networkx DiGraph).

Nodes are ``"B<i>"`` for buyer i (attribute ``kind="buyer"``, ``index=i``),
``"I<j>"`` for intermediary j (``kind="intermediary"``) and ``"S"`` for the
seller (``kind="seller"``); edges run buyer -> intermediary -> seller. A demand
structure is a partition of the buyers among intermediaries
(intermediary-proof-mechanisms, Section 2): competition gives every buyer an
intermediary of its own, monopsony puts all of them behind one (the
monopolist intermediary of monopolist-intermediary).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Sequence

import networkx as nx
from more_itertools import set_partitions

from agora.market.errors import InputError

SELLER = "S"

Partition = tuple[tuple[int, ...], ...]


class DemandError(InputError):
    """A partition or graph that is not a valid demand structure."""


def buyer_node(i: int) -> str:
    return f"B{i}"


def intermediary_node(j: int) -> str:
    return f"I{j}"


def canonical(blocks: Sequence[Sequence[int]]) -> Partition:
    """Blocks sorted inside and ordered by their least buyer."""
    return tuple(sorted((tuple(sorted(b)) for b in blocks), key=lambda b: b[0]))


def validate_partition(blocks: Sequence[Sequence[int]], n: int | None = None) -> Partition:
    """Check every buyer 0..n-1 appears in exactly one nonempty block; return it canonical."""
    blocks = [tuple(int(i) for i in b) for b in blocks]
    if any(len(b) == 0 for b in blocks):
        raise DemandError(f"partition {blocks} has an empty block; every intermediary needs a buyer")
    seen = [i for b in blocks for i in b]
    n = max(seen, default=-1) + 1 if n is None else n
    if n < 1:
        raise DemandError(f"a demand structure needs n >= 1 buyers, got n = {n}")
    repeated = sorted(i for i, c in Counter(seen).items() if c > 1)
    if repeated:
        raise DemandError(f"buyer(s) {repeated} appear in more than one block of {blocks}")
    outside = sorted(i for i in seen if not 0 <= i < n)
    if outside:
        raise DemandError(f"buyer(s) {outside} are not among buyers 0..{n - 1}")
    if len(seen) < n:  # no buyer repeated or outside 0..n-1: n - len(seen) are missing
        raise DemandError(f"partition {blocks} misses buyer(s) {_first_missing(seen, n)}; every buyer "
                          f"0..{n - 1} must be in exactly one block")
    return canonical(blocks)


def _first_missing(seen: Sequence[int], n: int, shown: int = 10) -> str:
    """The first ``shown`` buyers of 0..n-1 not in ``seen`` (and how many in all), found without
    building range(n): for a billion buyers named in a short partition."""
    present = set(seen)
    first = list(itertools.islice((i for i in range(n) if i not in present), shown))
    count = n - len(present)
    return str(first) if count <= shown else f"{str(first)[:-1]}, ...] ({count} in all)"


def parse_partition(text: str, n: int | None = None) -> Partition:
    """Read ``"0,1|2|3,4"`` (blocks separated by ``|``, buyers by ``,``)."""
    try:
        blocks = [[int(x) for x in block.split(",")] for block in text.split("|")]
    except ValueError:
        raise DemandError(f"cannot read partition '{text}': expected buyer indices like "
                          "'0,1|2|3,4' (blocks separated by '|', buyers by ',')") from None
    return validate_partition(blocks, n)


def from_partition(blocks: Sequence[Sequence[int]], n: int | None = None) -> nx.DiGraph:
    """The demand graph of a partition: block j is held by intermediary j."""
    blocks = validate_partition(blocks, n)
    g = nx.DiGraph(partition=blocks)
    g.add_node(SELLER, kind="seller")
    for j, block in enumerate(blocks):
        g.add_node(intermediary_node(j), kind="intermediary", index=j)
        g.add_edge(intermediary_node(j), SELLER)
        for i in block:
            g.add_node(buyer_node(i), kind="buyer", index=i)
            g.add_edge(buyer_node(i), intermediary_node(j))
    return g


def monopsony(n: int) -> nx.DiGraph:
    """One intermediary holds all n buyers."""
    return from_partition([range(n)], n)


def competition(n: int) -> nx.DiGraph:
    """Every buyer has an intermediary of its own."""
    return from_partition([[i] for i in range(n)], n)


def nodes_of(graph: nx.DiGraph, kind: str) -> list[str]:
    """Nodes of one kind, ordered by index."""
    nodes = [v for v, k in graph.nodes(data="kind") if k == kind]
    return sorted(nodes, key=lambda v: graph.nodes[v].get("index", 0))


def partition_of(graph: nx.DiGraph) -> Partition:
    """Recover and validate the partition a demand graph encodes."""
    buyers = nodes_of(graph, "buyer")
    blocks = []
    for m in nodes_of(graph, "intermediary"):
        if not graph.has_edge(m, SELLER):
            raise DemandError(f"intermediary {m} has no edge to the seller {SELLER}")
        blocks.append([graph.nodes[b]["index"] for b in graph.predecessors(m)])
    for b in buyers:
        if graph.out_degree(b) != 1:
            raise DemandError(f"buyer {b} is held by {graph.out_degree(b)} intermediaries; "
                              "each buyer must have exactly one")
    return validate_partition(blocks, len(buyers))


def all_partitions(n: int) -> Iterator[Partition]:
    """Every partition of buyers 0..n-1 (Bell(n) of them), canonical and without repeats."""
    if n < 1:
        raise DemandError(f"a demand structure needs n >= 1 buyers, got n = {n}")
    for blocks in set_partitions(range(n)):
        yield canonical(blocks)


def partition_text(blocks: Sequence[Sequence[int]]) -> str:
    """A partition as :func:`parse_partition` reads it: ``((0, 1), (2,))`` -> ``"0,1|2"``."""
    return "|".join(",".join(map(str, b)) for b in blocks)


def most_buyers_within(count: int) -> int:
    """The largest n with Bell(n) <= ``count`` (0 if none): how many buyers :func:`all_partitions`
    can enumerate within ``count`` structures."""
    n = 0
    while bell_number(n + 1) <= count:
        n += 1
    return n


def bell_number(n: int) -> int:
    """Bell(n), the number of demand structures on n buyers (Bell triangle)."""
    row = [1]
    for _ in range(n - 1):
        nxt = [row[-1]]
        for x in row:
            nxt.append(nxt[-1] + x)
        row = nxt
    return row[-1]
