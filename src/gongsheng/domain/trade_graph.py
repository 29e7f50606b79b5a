"""Circular trading (循环交易) as a graph question: who buys from whom, and who buys back.

An edge ``(a, b)`` says merchant ``a`` (through consumer accounts connected to it) bought at
merchant ``b``. A *circle* is a set of two or more merchants each reachable from every other
along edges: a strongly connected component. Money that goes round a circle returns to where it
started while each sale farms points and rewards.
"""

from __future__ import annotations

from collections.abc import Iterable


def circles(edges: Iterable[tuple[int, int]]) -> list[tuple[int, ...]]:
    """The strongly connected components of two or more nodes, each sorted, in sorted order.

    Self-loops are ignored (a merchant buying from itself is wash trading, not a circle).
    Iterative Tarjan: O(nodes + edges), no recursion limit.
    """
    graph: dict[int, list[int]] = {}
    for a, b in edges:
        if a == b:
            continue
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    found: list[tuple[int, ...]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[int, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph[node]
            if i < len(successors):
                work.append((node, i + 1))
                nxt = successors[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(tuple(sorted(component)))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(found)
