"""Demand structures as graphs (intermediary-proof-mechanisms, Section 2: buyers partitioned among intermediaries)."""

from __future__ import annotations

import networkx as nx
import pytest

from agora.market.demand import (
    SELLER,
    DemandError,
    all_partitions,
    bell_number,
    competition,
    from_partition,
    monopsony,
    parse_partition,
    partition_of,
    validate_partition,
)
from agora.market.errors import InputError

BELL = [1, 2, 5, 15, 52, 203, 877, 4140]  # Bell(1..8), OEIS A000110


def _kinds(g):
    return {v: k for v, k in g.nodes(data="kind")}


def test_from_partition_graph_structure():
    """Partition 0,1|2|3,4: nodes B0..B4, I0..I2, S; edges buyer -> its intermediary -> seller."""
    g = from_partition([[0, 1], [2], [3, 4]])
    kinds = _kinds(g)
    assert sorted(v for v, k in kinds.items() if k == "buyer") == ["B0", "B1", "B2", "B3", "B4"]
    assert sorted(v for v, k in kinds.items() if k == "intermediary") == ["I0", "I1", "I2"]
    assert [v for v, k in kinds.items() if k == "seller"] == [SELLER] == ["S"]
    expected_edges = {("B0", "I0"), ("B1", "I0"), ("B2", "I1"), ("B3", "I2"), ("B4", "I2"),
                      ("I0", "S"), ("I1", "S"), ("I2", "S")}
    assert set(g.edges) == expected_edges
    assert g.nodes["B3"]["index"] == 3 and g.nodes["I2"]["index"] == 2
    assert g.graph["partition"] == ((0, 1), (2,), (3, 4))
    assert nx.is_directed_acyclic_graph(g)


def test_from_partition_canonicalises_block_order():
    """Blocks are sorted inside and ordered by least buyer: [[4,3],[2],[1,0]] is 0,1|2|3,4."""
    g = from_partition([[4, 3], [2], [1, 0]])
    assert g.graph["partition"] == ((0, 1), (2,), (3, 4))
    assert set(g.predecessors("I0")) == {"B0", "B1"}


@pytest.mark.parametrize("n", [1, 2, 5])
def test_monopsony(n):
    """Monopsony: one intermediary holds every buyer."""
    g = monopsony(n)
    assert [v for v, k in g.nodes(data="kind") if k == "intermediary"] == ["I0"]
    assert set(g.predecessors("I0")) == {f"B{i}" for i in range(n)}
    assert partition_of(g) == (tuple(range(n)),)
    assert g.number_of_edges() == n + 1


@pytest.mark.parametrize("n", [1, 2, 5])
def test_competition(n):
    """Competition: every buyer has an intermediary of its own."""
    g = competition(n)
    assert partition_of(g) == tuple((i,) for i in range(n))
    for i in range(n):
        assert list(g.successors(f"B{i}")) == [f"I{i}"]
    assert g.number_of_edges() == 2 * n


def test_parse_partition():
    """'0,1|2|3,4' reads as ((0,1),(2,),(3,4)); spaces and block order do not matter."""
    assert parse_partition("0,1|2|3,4") == ((0, 1), (2,), (3, 4))
    assert parse_partition("3, 4 | 2 | 1,0") == ((0, 1), (2,), (3, 4))
    assert parse_partition("0") == ((0,),)
    assert parse_partition("0,1,2", 3) == ((0, 1, 2),)


@pytest.mark.parametrize("text", ["0,1|2|3,4", "0|1|2", "0,1,2,3", "2,0|1,3", "5|0,1,2|3,4"])
def test_partition_round_trips_through_graph(text):
    """partition_of(from_partition(p)) == p."""
    p = parse_partition(text)
    assert partition_of(from_partition(p)) == p


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_all_partitions_round_trip(n):
    """Every partition of n buyers survives the trip through its graph."""
    for p in all_partitions(n):
        assert partition_of(from_partition(p, n)) == p


@pytest.mark.parametrize("blocks,n,fragment", [
    ([[0], [2]], 3, "misses buyer(s) [1]"),
    ([[0], [2]], None, "misses buyer(s) [1]"),
    ([[0, 1]], 3, "misses buyer(s) [2]"),
    ([[0, 1], [1, 2]], None, "buyer(s) [1] appear in more than one block"),
    ([[0, 0]], None, "buyer(s) [0] appear in more than one block"),
    ([[0], []], None, "empty block"),
    ([[]], None, "empty block"),
    ([[0, 5]], 3, "buyer(s) [5] are not among buyers 0..2"),
    ([[-1, 0, 1]], 2, "buyer(s) [-1] are not among buyers 0..1"),
    ([], None, "needs n >= 1"),
    ([[0]], 0, "needs n >= 1"),
])
def test_validation_errors(blocks, n, fragment):
    """Every buyer in exactly one nonempty block; the error says which rule failed."""
    with pytest.raises(DemandError) as info:
        validate_partition(blocks, n)
    assert fragment in str(info.value)
    with pytest.raises(DemandError):
        from_partition(blocks, n)


@pytest.mark.parametrize("text", ["0,a|1", "0,1||2", "", "0;1", "0,1|", "x"])
def test_parse_partition_bad_text(text):
    """Unreadable text names the input and the expected form."""
    with pytest.raises(DemandError) as info:
        parse_partition(text)
    msg = str(info.value)
    assert f"'{text}'" in msg
    assert "0,1|2|3,4" in msg


def test_parse_partition_readable_but_invalid():
    """Readable text that is not a partition is rejected by validation (repeated buyer 1)."""
    with pytest.raises(DemandError, match=r"\[1\] appear in more than one block"):
        parse_partition("0,1|1,2")
    with pytest.raises(DemandError, match=r"misses buyer\(s\) \[3\]"):
        parse_partition("0,1|2", 4)


def test_demand_error_is_input_error():
    """DemandError is an InputError (the CLI turns it into one line, exit 2)."""
    assert issubclass(DemandError, InputError) and issubclass(DemandError, ValueError)


def test_partition_of_rejects_buyer_with_two_intermediaries():
    """A buyer held by two intermediaries is not a demand structure."""
    g = from_partition([[0], [1]])
    g.add_edge("B0", "I1")
    with pytest.raises(DemandError, match="B0"):
        partition_of(g)


def test_partition_of_rejects_intermediary_without_seller_edge():
    """Every intermediary must sell to the seller."""
    g = from_partition([[0], [1]])
    g.remove_edge("I1", SELLER)
    with pytest.raises(DemandError, match="I1"):
        partition_of(g)


def test_partition_of_rejects_orphan_buyer():
    """A buyer with no intermediary is not a demand structure."""
    g = from_partition([[0], [1]])
    g.remove_edge("B1", "I1")
    with pytest.raises(DemandError):
        partition_of(g)


@pytest.mark.parametrize("n", range(1, 9))
def test_all_partitions_count_distinct_canonical(n):
    """all_partitions(n) yields Bell(n) distinct canonical partitions of buyers 0..n-1."""
    parts = list(all_partitions(n))
    assert len(parts) == BELL[n - 1]
    assert len(set(parts)) == BELL[n - 1]
    for p in parts:
        assert sorted(i for b in p for i in b) == list(range(n))
        assert all(len(b) > 0 and list(b) == sorted(b) for b in p)
        assert [b[0] for b in p] == sorted(b[0] for b in p)


def test_all_partitions_small_cases_explicit():
    """n = 3: the five partitions written out."""
    assert set(all_partitions(3)) == {((0, 1, 2),), ((0,), (1, 2)), ((0, 1), (2,)),
                                      ((0, 2), (1,)), ((0,), (1,), (2,))}


@pytest.mark.parametrize("n", [0, -2])
def test_all_partitions_rejects_nonpositive(n):
    """A demand structure needs at least one buyer."""
    with pytest.raises(DemandError):
        list(all_partitions(n))


def test_bell_number_known_values():
    """bell_number(1..8) = 1, 2, 5, 15, 52, 203, 877, 4140."""
    assert [bell_number(n) for n in range(1, 9)] == BELL
    assert bell_number(10) == 115975


def test_a_partition_of_many_repeated_blocks_names_each_repeated_buyer_once():
    """100,000 one-buyer blocks over 3 buyers: buyers 0, 1 and 2 each repeat (counted, not searched per buyer)."""
    with pytest.raises(DemandError, match=r"buyer\(s\) \[0, 1, 2\] appear in more than one block"):
        validate_partition([[i % 3] for i in range(100_000)], 3)
