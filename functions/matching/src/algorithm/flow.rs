//! Minimum-cost flow on the matching network, by the primal-dual method,
//! written for its bipartite shape.
//!
//! Network: source → mentee (capacity 1) → mentor (capacity 1, cost
//! −score) → sink (the mentor's capacity). Each phase computes shortest
//! augmenting paths with node potentials (Dijkstra on reduced costs, with a
//! bucket queue since costs are small integers), then pushes flow along
//! every path of zero reduced cost (depth-first rounds with Dinic's
//! current-arc scheme). Path lengths only grow, so the number of phases is
//! bounded by the spread of the scores, not by the number of pairs. Run to
//! the end it gives a maximum flow of minimum cost: the most pairs, then the
//! highest total score; in `score_only` mode it stops at the first path that
//! would lower the score.
//!
//! The residual graph is never stored: from a mentee, the arcs it does not
//! use; from a mentor, the mentees it holds (at most its capacity) and the
//! sink while it has room. Scanning a mentor costs its load, not its degree.

/// Candidate arcs, grouped by mentee, and the mentors' capacities.
pub struct Bipartite {
    /// `first[i]..first[i + 1]`: the arcs of mentee `i`.
    first: Vec<u32>,
    mentor: Vec<u32>,
    cost: Vec<i32>,
    capacity: Vec<u8>,
    /// The arc each mentee uses, or `NONE`.
    used: Vec<u32>,
    /// The mentees each mentor holds: `held[j * MAX_CAPACITY..][..load[j]]`.
    held: Vec<u32>,
    load: Vec<u8>,
    /// After a solve: node potentials under which every residual arc of
    /// the final flow has a non-negative reduced cost (see [`Self::solve`]).
    dual: Vec<i64>,
}

const NONE: u32 = u32::MAX;
/// What the nodes the source no longer reaches are lifted by in the final
/// duals: more than any reduced cost, so that an arc left out from a node
/// the source reaches to one it does not (which could carry one more pair)
/// always prices out.
pub const LIFT: i64 = 1 << 40;
/// The largest mentor capacity.
pub const MAX_CAPACITY: usize = 3;
const UNREACHED: i64 = i64::MAX;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub flow: u64,
    pub cost: i64,
    /// Shortest-path computations.
    pub phases: u32,
}

impl Bipartite {
    /// `arcs(i)`: mentee `i`'s (mentor, cost) arcs; capacities above
    /// [`MAX_CAPACITY`] count as that.
    pub fn new<I>(mentees: usize, capacities: &[u8], arcs: impl Fn(usize) -> I) -> Self
    where
        I: IntoIterator<Item = (u32, i32)>,
    {
        let mut first = Vec::with_capacity(mentees + 1);
        let (mut mentor, mut cost) = (Vec::new(), Vec::new());
        first.push(0);
        for i in 0..mentees {
            for (j, c) in arcs(i) {
                mentor.push(j);
                cost.push(c);
            }
            first.push(mentor.len() as u32);
        }
        Self {
            first,
            mentor,
            cost,
            capacity: capacities
                .iter()
                .map(|c| (*c).min(MAX_CAPACITY as u8))
                .collect(),
            used: vec![NONE; mentees],
            held: vec![NONE; capacities.len() * MAX_CAPACITY],
            load: vec![0; capacities.len()],
            dual: Vec::new(),
        }
    }

    /// The reduced cost, under the final duals, of an arc from `mentee` to
    /// `mentor` costing `cost`: negative when the arc, left out of the
    /// network, could improve the solution.
    pub fn reduced_cost(&self, mentee: u32, mentor: u32, cost: i32) -> i64 {
        let n = self.mentees();
        i64::from(cost) + self.dual[mentee as usize] - self.dual[n + mentor as usize]
    }

    pub fn mentee_dual(&self, mentee: u32) -> i64 {
        self.dual[mentee as usize]
    }

    /// The final duals of the mentors, by mentor.
    pub fn mentor_duals(&self) -> &[i64] {
        &self.dual[self.mentees()..self.mentees() + self.capacity.len()]
    }

    fn mentees(&self) -> usize {
        self.first.len() - 1
    }

    /// The mentor each mentee is paired with, by arc: (mentee, arc index).
    pub fn pairs(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.used
            .iter()
            .enumerate()
            .filter(|(_, arc)| **arc != NONE)
            .map(|(i, arc)| (i as u32, *arc as usize))
    }

    pub fn arc_mentor(&self, arc: usize) -> u32 {
        self.mentor[arc]
    }

    fn holds(&self, mentor: usize) -> &[u32] {
        &self.held[mentor * MAX_CAPACITY..mentor * MAX_CAPACITY + usize::from(self.load[mentor])]
    }

    /// Mentees 0..n, mentors n..n+m, then the sink; the source is implicit.
    fn initial_potentials(&self) -> Vec<i64> {
        let n = self.mentees();
        let m = self.capacity.len();
        let mut potential = vec![0i64; n + m + 1];
        for (arc, &j) in self.mentor.iter().enumerate() {
            let p = &mut potential[n + j as usize];
            *p = (*p).min(i64::from(self.cost[arc]));
        }
        potential[n + m] = potential[n..n + m].iter().copied().min().unwrap_or(0);
        potential
    }

    /// Min-cost flow. `stop_when_cost_rises`: stop before the first
    /// augmenting path of non-negative cost.
    ///
    /// Leaves duals that certify the flow on any larger network: with the
    /// last search's distances added, every residual arc keeps a
    /// non-negative reduced cost; when the flow is maximal, the nodes the
    /// source no longer reaches are lifted by [`LIFT`]. So an arc added
    /// later with a non-negative reduced cost can neither make a cheaper
    /// flow of the same size (no negative cycle) nor a larger one (no arc
    /// out of the reachable set), and, in `stop_when_cost_rises` mode, no
    /// augmenting path of negative cost (the sink's dual stays ≥ 0).
    pub fn solve(&mut self, stop_when_cost_rises: bool) -> FlowStats {
        let n = self.mentees();
        let m = self.capacity.len();
        let sink = n + m;
        let mut potential = self.initial_potentials();
        let mut distance = vec![UNREACHED; n + m + 1];
        let mut buckets: Vec<Vec<u32>> = Vec::new();
        let mut search = Search::new(n + m + 1);
        let mut stats = FlowStats::default();
        loop {
            stats.phases += 1;
            let Some(to_sink) = self.shortest_paths(&potential, &mut distance, &mut buckets) else {
                self.keep_duals(&potential, &distance, None);
                break;
            };
            // The actual cost of a shortest augmenting path (the source's potential stays 0).
            let path_cost = to_sink + potential[sink];
            if stop_when_cost_rises && path_cost >= 0 {
                self.keep_duals(&potential, &distance, Some(to_sink));
                break;
            }
            for (p, &d) in potential.iter_mut().zip(&distance) {
                *p += d.min(to_sink);
            }
            loop {
                let found = self.augment_round(&potential, &mut search);
                if found == 0 {
                    break;
                }
                stats.flow += found;
                stats.cost += path_cost * found as i64;
            }
        }
        stats
    }

    /// The final duals: the potentials plus the last search's distances,
    /// capped at `to_sink` when that search reached the sink, the nodes it
    /// did not reach lifted otherwise. A free mentee without an arc is one
    /// step from the source (dual 0), whatever the search saw.
    fn keep_duals(&mut self, potential: &[i64], distance: &[i64], to_sink: Option<i64>) {
        self.dual = potential
            .iter()
            .zip(distance)
            .map(|(p, &d)| match to_sink {
                Some(cap) => p + d.min(cap),
                None if d == UNREACHED => p + LIFT,
                None => p + d,
            })
            .collect();
        for (i, arcs) in self.first.windows(2).enumerate() {
            if self.used[i] == NONE && arcs[0] == arcs[1] {
                self.dual[i] = 0;
            }
        }
    }

    /// Dijkstra from the source on reduced costs, up to the sink; its distance.
    fn shortest_paths(
        &self,
        potential: &[i64],
        distance: &mut [i64],
        buckets: &mut Vec<Vec<u32>>,
    ) -> Option<i64> {
        let n = self.mentees();
        let sink = distance.len() - 1;
        distance.fill(UNREACHED);
        for bucket in buckets.iter_mut() {
            bucket.clear();
        }
        let relax = |distance: &mut [i64], buckets: &mut Vec<Vec<u32>>, node: usize, d: i64| {
            if d < distance[node] {
                distance[node] = d;
                let index = d as usize;
                if buckets.len() <= index {
                    buckets.resize_with(index + 1, Vec::new);
                }
                buckets[index].push(node as u32);
            }
        };
        // Source → free mentee: cost 0.
        for (i, (&used, arcs)) in self.used.iter().zip(self.first.windows(2)).enumerate() {
            if used == NONE && arcs[0] < arcs[1] {
                relax(distance, buckets, i, -potential[i]);
            }
        }
        let mut d = 0;
        while d < buckets.len() {
            let Some(node) = buckets[d].pop() else {
                d += 1;
                continue;
            };
            let node = node as usize;
            if distance[node] != d as i64 {
                continue;
            }
            if node == sink {
                return Some(d as i64);
            }
            let here = d as i64 + potential[node];
            if node < n {
                let used = self.used[node];
                for arc in self.first[node] as usize..self.first[node + 1] as usize {
                    if arc as u32 == used {
                        continue;
                    }
                    let j = n + self.mentor[arc] as usize;
                    relax(
                        distance,
                        buckets,
                        j,
                        here + i64::from(self.cost[arc]) - potential[j],
                    );
                }
            } else {
                let j = node - n;
                if self.load[j] < self.capacity[j] {
                    relax(distance, buckets, sink, here - potential[sink]);
                }
                for &i in self.holds(j) {
                    let i = i as usize;
                    let arc = self.used[i] as usize;
                    relax(
                        distance,
                        buckets,
                        i,
                        here - i64::from(self.cost[arc]) - potential[i],
                    );
                }
            }
        }
        None
    }

    /// One round of depth-first searches from the source along arcs of zero
    /// reduced cost (Dinic's current-arc scheme without levels): a node that
    /// leads nowhere is dead for the round, an arc that failed is not tried
    /// again, and nodes on the stack are never re-entered, so that cycles of
    /// zero reduced cost cannot trap the search. Pushes one unit along each
    /// path found and returns how many. A round that finds none proves there
    /// is none: no node was then judged dead because of one that later found
    /// a way.
    fn augment_round(&mut self, potential: &[i64], search: &mut Search) -> u64 {
        let n = self.mentees();
        let sink = potential.len() - 1;
        search.start_round(&self.first);
        let mut found = 0;
        // Mentees are tried in order from the source; `path` holds the nodes.
        let mut next_mentee = 0;
        loop {
            let Some(&node) = search.path.last() else {
                // Start from the next free mentee the source reaches at zero reduced cost.
                while next_mentee < n
                    && (self.used[next_mentee] != NONE
                        || potential[next_mentee] != 0
                        || search.is_dead(next_mentee))
                {
                    next_mentee += 1;
                }
                if next_mentee == n {
                    return found;
                }
                search.enter(next_mentee);
                next_mentee += 1;
                continue;
            };
            let node = node as usize;
            let step = if node < n {
                self.next_from_mentee(node, potential, search)
            } else {
                self.next_from_mentor(node - n, potential, search)
            };
            match step {
                Some(to) if to == sink => {
                    self.flip(&search.path, &search.current);
                    while let Some(frame) = search.path.pop() {
                        search.leave(frame as usize);
                    }
                    found += 1;
                }
                Some(to) => search.enter(to),
                None => {
                    search.bury(node);
                    search.path.pop();
                    if let Some(&parent) = search.path.last() {
                        search.current[parent as usize] += 1;
                    }
                }
            }
        }
    }

    /// The next admissible step from a mentee: an arc it does not use.
    fn next_from_mentee(&self, i: usize, potential: &[i64], search: &mut Search) -> Option<usize> {
        let n = self.mentees();
        let end = self.first[i + 1];
        while search.current[i] < end {
            let arc = search.current[i] as usize;
            let j = n + self.mentor[arc] as usize;
            // The reduced cost first: most arcs fail it, at one memory access.
            if i64::from(self.cost[arc]) + potential[i] - potential[j] == 0
                && arc as u32 != self.used[i]
                && search.may_enter(j)
            {
                return Some(j);
            }
            search.current[i] += 1;
        }
        None
    }

    /// The next admissible step from a mentor: the sink while it has room
    /// (position 0), then the mentees it holds (positions 1..=load).
    fn next_from_mentor(&self, j: usize, potential: &[i64], search: &mut Search) -> Option<usize> {
        let n = self.mentees();
        let node = n + j;
        let sink = potential.len() - 1;
        loop {
            let position = search.current[node] as usize;
            if position == 0 {
                if self.load[j] < self.capacity[j] && potential[node] == potential[sink] {
                    return Some(sink);
                }
            } else {
                let i = *self.holds(j).get(position - 1)? as usize;
                let arc = self.used[i] as usize;
                if -i64::from(self.cost[arc]) + potential[node] - potential[i] == 0
                    && search.may_enter(i)
                {
                    return Some(i);
                }
            }
            search.current[node] += 1;
        }
    }

    /// Pushes one unit along `path` (free mentee, mentor, mentee, …, mentor):
    /// each mentee takes the arc to the next mentor, each inner mentor gives
    /// up the mentee that follows it, the last mentor gains one.
    fn flip(&mut self, path: &[u32], current: &[u32]) {
        let n = self.mentees();
        for pair in path.chunks(2) {
            let i = pair[0] as usize;
            let arc = current[i];
            let j = self.mentor[arc as usize] as usize;
            debug_assert_eq!(pair[1] as usize, n + j);
            let slot = current[n + j] as usize;
            let base = j * MAX_CAPACITY;
            if slot == 0 {
                // The path ends here: one more mentee held.
                self.held[base + usize::from(self.load[j])] = i as u32;
                self.load[j] += 1;
            } else {
                // Holds this mentee instead of the next one on the path.
                self.held[base + slot - 1] = i as u32;
            }
            self.used[i] = arc;
        }
    }
}

/// The state of the augmenting rounds, kept between rounds.
struct Search {
    round: u32,
    /// Per node: `2 × round` when found to lead nowhere in this round,
    /// `2 × round + 1` while on the stack (one array, one memory access).
    mark: Vec<u32>,
    /// The next arc (mentee) or position (mentor) to try, per node.
    current: Vec<u32>,
    path: Vec<u32>,
}

impl Search {
    fn new(nodes: usize) -> Self {
        Self {
            round: 0,
            mark: vec![0; nodes],
            current: vec![0; nodes],
            path: Vec::new(),
        }
    }

    fn start_round(&mut self, first: &[u32]) {
        self.round += 1;
        let mentees = first.len() - 1;
        self.current[..mentees].copy_from_slice(&first[..mentees]);
        self.current[mentees..].fill(0);
        self.path.clear();
    }

    fn may_enter(&self, node: usize) -> bool {
        self.mark[node] < 2 * self.round
    }

    fn is_dead(&self, node: usize) -> bool {
        self.mark[node] == 2 * self.round
    }

    fn enter(&mut self, node: usize) {
        self.mark[node] = 2 * self.round + 1;
        self.path.push(node as u32);
    }

    /// Off the stack, free to be entered again in this round.
    fn leave(&mut self, node: usize) {
        self.mark[node] = 0;
    }

    fn bury(&mut self, node: usize) {
        self.mark[node] = 2 * self.round;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solve(capacities: &[u8], arcs: &[&[(u32, i32)]], score_only: bool) -> (u64, i64) {
        let mut network = Bipartite::new(arcs.len(), capacities, |i| arcs[i].to_vec());
        let stats = network.solve(score_only);
        (stats.flow, stats.cost)
    }

    #[test]
    fn the_cheaper_pair_is_taken_first() {
        assert_eq!(solve(&[1], &[&[(0, -3)], &[(0, -7)]], false), (1, -7));
    }

    /// Greedy takes the best pair (a–x, 10) and pairs one mentee; the
    /// optimum pairs both (a–y 9, b–x 8).
    #[test]
    fn more_pairs_beat_a_better_single_pair() {
        assert_eq!(
            solve(&[1, 1], &[&[(0, -10), (1, -9)], &[(0, -8)]], false),
            (2, -17)
        );
    }

    #[test]
    fn score_only_stops_before_a_path_that_lowers_the_score() {
        // a–x 10, a–y 1, b–x 1: two pairs score 2, one pair scores 10.
        let arcs: &[&[(u32, i32)]] = &[&[(0, -10), (1, -1)], &[(0, -1)]];
        assert_eq!(solve(&[1, 1], arcs, false), (2, -2));
        assert_eq!(solve(&[1, 1], arcs, true), (1, -10));
    }

    #[test]
    fn a_mentor_takes_as_many_mentees_as_its_capacity() {
        let arcs: &[&[(u32, i32)]] = &[&[(0, -1)], &[(0, -2)], &[(0, -3)], &[(0, -4)]];
        assert_eq!(solve(&[3], arcs, false), (3, -9));
    }
}
