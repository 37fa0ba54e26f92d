//! Mentor–mentee pairing for a whole pool at once: pure code over plain
//! data, no I/O.
//!
//! 1. [`candidates`] lists, for each mentee, the mentors that pass every
//!    `must` criterion and are not excluded — all of them, or the best few
//!    per mentee (`per_mentee`), found through an index of the mentors by
//!    what the hard filters look at instead of scoring every pair;
//! 2. [`flow`] solves a minimum-cost flow on those candidates: the most
//!    pairs, then the highest total score (or the highest score alone in
//!    [`Objective::ScoreOnly`]), with every mentor's capacity as a hard
//!    bound. The result is optimal on the candidates, not greedy.
//!
//! Every pair comes with its points per criterion.

pub mod candidates;
pub mod flow;
#[cfg(test)]
mod tests;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
pub use shared::criteria::{Criteria, Rule};
use shared::people::{Mode, Need, Situation};

/// What the solver optimises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "Ce qu'un run optimise : `most_pairs` (le plus de binômes, puis le meilleur score total) ou `score_only` (le meilleur score total, quitte à former moins de binômes).", as = MatchingObjective)]
pub enum Objective {
    /// The most pairs, then the highest total score.
    #[default]
    MostPairs,
    /// The highest total score, even with fewer pairs.
    ScoreOnly,
}

impl Objective {
    /// What the run aims at, as staff read it.
    pub fn in_words(self) -> &'static str {
        match self {
            Objective::MostPairs => {
                "Former le plus de binômes possible, puis, parmi ces solutions, celle dont le total des points est le plus haut."
            }
            Objective::ScoreOnly => {
                "Obtenir le total de points le plus haut, quitte à former moins de binômes : seuls les binômes les mieux assortis sont retenus."
            }
        }
    }
}

/// Up to 256 languages (ISO 639-1 codes, by index), as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Languages([u64; 4]);

impl Languages {
    pub fn of(indexes: impl IntoIterator<Item = u8>) -> Self {
        let mut bits = [0u64; 4];
        for index in indexes {
            bits[usize::from(index / 64)] |= 1 << (index % 64);
        }
        Self(bits)
    }

    pub fn intersects(&self, other: &Languages) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }
}

/// The six needs as bits.
pub fn needs_mask(needs: &[Need]) -> u8 {
    needs.iter().fold(0, |mask, need| mask | 1 << (*need as u8))
}

/// Situations as bits.
pub fn situations_mask(situations: &[Situation]) -> u8 {
    situations
        .iter()
        .fold(0, |mask, situation| mask | 1 << (*situation as u8))
}

/// A mentee as the algorithm sees it. `fields`: the ids of the words of
/// their field, sorted (the caller interns words once per run).
#[derive(Debug, Clone, PartialEq)]
pub struct Mentee {
    pub departement: u8,
    pub mode: Mode,
    pub situation: Situation,
    pub languages: Languages,
    pub needs: u8,
    pub fields: Vec<u32>,
    pub waiting_weeks: u32,
    /// Under 18: only mentors cleared for minors.
    pub minor: bool,
}

/// A mentor as the algorithm sees it. `fields`: the ids of the words of
/// their fields and job title, sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Mentor {
    pub departement: u8,
    pub mode: Mode,
    pub audiences: u8,
    pub languages: Languages,
    pub expertise: u8,
    pub fields: Vec<u32>,
    /// Places left: capacity minus proposed and active pairs.
    pub capacity: u8,
    /// Their association recorded their honorability check.
    pub cleared_for_minors: bool,
}

pub use shared::pair::Points;

fn accepts_distance(mode: Mode) -> bool {
    mode != Mode::Presentiel
}

fn accepts_presentiel(mode: Mode) -> bool {
    mode != Mode::Distance
}

pub(crate) fn share_a_word(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// The points of a pair, or `None` when a `must` criterion fails.
pub fn evaluate(mentee: &Mentee, mentor: &Mentor, criteria: &Criteria) -> Option<Points> {
    // The law's rule, not a criterion an association may weigh.
    if mentee.minor && !mentor.cleared_for_minors {
        return None;
    }
    let mut points = Points::default();
    let same_departement = mentee.departement == mentor.departement;
    let in_person = accepts_presentiel(mentee.mode) && accepts_presentiel(mentor.mode);
    let checks: [(Rule, bool, &mut u32); 5] = [
        (
            criteria.situation,
            mentor.audiences & (1 << mentee.situation as u8) != 0,
            &mut points.situation,
        ),
        (
            criteria.mode,
            (accepts_distance(mentee.mode) && accepts_distance(mentor.mode))
                || (in_person && same_departement),
            &mut points.mode,
        ),
        (
            criteria.language,
            mentee.languages.intersects(&mentor.languages),
            &mut points.language,
        ),
        (
            criteria.field,
            share_a_word(&mentee.fields, &mentor.fields),
            &mut points.field,
        ),
        (
            criteria.proximity,
            in_person && same_departement,
            &mut points.proximity,
        ),
    ];
    for (rule, holds, slot) in checks {
        if rule.is_must() && !holds {
            return None;
        }
        *slot = rule.points(u32::from(holds));
    }
    let covered = (mentee.needs & mentor.expertise).count_ones();
    if criteria.needs.is_must() && covered == 0 {
        return None;
    }
    points.needs = criteria.needs.points(covered);
    points.waiting = criteria
        .waiting
        .points(mentee.waiting_weeks.min(criteria.waiting_cap_weeks));
    Some(points)
}

/// One proposed pair: indexes into the instance's mentees and mentors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub mentee: u32,
    pub mentor: u32,
    pub points: Points,
}

/// A pool to pair.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    pub mentees: Vec<Mentee>,
    pub mentors: Vec<Mentor>,
    pub criteria: Criteria,
    /// (mentee, mentor) pairs never to propose: declined, or already tried.
    pub exclusions: std::collections::HashSet<(u32, u32)>,
    pub objective: Objective,
}

#[derive(Debug, Clone, Default)]
pub struct Solution {
    pub pairs: Vec<Pair>,
    pub score: u64,
    /// Candidate pairs the solver considered.
    pub arcs: usize,
    pub phases: u32,
}

impl Solution {
    pub fn unmatched(&self, mentees: usize) -> Vec<u32> {
        let mut matched = vec![false; mentees];
        for pair in &self.pairs {
            matched[pair.mentee as usize] = true;
        }
        (0..mentees as u32)
            .filter(|m| !matched[*m as usize])
            .collect()
    }
}

/// How many best candidates each mentee keeps by default: with the mentors
/// offered for room, pruning loses under 0.1 % of the optimum at 10,000
/// mentees (see the `national` bench).
pub const DEFAULT_CANDIDATES: usize = 64;

/// Pairs the pool. `per_mentee`: keep that many best candidates per mentee
/// (`None`: every compatible pair). Best-scored lists alone would all point
/// at the same sought-after mentors, and a mentee could then not make way
/// for another along an alternating path; so a quick greedy pass finds the
/// mentors likely to keep room, and every mentee is also offered a few of
/// them (more for those greedy leaves out) before the exact solve.
pub fn solve(instance: &Instance, per_mentee: Option<usize>) -> Solution {
    let lists = match per_mentee {
        None => candidates::generate(instance, None),
        Some(k) => candidate_lists(instance, k),
    };
    solve_candidates(instance, &lists)
}

/// The candidates [`solve`] uses with `per_mentee = Some(k)`.
pub fn candidate_lists(instance: &Instance, k: usize) -> Vec<Vec<candidates::Candidate>> {
    candidate_lists_with(instance, &candidates::Index::new(instance), k)
}

fn candidate_lists_with(
    instance: &Instance,
    index: &candidates::Index,
    k: usize,
) -> Vec<Vec<candidates::Candidate>> {
    let mut lists = candidates::generate_with(instance, index, k);
    let pass = greedy(instance, &lists);
    let extra: Vec<Vec<candidates::Candidate>> = (0..lists.len() as u32)
        .into_par_iter()
        .map(|mentee| {
            let known = &lists[mentee as usize];
            let wanted = if pass.paired[mentee as usize] {
                ROOM_CANDIDATES
            } else {
                k
            };
            candidates::best_among(instance, index, mentee, wanted, |mentor| {
                pass.room[mentor as usize] > 0 && !known.iter().any(|c| c.mentor == mentor)
            })
        })
        .collect();
    for (list, more) in lists.iter_mut().zip(extra) {
        list.extend(more);
    }
    lists
}

/// Candidates with room offered to a mentee greedy could pair.
const ROOM_CANDIDATES: usize = 2;

/// What a greedy pass leaves.
pub struct GreedyPass {
    /// Places left per mentor.
    pub room: Vec<u8>,
    pub paired: Vec<bool>,
    pub pairs: usize,
    pub score: u64,
}

/// Best-scored pairs first while both sides are free (also the baseline the
/// benchmark compares with).
pub fn greedy(instance: &Instance, lists: &[Vec<candidates::Candidate>]) -> GreedyPass {
    let mut arcs: Vec<(u32, u32, u32)> = lists
        .iter()
        .enumerate()
        .flat_map(|(mentee, list)| list.iter().map(move |c| (c.score, mentee as u32, c.mentor)))
        .collect();
    arcs.par_sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut pass = GreedyPass {
        room: instance.mentors.iter().map(|m| m.capacity).collect(),
        paired: vec![false; lists.len()],
        pairs: 0,
        score: 0,
    };
    for (score, mentee, mentor) in arcs {
        if !pass.paired[mentee as usize] && pass.room[mentor as usize] > 0 {
            pass.paired[mentee as usize] = true;
            pass.room[mentor as usize] -= 1;
            pass.pairs += 1;
            pass.score += u64::from(score);
        }
    }
    pass
}

/// Whether a solution is optimal on every compatible pair, not only on the
/// candidates it was solved on, and what it took to know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Certificate {
    /// No compatible pair left out can improve it: the most pairs, then
    /// the best score (or the best score alone), over the whole pool.
    pub optimal: bool,
    /// Rounds of pricing that found pairs to add, each followed by a solve.
    pub rounds: u32,
    /// Pairs added to the candidates by pricing.
    pub arcs_added: usize,
    /// When the time budget cut pricing short: the left-out pairs that
    /// could still improve the solution (0 when optimal).
    pub could_improve: usize,
    /// Time in the solves, and in pricing.
    pub solving: std::time::Duration,
    pub pricing: std::time::Duration,
}

/// Pairs added per mentee in a round of pricing: the most promising ones.
/// Every round solves the pool again; at 100k national, 8 took four rounds,
/// 32 three, and 256 three as well with more arcs.
const PRICED_PER_MENTEE: usize = 32;

/// The first candidates a round keeps for the next solve: the solution's
/// pairs and those whose reduced cost, under its duals, is at most this many
/// points. The others are far from mattering, and pricing scores them again
/// if they come to: the next solve runs on a fraction of the arcs (100k
/// national: 1.8 M instead of 6.6 M; 2 took fewer seconds than 0, 1, 5, 10).
const KEPT_SLACK: i64 = 2;

/// [`solve`], then pricing: the pairs pruning left out are priced with the
/// solution's duals; those that could improve it are added and the pool
/// solved again, until none can. Each solve keeps the previous solution's
/// pairs among its candidates, so the result is never worse than the first
/// solve's, and is optimal on every compatible pair unless `deadline`
/// stops the rounds first.
pub fn solve_certified(
    instance: &Instance,
    per_mentee: Option<usize>,
    deadline: Option<std::time::Instant>,
) -> (Solution, Certificate) {
    let index = candidates::Index::new(instance);
    let mut lists = match per_mentee {
        None => candidates::generate(instance, None),
        Some(k) => candidate_lists_with(instance, &index, k),
    };
    // `lists[mentee][..droppable[mentee]]`: the first candidates, which a
    // round may drop. Those pricing adds stay: every round then adds a pair
    // never added before, and the rounds end.
    let mut droppable: Vec<usize> = lists.iter().map(Vec::len).collect();
    let mut certificate = Certificate::default();
    let mut phases = 0;
    loop {
        let solving = std::time::Instant::now();
        let mut network = network_of(instance, &lists);
        phases += network
            .solve(instance.objective == Objective::ScoreOnly)
            .phases;
        certificate.solving += solving.elapsed();
        let pricing = std::time::Instant::now();
        let duals = candidates::Duals::new(&index, network.mentor_duals());
        let priced: Vec<Vec<candidates::Candidate>> = (0..lists.len() as u32)
            .into_par_iter()
            .map(|mentee| {
                candidates::priced(
                    instance,
                    &index,
                    &duals,
                    mentee,
                    network.mentee_dual(mentee),
                    &lists[mentee as usize],
                    PRICED_PER_MENTEE,
                )
            })
            .collect();
        let found: usize = priced.iter().map(Vec::len).sum();
        certificate.pricing += pricing.elapsed();
        let out_of_time = deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline);
        if found == 0 || out_of_time {
            certificate.optimal = found == 0;
            certificate.could_improve = found;
            return (solution(instance, &network, &lists, phases), certificate);
        }
        certificate.rounds += 1;
        certificate.arcs_added += found;
        let mut paired_with = vec![u32::MAX; lists.len()];
        for (mentee, arc) in network.pairs() {
            paired_with[mentee as usize] = network.arc_mentor(arc);
        }
        for (mentee, (list, more)) in lists.iter_mut().zip(priced).enumerate() {
            let mut position = 0;
            let mut still_droppable = 0;
            list.retain(|c| {
                let droppable = position < droppable[mentee];
                position += 1;
                let keep = !droppable
                    || c.mentor == paired_with[mentee]
                    || network.reduced_cost(mentee as u32, c.mentor, -(c.score as i32))
                        <= KEPT_SLACK;
                still_droppable += usize::from(droppable && keep);
                keep
            });
            droppable[mentee] = still_droppable;
            list.extend(more);
        }
    }
}

/// Solves on given candidate lists (`lists[mentee]`).
pub fn solve_candidates(instance: &Instance, lists: &[Vec<candidates::Candidate>]) -> Solution {
    let mut network = network_of(instance, lists);
    let stats = network.solve(instance.objective == Objective::ScoreOnly);
    solution(instance, &network, lists, stats.phases)
}

fn arcs_of(list: &[candidates::Candidate]) -> impl Iterator<Item = (u32, i32)> + '_ {
    list.iter().map(|c| (c.mentor, -(c.score as i32)))
}

fn network_of(instance: &Instance, lists: &[Vec<candidates::Candidate>]) -> flow::Bipartite {
    let capacities: Vec<u8> = instance.mentors.iter().map(|m| m.capacity).collect();
    flow::Bipartite::new(lists.len(), &capacities, |mentee| arcs_of(&lists[mentee]))
}

fn solution(
    instance: &Instance,
    network: &flow::Bipartite,
    lists: &[Vec<candidates::Candidate>],
    phases: u32,
) -> Solution {
    let pairs: Vec<Pair> = network
        .pairs()
        .map(|(mentee, arc)| {
            let mentor = network.arc_mentor(arc);
            let points = evaluate(
                &instance.mentees[mentee as usize],
                &instance.mentors[mentor as usize],
                &instance.criteria,
            )
            .expect("candidates pass every must criterion");
            Pair {
                mentee,
                mentor,
                points,
            }
        })
        .collect();
    Solution {
        score: pairs.iter().map(|p| u64::from(p.points.total())).sum(),
        pairs,
        arcs: lists.iter().map(Vec::len).sum(),
        phases,
    }
}
