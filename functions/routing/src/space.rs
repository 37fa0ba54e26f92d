//! The inbox in the staff space: the association's requests by status with
//! their counts, a request's page (contact details, and only here the
//! sensitive data and the guardian), acknowledge, decline with a reason.
//! The same code as the JSON routes acts; each action is a POST with the
//! session's CSRF token, then a confirmation.

use askama::Template;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::Deserialize;
use shared::{
    http::{self, ApiError},
    journal::Actor,
    pages::Page,
    people::{ProfileStatus, Role},
    site::{SpaceNav, html, paris_time, posted, see_other, unindexed},
    staff::{InSpace, in_space},
    store::StoreError,
};

use crate::{
    Routing,
    inbox::{self, ListedRequest, RequestDetails},
    request::Cause,
};

const INBOX: &str = "/association/demandes";
/// Requests per page.
const PAGE: i32 = 50;

#[derive(Template)]
#[template(path = "space/requests.html")]
struct RequestsPage {
    nav: SpaceNav,
    /// (label, href, count, shown)
    tabs: Vec<(&'static str, &'static str, usize, bool)>,
    caption: &'static str,
    rows: Vec<Row>,
    next: Option<String>,
    done: Option<&'static str>,
}

struct Row {
    href: String,
    who: String,
    about: String,
    departement: String,
    since: String,
    status: &'static str,
    late: bool,
    unreachable: bool,
}

#[derive(Template)]
#[template(path = "space/request.html")]
struct RequestPage {
    nav: SpaceNav,
    id: String,
    heading: String,
    status: &'static str,
    /// (heading, facts as (label, value))
    sections: Vec<(&'static str, Vec<(&'static str, String)>)>,
    unreachable: bool,
    can_acknowledge: bool,
    can_decline: bool,
    reason: String,
    reason_error: Option<String>,
    /// A mentor's honorability check in words; `None` when not recorded.
    honorability: Option<String>,
    mentor: bool,
    honorability_error: Option<String>,
    done: Option<&'static str>,
}

/// What a request page shows again after a refused form: its values and error.
#[derive(Default)]
struct Kept {
    reason: String,
    reason_error: Option<String>,
    honorability_error: Option<String>,
}

async fn space(
    app: &Routing,
    request: &Request,
) -> Result<Result<InSpace, Response<Body>>, StoreError> {
    // Signed out, a form's POST comes back to its request's page.
    let path = request.uri().path();
    let page = match request.method().as_str() {
        "POST" => path.rsplit_once('/').map_or(path, |(page, _)| page),
        _ => path,
    };
    in_space(&app.store, request, page, Utc::now()).await
}

/// `GET /association`: the space opens on the inbox.
pub fn home() -> Response<Body> {
    see_other(INBOX)
}

/// `GET /association/demandes?statut=&suite=`: the requests to answer
/// first, then those taken on.
pub async fn requests(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let acknowledged =
                http::query_parameter(request, "statut").as_deref() == Some("prises-en-charge");
            let status = if acknowledged {
                ProfileStatus::Acknowledged
            } else {
                ProfileStatus::Routed
            };
            let cursor = http::query_parameter(request, "suite");
            let page = match inbox::requests_page(
                app,
                &space.association,
                Some(status.as_str()),
                PAGE,
                cursor.as_deref(),
            )
            .await
            {
                Ok(page) => page,
                Err(error) if error.status == StatusCode::BAD_REQUEST => {
                    return Ok(see_other(INBOX));
                }
                Err(_) => return Ok(Page::unavailable("La liste n'est pas disponible")),
            };
            let routed = inbox::count(app, &space.association, ProfileStatus::Routed).await?;
            let taken = inbox::count(app, &space.association, ProfileStatus::Acknowledged).await?;
            let sla = chrono::Duration::days(i64::from(space.association.sla_days));
            let now = Utc::now();
            let rows = page
                .requests
                .into_iter()
                .map(|listed| row(listed, now, sla))
                .collect();
            let base = if acknowledged {
                "/association/demandes?statut=prises-en-charge&"
            } else {
                "/association/demandes?"
            };
            let page = RequestsPage {
                nav: space.nav("demandes"),
                tabs: vec![
                    ("À traiter", INBOX, routed, !acknowledged),
                    (
                        "Prises en charge",
                        "/association/demandes?statut=prises-en-charge",
                        taken,
                        acknowledged,
                    ),
                ],
                caption: if acknowledged {
                    "Demandes prises en charge, la plus ancienne d'abord"
                } else {
                    "Demandes à traiter, la plus ancienne d'abord"
                },
                rows,
                next: page
                    .next_cursor
                    .map(|cursor| format!("{base}suite={cursor}")),
                done: (http::query_parameter(request, "fait").as_deref() == Some("refus"))
                    .then_some("Demande déclinée : elle est transmise à une autre association."),
            };
            Ok(unindexed(html(StatusCode::OK, page.render())))
        }
        .await,
        "Rien n'a été modifié",
    )
}

fn row(listed: ListedRequest, now: DateTime<Utc>, sla: chrono::Duration) -> Row {
    let routed_at = DateTime::parse_from_rfc3339(&listed.routed_at)
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or(now);
    let who = match (listed.role, listed.age) {
        (Role::Mentee, Some(age)) => format!("Jeune, {age} ans"),
        (Role::Mentee, None) => "Jeune".to_owned(),
        (Role::Mentor, _) => "Mentor".to_owned(),
    };
    let mut about: Vec<&str> = listed.situation.map(|s| s.label()).into_iter().collect();
    about.extend(listed.needs.iter().map(|n| n.label()));
    about.push(listed.mode.label());
    Row {
        href: format!("{INBOX}/{}", listed.id),
        who,
        about: about.join(", "),
        departement: listed.departement.to_string(),
        since: paris_time(routed_at),
        status: listed.status.label(),
        late: listed.status == ProfileStatus::Routed && now - routed_at > sla,
        unreachable: listed.unreachable,
    }
}

fn request_id(request: &Request) -> String {
    request
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .unwrap_or_default()
        .to_owned()
}

fn not_found(space: &InSpace) -> Response<Body> {
    space.notice(
        "demandes",
        StatusCode::NOT_FOUND,
        "Demande introuvable",
        &["Cette demande n'existe pas, ou elle n'est pas (ou plus) confiée à votre association."],
        (INBOX, "Revenir aux demandes"),
    )
}

/// `GET /association/demandes/{id}`
pub async fn request(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let done = match http::query_parameter(request, "fait").as_deref() {
                Some("prise-en-charge") => Some(
                    "Demande prise en charge : contactez la personne dans les meilleurs délais.",
                ),
                Some("honorabilite") => Some(
                    "Vérification enregistrée : ce mentor peut être proposé à des jeunes de moins de 18 ans.",
                ),
                _ => None,
            };
            let id = request_id(request);
            show(app, &space, &id, Kept::default(), done, StatusCode::OK).await
        }
        .await,
        "Rien n'a été modifié",
    )
}

async fn show(
    app: &Routing,
    space: &InSpace,
    id: &str,
    kept: Kept,
    done: Option<&'static str>,
    status: StatusCode,
) -> Result<Response<Body>, StoreError> {
    let details = match inbox::details(app, &space.association, id).await {
        Ok(details) => details,
        Err(error) if error.status == StatusCode::NOT_FOUND => return Ok(not_found(space)),
        Err(_) => return Ok(Page::unavailable("La demande n'est pas disponible")),
    };
    let Some(page) = request_page(space, details, kept, done) else {
        return Ok(not_found(space));
    };
    Ok(unindexed(html(status, page.render())))
}

fn request_page(
    space: &InSpace,
    details: RequestDetails,
    kept: Kept,
    done: Option<&'static str>,
) -> Option<RequestPage> {
    let person = details.request?;
    let mut contact = vec![("Adresse e-mail", person.email.clone())];
    if let Some(phone) = &person.phone {
        contact.push(("Téléphone", phone.to_string()));
    }
    contact.push(("Code postal", person.postal_code.to_string()));
    contact.push(("Département", person.departement.to_string()));
    let mut asked = vec![("Accompagnement", person.mode.label().to_owned())];
    if !person.languages.is_empty() {
        asked.push(("Langues", person.languages.join(", ")));
    }
    if let Some(mentee) = &person.mentee {
        asked.push((
            "Date de naissance",
            mentee.birth_date.format("%d/%m/%Y").to_string(),
        ));
        asked.push(("Situation", mentee.situation.label().to_owned()));
        if let Some(level) = mentee.study_level {
            asked.push(("Niveau d'études", level.label().to_owned()));
        }
        if let Some(field) = &mentee.field {
            asked.push(("Domaine", field.clone()));
        }
        asked.push(("Besoins", words(mentee.needs.iter().map(|n| n.label()))));
        if !mentee.priority_groups.is_empty() {
            asked.push((
                "Publics prioritaires",
                words(mentee.priority_groups.iter().map(|g| g.label())),
            ));
        }
    }
    if let Some(mentor) = &person.mentor {
        asked.push(("Métier", mentor.job_title.clone()));
        asked.push(("Secteur", mentor.sector.label().to_owned()));
        if let Some(employer) = &mentor.employer {
            asked.push(("Employeur", employer.clone()));
        }
        asked.push(("Années d'expérience", mentor.years_experience.to_string()));
        asked.push((
            "Peut accompagner",
            words(mentor.expertise.iter().map(|n| n.label())),
        ));
        if !mentor.audiences.is_empty() {
            asked.push((
                "Jeunes qu'il ou elle veut accompagner",
                words(mentor.audiences.iter().map(|s| s.label())),
            ));
        }
        asked.push((
            "Places",
            format!(
                "{} jeune(s) à la fois, {} occupée(s)",
                mentor.capacity, mentor.pairs_held
            ),
        ));
        asked.push(("Heures par mois", mentor.hours_per_month.to_string()));
    }
    let mut sections = vec![("Coordonnées", contact), ("Sa demande", asked)];
    if let Some(sensitive) = &details.sensitive_data {
        sections.push((
            "Données sensibles (visibles seulement par votre association)",
            vec![(
                "Publics prioritaires",
                words(sensitive.priority_groups.iter().map(|g| g.label())),
            )],
        ));
    }
    if let Some(guardian) = &details.guardian {
        sections.push((
            "Représentant·e légal·e (moins de 15 ans)",
            vec![
                ("Nom", guardian.name.clone()),
                ("Adresse e-mail", guardian.email.clone()),
            ],
        ));
    }
    if let Some(routing) = &details.routing {
        let mut facts = vec![
            ("Pourquoi chez vous", cause(routing.cause).to_owned()),
            ("Reçue le", instant(&routing.routed_at)),
        ];
        if let Some(at) = &routing.reminded_at {
            facts.push(("Relance le", instant(at)));
        }
        if let Some(at) = &routing.acknowledged_at {
            facts.push(("Prise en charge le", instant(at)));
        }
        sections.push(("Routage", facts));
    }
    let status = person.status;
    let honorability = person
        .mentor
        .as_ref()
        .and_then(|mentor| mentor.honorability.as_ref())
        .map(|check| {
            format!(
                "Vérifiée le {}, enregistrée par {}.",
                check.checked_on.format("%d/%m/%Y"),
                check.by_name
            )
        });
    Some(RequestPage {
        mentor: person.mentor.is_some(),
        honorability,
        honorability_error: kept.honorability_error,
        nav: space.nav("demandes"),
        heading: format!("{} {}", person.first_name, person.last_name),
        id: person.id,
        status: status.label(),
        sections,
        unreachable: person.unreachable.is_some(),
        can_acknowledge: status == ProfileStatus::Routed,
        can_decline: matches!(status, ProfileStatus::Routed | ProfileStatus::Acknowledged),
        reason: kept.reason,
        reason_error: kept.reason_error,
        done,
    })
}

fn words<'a>(labels: impl Iterator<Item = &'a str>) -> String {
    labels.collect::<Vec<_>>().join(", ")
}

fn instant(at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .map(|at| paris_time(at.with_timezone(&Utc)))
        .unwrap_or_else(|_| at.to_owned())
}

fn cause(cause: Cause) -> &'static str {
    match cause {
        Cause::Verified => "la personne vient de confirmer sa demande",
        Cause::Declined => "une autre association l'a déclinée",
        Cause::SlaExpired => "une autre association n'a pas répondu à temps",
        Cause::Retry => "elle attendait qu'une association ait de la place",
    }
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /association/demandes/{id}/prise-en-charge`
pub async fn acknowledge(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let id = request_id(request);
            let back = format!("{INBOX}/{id}");
            let form: ActionForm = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), &back) {
                return Ok(refused);
            }
            let actor = Actor::staff(space.account());
            match inbox::acknowledge_request(app, &space.association, &id, actor).await {
                Ok(_) => Ok(see_other(&format!("{back}?fait=prise-en-charge"))),
                Err(error) => Ok(refusal(&space, &error, &back)),
            }
        }
        .await,
        "Rien n'a été modifié",
    )
}

/// `POST /association/demandes/{id}/refus {reason}`
pub async fn decline(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let id = request_id(request);
            let back = format!("{INBOX}/{id}");
            let form: ActionForm = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), &back) {
                return Ok(refused);
            }
            let reason = form.reason.unwrap_or_default();
            if let Err(error) = inbox::decline_reason(Some(&reason)) {
                let kept = Kept {
                    reason,
                    reason_error: error.fields.first().map(|f| f.message.clone()),
                    ..Kept::default()
                };
                return show(app, &space, &id, kept, None, StatusCode::BAD_REQUEST).await;
            }
            let actor = Actor::staff(space.account());
            match inbox::decline_request(app, &space.association, &id, Some(&reason), actor).await {
                Ok(()) => Ok(see_other("/association/demandes?fait=refus")),
                Err(error) => Ok(refusal(&space, &error, &back)),
            }
        }
        .await,
        "Rien n'a été modifié",
    )
}

#[derive(Debug, Default, Deserialize)]
struct HonorabilityPosted {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    checked_on: String,
}

/// `POST /association/demandes/{id}/honorabilite {checked_on}`
pub async fn honorability(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let id = request_id(request);
            let back = format!("{INBOX}/{id}");
            let form: HonorabilityPosted = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), &back) {
                return Ok(refused);
            }
            // A date field posts `YYYY-MM-DD`; typed by hand, `DD/MM/YYYY`.
            let typed = form.checked_on.trim();
            let date = chrono::NaiveDate::parse_from_str(typed, "%Y-%m-%d")
                .or_else(|_| chrono::NaiveDate::parse_from_str(typed, "%d/%m/%Y"))
                .ok();
            let checked_on = match inbox::checked_on(date, Utc::now().date_naive()) {
                Ok(checked_on) => checked_on,
                Err(error) => {
                    let kept = Kept {
                        honorability_error: error.fields.first().map(|f| f.message.clone()),
                        ..Kept::default()
                    };
                    return show(app, &space, &id, kept, None, StatusCode::BAD_REQUEST).await;
                }
            };
            let actor = Actor::staff(space.account());
            match inbox::record_honorability_check(app, &space.association, &id, checked_on, actor)
                .await
            {
                Ok(_) => Ok(see_other(&format!("{back}?fait=honorabilite"))),
                Err(error) => Ok(refusal(&space, &error, &back)),
            }
        }
        .await,
        "Rien n'a été modifié",
    )
}

/// An action refused by the inbox, as a page of the space.
fn refusal(space: &InSpace, error: &ApiError, back: &str) -> Response<Body> {
    match error.status {
        StatusCode::NOT_FOUND => not_found(space),
        StatusCode::CONFLICT => space.notice(
            "demandes",
            StatusCode::CONFLICT,
            "La demande a changé",
            &[&error.message],
            (back, "Revenir à la demande"),
        ),
        _ => Page::unavailable("Rien n'a été modifié"),
    }
}
