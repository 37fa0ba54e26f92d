//! How an association weighs the criteria of its pairs: each one a hard
//! filter (`must`), a weight, or `off`. Stored with the association (see the
//! directory), read by the matching algorithm.

use serde::{Deserialize, Serialize};

/// The largest weight of a criterion.
pub const MAX_WEIGHT: u32 = 1000;
/// The most weeks of waiting that count.
pub const MAX_WAITING_CAP_WEEKS: u32 = 104;

/// How one criterion counts for an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Comment un critère compte : filtre obligatoire (`must`), poids de 0 à 1000 (`{\"weight\": 5}`) ou ignoré (`off`)."
)]
pub enum Rule {
    /// Filtre obligatoire : un binôme qui n'y répond pas n'est jamais proposé.
    Must,
    /// Des points quand il est rempli (par besoin couvert, par semaine d'attente), de 0 à 1000.
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
#[schema(
    description = "Les critères de l'association pour former ses binômes ; par défaut ceux du réseau."
)]
pub struct Criteria {
    /// La situation du ou de la jeune fait partie des publics du ou de la mentor.
    pub situation: Rule,
    /// Une façon de se voir qui convient aux deux : à distance, ou en personne dans le même département.
    pub mode: Rule,
    /// Une langue en commun.
    pub language: Rule,
    /// Chaque besoin du ou de la jeune parmi les sujets du ou de la mentor (`must` : au moins un).
    pub needs: Rule,
    /// Le domaine du ou de la jeune a un mot en commun avec les domaines ou le métier du ou de la mentor.
    pub field: Rule,
    /// Même département, et les deux peuvent se voir en personne.
    pub proximity: Rule,
    /// Par semaine entière d'attente du ou de la jeune (jamais `must`).
    pub waiting: Rule,
    /// Au-delà, les semaines d'attente ne comptent plus (au plus 104).
    #[schema(maximum = 104)]
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
        let rules = [
            self.situation,
            self.mode,
            self.language,
            self.needs,
            self.field,
            self.proximity,
            self.waiting,
        ];
        // Bounded so that no pair's points can overflow, however many
        // needs it covers or weeks it waited.
        if rules
            .iter()
            .any(|rule| matches!(rule, Rule::Weight(weight) if *weight > MAX_WEIGHT))
        {
            return Some("Un poids vaut de 0 à 1000.");
        }
        if self.waiting_cap_weeks > MAX_WAITING_CAP_WEEKS {
            return Some("Le temps d'attente compte au plus 104 semaines (waiting_cap_weeks).");
        }
        self.waiting
            .is_must()
            .then_some("Le temps d'attente ne peut être qu'un poids ou off, pas must.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_and_the_waiting_cap_are_bounded_so_points_cannot_overflow() {
        assert_eq!(Criteria::default().problem(), None);
        let heavy = Criteria {
            needs: Rule::Weight(MAX_WEIGHT + 1),
            ..Criteria::default()
        };
        assert!(heavy.problem().is_some());
        let long_wait = Criteria {
            waiting_cap_weeks: MAX_WAITING_CAP_WEEKS + 1,
            ..Criteria::default()
        };
        assert!(long_wait.problem().is_some());
        let heaviest = Criteria {
            needs: Rule::Weight(MAX_WEIGHT),
            waiting: Rule::Weight(MAX_WEIGHT),
            waiting_cap_weeks: MAX_WAITING_CAP_WEEKS,
            ..Criteria::default()
        };
        assert_eq!(heaviest.problem(), None);
        // Four needs and the longest wait, at the heaviest weights.
        let points = heaviest.needs.points(4) + heaviest.waiting.points(MAX_WAITING_CAP_WEEKS);
        assert_eq!(points, 108_000);
    }
}
