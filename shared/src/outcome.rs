//! What mentoring led to: the six-month survey's answers, stored apart from
//! any person (no id, no name: the association, the département, the
//! situation at sign-up, an age band, the months paired), so that they
//! survive erasure and feed the network's statistics.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{
    http::FieldError,
    people::{Role, Situation, parse_term},
    place::Departement,
    store::Key,
};

/// Where the young person stands six months in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "Où en est le ou la jeune six mois après le début du binôme.")]
pub enum SituationNow {
    Emploi,
    Formation,
    Etudes,
    RechercheEmploi,
    Autre,
}

impl SituationNow {
    pub const ALL: [SituationNow; 5] = [
        SituationNow::Emploi,
        SituationNow::Formation,
        SituationNow::Etudes,
        SituationNow::RechercheEmploi,
        SituationNow::Autre,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SituationNow::Emploi => "emploi",
            SituationNow::Formation => "formation",
            SituationNow::Etudes => "etudes",
            SituationNow::RechercheEmploi => "recherche_emploi",
            SituationNow::Autre => "autre",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SituationNow::Emploi => "En emploi",
            SituationNow::Formation => "En formation",
            SituationNow::Etudes => "En études",
            SituationNow::RechercheEmploi => "En recherche d'emploi",
            SituationNow::Autre => "Autre situation",
        }
    }
}

/// An age in a band wide enough to identify nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgeBand {
    #[serde(rename = "11-14")]
    From11To14,
    #[serde(rename = "15-17")]
    From15To17,
    #[serde(rename = "18-21")]
    From18To21,
    #[serde(rename = "22-25")]
    From22To25,
    #[serde(rename = "26-30")]
    From26To30,
}

impl AgeBand {
    pub fn of(age: u32) -> Self {
        match age {
            0..=14 => AgeBand::From11To14,
            15..=17 => AgeBand::From15To17,
            18..=21 => AgeBand::From18To21,
            22..=25 => AgeBand::From22To25,
            _ => AgeBand::From26To30,
        }
    }
}

/// One person's answers to the survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeAnswers {
    /// Asked of the young person only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub situation_now: Option<SituationNow>,
    /// 1 (not at all) to 5 (a lot).
    pub helped: u8,
    pub recommend: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The longest free comment kept.
pub const MAX_COMMENT: usize = 1000;

impl OutcomeAnswers {
    /// The survey form as posted (`application/x-www-form-urlencoded`);
    /// every problem is named.
    pub fn parse_form(body: &[u8], role: Role) -> Result<Self, Vec<FieldError>> {
        let fields: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        let mut problems = Vec::new();
        let mut problem = |field: &str, message: &str| {
            problems.push(FieldError {
                field: field.to_owned(),
                message: message.to_owned(),
            });
        };
        let situation_now = match role {
            Role::Mentee => {
                let parsed = fields
                    .get("situation_now")
                    .and_then(|raw| parse_term::<SituationNow>(raw));
                if parsed.is_none() {
                    problem("situation_now", "Indiquez votre situation aujourd'hui.");
                }
                parsed
            }
            Role::Mentor => None,
        };
        let helped = fields
            .get("helped")
            .and_then(|raw| raw.parse::<u8>().ok())
            .filter(|n| (1..=5).contains(n));
        if helped.is_none() {
            problem("helped", "Choisissez une note de 1 à 5.");
        }
        let recommend = match fields.get("recommend").map(String::as_str) {
            Some("oui") => Some(true),
            Some("non") => Some(false),
            _ => None,
        };
        if recommend.is_none() {
            problem("recommend", "Répondez oui ou non.");
        }
        let comment = fields
            .get("comment")
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMMENT)
        {
            problem(
                "comment",
                "Votre commentaire dépasse 1 000 caractères : raccourcissez-le.",
            );
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            situation_now,
            helped: helped.unwrap_or_default(),
            recommend: recommend.unwrap_or_default(),
            comment,
        })
    }
}

/// An outcome as stored (`OUTCOME#<random id>` / `OUTCOME`): no person in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pk: String,
    sk: String,
    pub role: Role,
    pub association: String,
    pub departement: Option<Departement>,
    pub situation_at_signup: Option<Situation>,
    pub age_band: Option<AgeBand>,
    pub months_paired: u32,
    /// The month it was answered, no finer.
    pub answered_in: String,
    #[serde(flatten)]
    pub answers: OutcomeAnswers,
}

/// What an outcome keeps of the pair and its young person.
#[derive(Debug, Clone)]
pub struct Context {
    pub association: String,
    pub departement: Option<Departement>,
    pub situation_at_signup: Option<Situation>,
    pub age: Option<u32>,
    pub months_paired: u32,
}

impl Outcome {
    pub fn new(role: Role, context: Context, answers: OutcomeAnswers, today: NaiveDate) -> Self {
        let key = Key::outcome(&uuid::Uuid::new_v4().simple().to_string());
        Self {
            pk: key.pk,
            sk: key.sk,
            role,
            association: context.association,
            departement: context.departement,
            situation_at_signup: context.situation_at_signup,
            age_band: context.age.map(AgeBand::of),
            months_paired: context.months_paired,
            answered_in: today.format("%Y-%m").to_string(),
            answers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_form_parses_and_a_partial_one_names_what_is_missing() {
        let answers = OutcomeAnswers::parse_form(
            b"situation_now=emploi&helped=4&recommend=oui&comment=Merci+%21",
            Role::Mentee,
        )
        .unwrap();
        assert_eq!(answers.situation_now, Some(SituationNow::Emploi));
        assert_eq!((answers.helped, answers.recommend), (4, true));
        assert_eq!(answers.comment.as_deref(), Some("Merci !"));

        let problems = OutcomeAnswers::parse_form(b"helped=9", Role::Mentee).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["situation_now", "helped", "recommend"]);

        let mentor = OutcomeAnswers::parse_form(b"helped=5&recommend=non", Role::Mentor).unwrap();
        assert_eq!(mentor.situation_now, None, "not asked of mentors");
    }

    #[test]
    fn ages_fall_in_bands() {
        assert_eq!(AgeBand::of(14), AgeBand::From11To14);
        assert_eq!(AgeBand::of(17), AgeBand::From15To17);
        assert_eq!(AgeBand::of(30), AgeBand::From26To30);
    }
}
