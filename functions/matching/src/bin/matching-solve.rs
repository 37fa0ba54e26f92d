//! Solves a pool from outside the stack: reads a JSON file — the mentees
//! and mentors as a matching run reads them from the table, with the
//! association's criteria and objective — pairs it as a run would, with
//! pricing to optimality, and prints the pairs with their points and the
//! certificate as JSON.
//!
//! `cargo run --release -p matching --bin matching-solve -- pool.json`
//! (`-` reads standard input).

use std::{collections::HashSet, io::Read, process::ExitCode, time::Instant};

use matching::{
    algorithm::{self, Criteria, DEFAULT_CANDIDATES, Objective, Points},
    pool::{self, Member},
};
use serde::{Deserialize, Serialize};

/// The pool as the file gives it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolFile {
    /// The association whose honorability checks count for minors.
    association: String,
    #[serde(default)]
    criteria: Criteria,
    #[serde(default)]
    objective: Objective,
    mentees: Vec<Member>,
    mentors: Vec<Member>,
    /// (mentee id, mentor id) pairs never to propose again.
    #[serde(default)]
    tried: Vec<(String, String)>,
    /// Candidates kept per mentee before pricing (default: a run's).
    #[serde(default)]
    candidates: Option<usize>,
    /// Seconds of pricing allowed (default: no limit).
    #[serde(default)]
    budget_seconds: Option<u64>,
}

#[derive(Serialize)]
struct Solved {
    pairs: Vec<SolvedPair>,
    score: u64,
    unmatched: Vec<String>,
    certificate: Certificate,
    seconds: f64,
}

#[derive(Serialize)]
struct SolvedPair {
    mentee_id: String,
    mentor_id: String,
    score: u32,
    points: Points,
    reasons: Vec<String>,
}

#[derive(Serialize)]
struct Certificate {
    optimal: bool,
    pricing_rounds: u32,
    arcs_added: usize,
    could_improve: usize,
}

fn read(path: &str) -> std::io::Result<String> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: matching-solve <pool.json | ->");
        return ExitCode::from(2);
    };
    let file: PoolFile = match read(&path)
        .map_err(|error| error.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|error| error.to_string()))
    {
        Ok(file) => file,
        Err(error) => {
            eprintln!("matching-solve: {path}: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(problem) = file.criteria.problem() {
        eprintln!("matching-solve: criteria: {problem}");
        return ExitCode::from(2);
    }
    let started = Instant::now();
    let now = chrono::Utc::now();
    let tried: HashSet<(String, String)> = file.tried.into_iter().collect();
    let instance = pool::instance(
        &file.association,
        &file.mentees,
        &file.mentors,
        file.criteria,
        file.objective,
        &tried,
        now,
    );
    let deadline = file
        .budget_seconds
        .map(|seconds| started + std::time::Duration::from_secs(seconds));
    let (solution, certificate) = algorithm::solve_certified(
        &instance,
        Some(file.candidates.unwrap_or(DEFAULT_CANDIDATES)),
        deadline,
    );
    let unmatched = solution
        .unmatched(file.mentees.len())
        .into_iter()
        .map(|i| file.mentees[i as usize].id.clone())
        .collect();
    let pairs = solution
        .pairs
        .iter()
        .map(|pair| {
            let mentee = &file.mentees[pair.mentee as usize];
            let mentor = &file.mentors[pair.mentor as usize];
            SolvedPair {
                mentee_id: mentee.id.clone(),
                mentor_id: mentor.id.clone(),
                score: pair.points.total(),
                points: pair.points,
                reasons: pool::reasons(mentee, mentor, &pair.points),
            }
        })
        .collect();
    let solved = Solved {
        pairs,
        score: solution.score,
        unmatched,
        certificate: Certificate {
            optimal: certificate.optimal,
            pricing_rounds: certificate.rounds,
            arcs_added: certificate.arcs_added,
            could_improve: certificate.could_improve,
        },
        seconds: started.elapsed().as_secs_f64(),
    };
    match serde_json::to_string_pretty(&solved) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("matching-solve: {error}");
            ExitCode::FAILURE
        }
    }
}
