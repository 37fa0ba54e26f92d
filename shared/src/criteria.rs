//! How an association weighs the criteria of its pairs: each one a hard
//! filter (`must`), a weight, or `off`. Stored with the association (see the
//! directory), read by the matching algorithm.

use serde::{Deserialize, Serialize};

/// How one criterion counts for an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A hard filter: pairs that fail it are never proposed.
    Must,
    /// Points when it holds (per need covered, per week waited).
    Weight(u32),
    Off,
}

impl Rule {
    pub fn points(self, holds: u32) -> u32 {
        match self {
            Rule::Weight(weight) => weight * holds,
            Rule::Must | Rule::Off => 0,
        }
    }

    pub fn is_must(self) -> bool {
        self == Rule::Must
    }
}

/// The criteria of an association; the defaults are the network's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Criteria {
    /// The mentee's situation is among the mentor's audiences.
    pub situation: Rule,
    /// A way to meet both accept: at a distance, or in person in the same département.
    pub mode: Rule,
    /// A common language.
    pub language: Rule,
    /// Each of the mentee's needs in the mentor's expertise (must: at least one).
    pub needs: Rule,
    /// The mentee's field shares a word with the mentor's fields or job.
    pub field: Rule,
    /// Same département, and both can meet in person.
    pub proximity: Rule,
    /// Per full week the mentee has waited (never a must).
    pub waiting: Rule,
    pub waiting_cap_weeks: u32,
}

impl Default for Criteria {
    fn default() -> Self {
        Self {
            situation: Rule::Must,
            mode: Rule::Must,
            language: Rule::Must,
            needs: Rule::Weight(5),
            field: Rule::Weight(3),
            proximity: Rule::Weight(3),
            waiting: Rule::Weight(1),
            waiting_cap_weeks: 8,
        }
    }
}

impl Criteria {
    /// What cannot be: waiting time as a hard filter.
    pub fn problem(&self) -> Option<&'static str> {
        self.waiting
            .is_must()
            .then_some("Le temps d'attente ne peut être qu'un poids ou off, pas must.")
    }
}
