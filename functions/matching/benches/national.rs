//! The matching benchmark: seeded pools of three sizes from two
//! distributions — national-like, and a held-out one (départements
//! uniform, 60 % meeting only in person, 40 % of mentors taking three) —
//! our solver against Google OR-tools' min-cost flow on the same graphs,
//! the loss from candidate pruning and what pricing gets back (its rounds,
//! the arcs it adds, its certificate), a greedy baseline, peak memory, and
//! the time of one mentee's suggestions in a pool of 50,000 mentors.
//!
//! `cargo bench -p matching --bench national` (installs OR-tools into
//! `.venv-bench` on first run). Each size runs in a child process, so that
//! its peak memory is its own. `-- --sizes 1k,10k` runs fewer sizes,
//! `-- --distributions national` one distribution.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use matching::algorithm::{
    DEFAULT_CANDIDATES, Instance, Languages, Mentee, Mentor, candidate_lists, candidates, greedy,
    solve_candidates, solve_certified,
};
use rand::{Rng, SeedableRng, distr::weighted::WeightedIndex, prelude::Distribution, rngs::StdRng};
use shared::people::{Mode, Situation};

/// Population in thousands (INSEE, rounded) by département index: 01–95
/// (20 unused), 2A = 96, 2B = 97, 971–976 = 98–103.
const POPULATION: [u32; 104] = [
    0, 660, 530, 335, 165, 140, 1095, 330, 270, 155, 310, 375, 280, 2060, 700, 145, 350, 655, 300,
    240, 0, 535, 600, 115, 415, 545, 520, 600, 435, 915, 750, 1420, 190, 1650, 1200, 1100, 215,
    610, 1280, 260, 415, 330, 765, 228, 1450, 680, 175, 330, 76, 820, 495, 565, 170, 305, 735, 185,
    755, 1045, 200, 2610, 830, 280, 1465, 660, 685, 230, 480, 1140, 765, 1880, 235, 550, 565, 440,
    830, 2150, 1255, 1420, 1450, 375, 570, 390, 260, 1080, 560, 690, 440, 370, 365, 335, 140, 1305,
    1625, 1665, 1410, 1250, 160, 180, 385, 360, 285, 865, 6, 300,
];
/// Skew of the field words: a few fields gather most people.
const WORD_WEIGHTS: [u32; 24] = [
    18, 10, 12, 10, 6, 7, 5, 6, 6, 5, 5, 4, 3, 4, 3, 2, 3, 5, 4, 2, 3, 2, 1, 2,
];
/// orientation, réussite des études, stage/alternance, insertion pro, création d'entreprise, confiance/réseau.
const NEED_WEIGHTS: [u32; 6] = [35, 12, 18, 20, 5, 10];
const SITUATIONS: [Situation; 6] = [
    Situation::Collegien,
    Situation::Lyceen,
    Situation::Etudiant,
    Situation::DemandeurEmploi,
    Situation::JeuneActif,
    Situation::Autre,
];
const SITUATION_WEIGHTS: [u32; 6] = [5, 30, 35, 15, 12, 3];
/// fr, en, ar, es, pt, de, it, tr, zh, ro (as indexes).
const LANGUAGE_WEIGHTS: [u32; 10] = [0, 30, 8, 6, 3, 3, 3, 2, 1, 2];

struct Size {
    name: &'static str,
    mentees: usize,
    mentors: usize,
    /// Whether the full compatible graph is solved too (loss, same objective as OR-tools).
    full_graph: bool,
}

const SIZES: [Size; 3] = [
    Size {
        name: "1k",
        mentees: 1_000,
        mentors: 500,
        full_graph: true,
    },
    Size {
        name: "10k",
        mentees: 10_000,
        mentors: 5_000,
        full_graph: true,
    },
    Size {
        name: "100k",
        mentees: 100_000,
        mentors: 50_000,
        full_graph: false,
    },
];

fn pick<T: Copy>(rng: &mut StdRng, values: &[T], weights: &WeightedIndex<u32>) -> T {
    values[weights.sample(rng)]
}

fn mode(rng: &mut StdRng, distance: f64, indifferent: f64) -> Mode {
    let draw: f64 = rng.random();
    if draw < distance {
        Mode::Distance
    } else if draw < distance + indifferent {
        Mode::Indifferent
    } else {
        Mode::Presentiel
    }
}

fn languages(rng: &mut StdRng, weights: &WeightedIndex<u32>) -> Languages {
    // Nearly everyone speaks French; some speak another language, a few only that.
    let other = weights.sample(rng) as u8;
    match rng.random_range(0..100) {
        0..2 => Languages::of([other]),
        2..40 => Languages::of([0, other]),
        _ => Languages::of([0]),
    }
}

fn words(rng: &mut StdRng, weights: &WeightedIndex<u32>, count: usize) -> Vec<u32> {
    let mut words: Vec<u32> = (0..count).map(|_| weights.sample(rng) as u32).collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// How a pool is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Population {
    /// French-like: départements by population, about half open to distance.
    National,
    /// Départements uniform, 60 % meeting only in person, 40 % of mentors
    /// taking three mentees: where pruning loses most.
    HeldOut,
}

impl Population {
    const ALL: [Population; 2] = [Population::National, Population::HeldOut];

    fn name(self) -> &'static str {
        match self {
            Population::National => "national",
            Population::HeldOut => "held-out",
        }
    }

    fn of(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// A seeded pool of the distribution.
fn generate(seed: u64, mentees: usize, mentors: usize, distribution: Population) -> Instance {
    let mut rng = StdRng::seed_from_u64(seed);
    let held_out = distribution == Population::HeldOut;
    let uniform: Vec<u32> = POPULATION.iter().map(|p| u32::from(*p > 0)).collect();
    let departements = WeightedIndex::new(if held_out {
        &uniform[..]
    } else {
        &POPULATION[..]
    })
    .expect("weights");
    let fields = WeightedIndex::new(WORD_WEIGHTS).expect("weights");
    let needs = WeightedIndex::new(NEED_WEIGHTS).expect("weights");
    let situations = WeightedIndex::new(SITUATION_WEIGHTS).expect("weights");
    let spoken = WeightedIndex::new(LANGUAGE_WEIGHTS).expect("weights");
    let situation_list: Vec<Situation> = SITUATIONS.to_vec();
    let mentees = (0..mentees)
        .map(|_| Mentee {
            departement: departements.sample(&mut rng) as u8,
            // 45 % open to distance (held out: 40 %).
            mode: if held_out {
                mode(&mut rng, 0.15, 0.25)
            } else {
                mode(&mut rng, 0.15, 0.30)
            },
            situation: pick(&mut rng, &situation_list, &situations),
            languages: languages(&mut rng, &spoken),
            needs: (0..rng.random_range(1..=3))
                .fold(0u8, |mask, _| mask | 1 << needs.sample(&mut rng)),
            fields: if rng.random_bool(0.7) {
                words(&mut rng, &fields, 1)
            } else {
                Vec::new()
            },
            waiting_weeks: (rng.random::<f64>().powi(2) * 20.0) as u32,
            // The honorability rule only removes pairs: the bench measures
            // the solver on the full problem.
            minor: false,
        })
        .collect();
    let mentors = (0..mentors)
        .map(|_| Mentor {
            departement: departements.sample(&mut rng) as u8,
            // 55 % open to distance (held out: 40 %).
            mode: if held_out {
                mode(&mut rng, 0.15, 0.25)
            } else {
                mode(&mut rng, 0.25, 0.30)
            },
            audiences: (0..rng.random_range(1..=3))
                .fold(0u8, |mask, _| mask | 1 << situations.sample(&mut rng)),
            languages: languages(&mut rng, &spoken),
            expertise: (0..rng.random_range(1..=4))
                .fold(0u8, |mask, _| mask | 1 << needs.sample(&mut rng)),
            fields: {
                let count = rng.random_range(1..=3);
                words(&mut rng, &fields, count)
            },
            capacity: match (held_out, rng.random_range(0..100)) {
                (true, 0..40) | (false, 85..) => 3,
                (true, 40..70) | (false, 50..85) => 2,
                _ => 1,
            },
            cleared_for_minors: true,
        })
        .collect();
    Instance {
        mentees,
        mentors,
        ..Instance::default()
    }
}

/// The graph as OR-tools reads it: little-endian u32 — mentees, mentors,
/// arcs; each mentor's capacity; then the arcs' mentees, mentors, scores.
fn write_graph(path: &Path, instance: &Instance, lists: &[Vec<candidates::Candidate>]) {
    let arcs: usize = lists.iter().map(Vec::len).sum();
    let mut words: Vec<u32> = Vec::with_capacity(3 + instance.mentors.len() + 3 * arcs);
    words.extend([
        instance.mentees.len() as u32,
        instance.mentors.len() as u32,
        arcs as u32,
    ]);
    words.extend(instance.mentors.iter().map(|m| u32::from(m.capacity)));
    for column in 0..3 {
        for (mentee, list) in lists.iter().enumerate() {
            words.extend(list.iter().map(|c| match column {
                0 => mentee as u32,
                1 => c.mentor,
                _ => c.score,
            }));
        }
    }
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("graph written");
}

fn peak_memory_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One size, in this (child) process; prints one JSON line of figures.
fn run_size(size: &Size, distribution: Population, out: &Path) {
    let mut figures = serde_json::Map::new();
    let mut put = |name: &str, value: serde_json::Value| {
        figures.insert(name.to_owned(), value);
    };
    let instance = generate(2026, size.mentees, size.mentors, distribution);

    // End to end: index, candidates, solve.
    let k: usize = std::env::var("K")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(DEFAULT_CANDIDATES);
    let started = Instant::now();
    let lists = candidate_lists(&instance, k);
    let candidates_s = started.elapsed().as_secs_f64();
    let solve_started = Instant::now();
    let pruned = solve_candidates(&instance, &lists);
    let solve_s = solve_started.elapsed().as_secs_f64();
    put("pruned_arcs", pruned.arcs.into());
    put("pruned_pairs", pruned.pairs.len().into());
    put("pruned_score", pruned.score.into());
    put("pruned_candidates_s", candidates_s.into());
    put("pruned_solve_s", solve_s.into());
    put("end_to_end_s", started.elapsed().as_secs_f64().into());
    put("phases", pruned.phases.into());
    put("peak_mb", peak_memory_mb().into());
    let baseline = greedy(&instance, &lists);
    put("greedy_pairs", baseline.pairs.into());
    put("greedy_score", baseline.score.into());
    drop(lists);

    // End to end with pricing to optimality: candidates, solve, pricing rounds.
    let started = Instant::now();
    let (certified, certificate) = solve_certified(&instance, Some(k), None);
    put("certified_s", started.elapsed().as_secs_f64().into());
    put("certified_pairs", certified.pairs.len().into());
    put("certified_score", certified.score.into());
    put("certified_arcs", certified.arcs.into());
    put("optimal", certificate.optimal.into());
    put("pricing_rounds", certificate.rounds.into());
    put("arcs_added", certificate.arcs_added.into());
    put("certified_peak_mb", peak_memory_mb().into());
    put("solving_s", certificate.solving.as_secs_f64().into());
    put("pricing_s", certificate.pricing.as_secs_f64().into());
    let lists = candidate_lists(&instance, k);

    let graph = out.join(format!("graph-{}-{}.bin", size.name, distribution.name()));
    if size.full_graph {
        let started = Instant::now();
        let all = candidates::generate(&instance, None);
        let candidates_s = started.elapsed().as_secs_f64();
        let solve_started = Instant::now();
        let full = solve_candidates(&instance, &all);
        put("full_arcs", full.arcs.into());
        put("full_pairs", full.pairs.len().into());
        put("full_score", full.score.into());
        put("full_candidates_s", candidates_s.into());
        put("full_solve_s", solve_started.elapsed().as_secs_f64().into());
        write_graph(&graph, &instance, &all);
    } else {
        write_graph(&graph, &instance, &lists);
        put("pruned_solve_on_graph_s", solve_s.into());
    }

    if size.mentors >= 50_000 {
        // One mentee's suggestions: index the pool, score, keep five.
        let mut rng = StdRng::seed_from_u64(7);
        let times: Vec<f64> = (0..50)
            .map(|_| {
                let mentee = rng.random_range(0..instance.mentees.len() as u32);
                let started = Instant::now();
                let best = candidates::best_for(&instance, mentee, 5);
                std::hint::black_box(best);
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        put("suggestions_median_ms", median(times.clone()).into());
        put(
            "suggestions_max_ms",
            times.iter().copied().fold(0.0, f64::max).into(),
        );
    }
    println!("{}", serde_json::Value::Object(figures));
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// OR-tools on a graph file: {pairs, score, seconds, peak_mb}.
fn or_tools(graph: &Path) -> serde_json::Value {
    let python = root().join(".venv-bench/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ortools_reference.py");
    let output = Command::new(python)
        .arg(script)
        .arg(graph)
        .output()
        .expect("the OR-tools reference runs");
    assert!(
        output.status.success(),
        "OR-tools failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("OR-tools prints JSON")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = root().join("target/matching-bench");
    std::fs::create_dir_all(&out).expect("bench folder");
    if let Some(position) = args.iter().position(|a| a == "--child") {
        let name = &args[position + 1];
        let size = SIZES.iter().find(|s| s.name == name).expect("a known size");
        let distribution = Population::of(&args[position + 2]).expect("a known distribution");
        run_size(size, distribution, &out);
        return;
    }
    let distributions: Vec<Population> = args
        .iter()
        .position(|a| a == "--distributions")
        .map(|p| args[p + 1].split(',').filter_map(Population::of).collect())
        .unwrap_or_else(|| Population::ALL.to_vec());
    let wanted: Vec<String> = args
        .iter()
        .position(|a| a == "--sizes")
        .map(|p| args[p + 1].split(',').map(str::to_owned).collect())
        .unwrap_or_else(|| SIZES.iter().map(|s| s.name.to_owned()).collect());
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/setup.sh");
    let status = Command::new("bash")
        .arg(setup)
        .status()
        .expect("bench setup runs");
    assert!(status.success(), "OR-tools could not be installed");

    let mut rows: Vec<(
        String,
        HashMap<String, serde_json::Value>,
        serde_json::Value,
    )> = Vec::new();
    for &distribution in &distributions {
        for size in SIZES.iter().filter(|s| wanted.iter().any(|w| w == s.name)) {
            eprintln!(
                "matching bench: {} mentees × {} mentors, {}…",
                size.mentees,
                size.mentors,
                distribution.name()
            );
            let output = Command::new(std::env::current_exe().expect("this binary"))
                .args(["--child", size.name, distribution.name()])
                .output()
                .expect("the size runs");
            assert!(
                output.status.success(),
                "{}: {}",
                size.name,
                String::from_utf8_lossy(&output.stderr)
            );
            let ours: HashMap<String, serde_json::Value> =
                serde_json::from_slice(&output.stdout).expect("figures");
            let reference =
                or_tools(&out.join(format!("graph-{}-{}.bin", size.name, distribution.name())));
            rows.push((
                format!("{} {}", size.name, distribution.name()),
                ours,
                reference,
            ));
        }
    }
    print_table(&rows);
}

fn number(value: Option<&serde_json::Value>) -> f64 {
    value
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(f64::NAN)
}

fn print_table(
    rows: &[(
        String,
        HashMap<String, serde_json::Value>,
        serde_json::Value,
    )],
) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\n| size | graph | arcs | ours: solve s | OR-tools: solve s | ratio | ours: pairs / score | OR-tools: pairs / score | end to end s (pruned) | pruning loss | greedy pairs / score | peak MB ours / OR-tools |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, ours, reference) in rows {
        let full = ours.contains_key("full_solve_s");
        let (graph, arcs, solve, pairs, score) = if full {
            (
                "full",
                "full_arcs",
                "full_solve_s",
                "full_pairs",
                "full_score",
            )
        } else {
            (
                "pruned",
                "pruned_arcs",
                "pruned_solve_on_graph_s",
                "pruned_pairs",
                "pruned_score",
            )
        };
        let our_solve = number(ours.get(solve));
        let their_solve = number(reference.get("seconds"));
        let loss = if full {
            let full_score = number(ours.get("full_score"));
            let pruned_score = number(ours.get("pruned_score"));
            format!(
                "{:.3} % score, {} pairs",
                100.0 * (full_score - pruned_score) / full_score,
                number(ours.get("full_pairs")) - number(ours.get("pruned_pairs"))
            )
        } else {
            "—".to_owned()
        };
        let _ = writeln!(
            out,
            "| {name} | {graph} | {} | {our_solve:.2} | {their_solve:.2} | {:.2}× | {} / {} | {} / {} | {:.2} | {loss} | {} / {} | {:.0} / {:.0} |",
            number(ours.get(arcs)),
            their_solve / our_solve,
            number(ours.get(pairs)),
            number(ours.get(score)),
            number(reference.get("pairs")),
            number(reference.get("score")),
            number(ours.get("end_to_end_s")),
            number(ours.get("greedy_pairs")),
            number(ours.get("greedy_score")),
            number(ours.get("peak_mb")),
            number(reference.get("peak_mb")),
        );
        let same = number(ours.get(pairs)) == number(reference.get("pairs"))
            && number(ours.get(score)) == number(reference.get("score"));
        let certified_matches_full = !full
            || (number(ours.get("certified_pairs")) == number(ours.get("full_pairs"))
                && number(ours.get("certified_score")) == number(ours.get("full_score")));
        let _ = writeln!(
            out,
            "  {name}: before pricing {} / {}, after pricing {} / {} (optimal: {}, {} rounds, {} arcs added, {} arcs in all){}; end to end with pricing {:.2} s (solves {:.2} s, pricing {:.2} s), peak {:.0} MB",
            number(ours.get("pruned_pairs")),
            number(ours.get("pruned_score")),
            number(ours.get("certified_pairs")),
            number(ours.get("certified_score")),
            ours.get("optimal")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            number(ours.get("pricing_rounds")),
            number(ours.get("arcs_added")),
            number(ours.get("certified_arcs")),
            if full {
                if certified_matches_full {
                    ", the full graph's optimum"
                } else {
                    ", NOT the full graph's optimum"
                }
            } else {
                ""
            },
            number(ours.get("certified_s")),
            number(ours.get("solving_s")),
            number(ours.get("pricing_s")),
            number(ours.get("certified_peak_mb")),
        );
        let _ = writeln!(
            out,
            "  {name}: {} objective as OR-tools; pruned run {} pairs / {} score (candidates {:.2} s + solve {:.2} s, {} phases){}",
            if same { "same" } else { "DIFFERENT" },
            number(ours.get("pruned_pairs")),
            number(ours.get("pruned_score")),
            number(ours.get("pruned_candidates_s")),
            number(ours.get("pruned_solve_s")),
            number(ours.get("phases")),
            ours.get("suggestions_median_ms")
                .map_or(String::new(), |median| format!(
                    "; suggestions over {} mentors: median {:.2} ms, max {:.2} ms",
                    "50,000",
                    median.as_f64().unwrap_or(f64::NAN),
                    number(ours.get("suggestions_max_ms"))
                )),
        );
    }
}
