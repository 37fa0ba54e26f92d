//! The algorithm against brute force on small random instances, and the
//! rules every solution keeps (capacities, must criteria, exclusions).

use std::collections::HashSet;

use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use shared::people::{Mode, Situation};

use super::*;

const MODES: [Mode; 3] = [Mode::Presentiel, Mode::Distance, Mode::Indifferent];
const SITUATIONS: [Situation; 3] = [
    Situation::Lyceen,
    Situation::Etudiant,
    Situation::JeuneActif,
];

/// A small pool where every criterion varies: 3 départements, 3 languages,
/// 3 situations, 4 needs, 5 field words.
fn random_instance(seed: u64, mentees: usize, mentors: usize) -> Instance {
    let mut rng = StdRng::seed_from_u64(seed);
    let words = |rng: &mut StdRng| {
        let mut words: Vec<u32> = (0..rng.random_range(0..3))
            .map(|_| rng.random_range(0..5))
            .collect();
        words.sort_unstable();
        words.dedup();
        words
    };
    let mentees = (0..mentees)
        .map(|_| Mentee {
            departement: rng.random_range(1..4),
            mode: MODES[rng.random_range(0..3)],
            situation: SITUATIONS[rng.random_range(0..3)],
            languages: Languages::of([rng.random_range(0..3)]),
            needs: rng.random_range(1..16),
            fields: words(&mut rng),
            waiting_weeks: rng.random_range(0..12),
            minor: rng.random_bool(0.2),
        })
        .collect();
    let mentors = (0..mentors)
        .map(|_| Mentor {
            departement: rng.random_range(1..4),
            mode: MODES[rng.random_range(0..3)],
            audiences: rng.random_range(1..64),
            languages: Languages::of([rng.random_range(0..3), rng.random_range(0..3)]),
            expertise: rng.random_range(0..16),
            fields: words(&mut rng),
            capacity: rng.random_range(0..4),
            cleared_for_minors: rng.random_bool(0.5),
        })
        .collect();
    Instance {
        mentees,
        mentors,
        ..Instance::default()
    }
}

/// The best (pairs, score) by trying every assignment.
fn brute_force(instance: &Instance) -> (usize, u64) {
    fn search(
        instance: &Instance,
        mentee: usize,
        left: &mut Vec<u8>,
        pairs: usize,
        score: u64,
        best: &mut (usize, u64),
    ) {
        if mentee == instance.mentees.len() {
            let better = match instance.objective {
                Objective::MostPairs => (pairs, score) > *best,
                Objective::ScoreOnly => score > best.1 || (score == best.1 && pairs > best.0),
            };
            if better {
                *best = (pairs, score);
            }
            return;
        }
        search(instance, mentee + 1, left, pairs, score, best);
        for mentor in 0..instance.mentors.len() {
            if left[mentor] == 0
                || instance
                    .exclusions
                    .contains(&(mentee as u32, mentor as u32))
            {
                continue;
            }
            let Some(points) = evaluate(
                &instance.mentees[mentee],
                &instance.mentors[mentor],
                &instance.criteria,
            ) else {
                continue;
            };
            left[mentor] -= 1;
            search(
                instance,
                mentee + 1,
                left,
                pairs + 1,
                score + u64::from(points.total()),
                best,
            );
            left[mentor] += 1;
        }
    }
    let mut left: Vec<u8> = instance.mentors.iter().map(|m| m.capacity).collect();
    let mut best = (0, 0);
    search(instance, 0, &mut left, 0, 0, &mut best);
    best
}

/// Every rule a solution keeps, whatever the instance.
fn assert_valid(instance: &Instance, solution: &Solution) {
    let mut load = vec![0u8; instance.mentors.len()];
    let mut paired = HashSet::new();
    for pair in &solution.pairs {
        assert!(paired.insert(pair.mentee), "a mentee paired twice");
        load[pair.mentor as usize] += 1;
        assert!(
            !instance.exclusions.contains(&(pair.mentee, pair.mentor)),
            "an excluded pair"
        );
        let points = evaluate(
            &instance.mentees[pair.mentee as usize],
            &instance.mentors[pair.mentor as usize],
            &instance.criteria,
        );
        assert_eq!(
            points,
            Some(pair.points),
            "a must criterion fails, or points differ"
        );
    }
    for (mentor, load) in instance.mentors.iter().zip(load) {
        assert!(load <= mentor.capacity, "a mentor above capacity");
    }
    assert_eq!(
        solution.score,
        solution
            .pairs
            .iter()
            .map(|p| u64::from(p.points.total()))
            .sum::<u64>()
    );
}

#[test]
fn the_optimum_of_small_pools_is_found_exactly() {
    for seed in 0..300 {
        let mut instance = random_instance(seed, 1 + (seed % 7) as usize, 1 + (seed % 4) as usize);
        if seed % 3 == 0 {
            instance.exclusions.insert((0, 0));
        }
        if seed % 5 == 0 {
            instance.objective = Objective::ScoreOnly;
        }
        let expected = brute_force(&instance);
        let solution = solve(&instance, None);
        assert_valid(&instance, &solution);
        assert_eq!(
            (solution.pairs.len(), solution.score),
            expected,
            "seed {seed}: {instance:?}"
        );
        // Keeping as many candidates as there are mentors loses nothing.
        let pruned = solve(&instance, Some(instance.mentors.len()));
        assert_eq!(
            (pruned.pairs.len(), pruned.score),
            expected,
            "seed {seed}, pruned"
        );
    }
}

#[test]
fn the_optimum_is_not_greedy() {
    // Both mentees can take the first mentor; only the first mentee shares a
    // language with the second. Greedy may give the first mentor to the first
    // mentee (10 points, as with the second) and leave the other mentee alone.
    let mentee = Mentee {
        departement: 1,
        mode: Mode::Distance,
        situation: Situation::Etudiant,
        languages: Languages::of([0, 1]),
        needs: 0b11,
        fields: Vec::new(),
        waiting_weeks: 0,
        minor: false,
    };
    let mentor = Mentor {
        departement: 1,
        mode: Mode::Distance,
        audiences: situations_mask(&[Situation::Etudiant]),
        languages: Languages::of([0]),
        expertise: 0b11,
        fields: Vec::new(),
        capacity: 1,
        cleared_for_minors: false,
    };
    let instance = Instance {
        mentees: vec![
            mentee.clone(),
            Mentee {
                languages: Languages::of([0]),
                needs: 0b01,
                ..mentee
            },
        ],
        mentors: vec![
            mentor.clone(),
            Mentor {
                languages: Languages::of([1]),
                ..mentor
            },
        ],
        ..Instance::default()
    };
    let solution = solve(&instance, None);
    assert_eq!((solution.pairs.len(), solution.score), (2, 10 + 5));
}

#[test]
fn must_criteria_can_be_turned_off_or_into_weights() {
    let mut instance = random_instance(7, 6, 3);
    for mentor in &mut instance.mentors {
        mentor.audiences = 0;
        mentor.capacity = 3;
    }
    assert!(
        solve(&instance, None).pairs.is_empty(),
        "nobody takes these situations"
    );
    instance.criteria.situation = Rule::Off;
    instance.criteria.mode = Rule::Off;
    instance.criteria.language = Rule::Weight(2);
    let solution = solve(&instance, Some(8));
    assert_eq!(solution.pairs.len(), 6);
    assert_valid(&instance, &solution);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn solutions_keep_capacities_musts_and_exclusions(
        seed in any::<u64>(),
        mentees in 1usize..40,
        mentors in 1usize..20,
        per_mentee in prop::option::of(1usize..6),
        excluded in prop::collection::vec((0u32..40, 0u32..20), 0..30),
        score_only in any::<bool>(),
    ) {
        let mut instance = random_instance(seed, mentees, mentors);
        instance.exclusions = excluded.into_iter().collect();
        if score_only {
            instance.objective = Objective::ScoreOnly;
        }
        let solution = solve(&instance, per_mentee);
        assert_valid(&instance, &solution);
        let full = solve(&instance, None);
        if score_only {
            prop_assert!(full.score >= solution.score, "pruning never beats the full graph");
        } else {
            prop_assert!(
                (full.pairs.len(), full.score) >= (solution.pairs.len(), solution.score),
                "pruning never beats the full graph"
            );
        }
    }
}

#[test]
fn a_minor_is_paired_only_with_a_mentor_whose_honorability_is_checked() {
    let mentee = Mentee {
        departement: 1,
        mode: Mode::Distance,
        situation: Situation::Lyceen,
        languages: Languages::of([0]),
        needs: 0b1,
        fields: Vec::new(),
        waiting_weeks: 0,
        minor: true,
    };
    let unchecked = Mentor {
        departement: 1,
        mode: Mode::Distance,
        audiences: situations_mask(&[Situation::Lyceen]),
        languages: Languages::of([0]),
        expertise: 0b1,
        fields: Vec::new(),
        capacity: 1,
        cleared_for_minors: false,
    };
    let criteria = Criteria::default();
    assert_eq!(evaluate(&mentee, &unchecked, &criteria), None);
    let adult = Mentee {
        minor: false,
        ..mentee.clone()
    };
    assert!(evaluate(&adult, &unchecked, &criteria).is_some());
    let checked = Mentor {
        cleared_for_minors: true,
        ..unchecked.clone()
    };
    assert!(evaluate(&mentee, &checked, &criteria).is_some());
    // Whatever the criteria: no weight or switch lets the pair through.
    let lenient = Criteria {
        situation: Rule::Off,
        mode: Rule::Off,
        ..Criteria::default()
    };
    assert_eq!(evaluate(&mentee, &unchecked, &lenient), None);
    let instance = Instance {
        mentees: vec![mentee],
        mentors: vec![unchecked],
        ..Instance::default()
    };
    assert!(solve(&instance, None).pairs.is_empty());
    assert!(solve(&instance, Some(4)).pairs.is_empty());
}

/// Pools where keeping one or two candidates per mentee loses pairs or
/// points: pricing finds the pairs pruning left out and gets back to the
/// optimum of the whole graph, and says so.
#[test]
fn pricing_recovers_the_full_graph_optimum_whenever_pruning_lost_something() {
    let mut pruning_lost = 0;
    for seed in 0..400 {
        let mut instance =
            random_instance(seed, 20 + (seed % 30) as usize, 8 + (seed % 12) as usize);
        if seed % 4 == 0 {
            instance.objective = Objective::ScoreOnly;
        }
        if seed % 3 == 0 {
            instance.exclusions.insert((0, 0));
            instance.exclusions.insert((1, 2));
        }
        let full = solve(&instance, None);
        let k = 1 + (seed % 2) as usize;
        let pruned = solve(&instance, Some(k));
        let (certified, certificate) = solve_certified(&instance, Some(k), None);
        assert_valid(&instance, &certified);
        let key = |s: &Solution| match instance.objective {
            Objective::MostPairs => (s.pairs.len() as u64, s.score),
            Objective::ScoreOnly => (s.score, 0),
        };
        assert_eq!(
            key(&certified),
            key(&full),
            "seed {seed}, k {k}: {certificate:?}"
        );
        assert!(
            certificate.optimal && certificate.could_improve == 0,
            "seed {seed}"
        );
        assert!(
            key(&certified) >= key(&pruned),
            "never worse than without pricing"
        );
        if key(&pruned) < key(&full) {
            pruning_lost += 1;
            assert!(
                certificate.rounds > 0 && certificate.arcs_added > 0,
                "seed {seed}"
            );
        }
    }
    assert!(
        pruning_lost >= 50,
        "the instances must exercise pricing: {pruning_lost}"
    );
}

#[test]
fn an_optimum_found_without_pruning_is_certified_at_once() {
    for seed in 0..50 {
        let instance = random_instance(seed, 15, 10);
        let (_, certificate) = solve_certified(&instance, None, None);
        assert!(certificate.optimal, "seed {seed}");
        assert_eq!(
            (certificate.rounds, certificate.arcs_added),
            (0, 0),
            "seed {seed}"
        );
    }
}
