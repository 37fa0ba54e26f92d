//! The association's settings in the staff space, for its admins: how its
//! pairs are weighed (each criterion a must, a weight or off), its monthly
//! capacity, its answer time, its mentor intake, its contact address, and
//! whether runs are nightly and published without review. The directory
//! record is saved as the network's admins save it, with a journal entry.

use askama::Template;
use chrono::Utc;
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    criteria::{Criteria, Rule},
    directory::{AssociationRecord, Intake},
    email::EmailAddress,
    http::{self, ApiError, FieldError},
    journal::{Action, Actor, Entry},
    site::{SpaceNav, html, see_other, unindexed},
    staff::{self, InSpace, in_space},
};

use crate::{Routing, directory};

const SETTINGS: &str = "/association/reglages";

/// The criteria as the form names them, with their labels.
const CRITERIA: [(&str, &str); 7] = [
    (
        "situation",
        "La situation du ou de la jeune fait partie des publics du mentor",
    ),
    (
        "mode",
        "Une façon de se voir qui convient aux deux (à distance, ou en personne dans le même département)",
    ),
    ("language", "Une langue en commun"),
    (
        "needs",
        "Les besoins du ou de la jeune parmi les sujets du mentor (points par besoin couvert)",
    ),
    (
        "field",
        "Le domaine du ou de la jeune a un mot en commun avec ceux du mentor",
    ),
    (
        "proximity",
        "Même département, et les deux peuvent se voir en personne",
    ),
    (
        "waiting",
        "L'attente du ou de la jeune (points par semaine)",
    ),
];

#[derive(Template)]
#[template(path = "space/settings.html")]
struct SettingsPage {
    nav: SpaceNav,
    form: SettingsForm,
    criteria: Vec<CriterionRow>,
    errors: Vec<(&'static str, String)>,
    done: bool,
}

struct CriterionRow {
    name: &'static str,
    label: &'static str,
    rule: String,
    weight: String,
    /// Waiting time only weighs, never filters.
    can_be_must: bool,
}

impl SettingsPage {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }
}

/// The form as posted (and shown again with an error): every field by name.
#[derive(Debug, Default)]
struct SettingsForm(std::collections::HashMap<String, String>);

impl SettingsForm {
    fn of(record: &AssociationRecord) -> Self {
        let criteria = record.matching;
        let mut fields = std::collections::HashMap::new();
        for (name, rule) in rules_of(&criteria) {
            let (kind, weight) = match rule {
                Rule::Must => ("must", String::new()),
                Rule::Weight(weight) => ("weight", weight.to_string()),
                Rule::Off => ("off", String::new()),
            };
            fields.insert(format!("{name}_rule"), kind.to_owned());
            fields.insert(format!("{name}_weight"), weight);
        }
        let intake = match record.mentor_intake {
            Intake::Open => "open",
            Intake::Closed => "closed",
        };
        for (name, value) in [
            ("contact_email", record.contact_email.clone()),
            ("monthly_capacity", record.monthly_capacity.to_string()),
            ("sla_days", record.sla_days.to_string()),
            ("mentor_intake", intake.to_owned()),
            ("waiting_cap_weeks", criteria.waiting_cap_weeks.to_string()),
        ] {
            fields.insert(name.to_owned(), value);
        }
        for (name, on) in [
            ("auto_matching", record.auto_matching),
            ("auto_publish", record.auto_publish),
        ] {
            if on {
                fields.insert(name.to_owned(), "on".to_owned());
            }
        }
        Self(fields)
    }

    /// As posted; a field given twice keeps its last value.
    fn posted(request: &Request) -> Self {
        let body = request.body().as_ref();
        if body.len() > shared::http::MAX_BODY_BYTES {
            return Self::default();
        }
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    fn value(&self, name: &str) -> String {
        self.0.get(name).cloned().unwrap_or_default()
    }

    fn checked(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

fn rules_of(criteria: &Criteria) -> [(&'static str, Rule); 7] {
    [
        ("situation", criteria.situation),
        ("mode", criteria.mode),
        ("language", criteria.language),
        ("needs", criteria.needs),
        ("field", criteria.field),
        ("proximity", criteria.proximity),
        ("waiting", criteria.waiting),
    ]
}

fn render(
    space: &InSpace,
    form: SettingsForm,
    errors: Vec<(&'static str, String)>,
    done: bool,
    status: StatusCode,
) -> Response<Body> {
    let criteria = CRITERIA
        .iter()
        .map(|(name, label)| CriterionRow {
            name,
            label,
            rule: form.value(&format!("{name}_rule")),
            weight: form.value(&format!("{name}_weight")),
            can_be_must: *name != "waiting",
        })
        .collect();
    let page = SettingsPage {
        nav: space.nav("reglages"),
        form,
        criteria,
        errors,
        done,
    };
    unindexed(html(status, page.render()))
}

/// `GET /association/reglages` (admins)
pub async fn page(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match in_space(&app.store, request, SETTINGS, Utc::now()).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            if let Some(refused) = space.unless_admin("reglages") {
                return Ok(refused);
            }
            let done = shared::http::query_parameter(request, "fait").is_some();
            let form = SettingsForm::of(&space.association);
            Ok(render(&space, form, Vec::new(), done, StatusCode::OK))
        }
        .await,
        "Les réglages n'ont pas été modifiés",
    )
}

/// A number typed in a field, if it is one within `range`.
fn number(raw: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
    raw.trim().parse().ok().filter(|n| range.contains(n))
}

/// The record the form asks for, or what to fix.
fn changed(
    record: &AssociationRecord,
    form: &SettingsForm,
) -> Result<AssociationRecord, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let mut record = record.clone();
    match EmailAddress::parse(form.value("contact_email").trim()) {
        Ok(address) => record.contact_email = address.as_str().to_owned(),
        Err(_) => errors.push(("contact_email", "Indiquez l'adresse où l'association reçoit les demandes, par exemple demandes@association.fr.".to_owned())),
    }
    match number(&form.value("monthly_capacity"), 0..=100_000) {
        Some(capacity) => record.monthly_capacity = capacity,
        None => errors.push((
            "monthly_capacity",
            "Indiquez un nombre de jeunes par mois, de 0 à 100 000.".to_owned(),
        )),
    }
    match number(&form.value("sla_days"), 1..=60) {
        Some(days) => record.sla_days = days,
        None => errors.push((
            "sla_days",
            "Indiquez un délai de réponse de 1 à 60 jours.".to_owned(),
        )),
    }
    record.mentor_intake = if form.value("mentor_intake") == "closed" {
        Intake::Closed
    } else {
        Intake::Open
    };
    record.auto_matching = form.checked("auto_matching");
    record.auto_publish = form.checked("auto_publish");
    let mut criteria = record.matching;
    match number(&form.value("waiting_cap_weeks"), 0..=104) {
        Some(weeks) => criteria.waiting_cap_weeks = weeks,
        None => errors.push((
            "waiting_cap_weeks",
            "Indiquez de 0 à 104 semaines.".to_owned(),
        )),
    }
    for (name, _) in CRITERIA {
        let rule = match form.value(&format!("{name}_rule")).as_str() {
            "must" if name != "waiting" => Rule::Must,
            "off" => Rule::Off,
            "weight" => match number(&form.value(&format!("{name}_weight")), 0..=1000) {
                Some(weight) => Rule::Weight(weight),
                None => {
                    errors.push((name, "Indiquez un poids de 0 à 1000.".to_owned()));
                    continue;
                }
            },
            _ => {
                errors.push((
                    name,
                    "Choisissez obligatoire, des points ou sans effet.".to_owned(),
                ));
                continue;
            }
        };
        match name {
            "situation" => criteria.situation = rule,
            "mode" => criteria.mode = rule,
            "language" => criteria.language = rule,
            "needs" => criteria.needs = rule,
            "field" => criteria.field = rule,
            "proximity" => criteria.proximity = rule,
            _ => criteria.waiting = rule,
        }
    }
    if let Some(problem) = criteria.problem() {
        errors.push(("waiting", problem.to_owned()));
    }
    record.matching = criteria;
    if errors.is_empty() {
        Ok(record)
    } else {
        Err(errors)
    }
}

/// `POST /association/reglages` (admins)
pub async fn posted_settings(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let now = Utc::now();
            let space = match in_space(&app.store, request, SETTINGS, now).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let form = SettingsForm::posted(request);
            if let Some(refused) =
                space.csrf_refused(form.0.get("csrf").map(String::as_str), SETTINGS)
            {
                return Ok(refused);
            }
            if let Some(refused) = space.unless_admin("reglages") {
                return Ok(refused);
            }
            let record = match changed(&space.association, &form) {
                Ok(record) => record,
                Err(errors) => {
                    return Ok(render(&space, form, errors, false, StatusCode::BAD_REQUEST));
                }
            };
            let entry = Entry::new(
                Actor::staff(space.account()),
                Action::SettingsChanged,
                &record.slug,
                now,
            );
            directory::save_settings(app, &record, entry).await?;
            Ok(see_other("/association/reglages?fait=1"))
        }
        .await,
        "Les réglages n'ont pas été modifiés",
    )
}

/// The settings as the JSON routes read and write them.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "Les réglages de l'association, ceux de sa page « Réglages ». Tous les champs sont requis en écriture ; tous les problèmes sont nommés à la fois."
)]
pub struct AssociationSettings {
    /// Adresse où l'association reçoit les demandes.
    #[schema(format = Email, max_length = 254)]
    pub contact_email: String,
    /// Jeunes qu'elle peut accueillir par mois (0 à 100 000).
    #[schema(maximum = 100000)]
    pub monthly_capacity: u32,
    /// Délai de réponse, de 1 à 60 jours.
    #[schema(minimum = 1, maximum = 60)]
    pub sla_days: u32,
    /// Si elle accueille de nouveaux mentors.
    pub mentor_intake: Intake,
    /// Si la planification de nuit forme ses binômes.
    pub auto_matching: bool,
    /// Si les binômes d'un run sont proposés sans relecture.
    pub auto_publish: bool,
    /// Comment ses binômes sont pesés : chaque poids de 0 à 1000 ; `waiting` ne vaut jamais `must`.
    pub matching: Criteria,
}

impl AssociationSettings {
    fn of(record: &AssociationRecord) -> Self {
        Self {
            contact_email: record.contact_email.clone(),
            monthly_capacity: record.monthly_capacity,
            sla_days: record.sla_days,
            mentor_intake: record.mentor_intake,
            auto_matching: record.auto_matching,
            auto_publish: record.auto_publish,
            matching: record.matching,
        }
    }

    /// The record these settings make, checked as the page checks its form.
    fn applied(self, record: &AssociationRecord) -> Result<AssociationRecord, Vec<FieldError>> {
        let asked = AssociationRecord {
            contact_email: self.contact_email,
            monthly_capacity: self.monthly_capacity,
            sla_days: self.sla_days,
            mentor_intake: self.mentor_intake,
            auto_matching: self.auto_matching,
            auto_publish: self.auto_publish,
            matching: self.matching,
            ..record.clone()
        };
        changed(record, &SettingsForm::of(&asked)).map_err(|errors| {
            errors
                .into_iter()
                .map(|(field, message)| FieldError {
                    field: if field == "waiting_cap_weeks"
                        || CRITERIA.iter().any(|(name, _)| *name == field)
                    {
                        format!("matching.{field}")
                    } else {
                        field.to_owned()
                    },
                    message,
                })
                .collect()
        })
    }
}

#[utoipa::path(
    get,
    path = "/v1/association/settings",
    tag = "equipe",
    operation_id = "settings_read",
    summary = "Les réglages de l'association",
    description = "Réservé aux administrateur·rices (ou à une clé d'API de l'association).",
    security(("association" = [])),
    responses(
        (status = 200, description = "Les réglages.", body = AssociationSettings),
        (status = 403, description = "Un·e membre qui n'est pas administrateur·rice (`admins_only`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/association/settings`
pub async fn read(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let acting = staff::acting(&app.store, request, Utc::now())
        .await?
        .admin()?;
    Ok(http::json(
        StatusCode::OK,
        &AssociationSettings::of(&acting.association),
    ))
}

#[utoipa::path(
    put,
    path = "/v1/association/settings",
    tag = "equipe",
    operation_id = "settings_write",
    summary = "Modifier les réglages de l'association",
    description = "Remplace ses réglages, avec une entrée au journal. Les autres champs de l'annuaire restent ceux du réseau.",
    security(("association" = [])),
    request_body(content = AssociationSettings, content_type = "application/json"),
    responses(
        (status = 200, description = "Réglages enregistrés.", body = AssociationSettings),
        (status = 400, description = "Champs invalides, chacun nommé dans `fields` (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `missing_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 403, description = "Réservé aux administrateur·rices (`admins_only`), jeton CSRF manquant avec une session (`csrf_token`).", body = shared::http::ApiError),
    )
)]
/// `PUT /v1/association/settings`
pub async fn write(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let now = Utc::now();
    let acting = staff::acting(&app.store, request, now).await?.admin()?;
    let settings: AssociationSettings = http::parse_json(request)?;
    let record = settings
        .applied(&acting.association)
        .map_err(ApiError::invalid_fields)?;
    let entry = Entry::new(
        acting.actor.clone(),
        Action::SettingsChanged,
        &record.slug,
        now,
    );
    directory::save_settings(app, &record, entry).await?;
    Ok(http::json(
        StatusCode::OK,
        &AssociationSettings::of(&record),
    ))
}
