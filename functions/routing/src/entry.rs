//! A directory entry as the network's admins create and edit it from their
//! pages: the same form, checks and save as `PUT /v1/admin/associations/{slug}`.
//! A new association's API key is shown once, on the page that created it.
//! The criteria, the nightly run and the review are the association's own
//! settings (its space): an edit keeps them.

use std::collections::HashMap;

use askama::Template;
use chrono::Utc;
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::Serialize;
use shared::{
    directory::{AssociationRecord, Intake, Notify, read_association, valid_slug},
    http::FieldError,
    people::{Mode, Need, PriorityGroup, Situation},
    site::{NetworkNav, html, see_other, unindexed},
    staff::{SignedIn, in_network},
    store::StoreError,
};

use crate::{
    Routing,
    directory::{self, AssociationForm, SpecialityForm},
};

const NEW: &str = "/admin/annuaire/nouvelle";

#[derive(Template)]
#[template(path = "network/entry.html")]
struct EntryPage {
    nav: NetworkNav,
    heading: String,
    action: String,
    /// Only a new entry chooses its identifier.
    creating: bool,
    inputs: Vec<Input>,
    choices: Vec<Choices>,
    /// (field name, priority group, weight as typed)
    specialities: Vec<(String, &'static str, String)>,
    speciality_error: Option<String>,
    errors: Vec<(String, String)>,
    /// A new association's key: shown this once.
    created_key: Option<String>,
}

struct Input {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: &'static str,
    value: String,
    error: Option<String>,
}

struct Choices {
    name: &'static str,
    legend: &'static str,
    hint: &'static str,
    radio: bool,
    /// (value, label, checked)
    options: Vec<(String, &'static str, bool)>,
    error: Option<String>,
}

/// A posted form, every value of every field.
#[derive(Debug, Default)]
struct Posted(HashMap<String, Vec<String>>);

impl Posted {
    fn read(request: &Request) -> Self {
        let body = request.body().as_ref();
        let mut fields: HashMap<String, Vec<String>> = HashMap::new();
        if body.len() <= shared::http::MAX_BODY_BYTES {
            for (name, value) in url::form_urlencoded::parse(body).into_owned() {
                fields.entry(name).or_default().push(value);
            }
        }
        Self(fields)
    }

    fn first(&self, name: &str) -> String {
        self.0
            .get(name)
            .and_then(|values| values.first())
            .cloned()
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0.get(name).cloned().unwrap_or_default()
    }

    fn has(&self, name: &str, value: &str) -> bool {
        self.0
            .get(name)
            .is_some_and(|values| values.iter().any(|v| v == value))
    }

    fn set(&mut self, name: &str, values: Vec<String>) {
        self.0.insert(name.to_owned(), values);
    }

    /// The form an existing entry fills in.
    fn of(record: &AssociationRecord) -> Self {
        let mut posted = Self::default();
        posted.set("slug", vec![record.slug.clone()]);
        posted.set("name", vec![record.name.clone()]);
        posted.set("contact_email", vec![record.contact_email.clone()]);
        let departements: Vec<String> = record
            .departements
            .iter()
            .map(ToString::to_string)
            .collect();
        posted.set("departements", vec![departements.join(", ")]);
        for (name, on) in [("national", record.national), ("active", record.active)] {
            if on {
                posted.set(name, vec!["on".into()]);
            }
        }
        posted.set("modes", record.modes.iter().map(term).collect());
        posted.set("needs", record.needs.iter().map(term).collect());
        posted.set("situations", record.situations.iter().map(term).collect());
        posted.set(
            "reserved_for",
            record.reserved_for.iter().map(term).collect(),
        );
        for speciality in &record.specialities {
            posted.set(
                &format!("speciality_{}", term(&speciality.group)),
                vec![speciality.weight.to_string()],
            );
        }
        for (name, value) in [
            ("min_age", record.min_age),
            ("max_age", record.max_age),
            ("monthly_capacity", record.monthly_capacity),
            ("sla_days", record.sla_days),
            ("programme_months", record.programme_months),
        ] {
            posted.set(name, vec![value.to_string()]);
        }
        posted.set("mentor_intake", vec![term(&record.mentor_intake)]);
        posted.set("notify", vec![term(&record.notify)]);
        posted
    }

    /// The API's form with these values; `kept`: the association's own
    /// settings, which an edit keeps.
    fn form(&self, kept: Option<&AssociationRecord>) -> AssociationForm {
        let text = |name: &str| Some(self.first(name).trim().to_owned());
        let list = |name: &str| Some(self.all(name));
        AssociationForm {
            name: text("name"),
            contact_email: text("contact_email"),
            active: Some(self.has("active", "on")),
            departements: Some(
                self.first("departements")
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|code| !code.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            national: Some(self.has("national", "on")),
            modes: list("modes"),
            min_age: number(&self.first("min_age")),
            max_age: number(&self.first("max_age")),
            needs: list("needs"),
            situations: list("situations"),
            specialities: Some(
                PriorityGroup::ALL
                    .iter()
                    .filter_map(|group| {
                        let raw = self.first(&format!("speciality_{}", term(group)));
                        (!raw.trim().is_empty()).then(|| SpecialityForm {
                            group: term(group),
                            weight: number(&raw),
                        })
                    })
                    .collect(),
            ),
            reserved_for: list("reserved_for"),
            monthly_capacity: number(&self.first("monthly_capacity")),
            mentor_intake: text("mentor_intake"),
            notify: text("notify"),
            sla_days: number(&self.first("sla_days")),
            programme_months: number(&self.first("programme_months")),
            matching: kept.map(|record| record.matching),
            auto_matching: kept.map(|record| record.auto_matching),
            auto_publish: kept.map(|record| record.auto_publish),
        }
    }
}

/// A number as typed; one that is not a number is out of every range, so
/// that the checks name the field instead of taking its default.
fn number(raw: &str) -> Option<u32> {
    let raw = raw.trim();
    if raw.is_empty() {
        None
    } else {
        Some(raw.parse().unwrap_or(u32::MAX))
    }
}

/// A vocabulary value's wire name.
fn term<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn options<T: Serialize + Copy>(
    posted: &Posted,
    name: &str,
    values: &[T],
    label: fn(T) -> &'static str,
) -> Vec<(String, &'static str, bool)> {
    values
        .iter()
        .map(|value| {
            let wire = term(value);
            let checked = posted.has(name, &wire);
            (wire, label(*value), checked)
        })
        .collect()
}

/// The API's messages name wire values; the page says the same in its
/// own words.
fn in_page_words(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    for error in &mut errors {
        let message = match error.field.as_str() {
            "departements" => {
                "Indiquez les codes des départements servis (01 à 95, 2A, 2B, 971 à 976), ou cochez « Toute la France »."
            }
            "modes" => "Cochez en personne, à distance, ou les deux.",
            "needs" => "Cochez au moins un besoin accompagné.",
            "monthly_capacity" => {
                "Indiquez combien de jeunes l'association peut accueillir par mois, de 0 à 100 000."
            }
            "specialities" => {
                "Indiquez pour chaque spécialité un poids de 0 à 100, ou laissez vide."
            }
            _ => continue,
        };
        error.message = message.to_owned();
    }
    errors
}

fn render(
    signed_in: &SignedIn,
    existing: Option<&AssociationRecord>,
    posted: &Posted,
    errors: Vec<FieldError>,
    created_key: Option<String>,
    status: StatusCode,
) -> Response<Body> {
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|error| error.field == name)
            .map(|error| error.message.clone())
    };
    let input = |name, label, hint, kind| Input {
        name,
        label,
        hint,
        kind,
        value: posted.first(name),
        error: error_of(name),
    };
    let mut inputs = Vec::new();
    if existing.is_none() {
        inputs.push(input(
            "slug",
            "Identifiant",
            "En minuscules, chiffres et tirets, par exemple article-1 ; il ne change plus.",
            "text",
        ));
    }
    inputs.extend([
        input("name", "Nom de l'association", "", "text"),
        input(
            "contact_email",
            "Adresse qui reçoit les demandes",
            "Par exemple demandes@association.fr.",
            "email",
        ),
        input(
            "departements",
            "Départements servis",
            "Leurs codes, séparés par des virgules : 93, 95, 2A, 971…",
            "text",
        ),
        input(
            "min_age",
            "Âge minimum accueilli",
            "De 11 à 30 ans.",
            "number",
        ),
        input(
            "max_age",
            "Âge maximum accueilli",
            "De 11 à 30 ans.",
            "number",
        ),
        input(
            "monthly_capacity",
            "Jeunes accueillis par mois",
            "De 0 à 100 000.",
            "number",
        ),
        input(
            "sla_days",
            "Délai de réponse, en jours",
            "De 1 à 60 ; sans réponse au double, la demande passe à une autre association.",
            "number",
        ),
        input(
            "programme_months",
            "Durée du programme, en mois",
            "De 1 à 24.",
            "number",
        ),
    ]);
    let mode_label = |mode: Mode| match mode {
        Mode::Presentiel => "En personne",
        Mode::Distance => "À distance",
        Mode::Indifferent => "Les deux",
    };
    let choices = vec![
        Choices {
            name: "national",
            legend: "Territoire",
            hint: "",
            radio: false,
            options: vec![("on".into(), "Toute la France", posted.has("national", "on"))],
            error: None,
        },
        Choices {
            name: "modes",
            legend: "Façons d'accompagner",
            hint: "",
            radio: false,
            options: options(
                posted,
                "modes",
                &[Mode::Presentiel, Mode::Distance],
                mode_label,
            ),
            error: error_of("modes"),
        },
        Choices {
            name: "needs",
            legend: "Besoins accompagnés",
            hint: "Au moins un.",
            radio: false,
            options: options(posted, "needs", &Need::ALL, Need::label),
            error: error_of("needs"),
        },
        Choices {
            name: "situations",
            legend: "Situations accueillies en priorité",
            hint: "Elles donnent des points au routage.",
            radio: false,
            options: options(posted, "situations", &Situation::ALL, Situation::label),
            error: error_of("situations"),
        },
        Choices {
            name: "reserved_for",
            legend: "Réservée à ces publics",
            hint: "Aucun coché : ouverte à tous.",
            radio: false,
            options: options(
                posted,
                "reserved_for",
                &PriorityGroup::ALL,
                PriorityGroup::label,
            ),
            error: error_of("reserved_for"),
        },
        Choices {
            name: "mentor_intake",
            legend: "Nouveaux mentors",
            hint: "",
            radio: true,
            options: vec![
                (
                    term(&Intake::Open),
                    "L'association en accueille",
                    posted.first("mentor_intake") != term(&Intake::Closed),
                ),
                (
                    term(&Intake::Closed),
                    "Elle n'en accueille plus pour l'instant",
                    posted.first("mentor_intake") == term(&Intake::Closed),
                ),
            ],
            error: error_of("mentor_intake"),
        },
        Choices {
            name: "notify",
            legend: "Prévenue des demandes",
            hint: "",
            radio: true,
            options: vec![
                (
                    term(&Notify::Immediate),
                    "À chaque demande",
                    posted.first("notify") != term(&Notify::DailyDigest),
                ),
                (
                    term(&Notify::DailyDigest),
                    "Une fois par jour",
                    posted.first("notify") == term(&Notify::DailyDigest),
                ),
            ],
            error: error_of("notify"),
        },
        Choices {
            name: "active",
            legend: "État",
            hint: "",
            radio: false,
            options: vec![(
                "on".into(),
                "Reçoit des demandes",
                posted.has("active", "on"),
            )],
            error: None,
        },
    ];
    let specialities = PriorityGroup::ALL
        .iter()
        .map(|group| {
            let name = format!("speciality_{}", term(group));
            let value = posted.first(&name);
            (name, group.label(), value)
        })
        .collect();
    let page = EntryPage {
        nav: NetworkNav::new(signed_in, "annuaire"),
        heading: existing.map_or_else(
            || "Nouvelle association".to_owned(),
            |record| record.name.clone(),
        ),
        action: existing.map_or_else(
            || NEW.to_owned(),
            |record| format!("/admin/annuaire/{}/fiche", record.slug),
        ),
        creating: existing.is_none(),
        inputs,
        choices,
        specialities,
        speciality_error: error_of("specialities"),
        errors: errors
            .into_iter()
            .map(|error| (error.field, error.message))
            .collect(),
        created_key,
    };
    unindexed(html(status, page.render()))
}

async fn network_admin(
    app: &Routing,
    request: &Request,
) -> Result<Result<SignedIn, Response<Body>>, StoreError> {
    in_network(&app.store, request, request.uri().path(), Utc::now()).await
}

fn slug_of(request: &Request) -> &str {
    request
        .path_parameters_ref()
        .and_then(|p| p.first("slug"))
        .unwrap_or_default()
}

/// The entry a page is about, or the page that says it is not there.
async fn existing(
    app: &Routing,
    request: &Request,
) -> Result<Result<AssociationRecord, Response<Body>>, StoreError> {
    let slug = slug_of(request);
    let found = if valid_slug(slug) {
        read_association(&app.store, slug).await?
    } else {
        None
    };
    Ok(found.ok_or_else(|| {
        shared::pages::Page::new(
            "Association introuvable",
            &["Aucune association de l'annuaire ne porte cet identifiant."],
        )
        .with_link("/admin/annuaire", "Revenir à l'annuaire")
        .respond(StatusCode::NOT_FOUND)
    }))
}

fn csrf_refused(signed_in: &SignedIn, posted: &Posted) -> Option<Response<Body>> {
    let token = posted.first("csrf");
    (!signed_in.csrf_matches(Some(&token))).then(|| {
        shared::pages::Page::new(
            "Cette page a expiré",
            &["Rien n'a été enregistré. Rechargez la page, puis recommencez."],
        )
        .with_link("/admin/annuaire", "Revenir à l'annuaire")
        .respond(StatusCode::FORBIDDEN)
    })
}

/// `GET /admin/annuaire/nouvelle`
pub async fn new_page(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let signed_in = match network_admin(app, request).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let mut posted = Posted::default();
            // The network's usual defaults, as the API takes them.
            for (name, value) in [
                ("min_age", "11"),
                ("max_age", "30"),
                ("sla_days", "7"),
                ("programme_months", "6"),
                ("active", "on"),
            ] {
                posted.set(name, vec![value.to_owned()]);
            }
            posted.set("modes", vec!["presentiel".into(), "distance".into()]);
            Ok(render(
                &signed_in,
                None,
                &posted,
                Vec::new(),
                None,
                StatusCode::OK,
            ))
        }
        .await,
        "La page n'est pas disponible",
    )
}

/// `POST /admin/annuaire/nouvelle`: the new entry, its key shown once.
pub async fn created(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let signed_in = match network_admin(app, request).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let posted = Posted::read(request);
            if let Some(refused) = csrf_refused(&signed_in, &posted) {
                return Ok(refused);
            }
            let slug = posted.first("slug").trim().to_owned();
            let checked = directory::validate(&slug, posted.form(None)).map_err(in_page_words);
            let mut errors = checked.as_ref().err().cloned().unwrap_or_default();
            if !valid_slug(&slug) {
                errors.insert(0, FieldError { field: "slug".into(), message: "Indiquez un identifiant en minuscules, chiffres et tirets (2 à 64 caractères), par exemple article-1.".into() });
            } else if read_association(&app.store, &slug).await?.is_some() {
                errors.insert(0, FieldError { field: "slug".into(), message: "Cet identifiant est déjà celui d'une association : choisissez-en un autre, ou modifiez sa fiche depuis l'annuaire.".into() });
            }
            let record = match checked {
                Ok(record) if errors.is_empty() => record,
                _ => return Ok(render(&signed_in, None, &posted, errors, None, StatusCode::BAD_REQUEST)),
            };
            let key = directory::save(app, &record).await?;
            Ok(render(&signed_in, None, &Posted::of(&record), Vec::new(), key, StatusCode::CREATED))
        }
        .await,
        "L'association n'a pas été créée",
    )
}

/// `GET /admin/annuaire/{slug}/fiche`
pub async fn edit_page(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let signed_in = match network_admin(app, request).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let record = match existing(app, request).await? {
                Ok(record) => record,
                Err(missing) => return Ok(missing),
            };
            Ok(render(
                &signed_in,
                Some(&record),
                &Posted::of(&record),
                Vec::new(),
                None,
                StatusCode::OK,
            ))
        }
        .await,
        "La page n'est pas disponible",
    )
}

/// `POST /admin/annuaire/{slug}/fiche`: saved, its key and the
/// association's own settings kept.
pub async fn saved(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let signed_in = match network_admin(app, request).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let posted = Posted::read(request);
            if let Some(refused) = csrf_refused(&signed_in, &posted) {
                return Ok(refused);
            }
            let record = match existing(app, request).await? {
                Ok(record) => record,
                Err(missing) => return Ok(missing),
            };
            match directory::validate(&record.slug, posted.form(Some(&record)))
                .map_err(in_page_words)
            {
                Ok(changed) => {
                    directory::save(app, &changed).await?;
                    Ok(see_other("/admin/annuaire?fait=fiche"))
                }
                Err(errors) => Ok(render(
                    &signed_in,
                    Some(&record),
                    &posted,
                    errors,
                    None,
                    StatusCode::BAD_REQUEST,
                )),
            }
        }
        .await,
        "L'association n'a pas été modifiée",
    )
}
