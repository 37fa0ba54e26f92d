//! The network admins' pages: the directory with each association's
//! month (deactivate, reactivate, invite its first admin), the waiting list
//! by département with how long each request has waited, and a request's
//! routing decision in words. No contact detail of a person appears here.

use std::collections::BTreeMap;

use askama::Template;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    directory::{month_of, valid_slug},
    http::{self, ApiError},
    pages::Page,
    people::{ProfileStatus, Role},
    site::{NetworkNav, html, paris_time, posted, see_other, unindexed},
    staff::{SignedIn, in_network},
    store::{Key, StoreError, due_items, keys::index},
};

use crate::{
    Routing,
    request::{Cause, RequestItem},
    route::read_request,
};

#[derive(Template)]
#[template(path = "network/directory.html")]
struct DirectoryPage {
    nav: NetworkNav,
    associations: Vec<AssociationRow>,
    done: Option<&'static str>,
}

struct AssociationRow {
    slug: String,
    name: String,
    contact: String,
    area: String,
    active: bool,
    routed: String,
    waiting: u32,
    places: u32,
}

#[derive(Template)]
#[template(path = "network/waiting.html")]
struct WaitingPage {
    nav: NetworkNav,
    /// (département, requests, longest wait in days)
    by_departement: Vec<(String, usize, i64)>,
    requests: Vec<WaitingRow>,
}

struct WaitingRow {
    id: String,
    who: &'static str,
    departement: String,
    since: String,
    days: i64,
}

#[derive(Template)]
#[template(path = "network/request.html")]
struct RequestPage {
    nav: NetworkNav,
    id: String,
    who: &'static str,
    departement: String,
    status: &'static str,
    /// The decision in sentences.
    decision: Vec<String>,
    /// (association, points in words, total in points)
    candidates: Vec<(String, String, String)>,
    /// Where it was before, in sentences.
    history: Vec<String>,
}

async fn admin(
    app: &Routing,
    request: &Request,
) -> Result<Result<SignedIn, Response<Body>>, StoreError> {
    in_network(&app.store, request, request.uri().path(), Utc::now()).await
}

/// `GET /admin`
pub fn home() -> Response<Body> {
    see_other("/admin/annuaire")
}

/// `GET /admin/annuaire`
pub async fn directory(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let signed_in = match admin(app, request).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let now = Utc::now();
            let snapshot = shared::directory::read(&app.store, &month_of(now)).await?;
            let mut associations: Vec<AssociationRow> = snapshot
                .associations
                .iter()
                .map(|listed| {
                    let record = &listed.record;
                    AssociationRow {
                        slug: record.slug.clone(),
                        name: record.name.clone(),
                        contact: record.contact_email.clone(),
                        area: if record.national {
                            "National".to_owned()
                        } else {
                            record
                                .departements
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        },
                        active: record.active,
                        routed: format!("{} / {}", listed.counters.routed_this_month, record.monthly_capacity),
                        waiting: listed.counters.waiting_mentees,
                        places: listed.counters.free_mentor_places,
                    }
                })
                .collect();
            associations.sort_by(|a, b| a.name.cmp(&b.name));
            let done = match shared::http::query_parameter(request, "fait").as_deref() {
                Some("activation") => Some("L'association reçoit de nouveau des demandes."),
                Some("desactivation") => Some("L'association ne reçoit plus de demandes ; celles qu'elle a déjà restent chez elle."),
                Some("invitation") => Some("Invitation envoyée : la personne reçoit un lien de connexion valable 7 jours."),
                Some("fiche") => Some("Fiche enregistrée : elle s'applique aux prochaines demandes."),
                _ => None,
            };
            let page = DirectoryPage {
                nav: NetworkNav::new(&signed_in, "annuaire"),
                associations,
                done,
            };
            Ok(unindexed(html(StatusCode::OK, page.render())))
        }
        .await,
        "La page n'est pas disponible",
    )
}

#[derive(Debug, Default, Deserialize)]
struct ActivationForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    active: String,
}

/// `POST /admin/annuaire/{slug}/activation {active}`: new requests go (or
/// no longer go) to the association.
pub async fn activation(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let signed_in = match admin(app, request).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let form: ActivationForm = posted(request).unwrap_or_default();
            if !signed_in.csrf_matches(form.csrf.as_deref()) {
                return Ok(Page::new(
                    "Cette page a expiré",
                    &["Rien n'a été modifié. Rechargez la page, puis recommencez."],
                )
                .with_link("/admin/annuaire", "Revenir à l'annuaire")
                .respond(StatusCode::FORBIDDEN));
            }
            let slug = request
                .path_parameters_ref()
                .and_then(|p| p.first("slug"))
                .unwrap_or_default();
            let active = form.active == "true";
            if valid_slug(slug) {
                let result = app
                    .store
                    .client
                    .update_item()
                    .table_name(&app.store.table)
                    .set_key(Some(Key::association(slug).attributes()))
                    .update_expression("SET active = :active")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":active", AttributeValue::Bool(active))
                    .send()
                    .await;
                match result {
                    Ok(_) => {
                        app.directory.clear().await;
                        tracing::info!(
                            association = slug,
                            active,
                            "association activation changed"
                        );
                    }
                    Err(error) if shared::store::condition_failed(&error) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            Ok(see_other(if active {
                "/admin/annuaire?fait=activation"
            } else {
                "/admin/annuaire?fait=desactivation"
            }))
        }
        .await,
        "La page n'est pas disponible",
    )
}

fn who(role: Role) -> &'static str {
    match role {
        Role::Mentee => "Jeune",
        Role::Mentor => "Mentor",
    }
}

/// Every request no association can take now, longest waiting first.
#[tracing::instrument(skip_all)]
async fn waiting_requests(app: &Routing) -> Result<Vec<(RequestItem, DateTime<Utc>)>, StoreError> {
    // Every routing deadline: waiting requests are due again each day.
    let items = due_items(&app.store, index::routing_due_partitions(), "9999").await?;
    let mut waiting: Vec<(RequestItem, DateTime<Utc>)> = items
        .into_iter()
        .filter_map(|item| serde_dynamo::from_item::<_, RequestItem>(item).ok())
        .filter(|r| r.status == ProfileStatus::Waiting)
        .filter_map(|r| {
            let since = r.routing.as_ref()?.waiting_since?;
            Some((r, since))
        })
        .collect();
    waiting.sort_by_key(|(_, since)| *since);
    Ok(waiting)
}

/// (département, requests, longest wait in days), by département.
fn by_departement(
    waiting: &[(RequestItem, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Vec<(String, usize, i64)> {
    let mut by_departement: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    for (request, since) in waiting {
        let entry = by_departement
            .entry(request.departement.to_string())
            .or_default();
        entry.0 += 1;
        entry.1 = entry.1.max((now - *since).num_days());
    }
    by_departement
        .into_iter()
        .map(|(departement, (count, days))| (departement, count, days))
        .collect()
}

/// `GET /admin/attente`: every request no association can take now.
pub async fn waiting(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let signed_in = match admin(app, request).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let now = Utc::now();
            let waiting = waiting_requests(app).await?;
            let page = WaitingPage {
                nav: NetworkNav::new(&signed_in, "attente"),
                by_departement: by_departement(&waiting, now),
                requests: waiting
                    .into_iter()
                    .map(|(request, since)| WaitingRow {
                        days: (now - since).num_days(),
                        since: paris_time(since),
                        departement: request.departement.to_string(),
                        who: who(request.role),
                        id: request.id,
                    })
                    .collect(),
            };
            Ok(unindexed(html(StatusCode::OK, page.render())))
        }
        .await,
        "La page n'est pas disponible",
    )
}

fn cause(cause: Cause) -> &'static str {
    match cause {
        Cause::Verified => "après la confirmation de la demande",
        Cause::Declined => "après le refus de l'association précédente",
        Cause::SlaExpired => "faute de réponse de l'association précédente dans les délais",
        Cause::Retry => "au nouvel essai quotidien des demandes en attente",
    }
}

/// `GET /admin/demandes/{id}`: where a request went, and why, in words.
pub async fn routing_decision(app: &Routing, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let signed_in = match admin(app, request).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let id = request
                .path_parameters_ref()
                .and_then(|p| p.first("id"))
                .unwrap_or_default()
                .to_owned();
            let plausible = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
            let found = if plausible { read_request(app, &id).await? } else { None };
            let Some(found) = found else {
                return Ok(Page::new("Demande introuvable", &["Aucune demande ne porte cet identifiant."])
                    .with_link("/admin/attente", "Revenir à la liste d'attente")
                    .respond(StatusCode::NOT_FOUND));
            };
            let mut decision = Vec::new();
            let mut candidates = Vec::new();
            let mut history = Vec::new();
            if let Some(routing) = &found.routing {
                decision.push(match &routing.association {
                    Some(slug) => format!(
                        "Routée à {slug} le {}, {}.",
                        paris_time(routing.decided_at),
                        cause(routing.cause)
                    ),
                    None => format!(
                        "Aucune association ne peut la prendre pour l'instant (décision du {}, {}) : elle est essayée de nouveau chaque jour.",
                        paris_time(routing.decided_at),
                        cause(routing.cause)
                    ),
                });
                if let Some(at) = routing.acknowledged_at {
                    decision.push(format!("Prise en charge le {}.", paris_time(at)));
                }
                if !routing.declined_by.is_empty() {
                    decision.push(format!(
                        "Ne lui sera plus proposée : {}.",
                        routing.declined_by.join(", ")
                    ));
                }
                decision.push(format!("Règles de routage : version {}.", routing.decision.rule_version));
                for candidate in &routing.decision.candidates {
                    candidates.push((candidate.slug.clone(), candidate.points.in_words(), crate::rules::in_points(candidate.total)));
                }
                for handover in &routing.history {
                    history.push(format!(
                        "Chez {} du {} au {}.",
                        handover.association,
                        paris_time(handover.routed_at),
                        paris_time(handover.ended_at)
                    ));
                }
            } else {
                decision.push("Pas encore routée : l'adresse n'est pas confirmée, ou la demande vient d'arriver.".to_owned());
            }
            let page = RequestPage {
                nav: NetworkNav::new(&signed_in, "attente"),
                who: who(found.role),
                departement: found.departement.to_string(),
                status: found.status.label(),
                id: found.id,
                decision,
                candidates,
                history,
            };
            Ok(unindexed(html(StatusCode::OK, page.render())))
        }
        .await,
        "La page n'est pas disponible",
    )
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "Les demandes qu'aucune association ne peut prendre pour l'instant, essayées de nouveau chaque jour ; sans donnée de contact."
)]
pub struct WaitingList {
    pub by_departement: Vec<WaitingDepartement>,
    /// De la plus ancienne à la plus récente.
    pub requests: Vec<WaitingRequest>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WaitingDepartement {
    #[schema(example = "93")]
    pub departement: String,
    pub requests: usize,
    /// L'attente la plus longue, en jours entiers.
    pub longest_wait_days: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WaitingRequest {
    pub id: String,
    pub role: Role,
    pub departement: String,
    pub waiting_since: DateTime<Utc>,
    /// En jours entiers.
    pub wait_days: i64,
}

#[utoipa::path(
    get,
    path = "/v1/admin/waiting-list",
    tag = "annuaire",
    operation_id = "network_waiting_list",
    summary = "La liste d'attente du réseau",
    description = "Les demandes en attente d'une association, par département et une à une, avec leur temps d'attente.",
    security(("admin" = [])),
    responses((status = 200, description = "La liste d'attente.", body = WaitingList))
)]
/// `GET /v1/admin/waiting-list`
pub async fn waiting_list(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    shared::staff::authorise_network(&app.store, &app.admin_key, request, Utc::now()).await?;
    let now = Utc::now();
    let waiting = waiting_requests(app).await?;
    let list = WaitingList {
        by_departement: by_departement(&waiting, now)
            .into_iter()
            .map(
                |(departement, requests, longest_wait_days)| WaitingDepartement {
                    departement,
                    requests,
                    longest_wait_days,
                },
            )
            .collect(),
        requests: waiting
            .into_iter()
            .map(|(request, since)| WaitingRequest {
                wait_days: (now - since).num_days(),
                waiting_since: since,
                departement: request.departement.to_string(),
                role: request.role,
                id: request.id,
            })
            .collect(),
    };
    Ok(http::json(StatusCode::OK, &list))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Les associations de l'annuaire, par nom, avec leur mois en cours.")]
pub struct DirectoryList {
    pub associations: Vec<DirectoryEntry>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DirectoryEntry {
    pub slug: String,
    pub name: String,
    #[schema(format = Email)]
    pub contact_email: String,
    pub active: bool,
    pub national: bool,
    pub departements: Vec<String>,
    pub monthly_capacity: u32,
    /// Demandes routées ce mois-ci.
    pub routed_this_month: u32,
    /// Jeunes qui attendent un binôme chez elle.
    pub waiting_mentees: u32,
    /// Places libres de ses mentors.
    pub free_mentor_places: u32,
}

#[utoipa::path(
    get,
    path = "/v1/admin/associations",
    tag = "annuaire",
    operation_id = "directory_list",
    summary = "L'annuaire des associations",
    description = "Chaque association avec ses chiffres du mois. Pour en créer, modifier ou désactiver une : `PUT /v1/admin/associations/{slug}`.",
    security(("admin" = [])),
    responses((status = 200, description = "L'annuaire.", body = DirectoryList))
)]
/// `GET /v1/admin/associations`
pub async fn directory_list(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    shared::staff::authorise_network(&app.store, &app.admin_key, request, Utc::now()).await?;
    let snapshot = shared::directory::read(&app.store, &month_of(Utc::now())).await?;
    let mut associations: Vec<DirectoryEntry> = snapshot
        .associations
        .iter()
        .map(|listed| {
            let record = &listed.record;
            DirectoryEntry {
                slug: record.slug.clone(),
                name: record.name.clone(),
                contact_email: record.contact_email.clone(),
                active: record.active,
                national: record.national,
                departements: record
                    .departements
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                monthly_capacity: record.monthly_capacity,
                routed_this_month: listed.counters.routed_this_month,
                waiting_mentees: listed.counters.waiting_mentees,
                free_mentor_places: listed.counters.free_mentor_places,
            }
        })
        .collect();
    associations.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(http::json(StatusCode::OK, &DirectoryList { associations }))
}
