"""The reference solver of the matching benchmark: Google OR-tools'
min-cost flow, maximum flow of minimum cost, on the graph file the bench
writes (little-endian u32: mentees, mentors, arcs; the mentors'
capacities; the arcs' mentees, mentors and scores). Prints one JSON line:
pairs, total score, solve seconds, peak memory (MB).
"""

import json
import resource
import sys
import time

import numpy as np
from ortools.graph.python import min_cost_flow


def main(path: str) -> None:
    data = np.fromfile(path, dtype="<u4").astype(np.int64)
    mentees, mentors, arcs = (int(x) for x in data[:3])
    capacities = data[3 : 3 + mentors]
    body = data[3 + mentors :]
    tails, heads, scores = body[:arcs], body[arcs : 2 * arcs], body[2 * arcs : 3 * arcs]
    top = int(scores.max()) if arcs else 0

    source, sink = 0, mentees + mentors + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    mentee_nodes = np.arange(1, mentees + 1, dtype=np.int64)
    mentor_nodes = np.arange(mentees + 1, mentees + mentors + 1, dtype=np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(mentees, source), mentee_nodes, np.ones(mentees, dtype=np.int64), np.zeros(mentees, dtype=np.int64)
    )
    # For a maximum flow, minimising (top - score) maximises the score.
    flow.add_arcs_with_capacity_and_unit_cost(
        tails + 1, heads + mentees + 1, np.ones(arcs, dtype=np.int64), top - scores
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        mentor_nodes, np.full(mentors, sink), capacities, np.zeros(mentors, dtype=np.int64)
    )
    flow.set_node_supply(source, mentees)
    flow.set_node_supply(sink, -mentees)

    started = time.perf_counter()
    status = flow.solve_max_flow_with_min_cost()
    seconds = time.perf_counter() - started
    if status != flow.OPTIMAL:
        sys.exit(f"OR-tools: status {status}")
    pairs = flow.maximum_flow()
    score = pairs * top - flow.optimal_cost()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"pairs": pairs, "score": score, "seconds": seconds, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main(sys.argv[1])
