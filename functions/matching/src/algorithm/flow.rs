//! Minimum-cost flow on the matching network, by the primal-dual method,
//! written for its bipartite shape.
//!
//! Network: source → mentee (capacity 1) → mentor (capacity 1, cost
//! −score) → sink (the mentor's capacity). Each phase computes shortest
//! augmenting paths with node potentials (Dijkstra on reduced costs, with a
//! bucket queue since costs are small integers), then pushes flow along
//! every path of zero reduced cost (a maximum flow on those arcs, by
//! shortest augmenting paths with distance labels). Path lengths only grow,
//! so the number of phases is bounded by the spread of the scores, not by
//! the number of pairs. Run to
//! the end it gives a maximum flow of minimum cost: the most pairs, then the
//! highest total score; in `score_only` mode it stops at the first path that
//! would lower the score.
//!
//! The residual graph is never stored: from a mentee, the arcs it does not
//! use; from a mentor, the mentees it holds (at most its capacity) and the
//! sink while it has room. Scanning a mentor costs its load, not its degree.

use rayon::prelude::*;

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
        let mut phase = Phase::default();
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
            let found = self.augment(&potential, &mut phase);
            stats.flow += found;
            stats.cost += path_cost * found as i64;
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

    /// Pushes flow along paths of zero reduced cost until none is left from
    /// a free mentee to the sink: a maximum flow on the phase's admissible
    /// arcs, by shortest augmenting paths with distance labels (Ahuja and
    /// Orlin). Labels start exact (a search back from the sink); a search
    /// steps only from a node to one labelled one less, and a node it
    /// cannot leave is relabelled and left behind, so no round ever starts
    /// over. When no node keeps a label, every node above it is cut off from
    /// the sink (the gap rule). Returns the paths pushed.
    fn augment(&mut self, potential: &[i64], phase: &mut Phase) -> u64 {
        let n = self.mentees();
        phase.start(self, potential);
        let unreachable = phase.unreachable();
        let mut found = 0;
        for start in 0..n {
            if self.used[start] != NONE
                || potential[start] != 0
                || phase.label[start] >= unreachable
            {
                continue;
            }
            phase.path.clear();
            phase.path.push(start as u32);
            while let Some(&node) = phase.path.last() {
                let node = node as usize;
                let step = if node < n {
                    self.next_from_mentee(node, phase)
                } else {
                    self.next_from_mentor(node - n, potential, phase)
                };
                match step {
                    Some(to) if to == phase.sink() => {
                        self.flip(phase);
                        found += 1;
                        break;
                    }
                    Some(to) => phase.path.push(to as u32),
                    None => {
                        let label = self.lowest_label_out(node, potential, phase);
                        phase.relabel(node, label);
                        phase.path.pop();
                        if phase.relabels > unreachable as usize {
                            // Labels creeping up one step at a time around
                            // a region that cannot reach the sink: make
                            // them exact again, which cuts it off at once.
                            phase.label_exactly(self, potential);
                            phase.path.clear();
                        }
                        if phase.path.is_empty() && phase.label[start] < unreachable {
                            phase.path.push(start as u32);
                        }
                    }
                }
            }
        }
        found
    }

    /// The next step from a mentee: an admissible arc it does not use, to a
    /// mentor labelled one less.
    fn next_from_mentee(&self, i: usize, phase: &mut Phase) -> Option<usize> {
        let n = self.mentees();
        let end = phase.first[i + 1];
        let wanted = phase.label[i].wrapping_sub(1);
        while phase.current[i] < end {
            let arc = phase.arc[phase.current[i] as usize];
            let j = n + self.mentor[arc as usize] as usize;
            if phase.label[j] == wanted && arc != self.used[i] {
                return Some(j);
            }
            phase.current[i] += 1;
        }
        None
    }

    /// The next step from a mentor, to a node labelled one less: the sink
    /// while it has room (position 0), then the mentees it holds (positions
    /// 1..=load).
    fn next_from_mentor(&self, j: usize, potential: &[i64], phase: &mut Phase) -> Option<usize> {
        let node = self.mentees() + j;
        let wanted = phase.label[node].wrapping_sub(1);
        loop {
            let position = phase.current[node] as usize;
            if position == 0 {
                if wanted == 0 && self.sink_admissible(j, potential) {
                    return Some(phase.sink());
                }
            } else {
                let i = *self.holds(j).get(position - 1)? as usize;
                if phase.label[i] == wanted && self.release_admissible(j, i, potential) {
                    return Some(i);
                }
            }
            phase.current[node] += 1;
        }
    }

    fn sink_admissible(&self, j: usize, potential: &[i64]) -> bool {
        let n = self.mentees();
        self.load[j] < self.capacity[j] && potential[n + j] == potential[potential.len() - 1]
    }

    /// Whether mentor `j` giving up mentee `i`, whom it holds, costs
    /// nothing under the phase's potentials.
    fn release_admissible(&self, j: usize, i: usize, potential: &[i64]) -> bool {
        let arc = self.used[i] as usize;
        -i64::from(self.cost[arc]) + potential[self.mentees() + j] - potential[i] == 0
    }

    /// One more than the lowest label `node` has an admissible arc to.
    fn lowest_label_out(&self, node: usize, potential: &[i64], phase: &Phase) -> u32 {
        let n = self.mentees();
        let lowest = if node < n {
            let positions = phase.first[node] as usize..phase.first[node + 1] as usize;
            phase.arc[positions]
                .iter()
                .filter(|&&arc| arc != self.used[node])
                .map(|&arc| phase.label[n + self.mentor[arc as usize] as usize])
                .min()
        } else {
            let j = node - n;
            let to_sink = self.sink_admissible(j, potential).then_some(0);
            self.holds(j)
                .iter()
                .filter(|&&i| self.release_admissible(j, i as usize, potential))
                .map(|&i| phase.label[i as usize])
                .chain(to_sink)
                .min()
        };
        let unreachable = phase.unreachable();
        lowest.map_or(unreachable, |label| (label + 1).min(unreachable))
    }

    /// Pushes one unit along the phase's path (free mentee, mentor, mentee,
    /// …, mentor), each node by its current arc: each mentee takes the arc
    /// to the next mentor, each inner mentor gives up the mentee that
    /// follows it, the last mentor gains one.
    fn flip(&mut self, phase: &Phase) {
        let n = self.mentees();
        for pair in phase.path.chunks(2) {
            let i = pair[0] as usize;
            let arc = phase.arc[phase.current[i] as usize];
            let j = self.mentor[arc as usize] as usize;
            debug_assert_eq!(pair[1] as usize, n + j);
            let slot = phase.current[n + j] as usize;
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

/// Mentees per parallel task when a phase lists its admissible arcs.
const LISTING_RANGE: usize = 8192;

/// A phase's admissible network (the arcs of zero reduced cost under its
/// potentials) and the state of its augmenting searches. The mentees' arcs
/// of zero reduced cost are listed once per phase, the arc each uses among
/// them: an arc a path frees was on the path, so of zero reduced cost too.
#[derive(Default)]
struct Phase {
    /// `first[i]..first[i + 1]`: mentee `i`'s positions in `arc`.
    first: Vec<u32>,
    arc: Vec<u32>,
    /// The same arcs by mentor, as (mentee, arc): `into[into_first[j]..]`.
    into_first: Vec<u32>,
    into: Vec<(u32, u32)>,
    /// Per node (mentees, mentors, sink): a lower bound on the admissible
    /// arcs from it to the sink, [`Self::unreachable`] when there is no way.
    label: Vec<u32>,
    /// Nodes per label.
    count: Vec<u32>,
    /// The next position to try, per node.
    current: Vec<u32>,
    path: Vec<u32>,
    queue: std::collections::VecDeque<u32>,
    /// Relabels since the labels were last made exact.
    relabels: usize,
}

impl Phase {
    fn sink(&self) -> usize {
        self.label.len() - 1
    }

    fn unreachable(&self) -> u32 {
        self.label.len() as u32
    }

    /// Lists the admissible arcs and labels every node by its distance to
    /// the sink on them.
    fn start(&mut self, network: &Bipartite, potential: &[i64]) {
        let n = network.mentees();
        let m = network.capacity.len();
        // Every arc is read once a phase: in parallel, by ranges of mentees.
        let ranges: Vec<(usize, usize)> = (0..n)
            .step_by(LISTING_RANGE)
            .map(|start| (start, (start + LISTING_RANGE).min(n)))
            .collect();
        let listed: Vec<(Vec<u32>, Vec<u32>)> = ranges
            .into_par_iter()
            .map(|(start, end)| {
                let (mut ends, mut arcs) = (Vec::with_capacity(end - start), Vec::new());
                for i in start..end {
                    for arc in network.first[i]..network.first[i + 1] {
                        let j = n + network.mentor[arc as usize] as usize;
                        if i64::from(network.cost[arc as usize]) + potential[i] - potential[j] == 0
                        {
                            arcs.push(arc);
                        }
                    }
                    ends.push(arcs.len() as u32);
                }
                (ends, arcs)
            })
            .collect();
        self.first.clear();
        self.arc.clear();
        self.first.push(0);
        for (ends, arcs) in listed {
            let offset = self.arc.len() as u32;
            self.first.extend(ends.iter().map(|end| offset + end));
            self.arc.extend_from_slice(&arcs);
        }
        self.into_first.clear();
        self.into_first.resize(m + 1, 0);
        for &arc in &self.arc {
            self.into_first[network.mentor[arc as usize] as usize + 1] += 1;
        }
        for j in 0..m {
            self.into_first[j + 1] += self.into_first[j];
        }
        self.into.resize(self.arc.len(), (0, 0));
        let mut next = self.into_first.clone();
        for i in 0..n {
            for &arc in &self.arc[self.first[i] as usize..self.first[i + 1] as usize] {
                let j = network.mentor[arc as usize] as usize;
                self.into[next[j] as usize] = (i as u32, arc);
                next[j] += 1;
            }
        }

        self.label_exactly(network, potential);
    }

    /// Labels every node by its distance to the sink on the admissible
    /// arcs, those that cannot reach it unreachable, and has their arcs
    /// tried again from the first.
    fn label_exactly(&mut self, network: &Bipartite, potential: &[i64]) {
        let n = network.mentees();
        let m = network.capacity.len();
        let nodes = n + m + 1;
        let unreachable = nodes as u32;
        self.relabels = 0;
        self.label.clear();
        self.label.resize(nodes, unreachable);
        self.label[nodes - 1] = 0;
        self.queue.clear();
        self.queue.push_back(nodes as u32 - 1);
        while let Some(node) = self.queue.pop_front() {
            let node = node as usize;
            let next_label = self.label[node] + 1;
            let reach =
                |label: &mut [u32], queue: &mut std::collections::VecDeque<u32>, from: usize| {
                    if label[from] == unreachable {
                        label[from] = next_label;
                        queue.push_back(from as u32);
                    }
                };
            if node == nodes - 1 {
                for j in 0..m {
                    if network.sink_admissible(j, potential) {
                        reach(&mut self.label, &mut self.queue, n + j);
                    }
                }
            } else if node >= n {
                let j = node - n;
                for &(i, arc) in
                    &self.into[self.into_first[j] as usize..self.into_first[j + 1] as usize]
                {
                    if network.used[i as usize] != arc {
                        reach(&mut self.label, &mut self.queue, i as usize);
                    }
                }
            } else if network.used[node] != NONE {
                let j = network.mentor[network.used[node] as usize] as usize;
                if network.release_admissible(j, node, potential) {
                    reach(&mut self.label, &mut self.queue, n + j);
                }
            }
        }
        self.count.clear();
        self.count.resize(nodes, 0);
        for &label in &self.label {
            if label < unreachable {
                self.count[label as usize] += 1;
            }
        }
        self.current.clear();
        self.current.extend_from_slice(&self.first[..n]);
        self.current.resize(nodes, 0);
    }

    /// Gives `node` a higher label and its arcs to try again from the
    /// first; when its old label is left to no node, every node above is
    /// cut off from the sink.
    fn relabel(&mut self, node: usize, label: u32) {
        let unreachable = self.unreachable();
        let old = self.label[node];
        // A mentee's arcs start at its first; a mentor's positions at 0.
        self.current[node] = if node + 1 < self.first.len() {
            self.first[node]
        } else {
            0
        };
        if old >= unreachable {
            // Cut off by a gap while on the path.
            return;
        }
        self.relabels += 1;
        self.count[old as usize] -= 1;
        if self.count[old as usize] == 0 {
            for other in self.label.iter_mut() {
                if *other > old && *other < unreachable {
                    self.count[*other as usize] -= 1;
                    *other = unreachable;
                }
            }
            self.label[node] = unreachable;
        } else {
            self.label[node] = label;
            if label < unreachable {
                self.count[label as usize] += 1;
            }
        }
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

    /// Successive shortest paths by Bellman–Ford on an explicit residual
    /// graph: slow and plain, the reference for networks too large for
    /// brute force.
    /// Returns the flow, its cost and the phases a primal-dual solve takes:
    /// one per distinct cost of the shortest augmenting paths, one to stop.
    fn reference(capacities: &[u8], arcs: &[Vec<(u32, i32)>], score_only: bool) -> (u64, i64, u32) {
        let (n, m) = (arcs.len(), capacities.len());
        let (source, sink) = (n + m, n + m + 1);
        // (to, capacity, cost); arc k's reverse is k ^ 1.
        let mut edges: Vec<(usize, i64, i64)> = Vec::new();
        let mut out = vec![Vec::new(); n + m + 2];
        let mut add = |from: usize, to: usize, capacity: i64, cost: i64| {
            out[from].push(edges.len());
            edges.push((to, capacity, cost));
            out[to].push(edges.len());
            edges.push((from, 0, -cost));
        };
        for (i, list) in arcs.iter().enumerate() {
            add(source, i, 1, 0);
            for &(j, c) in list {
                add(i, n + j as usize, 1, i64::from(c));
            }
        }
        for (j, &c) in capacities.iter().enumerate() {
            add(n + j, sink, i64::from(c.min(MAX_CAPACITY as u8)), 0);
        }
        let (mut flow, mut cost) = (0, 0);
        let mut path_costs = Vec::new();
        loop {
            let mut distance = vec![i64::MAX; n + m + 2];
            let mut via = vec![usize::MAX; n + m + 2];
            distance[source] = 0;
            let mut changed = true;
            while changed {
                changed = false;
                for node in 0..n + m + 2 {
                    if distance[node] == i64::MAX {
                        continue;
                    }
                    for &e in &out[node] {
                        let (to, capacity, c) = edges[e];
                        if capacity > 0 && distance[node] + c < distance[to] {
                            distance[to] = distance[node] + c;
                            via[to] = e;
                            changed = true;
                        }
                    }
                }
            }
            if distance[sink] == i64::MAX || (score_only && distance[sink] >= 0) {
                path_costs.dedup();
                return (flow, cost, path_costs.len() as u32 + 1);
            }
            path_costs.push(distance[sink]);
            let mut node = sink;
            while node != source {
                let e = via[node];
                edges[e].1 -= 1;
                edges[e ^ 1].1 += 1;
                node = edges[e ^ 1].0;
            }
            flow += 1;
            cost += distance[sink];
        }
    }

    /// Networks large and dense enough for long alternating paths and gaps
    /// in the labels.
    #[test]
    fn larger_networks_match_a_plain_reference() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        for seed in 0..40 {
            let mut rng = StdRng::seed_from_u64(seed);
            let (n, m) = (rng.random_range(20..120), rng.random_range(5..50));
            let capacities: Vec<u8> = (0..m).map(|_| rng.random_range(0..=3)).collect();
            let arcs: Vec<Vec<(u32, i32)>> = (0..n)
                .map(|_| {
                    let mut mentors: Vec<u32> = (0..rng.random_range(0..8))
                        .map(|_| rng.random_range(0..m as u32))
                        .collect();
                    mentors.sort_unstable();
                    mentors.dedup();
                    mentors
                        .into_iter()
                        .map(|j| (j, -rng.random_range(0..12)))
                        .collect()
                })
                .collect();
            for score_only in [false, true] {
                let mut network = Bipartite::new(n, &capacities, |i| arcs[i].clone());
                let stats = network.solve(score_only);
                // As many phases as path costs: each phase's flow is maximal
                // on the arcs of zero reduced cost.
                assert_eq!(
                    (stats.flow, stats.cost, stats.phases),
                    reference(&capacities, &arcs, score_only),
                    "seed {seed}, score_only {score_only}"
                );
            }
        }
    }

    #[test]
    fn a_mentor_takes_as_many_mentees_as_its_capacity() {
        let arcs: &[&[(u32, i32)]] = &[&[(0, -1)], &[(0, -2)], &[(0, -3)], &[(0, -4)]];
        assert_eq!(solve(&[3], arcs, false), (3, -9));
    }
}
