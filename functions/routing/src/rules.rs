//! The routing rules: which associations may take a request, and which one
//! should. Pure code over plain data, decided in a few microseconds for a
//! directory of fifty associations.
//!
//! A mentee's request is eligible at an association that is active, covers
//! the mentee's département (or is national), serves the mentee's mode,
//! age and at least one need, is not reserved for groups the mentee is not
//! in, has capacity left this month, and has not declined this request.
//! Among those, points decide (weights in [`Weights`]):
//! - the weights of the association's specialities matching the mentee's priority groups;
//! - `need_share` × the share of the mentee's needs it serves;
//! - `local` if it covers the département itself (not only as national);
//! - `situation` if it serves the mentee's situation;
//! - `capacity_share` × its share of this month's capacity still free.
//!
//! Ties go to the larger remaining capacity, then to a stable hash of the
//! request id and the slug. Points are kept in thousandths, so that equal
//! scores are equal exactly.
//!
//! A mentor goes, among the active associations open to mentors that cover
//! the mentor's département (or are national) and mode, to where mentees
//! wait with the fewest mentor places free (waiting mentees ÷ (free places
//! + 1)); the mentor's preferred association wins whenever it is eligible.

use serde::{Deserialize, Serialize};
use shared::{
    directory::{Intake, Listed},
    people::{Mode, Need, PriorityGroup, Situation},
    place::Departement,
};

/// Stored with every decision, so that a decision can be explained later.
pub const RULE_VERSION: &str = "routing-2026-11";

/// Points per criterion, in whole points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    pub need_share: u32,
    pub local: u32,
    pub situation: u32,
    pub capacity_share: u32,
    /// Weight of a speciality declared without one.
    pub default_speciality: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            need_share: 10,
            local: 20,
            situation: 10,
            capacity_share: 20,
            default_speciality: 30,
        }
    }
}

/// A set of up to 128 small values (needs, groups, départements…) as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bits(u128);

impl Bits {
    pub fn of(indexes: impl IntoIterator<Item = u8>) -> Self {
        Self(indexes.into_iter().fold(0, |bits, index| bits | 1 << index))
    }

    pub fn contains(self, index: u8) -> bool {
        self.0 & (1 << index) != 0
    }

    pub fn intersects(self, other: Bits) -> bool {
        self.0 & other.0 != 0
    }

    pub fn count_common(self, other: Bits) -> u32 {
        (self.0 & other.0).count_ones()
    }

    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

pub fn need_index(need: Need) -> u8 {
    need as u8
}

pub fn situation_index(situation: Situation) -> u8 {
    situation as u8
}

pub fn group_index(group: PriorityGroup) -> u8 {
    group as u8
}

/// An association as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub slug: String,
    pub active: bool,
    pub departements: Bits,
    pub national: bool,
    pub presentiel: bool,
    pub distance: bool,
    pub ages: std::ops::RangeInclusive<u32>,
    pub needs: Bits,
    pub situations: Bits,
    /// (group index, weight in points)
    pub specialities: Vec<(u8, u32)>,
    pub reserved_for: Bits,
    pub monthly_capacity: u32,
    /// Requests routed to it this month.
    pub routed_this_month: u32,
    /// Whether it takes new mentors.
    pub mentor_intake: bool,
    /// Its mentees waiting for a mentor, and its mentors' free places.
    pub waiting_mentees: u32,
    pub free_mentor_places: u32,
}

impl From<&Listed> for Association {
    /// The rules' view of a directory entry and its counters.
    fn from(listed: &Listed) -> Self {
        let record = &listed.record;
        Self {
            slug: record.slug.clone(),
            active: record.active,
            departements: Bits::of(record.departements.iter().map(Departement::index)),
            national: record.national,
            presentiel: record.modes.contains(&Mode::Presentiel),
            distance: record.modes.contains(&Mode::Distance),
            ages: record.min_age..=record.max_age,
            needs: Bits::of(record.needs.iter().map(|n| need_index(*n))),
            situations: Bits::of(record.situations.iter().map(|s| situation_index(*s))),
            specialities: record
                .specialities
                .iter()
                .map(|s| (group_index(s.group), s.weight))
                .collect(),
            reserved_for: Bits::of(record.reserved_for.iter().map(|g| group_index(*g))),
            monthly_capacity: record.monthly_capacity,
            routed_this_month: listed.counters.routed_this_month,
            mentor_intake: record.mentor_intake == Intake::Open,
            waiting_mentees: listed.counters.waiting_mentees,
            free_mentor_places: listed.counters.free_mentor_places,
        }
    }
}

impl Association {
    pub fn remaining(&self) -> u32 {
        self.monthly_capacity.saturating_sub(self.routed_this_month)
    }
}

/// A mentee's request as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct MenteeCase<'a> {
    pub request_id: &'a str,
    pub departement: u8,
    pub mode: Mode,
    pub age: u32,
    pub needs: Bits,
    pub situation: u8,
    /// All the mentee's groups, sensitive ones included.
    pub groups: Bits,
    /// Associations that declined (or let expire) this request.
    pub declined_by: &'a [String],
}

/// A mentor's registration as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct MentorCase<'a> {
    pub request_id: &'a str,
    pub departement: u8,
    pub mode: Mode,
    pub preferred_association: Option<&'a str>,
    pub declined_by: &'a [String],
}

/// Points per criterion, in thousandths of a point (the mentee criteria,
/// then the mentor ones; a criterion that does not apply counts 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Points d'une association par critère, en millièmes de point (un critère qui ne s'applique pas compte 0).", as = RoutingPoints)]
pub struct Points {
    /// Spécialités de l'association parmi les publics prioritaires de la personne.
    pub specialities: u32,
    /// Part des besoins de la personne que l'association accompagne.
    pub needs: u32,
    /// L'association sert le département de la personne (pas seulement au niveau national).
    pub local: u32,
    /// Situation de la personne parmi celles que l'association accueille.
    pub situation: u32,
    /// Part de la capacité du mois encore libre.
    pub capacity: u32,
    /// Mentors : jeunes en attente de l'association par place de mentor libre (places libres + 1).
    pub mentor_shortage: u32,
    /// Mentors : l'association choisie par le mentor (l'emporte sur tout le reste).
    pub preferred: u32,
}

/// Thousandths of a point as people read them: « 6,5 ».
pub fn in_points(milli: u32) -> String {
    format!("{:.1}", f64::from(milli) / f64::from(MILLI)).replace('.', ",")
}

impl Points {
    /// The criteria that counted, in words (points, not thousandths).
    pub fn in_words(&self) -> String {
        let parts: Vec<String> = [
            ("spécialités", self.specialities),
            ("besoins accompagnés", self.needs),
            ("département servi", self.local),
            ("situation accueillie", self.situation),
            ("capacité libre", self.capacity),
            ("jeunes en attente de mentor", self.mentor_shortage),
        ]
        .into_iter()
        .filter(|(_, points)| *points > 0)
        .map(|(label, points)| format!("{label} : {}", in_points(points)))
        .collect();
        match (self.preferred > 0, parts.is_empty()) {
            (true, _) => "choisie par le mentor".to_owned(),
            (false, true) => "aucun critère".to_owned(),
            (false, false) => parts.join(" ; "),
        }
    }

    pub fn total(&self) -> u32 {
        self.specialities
            .saturating_add(self.needs)
            .saturating_add(self.local)
            .saturating_add(self.situation)
            .saturating_add(self.capacity)
            .saturating_add(self.mentor_shortage)
            .saturating_add(self.preferred)
    }
}

/// Points of a preferred association: more than any shortage can give.
const PREFERRED: u32 = 1 << 30;

/// One eligible association with its points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Une association qui pouvait prendre la demande, avec ses points.", as = RoutingCandidate)]
pub struct Candidate {
    /// Identifiant de l'association.
    pub slug: String,
    /// Ses points par critère.
    pub points: Points,
    /// La somme de ses points.
    pub total: u32,
    /// Les demandes qu'elle pouvait encore recevoir ce mois-ci.
    pub remaining: u32,
}

/// The outcome for one request: the chosen association (the first
/// candidate), or none when no association is eligible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Une décision de routage : l'association choisie est la première candidate ; aucune candidate quand aucune association ne peut prendre la demande.", as = RoutingDecision)]
pub struct Decision {
    /// Les trois meilleures candidates, la meilleure d'abord.
    pub candidates: Vec<Candidate>,
    /// Version des règles de routage qui ont décidé.
    pub rule_version: String,
}

impl Decision {
    pub fn chosen(&self) -> Option<&str> {
        self.candidates.first().map(|c| c.slug.as_str())
    }
}

const MILLI: u32 = 1000;
/// Candidates kept with a decision.
pub const KEPT: usize = 3;

fn serves_mode(association: &Association, mode: Mode) -> bool {
    match mode {
        Mode::Presentiel => association.presentiel,
        Mode::Distance => association.distance,
        Mode::Indifferent => association.presentiel || association.distance,
    }
}

fn eligible(association: &Association, mentee: &MenteeCase<'_>) -> bool {
    association.active
        && (association.national || association.departements.contains(mentee.departement))
        && serves_mode(association, mentee.mode)
        && association.ages.contains(&mentee.age)
        && association.needs.intersects(mentee.needs)
        && (association.reserved_for.is_empty()
            || association.reserved_for.intersects(mentee.groups))
        && association.remaining() > 0
        && !mentee.declined_by.contains(&association.slug)
}

fn points(association: &Association, mentee: &MenteeCase<'_>, weights: &Weights) -> Points {
    let specialities = association
        .specialities
        .iter()
        .filter(|(group, _)| mentee.groups.contains(*group))
        .map(|(_, weight)| weight * MILLI)
        .sum();
    let needs = match mentee.needs.len() {
        0 => 0,
        asked => weights.need_share * MILLI * association.needs.count_common(mentee.needs) / asked,
    };
    let local = if association.departements.contains(mentee.departement) {
        weights.local * MILLI
    } else {
        0
    };
    let situation = if association.situations.contains(mentee.situation) {
        weights.situation * MILLI
    } else {
        0
    };
    let capacity = match association.monthly_capacity {
        0 => 0,
        capacity => {
            (u64::from(weights.capacity_share * MILLI) * u64::from(association.remaining())
                / u64::from(capacity)) as u32
        }
    };
    Points {
        specialities,
        needs,
        local,
        situation,
        capacity,
        ..Points::default()
    }
}

/// FNV-1a of the request id and the slug: the last tie-breaker, the same on every run.
fn stable_hash(request_id: &str, slug: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in request_id.bytes().chain([0]).chain(slug.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Keeps the best three of the scored associations, best first:
/// highest total, then most remaining capacity, then the stable hash.
fn rank(
    directory: &[Association],
    request_id: &str,
    scored: impl Iterator<Item = (usize, Points)>,
) -> Decision {
    let mut best: [Option<(u32, u32, u64, usize)>; KEPT] = [None; KEPT];
    let mut kept_points = [Points::default(); KEPT];
    for (index, points) in scored {
        let association = &directory[index];
        let rank = (
            points.total(),
            association.remaining(),
            stable_hash(request_id, &association.slug),
            index,
        );
        let Some(position) = best
            .iter()
            .position(|kept| kept.is_none_or(|kept| rank > kept))
        else {
            continue;
        };
        best[position..].rotate_right(1);
        kept_points[position..].rotate_right(1);
        best[position] = Some(rank);
        kept_points[position] = points;
    }
    let candidates = best
        .iter()
        .zip(kept_points)
        .filter_map(|(rank, points)| {
            let (total, remaining, _, index) = (*rank)?;
            Some(Candidate {
                slug: directory[index].slug.clone(),
                points,
                total,
                remaining,
            })
        })
        .collect();
    Decision {
        candidates,
        rule_version: RULE_VERSION.to_owned(),
    }
}

/// Ranks the directory for one mentee request.
pub fn route_mentee(
    directory: &[Association],
    mentee: &MenteeCase<'_>,
    weights: &Weights,
) -> Decision {
    let scored = directory
        .iter()
        .enumerate()
        .filter(|(_, association)| eligible(association, mentee))
        .map(|(index, association)| (index, points(association, mentee, weights)));
    rank(directory, mentee.request_id, scored)
}

fn eligible_for_mentor(association: &Association, mentor: &MentorCase<'_>) -> bool {
    association.active
        && association.mentor_intake
        && (association.national || association.departements.contains(mentor.departement))
        && serves_mode(association, mentor.mode)
        && !mentor.declined_by.contains(&association.slug)
}

/// Ranks the directory for one mentor registration.
pub fn route_mentor(directory: &[Association], mentor: &MentorCase<'_>) -> Decision {
    let scored = directory
        .iter()
        .enumerate()
        .filter(|(_, association)| eligible_for_mentor(association, mentor))
        .map(|(index, association)| {
            let points = Points {
                mentor_shortage: association.waiting_mentees.saturating_mul(MILLI)
                    / (association.free_mentor_places + 1),
                preferred: if mentor.preferred_association == Some(association.slug.as_str()) {
                    PREFERRED
                } else {
                    0
                },
                ..Points::default()
            };
            (index, points)
        });
    rank(directory, mentor.request_id, scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_read_with_a_decimal_comma() {
        assert_eq!(in_points(6_000), "6,0");
        assert_eq!(in_points(2_450), "2,5");
        let points = Points {
            needs: 4_000,
            capacity: 500,
            ..Points::default()
        };
        assert_eq!(
            points.in_words(),
            "besoins accompagnés : 4,0 ; capacité libre : 0,5"
        );
    }

    fn association(slug: &str) -> Association {
        Association {
            slug: slug.into(),
            active: true,
            departements: Bits::of([Departement::parse("93").unwrap().index()]),
            national: false,
            presentiel: true,
            distance: true,
            ages: 11..=30,
            needs: Bits::of([
                need_index(Need::Orientation),
                need_index(Need::ConfianceReseau),
            ]),
            situations: Bits::default(),
            specialities: Vec::new(),
            reserved_for: Bits::default(),
            monthly_capacity: 10,
            routed_this_month: 0,
            mentor_intake: true,
            waiting_mentees: 0,
            free_mentor_places: 0,
        }
    }

    fn mentee(declined_by: &[String]) -> MenteeCase<'_> {
        MenteeCase {
            request_id: "r1",
            departement: Departement::parse("93").unwrap().index(),
            mode: Mode::Presentiel,
            age: 16,
            needs: Bits::of([
                need_index(Need::Orientation),
                need_index(Need::ConfianceReseau),
            ]),
            situation: situation_index(Situation::Lyceen),
            groups: Bits::of([group_index(PriorityGroup::Qpv)]),
            declined_by,
        }
    }

    fn chosen(directory: &[Association], mentee: &MenteeCase<'_>) -> Option<String> {
        route_mentee(directory, mentee, &Weights::default())
            .chosen()
            .map(str::to_owned)
    }

    /// Each row: what makes `b` differ from an otherwise equal `a`, and who wins.
    #[test]
    fn each_criterion_alone_decides() {
        type Change = fn(&mut Association);
        let cases: [(&str, Change, &str); 5] = [
            (
                "a speciality for the mentee's group",
                |b| b.specialities = vec![(group_index(PriorityGroup::Qpv), 30)],
                "b",
            ),
            (
                "more of the mentee's needs",
                |b| b.needs = Bits::of([need_index(Need::Orientation)]),
                "a",
            ),
            (
                "local rather than only national",
                |b| {
                    b.departements = Bits::default();
                    b.national = true;
                },
                "a",
            ),
            (
                "the mentee's situation",
                |b| b.situations = Bits::of([situation_index(Situation::Lyceen)]),
                "b",
            ),
            (
                "more of its capacity free",
                |b| b.routed_this_month = 5,
                "a",
            ),
        ];
        for (criterion, change, winner) in cases {
            let mut b = association("b");
            change(&mut b);
            assert_eq!(
                chosen(&[association("a"), b], &mentee(&[])).as_deref(),
                Some(winner),
                "{criterion}"
            );
        }
    }

    #[test]
    fn each_condition_alone_makes_an_association_ineligible() {
        type Change = fn(&mut Association);
        let cases: [(&str, Change); 8] = [
            ("inactive", |a| a.active = false),
            ("another département", |a| {
                a.departements = Bits::of([Departement::parse("2A").unwrap().index()])
            }),
            ("no presentiel", |a| a.presentiel = false),
            ("too young", |a| a.ages = 18..=30),
            ("none of the needs", |a| {
                a.needs = Bits::of([need_index(Need::CreationEntreprise)])
            }),
            ("reserved for others", |a| {
                a.reserved_for = Bits::of([group_index(PriorityGroup::Refugie)])
            }),
            ("full this month", |a| a.routed_this_month = 10),
            ("already declined", |a| a.slug = "decliner".into()),
        ];
        let declined = ["decliner".to_owned()];
        for (condition, change) in cases {
            let mut a = association("a");
            change(&mut a);
            assert_eq!(chosen(&[a], &mentee(&declined)), None, "{condition}");
        }
        assert_eq!(
            chosen(&[association("a")], &mentee(&declined)).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn a_reserved_association_takes_its_own_groups_and_national_ones_cover_everywhere() {
        let mut reserved = association("reserved");
        reserved.reserved_for = Bits::of([group_index(PriorityGroup::Qpv)]);
        assert_eq!(
            chosen(&[reserved], &mentee(&[])).as_deref(),
            Some("reserved")
        );
        let mut national = association("national");
        national.departements = Bits::default();
        national.national = true;
        let mut far = mentee(&[]);
        far.departement = Departement::parse("974").unwrap().index();
        assert_eq!(
            chosen(&[association("local-93"), national], &far).as_deref(),
            Some("national")
        );
    }

    #[test]
    fn indifferent_fits_any_mode() {
        let mut distance_only = association("distance");
        distance_only.presentiel = false;
        let mut indifferent = mentee(&[]);
        indifferent.mode = Mode::Indifferent;
        assert_eq!(
            chosen(&[distance_only.clone()], &indifferent).as_deref(),
            Some("distance")
        );
        assert_eq!(chosen(&[distance_only], &mentee(&[])), None);
    }

    #[test]
    fn ties_go_to_the_larger_remaining_capacity_then_to_a_stable_hash() {
        // Same share free (5 of 10, 10 of 20) but more places left at b.
        let mut a = association("a");
        a.routed_this_month = 5;
        let mut b = association("b");
        b.monthly_capacity = 20;
        b.routed_this_month = 10;
        let decision = route_mentee(&[a, b], &mentee(&[]), &Weights::default());
        assert_eq!(decision.candidates[0].total, decision.candidates[1].total);
        assert_eq!(decision.chosen(), Some("b"));

        let twins = [association("x"), association("y")];
        let first = chosen(&twins, &mentee(&[]));
        let reversed = chosen(&[twins[1].clone(), twins[0].clone()], &mentee(&[]));
        assert_eq!(
            first, reversed,
            "the order of the directory does not matter"
        );
    }

    #[test]
    fn when_every_association_declined_there_is_no_candidate() {
        let declined = ["a".to_owned(), "b".to_owned()];
        let decision = route_mentee(
            &[association("a"), association("b")],
            &mentee(&declined),
            &Weights::default(),
        );
        assert_eq!(decision.chosen(), None);
        assert!(decision.candidates.is_empty());
    }

    #[test]
    fn a_decision_keeps_the_best_three_with_their_points() {
        let directory: Vec<Association> = (0..6)
            .map(|i| {
                let mut a = association(&format!("a{i}"));
                a.routed_this_month = i;
                a
            })
            .collect();
        let decision = route_mentee(&directory, &mentee(&[]), &Weights::default());
        let slugs: Vec<&str> = decision
            .candidates
            .iter()
            .map(|c| c.slug.as_str())
            .collect();
        assert_eq!(slugs, ["a0", "a1", "a2"]);
        let best = &decision.candidates[0];
        assert_eq!(
            best.points,
            Points {
                needs: 10_000,
                local: 20_000,
                capacity: 20_000,
                ..Points::default()
            }
        );
        assert_eq!(best.total, 50_000);
        assert_eq!(decision.rule_version, RULE_VERSION);
    }

    fn mentor<'a>(preferred: Option<&'a str>, declined_by: &'a [String]) -> MentorCase<'a> {
        MentorCase {
            request_id: "m1",
            departement: Departement::parse("93").unwrap().index(),
            mode: Mode::Indifferent,
            preferred_association: preferred,
            declined_by,
        }
    }

    #[test]
    fn mentors_go_where_mentees_wait_with_the_fewest_mentor_places() {
        let mut short = association("short");
        (short.waiting_mentees, short.free_mentor_places) = (12, 1);
        let mut served = association("served");
        (served.waiting_mentees, served.free_mentor_places) = (12, 5);
        let decision = route_mentor(&[served.clone(), short.clone()], &mentor(None, &[]));
        assert_eq!(decision.chosen(), Some("short"));
        assert_eq!(decision.candidates[0].points.mentor_shortage, 6_000);

        short.mentor_intake = false;
        assert_eq!(
            route_mentor(&[served.clone(), short.clone()], &mentor(None, &[])).chosen(),
            Some("served")
        );
        let declined = ["served".to_owned()];
        assert_eq!(
            route_mentor(&[served, short], &mentor(None, &declined)).chosen(),
            None
        );
    }

    #[test]
    fn a_mentor_s_preferred_association_wins_when_it_is_eligible() {
        let mut short = association("short");
        (short.waiting_mentees, short.free_mentor_places) = (40, 0);
        let mut chosen_one = association("choisie");
        chosen_one.departements = Bits::default();
        chosen_one.national = true;
        let directory = [short, chosen_one.clone()];
        assert_eq!(
            route_mentor(&directory, &mentor(Some("choisie"), &[])).chosen(),
            Some("choisie")
        );
        chosen_one.active = false;
        let directory = [directory[0].clone(), chosen_one];
        assert_eq!(
            route_mentor(&directory, &mentor(Some("choisie"), &[])).chosen(),
            Some("short")
        );
    }

    #[test]
    fn departements_have_distinct_indexes() {
        let codes: Vec<String> = (1..=95)
            .filter(|n| *n != 20)
            .map(|n| format!("{n:02}"))
            .chain(["2A", "2B", "971", "972", "973", "974", "975", "976"].map(String::from))
            .collect();
        let indexes: std::collections::BTreeSet<u8> = codes
            .iter()
            .map(|c| Departement::parse(c).unwrap().index())
            .collect();
        assert_eq!(indexes.len(), codes.len());
        assert!(indexes.iter().all(|i| *i < 128));
        for bad in ["20", "00", "96", "977", "1", "2C"] {
            assert_eq!(Departement::parse(bad), None, "{bad}");
        }
    }
}
