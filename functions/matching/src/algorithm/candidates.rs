//! Candidate pairs, without scoring every (mentee, mentor) pair.
//!
//! Mentors are indexed by what the hard filters look at: the situation they
//! take (when `situation` is a must), then — when `mode` is a must — those
//! who meet at a distance (any département) apart from those who meet in
//! person (by département). A mentee only looks at the lists they can be
//! compatible with. Each list is grouped by the mentor's expertise, so that
//! the mentors covering most of a mentee's needs come first.
//!
//! With `per_mentee = Some(k)`, a mentee keeps its `k` best candidates: the
//! mentors of its own département it can meet in person are all scored
//! (they may earn proximity), then the expertise groups in order of needs
//! covered: in each, the mentors sharing a field word with the mentee (an
//! index lists them), then the others — all alike but for ties — from a
//! place that depends on the mentee, so that mentees with the same profile
//! spread over different mentors instead of all wanting the same few.

use std::{cmp::Reverse, collections::BinaryHeap};

use rayon::prelude::*;
use shared::people::Mode;

use super::{Criteria, Instance, Mentee, Rule, evaluate, flow::LIFT, share_a_word};

/// A candidate mentor for one mentee, with the pair's total points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub mentor: u32,
    pub score: u32,
}

/// Mentors scored, per candidate kept, once a mentee's list is full.
const SCAN_AFTER_FULL: usize = 4;

const SITUATIONS: usize = 6;
const DEPARTEMENTS: usize = 128;
const EXPERTISE_GROUPS: usize = 64;

/// Mentors in expertise order, with where each expertise group starts, and
/// within each group the mentors by field word.
#[derive(Debug, Default)]
struct Grouped {
    mentors: Vec<u32>,
    /// `starts[e]..starts[e + 1]`: the mentors whose expertise mask is `e`.
    starts: Vec<u32>,
    /// (expertise, word, mentor), sorted: a group's mentors sharing a word.
    by_word: Vec<(u8, u32, u32)>,
}

impl Grouped {
    fn new(mut mentors: Vec<u32>, instance: &Instance) -> Self {
        let expertise = |m: u32| instance.mentors[m as usize].expertise & 0x3f;
        mentors.sort_by_key(|m| (expertise(*m), *m));
        let mut starts = vec![0u32; EXPERTISE_GROUPS + 1];
        for m in &mentors {
            starts[usize::from(expertise(*m)) + 1] += 1;
        }
        for e in 0..EXPERTISE_GROUPS {
            starts[e + 1] += starts[e];
        }
        let mut by_word: Vec<(u8, u32, u32)> = mentors
            .iter()
            .flat_map(|&m| {
                instance.mentors[m as usize]
                    .fields
                    .iter()
                    .map(move |&w| (expertise(m), w, m))
            })
            .collect();
        by_word.sort_unstable();
        Self {
            mentors,
            starts,
            by_word,
        }
    }

    fn group(&self, expertise: usize) -> &[u32] {
        &self.mentors[self.starts[expertise] as usize..self.starts[expertise + 1] as usize]
    }

    /// The mentors of a group with a field word.
    fn with_word(&self, expertise: usize, word: u32) -> impl Iterator<Item = u32> + '_ {
        let key = (expertise as u8, word);
        let start = self.by_word.partition_point(|&(e, w, _)| (e, w) < key);
        self.by_word[start..]
            .iter()
            .take_while(move |&&(e, w, _)| (e, w) == key)
            .map(|&(_, _, m)| m)
    }
}

/// The mentors by situation key, split by how they can meet.
pub struct Index {
    /// Those who meet at a distance (or, when `mode` is not a must, everyone).
    remote: Vec<Grouped>,
    /// Those who meet in person, by département (only when `mode` is a must).
    in_person: Vec<Vec<Vec<u32>>>,
}

fn situation_keys(criteria: &Criteria) -> usize {
    if criteria.situation.is_must() {
        SITUATIONS
    } else {
        1
    }
}

fn accepts_distance(mode: Mode) -> bool {
    mode != Mode::Presentiel
}

fn accepts_presentiel(mode: Mode) -> bool {
    mode != Mode::Distance
}

impl Index {
    pub fn new(instance: &Instance) -> Self {
        let criteria = &instance.criteria;
        let keys = situation_keys(criteria);
        let mode_must = criteria.mode.is_must();
        let mut remote = vec![Vec::new(); keys];
        let mut in_person = vec![vec![Vec::new(); DEPARTEMENTS]; keys];
        for (index, mentor) in instance.mentors.iter().enumerate() {
            if mentor.capacity == 0 {
                continue;
            }
            for (key, remote_list) in remote.iter_mut().enumerate() {
                if keys == SITUATIONS && mentor.audiences & (1 << key) == 0 {
                    continue;
                }
                if !mode_must || accepts_distance(mentor.mode) {
                    remote_list.push(index as u32);
                }
                if mode_must && accepts_presentiel(mentor.mode) {
                    in_person[key][usize::from(mentor.departement) % DEPARTEMENTS]
                        .push(index as u32);
                }
            }
        }
        Self {
            remote: remote
                .into_iter()
                .map(|list| Grouped::new(list, instance))
                .collect(),
            in_person,
        }
    }
}

/// Whether `fields` holds a word of `words` that comes before `word` (the
/// mentor was then already offered under that word).
fn shares_an_earlier_word(words: &[u32], word: u32, fields: &[u32]) -> bool {
    words
        .iter()
        .take_while(|w| **w < word)
        .any(|w| fields.binary_search(w).is_ok())
}

/// A stable pseudo-random value of a (mentee, mentor) pair or a mentee.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(b)
        .wrapping_add(0x632b_e59b_d9b4_e5f1);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The most points a pair can get besides needs.
fn other_points_bound(criteria: &Criteria, mentee: &Mentee) -> u32 {
    let weight = |rule: Rule| match rule {
        Rule::Weight(w) => w,
        _ => 0,
    };
    weight(criteria.situation)
        + weight(criteria.mode)
        + weight(criteria.language)
        + weight(criteria.field)
        + weight(criteria.proximity)
        + weight(criteria.waiting) * mentee.waiting_weeks.min(criteria.waiting_cap_weeks)
}

/// The candidates of every mentee (`None`: all compatible mentors).
pub fn generate(instance: &Instance, per_mentee: Option<usize>) -> Vec<Vec<Candidate>> {
    let index = Index::new(instance);
    match per_mentee {
        None => (0..instance.mentees.len() as u32)
            .into_par_iter()
            .map(|mentee| all_of(instance, &index, mentee))
            .collect(),
        Some(k) => generate_with(instance, &index, k),
    }
}

/// The best `k` candidates of every mentee.
pub fn generate_with(instance: &Instance, index: &Index, k: usize) -> Vec<Vec<Candidate>> {
    (0..instance.mentees.len() as u32)
        .into_par_iter()
        .map(|mentee| best_with(instance, index, mentee, k))
        .collect()
}

/// The best `k` candidates of one mentee (the suggestions of a mentee).
pub fn best_for(instance: &Instance, mentee: u32, k: usize) -> Vec<Candidate> {
    best_with(instance, &Index::new(instance), mentee, k)
}

fn key_of(instance: &Instance, mentee: &Mentee) -> usize {
    if situation_keys(&instance.criteria) == SITUATIONS {
        mentee.situation as usize
    } else {
        0
    }
}

/// Whether the mentee looks at the in-person list of its département, and
/// so must skip those mentors in the remote list.
fn looks_in_person(instance: &Instance, mentee: &Mentee) -> bool {
    instance.criteria.mode.is_must() && accepts_presentiel(mentee.mode)
}

fn looks_remote(instance: &Instance, mentee: &Mentee) -> bool {
    !instance.criteria.mode.is_must() || accepts_distance(mentee.mode)
}

fn seen_in_person(instance: &Instance, mentee: &Mentee, mentor: u32) -> bool {
    let mentor = &instance.mentors[mentor as usize];
    looks_in_person(instance, mentee)
        && mentor.departement == mentee.departement
        && accepts_presentiel(mentor.mode)
}

fn score(instance: &Instance, mentee_index: u32, mentor: u32) -> Option<u32> {
    if instance.exclusions.contains(&(mentee_index, mentor)) {
        return None;
    }
    let mentee = &instance.mentees[mentee_index as usize];
    evaluate(
        mentee,
        &instance.mentors[mentor as usize],
        &instance.criteria,
    )
    .map(|p| p.total())
}

fn all_of(instance: &Instance, index: &Index, mentee_index: u32) -> Vec<Candidate> {
    let mentee = &instance.mentees[mentee_index as usize];
    let key = key_of(instance, mentee);
    let mut found = Vec::new();
    let mut consider = |mentor: u32| {
        if let Some(score) = score(instance, mentee_index, mentor) {
            found.push(Candidate { mentor, score });
        }
    };
    if looks_in_person(instance, mentee) {
        for &mentor in &index.in_person[key][usize::from(mentee.departement) % DEPARTEMENTS] {
            consider(mentor);
        }
    }
    if looks_remote(instance, mentee) {
        for &mentor in &index.remote[key].mentors {
            if !seen_in_person(instance, mentee, mentor) {
                consider(mentor);
            }
        }
    }
    found
}

/// Keeps the best `k` by (score, a pair hash that spreads ties).
struct Best {
    k: usize,
    mentee: u64,
    heap: BinaryHeap<Reverse<(u32, u64, u32)>>,
}

impl Best {
    fn offer(&mut self, mentor: u32, score: u32) {
        let entry = (score, mix(self.mentee, u64::from(mentor)), mentor);
        if self.heap.len() < self.k {
            self.heap.push(Reverse(entry));
        } else if self
            .heap
            .peek()
            .is_some_and(|Reverse(worst)| entry > *worst)
        {
            self.heap.pop();
            self.heap.push(Reverse(entry));
        }
    }

    fn full(&self) -> bool {
        self.heap.len() >= self.k
    }

    fn worst(&self) -> u32 {
        self.heap.peek().map_or(0, |Reverse((score, _, _))| *score)
    }
}

/// The best `k` candidates of one mentee.
fn best_with(instance: &Instance, index: &Index, mentee_index: u32, k: usize) -> Vec<Candidate> {
    best_among(instance, index, mentee_index, k, |_| true)
}

/// The best `k` candidates of one mentee among the mentors `admit` lets through.
pub fn best_among(
    instance: &Instance,
    index: &Index,
    mentee_index: u32,
    k: usize,
    admit: impl Fn(u32) -> bool,
) -> Vec<Candidate> {
    let mentee = &instance.mentees[mentee_index as usize];
    let key = key_of(instance, mentee);
    let mut best = Best {
        k,
        mentee: u64::from(mentee_index),
        heap: BinaryHeap::with_capacity(k + 1),
    };
    if k == 0 {
        return Vec::new();
    }
    if looks_in_person(instance, mentee) {
        for &mentor in &index.in_person[key][usize::from(mentee.departement) % DEPARTEMENTS] {
            if admit(mentor)
                && let Some(score) = score(instance, mentee_index, mentor)
            {
                best.offer(mentor, score);
            }
        }
    }
    if looks_remote(instance, mentee) {
        let grouped = &index.remote[key];
        let needs_weight = match instance.criteria.needs {
            Rule::Weight(w) => w,
            _ => 0,
        };
        let others = other_points_bound(&instance.criteria, mentee);
        // Expertise groups by needs covered, most first; among equals, in
        // an order that depends on the mentee.
        let rotation = mix(u64::from(mentee_index), 0);
        let mut groups: Vec<(u32, u64, usize)> = (0..EXPERTISE_GROUPS)
            .map(|e| {
                let covered = (mentee.needs & e as u8).count_ones();
                (covered, mix(rotation, e as u64), e)
            })
            .filter(|(covered, _, e)| {
                let covers_none = instance.criteria.needs.is_must() && *covered == 0;
                !covers_none && !grouped.group(*e).is_empty()
            })
            .collect();
        groups.sort_unstable_by_key(|&(covered, order, _)| Reverse((covered, order)));
        let field_weight = match instance.criteria.field {
            Rule::Weight(w) => w,
            _ => 0,
        };
        for (covered, order, e) in groups {
            let bound = needs_weight * covered + others;
            if best.full() && bound <= best.worst() {
                if bound < best.worst() {
                    break;
                }
                continue;
            }
            // Those sharing a field word with the mentee first: all of them.
            for &word in &mentee.fields {
                for mentor in grouped.with_word(e, word) {
                    if admit(mentor)
                        && !seen_in_person(instance, mentee, mentor)
                        && !shares_an_earlier_word(
                            &mentee.fields,
                            word,
                            &instance.mentors[mentor as usize].fields,
                        )
                        && let Some(score) = score(instance, mentee_index, mentor)
                    {
                        best.offer(mentor, score);
                    }
                }
            }
            // Then the others, all alike but for ties: a few from a place
            // that depends on the mentee.
            let without_field = bound.saturating_sub(field_weight);
            let group = grouped.group(e);
            let start = (order % group.len() as u64) as usize;
            let mut scored_after_full = 0;
            for step in 0..group.len() {
                if best.full() && best.worst() >= without_field {
                    break;
                }
                let mentor = group[(start + step) % group.len()];
                let fields = &instance.mentors[mentor as usize].fields;
                if !admit(mentor)
                    || seen_in_person(instance, mentee, mentor)
                    || share_a_word(&mentee.fields, fields)
                {
                    continue;
                }
                if let Some(score) = score(instance, mentee_index, mentor) {
                    best.offer(mentor, score);
                }
                if best.full() {
                    scored_after_full += 1;
                    if scored_after_full > SCAN_AFTER_FULL * k {
                        break;
                    }
                }
            }
        }
    }
    let mut kept: Vec<Candidate> = best
        .heap
        .into_iter()
        .map(|Reverse((score, _, mentor))| Candidate { mentor, score })
        .collect();
    kept.sort_unstable_by(|a, b| b.score.cmp(&a.score).then(a.mentor.cmp(&b.mentor)));
    kept
}

/// The mentors' duals after a solve, with their largest value in each list
/// of the index, so that pricing skips a whole list that cannot hold an
/// arc of negative reduced cost.
pub struct Duals<'a> {
    mentor: &'a [i64],
    /// Per situation key, per expertise group of the remote list.
    remote_max: Vec<Vec<i64>>,
    /// Per situation key, per département of the in-person lists.
    in_person_max: Vec<Vec<i64>>,
}

impl<'a> Duals<'a> {
    pub fn new(index: &Index, mentor: &'a [i64]) -> Self {
        let max_of = |mentors: &[u32]| {
            mentors
                .iter()
                .map(|&m| mentor[m as usize])
                .max()
                .unwrap_or(i64::MIN)
        };
        Self {
            remote_max: index
                .remote
                .iter()
                .map(|grouped| {
                    (0..EXPERTISE_GROUPS)
                        .map(|e| max_of(grouped.group(e)))
                        .collect()
                })
                .collect(),
            in_person_max: index
                .in_person
                .iter()
                .map(|lists| lists.iter().map(|list| max_of(list)).collect())
                .collect(),
            mentor,
        }
    }
}

/// The arcs left out of `known` that price out: the compatible mentors `j`
/// whose pair scores more than `mentee_dual − dual(j)` (a negative reduced
/// cost), the most negative first, at most `limit`. A list is skipped when
/// its largest dual plus the most points any of its mentors could give
/// cannot get there: no pair is scored that could not price out.
pub fn priced(
    instance: &Instance,
    index: &Index,
    duals: &Duals<'_>,
    mentee_index: u32,
    mentee_dual: i64,
    known: &[Candidate],
    limit: usize,
) -> Vec<Candidate> {
    let mentee = &instance.mentees[mentee_index as usize];
    let key = key_of(instance, mentee);
    let needs_weight = match instance.criteria.needs {
        Rule::Weight(w) => w,
        _ => 0,
    };
    let others = other_points_bound(&instance.criteria, mentee);
    // (reduced cost, mentor, score), the most negative kept.
    let mut found: BinaryHeap<(i64, u32, u32)> = BinaryHeap::new();
    // Whether the search can stop: `limit` arcs to mentors the source no
    // longer reaches (which could carry one more pair) are as good as any.
    let mut consider = |mentor: u32| -> bool {
        let dual = duals.mentor[mentor as usize];
        // The points first: most pairs do not price out, and the lookups
        // in the known arcs and the exclusions cost more than scoring.
        let points = evaluate(
            mentee,
            &instance.mentors[mentor as usize],
            &instance.criteria,
        );
        if let Some(score) = points.map(|p| p.total()) {
            let reduced = -i64::from(score) + mentee_dual - dual;
            if reduced < 0
                && !known.iter().any(|c| c.mentor == mentor)
                && !instance.exclusions.contains(&(mentee_index, mentor))
            {
                found.push((reduced, mentor, score));
                if found.len() > limit {
                    found.pop();
                }
            }
        }
        found.len() == limit && found.peek().is_some_and(|(worst, _, _)| *worst < -LIFT / 2)
    };
    let can_price =
        |list_max: i64, bound: u32| list_max.saturating_add(i64::from(bound)) > mentee_dual;
    if looks_in_person(instance, mentee) {
        let departement = usize::from(mentee.departement) % DEPARTEMENTS;
        let bound = needs_weight * mentee.needs.count_ones() + others;
        if can_price(duals.in_person_max[key][departement], bound) {
            for &mentor in &index.in_person[key][departement] {
                if consider(mentor) {
                    return into_candidates(found);
                }
            }
        }
    }
    if looks_remote(instance, mentee) {
        let grouped = &index.remote[key];
        // The mentors the in-person scan did not see cannot earn proximity
        // unless a mentee who meets in person looks at every mentor.
        let others = match instance.criteria.proximity {
            Rule::Weight(w)
                if looks_in_person(instance, mentee) || !accepts_presentiel(mentee.mode) =>
            {
                others - w
            }
            _ => others,
        };
        for e in 0..EXPERTISE_GROUPS {
            let covered = (mentee.needs & e as u8).count_ones();
            if instance.criteria.needs.is_must() && covered == 0 {
                continue;
            }
            let bound = needs_weight * covered + others;
            if !can_price(duals.remote_max[key][e], bound) {
                continue;
            }
            for &mentor in grouped.group(e) {
                if !seen_in_person(instance, mentee, mentor)
                    && can_price(duals.mentor[mentor as usize], bound)
                    && consider(mentor)
                {
                    return into_candidates(found);
                }
            }
        }
    }
    into_candidates(found)
}

fn into_candidates(found: BinaryHeap<(i64, u32, u32)>) -> Vec<Candidate> {
    found
        .into_iter()
        .map(|(_, mentor, score)| Candidate { mentor, score })
        .collect()
}
