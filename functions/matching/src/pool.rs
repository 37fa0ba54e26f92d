//! An association's pool as the algorithm sees it: its mentees waiting for
//! a mentor and its mentors with room, read from the `by_association`
//! index, with the pairs it already tried (never proposed again), and the
//! French reasons given with each proposal.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use shared::{
    criteria::Criteria,
    people::{
        Honorability, Mode, Need, ProfileStatus, Role, Sector, Situation, language_index, minor_on,
    },
    phone::PhoneNumber,
    place::Departement,
    store::{Store, StoreError, keys::index, query_all},
};

use crate::algorithm::{self, Instance, Languages, Mentee, Mentor, Objective, Points};

/// A pool member as stored (mentee or mentor profile).
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub id: String,
    pub role: Role,
    pub status: ProfileStatus,
    pub first_name: String,
    /// Contact details: sent to the other side once a pair starts, never listed.
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: Option<PhoneNumber>,
    pub departement: Departement,
    pub mode: Mode,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
    // Mentee
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    #[serde(default)]
    pub situation: Option<Situation>,
    #[serde(default)]
    pub needs: Vec<Need>,
    #[serde(default)]
    pub field: Option<String>,
    // Mentor
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub sector: Option<Sector>,
    #[serde(default)]
    pub expertise: Vec<Need>,
    #[serde(default)]
    pub audiences: Vec<Situation>,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub capacity: Option<u8>,
    /// Proposed and active pairs the mentor holds.
    #[serde(default)]
    pub pairs_held: u8,
    #[serde(default)]
    pub routing: Option<Routing>,
    /// Their address bounced or complained (mail events): nobody could reach them.
    #[serde(default)]
    pub unreachable: Option<serde_json::Value>,
    /// A mentor's honorability check, as their association recorded it.
    #[serde(default)]
    pub honorability: Option<Honorability>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Routing {
    #[serde(default)]
    pub association: Option<String>,
}

impl Member {
    /// Whether the association holds this person and they can be paired now.
    pub fn in_pool_of(&self, slug: &str) -> bool {
        self.routing.as_ref().and_then(|r| r.association.as_deref()) == Some(slug)
            && matches!(
                self.status,
                ProfileStatus::Routed | ProfileStatus::Acknowledged
            )
            && (self.role == Role::Mentee || self.room() > 0)
            && self.unreachable.is_none()
    }

    /// Whether `association` recorded this mentor's honorability check.
    pub fn cleared_by(&self, association: &str) -> bool {
        self.honorability
            .as_ref()
            .is_some_and(|check| check.association == association)
    }

    /// A mentee under 18 (or of unknown age: treated as one).
    pub fn is_minor(&self, today: NaiveDate) -> bool {
        self.role == Role::Mentee && self.birth_date.is_none_or(|birth| minor_on(birth, today))
    }

    /// Places a mentor has left.
    pub fn room(&self) -> u8 {
        self.capacity.unwrap_or(1).saturating_sub(self.pairs_held)
    }

    /// The words of their field (mentee) or fields and job (mentor).
    fn words(&self) -> Vec<String> {
        let texts: Vec<&str> = match self.role {
            Role::Mentee => self.field.as_deref().into_iter().collect(),
            Role::Mentor => self
                .fields
                .iter()
                .map(String::as_str)
                .chain(self.job_title.as_deref())
                .collect(),
        };
        texts.into_iter().flat_map(words).collect()
    }

    /// The other side's view in a proposal mail: no name, no contact.
    pub fn about(&self, today: NaiveDate) -> String {
        match self.role {
            Role::Mentor => match (&self.job_title, self.sector) {
                (Some(job), Some(sector)) => format!("{job} ({})", sector.label()),
                (Some(job), None) => job.clone(),
                _ => "un ou une professionnelle bénévole".to_owned(),
            },
            Role::Mentee => {
                let mut about = self
                    .situation
                    .map_or("jeune".to_owned(), |s| s.label().to_owned());
                if let Some(age) = self.birth_date.and_then(|b| today.years_since(b)) {
                    about.push_str(&format!(", {age} ans"));
                }
                about.push_str(&format!(", département {}", self.departement));
                if !self.needs.is_empty() {
                    let needs: Vec<&str> = self.needs.iter().map(|n| n.label()).collect();
                    about.push_str(&format!(
                        " ; souhaite de l'aide pour : {}",
                        needs.join(", ")
                    ));
                }
                about
            }
        }
    }
}

/// Words that say nothing about a field.
const STOP_WORDS: &[&str] = &[
    "and", "aux", "avec", "dans", "des", "du", "en", "et", "for", "les", "par", "pour", "sur",
    "the", "une",
];

/// The meaningful words of a text: lower case, without accents, three
/// letters or more ("Ingénieur logiciel" → ingenieur, logiciel).
pub fn words(text: &str) -> Vec<String> {
    deunicode::deunicode(text)
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 3 && !STOP_WORDS.contains(w))
        .map(str::to_owned)
        .collect()
}

/// An association's pool, ready for the algorithm.
pub struct Pool {
    pub mentees: Vec<Member>,
    pub mentors: Vec<Member>,
    /// The association's mentors with no place left (not in `mentors`).
    pub full_mentors: usize,
    /// The (mentee, mentor) ids already proposed to each other.
    pub tried: HashSet<(String, String)>,
    pub instance: Instance,
}

/// Every request the association holds with one of `statuses`.
#[tracing::instrument(skip_all, fields(association = slug))]
pub(crate) async fn held(
    store: &Store,
    slug: &str,
    statuses: &[ProfileStatus],
) -> Result<Vec<Member>, StoreError> {
    let mut members = Vec::new();
    for status in statuses {
        let items = query_all(store.by_association(
            index::association_requests(slug),
            Some(index::association_request_status(status.as_str())),
        ))
        .await?;
        for item in items {
            match serde_dynamo::from_item::<_, Member>(item) {
                Ok(member) => members.push(member),
                Err(error) => tracing::error!(%error, "unreadable pool member skipped"),
            }
        }
    }
    Ok(members)
}

/// The (mentee, mentor) ids the association ever proposed.
#[tracing::instrument(skip_all, fields(association = slug))]
async fn tried_pairs(store: &Store, slug: &str) -> Result<HashSet<(String, String)>, StoreError> {
    let items = query_all(
        store
            .by_association(index::association_pairs(slug), None)
            .projection_expression("mentee_id, mentor_id"),
    )
    .await?;
    Ok(items
        .iter()
        .filter_map(
            |item| match (item.get("mentee_id"), item.get("mentor_id")) {
                (Some(AttributeValue::S(mentee)), Some(AttributeValue::S(mentor))) => {
                    Some((mentee.clone(), mentor.clone()))
                }
                _ => None,
            },
        )
        .collect())
}

/// Interns words into ids, sorted per person.
#[derive(Default)]
struct Vocabulary(HashMap<String, u32>);

impl Vocabulary {
    fn ids(&mut self, words: Vec<String>) -> Vec<u32> {
        let mut ids: Vec<u32> = words
            .into_iter()
            .map(|w| {
                let next = self.0.len() as u32;
                *self.0.entry(w).or_insert(next)
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

fn languages(codes: &[String]) -> Languages {
    Languages::of(codes.iter().filter_map(|c| language_index(c)))
}

/// The algorithm's view of mentees and mentors.
pub fn instance(
    association: &str,
    mentees: &[Member],
    mentors: &[Member],
    criteria: Criteria,
    objective: Objective,
    tried: &HashSet<(String, String)>,
    now: DateTime<Utc>,
) -> Instance {
    let mut vocabulary = Vocabulary::default();
    let algorithm_mentees = mentees
        .iter()
        .map(|m| Mentee {
            departement: m.departement.index(),
            mode: m.mode,
            situation: m.situation.unwrap_or(Situation::Autre),
            languages: languages(&m.languages),
            needs: algorithm::needs_mask(&m.needs),
            fields: vocabulary.ids(m.words()),
            waiting_weeks: m
                .verified_at
                .map_or(0, |at| (now - at).num_weeks().max(0) as u32),
            minor: m.is_minor(now.date_naive()),
        })
        .collect();
    let algorithm_mentors = mentors
        .iter()
        .map(|m| Mentor {
            departement: m.departement.index(),
            mode: m.mode,
            audiences: algorithm::situations_mask(&m.audiences),
            languages: languages(&m.languages),
            expertise: algorithm::needs_mask(&m.expertise),
            fields: vocabulary.ids(m.words()),
            capacity: m.room(),
            cleared_for_minors: m.cleared_by(association),
        })
        .collect();
    let mentor_index: HashMap<&str, u32> = mentors
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i as u32))
        .collect();
    let exclusions = mentees
        .iter()
        .enumerate()
        .flat_map(|(i, mentee)| {
            tried
                .iter()
                .filter(move |(tried_mentee, _)| *tried_mentee == mentee.id)
                .filter_map(|(_, mentor)| mentor_index.get(mentor.as_str()))
                .map(move |j| (i as u32, *j))
        })
        .collect();
    Instance {
        mentees: algorithm_mentees,
        mentors: algorithm_mentors,
        criteria,
        exclusions,
        objective,
    }
}

impl Pool {
    /// Reads the pool: one Query per status, one for the tried pairs.
    pub async fn load(
        store: &Store,
        slug: &str,
        criteria: Criteria,
        objective: Objective,
        now: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        let members = held(
            store,
            slug,
            &[ProfileStatus::Routed, ProfileStatus::Acknowledged],
        )
        .await?;
        let full_mentors = members
            .iter()
            .filter(|m| m.role == Role::Mentor && m.room() == 0)
            .count();
        let (mentees, mentors): (Vec<Member>, Vec<Member>) = members
            .into_iter()
            .filter(|m| m.in_pool_of(slug))
            .partition(|m| m.role == Role::Mentee);
        let tried = tried_pairs(store, slug).await?;
        let instance = instance(slug, &mentees, &mentors, criteria, objective, &tried, now);
        Ok(Self {
            mentees,
            mentors,
            full_mentors,
            tried,
            instance,
        })
    }
}

/// Why a pair was proposed, in French, from its points.
pub fn reasons(mentee: &Member, mentor: &Member, points: &Points) -> Vec<String> {
    let mut reasons = Vec::new();
    let covered: Vec<&str> = mentee
        .needs
        .iter()
        .filter(|n| mentor.expertise.contains(n))
        .map(|n| n.label())
        .collect();
    if points.needs > 0 && !covered.is_empty() {
        reasons.push(format!("Besoins couverts : {}", covered.join(", ")));
    }
    if points.field > 0 {
        let theirs = mentor.words();
        let common: Vec<String> = mentee
            .words()
            .into_iter()
            .filter(|w| theirs.contains(w))
            .collect();
        reasons.push(format!("Même domaine : {}", common.join(", ")));
    }
    if points.proximity > 0 {
        reasons.push(format!(
            "Rencontres possibles en personne (département {})",
            mentee.departement
        ));
    } else if mentee.mode != Mode::Presentiel && mentor.mode != Mode::Presentiel {
        reasons.push("Échanges à distance".to_owned());
    }
    if let Some(situation) = mentee.situation
        && mentor.audiences.contains(&situation)
    {
        reasons.push(format!(
            "Public accompagné par le mentor : {}",
            situation.label()
        ));
    }
    if points.waiting > 0 {
        reasons.push("Priorité à une demande qui attend depuis plusieurs semaines".to_owned());
    }
    reasons
}
