//! The association directory, run by the network's admins:
//! `PUT /v1/admin/associations/{slug}` creates or updates an association (the
//! answer to a creation carries its API key, shown once), `POST
//! /v1/admin/associations/{slug}/keys` rotates the key. Keys are stored as
//! SHA-256 hashes and compared in constant time.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{SecondsFormat, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    criteria::Criteria,
    directory::{AssociationRecord, Intake, Notify, Speciality, new_api_key, valid_slug},
    email::EmailAddress,
    http::{self, ApiError, FieldError},
    people::{Mode, Need, PriorityGroup, ProfileStatus, Role, Situation, parse_term},
    place::Departement,
    store::{Key, StoreError, keys::counters},
};

use crate::{Routing, request::RoutingState};

/// Weight of a speciality declared without one.
const DEFAULT_SPECIALITY_WEIGHT: u32 = 30;

/// The form as sent; every field optional here so that all problems are named at once.
// In the contract, the fields the validation requires have a non-optional `value_type`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "Une association de l'annuaire, telle que les administrateurs du réseau la déclarent. Les valeurs des listes sont prises sans les espaces autour."
)]
pub struct AssociationForm {
    /// Nom de l'association (1 à 120 caractères, espaces autour retirés).
    #[schema(value_type = String, min_length = 1, max_length = 120, example = "Article 1")]
    pub name: Option<String>,
    /// Adresse e-mail où l'association reçoit les demandes.
    #[schema(value_type = String, format = Email, max_length = 254, example = "contact@exemple.fr")]
    pub contact_email: Option<String>,
    /// Si elle reçoit des demandes (par défaut : oui).
    pub active: Option<bool>,
    /// Départements servis : 01 à 95 (sauf 20), 2A, 2B, 971 à 976. Au moins un, sauf avec
    /// `national` à `true`.
    #[schema(
        pattern = "^\\s*(0[1-9]|1[0-9]|2[1-9ABab]|[3-8][0-9]|9[0-5]|97[1-6])\\s*$",
        example = json!(["93", "95"])
    )]
    pub departements: Option<Vec<String>>,
    /// Si elle sert toute la France (par défaut : non).
    pub national: Option<bool>,
    /// Modes d'accompagnement : `presentiel`, `distance` ou les deux (`indifferent` est refusé).
    #[schema(value_type = Vec<shared::people::Mode>, min_items = 1)]
    pub modes: Option<Vec<String>>,
    /// Âge minimum accueilli, de 11 à 30 ans, au plus `max_age` (par défaut : 11).
    #[schema(minimum = 11, maximum = 30)]
    pub min_age: Option<u32>,
    /// Âge maximum accueilli, de 11 à 30 ans (par défaut : 30).
    #[schema(minimum = 11, maximum = 30)]
    pub max_age: Option<u32>,
    /// Besoins accompagnés (au moins un).
    #[schema(value_type = Vec<shared::people::Need>, min_items = 1)]
    pub needs: Option<Vec<String>>,
    /// Situations accueillies en priorité (points de routage).
    #[schema(value_type = Option<Vec<shared::people::Situation>>)]
    pub situations: Option<Vec<String>>,
    /// Publics prioritaires dont l'association a la spécialité, avec leur poids.
    pub specialities: Option<Vec<SpecialityForm>>,
    /// Publics auxquels l'association est réservée ; vide : ouverte à tous.
    #[schema(value_type = Option<Vec<shared::people::PriorityGroup>>)]
    pub reserved_for: Option<Vec<String>>,
    /// Nombre de jeunes que l'association peut accueillir ce mois-ci (0 à 100 000).
    #[schema(value_type = u32, maximum = 100000)]
    pub monthly_capacity: Option<u32>,
    /// Si elle accueille de nouveaux mentors (par défaut : `open`).
    #[schema(value_type = Option<shared::directory::Intake>)]
    pub mentor_intake: Option<String>,
    /// Quand elle est prévenue des demandes : à chacune, ou une fois par jour (par défaut :
    /// `immediate`).
    #[schema(value_type = Option<shared::directory::Notify>)]
    pub notify: Option<String>,
    /// Délai de réponse attendu, de 1 à 60 jours (par défaut : 7) ; sans réponse dans le
    /// double, la demande passe à une autre association.
    #[schema(minimum = 1, maximum = 60)]
    pub sla_days: Option<u32>,
    /// Durée du programme de mentorat, de 1 à 24 mois (par défaut : 6).
    #[schema(minimum = 1, maximum = 24)]
    pub programme_months: Option<u32>,
    /// Comment ses binômes sont pesés (par défaut : les critères du réseau) ; `waiting` ne
    /// peut pas valoir `must`.
    pub matching: Option<Criteria>,
    /// Si la planification de nuit forme ses binômes (par défaut : non).
    pub auto_matching: Option<bool>,
    /// Si les binômes d'un run sont proposés aussitôt, sans relecture par l'équipe (par défaut :
    /// non : ils attendent en brouillon qu'un membre les approuve).
    pub auto_publish: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
/// Une spécialité : un public prioritaire et son poids.
pub struct SpecialityForm {
    /// Le public prioritaire.
    #[schema(value_type = shared::people::PriorityGroup)]
    pub group: String,
    /// Son poids, de 0 à 100 (par défaut : 30).
    #[schema(maximum = 100)]
    pub weight: Option<u32>,
}

/// The answer to a creation or a key rotation: the key, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "La clé d'API de l'association, affichée cette seule fois (seule son empreinte est conservée)."
)]
pub struct AssociationKey {
    /// Identifiant de l'association.
    pub slug: String,
    /// Sa clé d'API (`bnm_<slug>_<64 chiffres hexadécimaux>`), à envoyer en
    /// `Authorization: Bearer …`.
    pub api_key: String,
    /// Ce qui a été fait.
    pub message: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "L'association existante est mise à jour ; sa clé ne change pas.")]
pub struct AssociationUpdated {
    /// Identifiant de l'association.
    pub slug: String,
    /// Ce qui a été fait.
    pub message: &'static str,
}

/// Where a request stands for the network's admins: no contact detail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "Où en est une demande : son statut et son routage, sans aucune coordonnée."
)]
pub struct RequestRouting {
    /// Identifiant de la demande.
    pub id: String,
    pub role: Role,
    pub status: ProfileStatus,
    /// Département de la personne.
    #[schema(value_type = String, example = "93")]
    pub departement: Departement,
    /// Son routage ; `null` tant qu'elle n'a pas été routée.
    #[schema(required = true)]
    pub routing: Option<RoutingState>,
}

fn problem(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// Every value of `raw` in the vocabulary `T`, or `None` when one is not.
fn terms<T: for<'de> Deserialize<'de>>(raw: &[String]) -> Option<Vec<T>> {
    raw.iter().map(|term| parse_term(term.trim())).collect()
}

/// Checks an association form; every problem is named.
pub fn validate(slug: &str, form: AssociationForm) -> Result<AssociationRecord, Vec<FieldError>> {
    let mut problems = Vec::new();
    let name = form
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| (1..=120).contains(&n.chars().count()));
    if name.is_none() {
        problems.push(problem(
            "name",
            "Indiquez le nom de l'association (120 caractères au plus).",
        ));
    }
    let contact_email = form
        .contact_email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok());
    if contact_email.is_none() {
        problems.push(problem(
            "contact_email",
            "Indiquez l'adresse e-mail où l'association reçoit les demandes.",
        ));
    }
    let national = form.national.unwrap_or(false);
    let departements: Option<Vec<Departement>> = form
        .departements
        .unwrap_or_default()
        .iter()
        .map(|d| Departement::parse(d))
        .collect();
    if departements.is_none() {
        problems.push(problem(
            "departements",
            "Indiquez des codes de départements : 01 à 95, 2A, 2B, 971 à 976.",
        ));
    } else if departements.as_ref().is_some_and(Vec::is_empty) && !national {
        problems.push(problem(
            "departements",
            "Indiquez au moins un département, ou \"national\": true.",
        ));
    }
    let modes: Option<Vec<Mode>> = terms(&form.modes.unwrap_or_default())
        .filter(|m: &Vec<Mode>| !m.is_empty() && !m.contains(&Mode::Indifferent));
    if modes.is_none() {
        problems.push(problem(
            "modes",
            "Indiquez presentiel, distance, ou les deux.",
        ));
    }
    let (min_age, max_age) = (form.min_age.unwrap_or(11), form.max_age.unwrap_or(30));
    if !(11..=30).contains(&min_age) || !(11..=30).contains(&max_age) || min_age > max_age {
        problems.push(problem(
            "min_age",
            "Les âges accueillis vont de 11 à 30 ans, min_age au plus égal à max_age.",
        ));
    }
    let needs: Option<Vec<Need>> =
        terms(&form.needs.unwrap_or_default()).filter(|n: &Vec<Need>| !n.is_empty());
    if needs.is_none() {
        problems.push(problem("needs", "Indiquez les besoins accompagnés : orientation, reussite_etudes, stage_alternance, insertion_pro, creation_entreprise, confiance_reseau."));
    }
    let situations: Option<Vec<Situation>> = terms(&form.situations.unwrap_or_default());
    if situations.is_none() {
        problems.push(problem("situations", "Situations possibles : collegien, lyceen, etudiant, demandeur_emploi, jeune_actif, autre."));
    }
    let specialities: Option<Vec<Speciality>> = form
        .specialities
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let weight = s.weight.unwrap_or(DEFAULT_SPECIALITY_WEIGHT);
            parse_term(s.group.trim())
                .filter(|_| weight <= 100)
                .map(|group| Speciality { group, weight })
        })
        .collect();
    if specialities.is_none() {
        problems.push(problem("specialities", "Chaque spécialité est un public prioritaire (qpv, zrr, boursier, decrochage, refugie, handicap) avec un poids de 0 à 100."));
    }
    let reserved_for: Option<Vec<PriorityGroup>> = terms(&form.reserved_for.unwrap_or_default());
    if reserved_for.is_none() {
        problems.push(problem(
            "reserved_for",
            "Publics réservés possibles : qpv, zrr, boursier, decrochage, refugie, handicap.",
        ));
    }
    let monthly_capacity = form.monthly_capacity.filter(|c| *c <= 100_000);
    if monthly_capacity.is_none() {
        problems.push(problem(
            "monthly_capacity",
            "Indiquez combien de jeunes l'association peut accueillir ce mois-ci.",
        ));
    }
    let mentor_intake = parse_term::<Intake>(form.mentor_intake.as_deref().unwrap_or("open"));
    if mentor_intake.is_none() {
        problems.push(problem("mentor_intake", "Indiquez open ou closed."));
    }
    let notify = parse_term::<Notify>(form.notify.as_deref().unwrap_or("immediate"));
    if notify.is_none() {
        problems.push(problem("notify", "Indiquez immediate ou daily_digest."));
    }
    let sla_days = form.sla_days.unwrap_or(7);
    if !(1..=60).contains(&sla_days) {
        problems.push(problem(
            "sla_days",
            "Le délai de réponse va de 1 à 60 jours.",
        ));
    }
    let programme_months = form
        .programme_months
        .unwrap_or(shared::directory::DEFAULT_PROGRAMME_MONTHS);
    if !(1..=24).contains(&programme_months) {
        problems.push(problem(
            "programme_months",
            "La durée du programme va de 1 à 24 mois.",
        ));
    }
    let matching = form.matching.unwrap_or_default();
    if let Some(message) = matching.problem() {
        problems.push(problem("matching", message));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(AssociationRecord {
        slug: slug.to_owned(),
        name: name.unwrap_or_default(),
        contact_email: contact_email
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        active: form.active.unwrap_or(true),
        departements: departements.unwrap_or_default(),
        national,
        modes: modes.unwrap_or_default(),
        min_age,
        max_age,
        needs: needs.unwrap_or_default(),
        situations: situations.unwrap_or_default(),
        specialities: specialities.unwrap_or_default(),
        reserved_for: reserved_for.unwrap_or_default(),
        monthly_capacity: monthly_capacity.unwrap_or_default(),
        mentor_intake: mentor_intake.unwrap_or(Intake::Open),
        notify: notify.unwrap_or(Notify::Immediate),
        sla_days,
        programme_months,
        matching,
        auto_matching: form.auto_matching.unwrap_or(false),
        auto_publish: form.auto_publish.unwrap_or(false),
    })
}

fn slug_of(request: &Request) -> Result<String, ApiError> {
    let slug = request
        .path_parameters_ref()
        .and_then(|p| p.first("slug"))
        .unwrap_or_default()
        .to_owned();
    if valid_slug(&slug) {
        Ok(slug)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_slug",
            "L'identifiant d'association s'écrit en minuscules, chiffres et tirets (2 à 64 caractères), par exemple article-1.",
        ))
    }
}

#[utoipa::path(
    put,
    path = "/v1/admin/associations/{slug}",
    tag = "annuaire",
    operation_id = "directory_put_association",
    summary = "Créer ou mettre à jour une association",
    description = "Crée l'association si l'identifiant est nouveau (201, avec sa clé d'API affichée cette seule fois), sinon remplace tous ses champs et garde sa clé (200). Tous les problèmes du formulaire sont nommés à la fois.",
    security(("admin" = [])),
    params(
        ("slug" = String, Path, description = "Identifiant de l'association : minuscules, chiffres et tirets, 2 à 64 caractères, sans tiret au début ni à la fin.", pattern = "^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$", example = "article-1"),
    ),
    request_body(content = AssociationForm, content_type = "application/json"),
    responses(
        (status = 200, description = "Association mise à jour ; sa clé ne change pas.", body = AssociationUpdated),
        (status = 201, description = "Association créée, avec sa clé d'API (affichée cette seule fois).", body = AssociationKey),
        (status = 400, description = "Identifiant d'association invalide (`invalid_slug`), champs invalides, chacun nommé dans `fields` (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `missing_field` pour `specialities[].group`, `invalid_type`).", body = shared::http::ApiError),
    )
)]
/// `PUT /v1/admin/associations/{slug}`
pub async fn put(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    shared::staff::authorise_network(&app.store, &app.admin_key, request, Utc::now()).await?;
    let slug = slug_of(request)?;
    let form = http::parse_json::<AssociationForm>(request)?;
    let record = validate(&slug, form).map_err(ApiError::invalid_fields)?;
    Ok(match save(app, &record).await? {
        Some(api_key) => http::json(
            StatusCode::CREATED,
            &AssociationKey {
                slug: record.slug,
                api_key,
                message: "Association créée. Conservez cette clé : elle ne sera plus affichée.",
            },
        ),
        None => http::json(
            StatusCode::OK,
            &AssociationUpdated {
                slug: record.slug,
                message: "Association mise à jour.",
            },
        ),
    })
}

/// Creates the association with a new key (returned), or updates it and
/// keeps its key (`None`).
#[tracing::instrument(skip_all, fields(association = record.slug))]
pub async fn save(app: &Routing, record: &AssociationRecord) -> Result<Option<String>, StoreError> {
    let key = Key::association(&record.slug);
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut fields = serde_dynamo::to_item::<_, HashMap<String, AttributeValue>>(record)?;
    fields.insert("updated_at".into(), AttributeValue::S(now));

    let (api_key, hash) = new_api_key(&record.slug);
    let mut item = fields.clone();
    item.extend(key.attributes());
    item.insert(counters::KEY_HASH.into(), AttributeValue::S(hash));
    let created = app
        .store
        .client
        .put_item()
        .table_name(&app.store.table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match created {
        Ok(_) => {
            tracing::info!(association = record.slug, "association created");
            return Ok(Some(api_key));
        }
        Err(error) if shared::store::condition_failed(&error) => {}
        Err(error) => return Err(error.into()),
    }
    // It exists: replace every field but the key.
    let mut update = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(key.attributes()))
        .condition_expression("attribute_exists(pk)");
    let mut assignments = Vec::new();
    for (index, (name, value)) in fields.into_iter().enumerate() {
        assignments.push(format!("#f{index} = :v{index}"));
        update = update
            .expression_attribute_names(format!("#f{index}"), name)
            .expression_attribute_values(format!(":v{index}"), value);
    }
    update
        .update_expression(format!("SET {}", assignments.join(", ")))
        .send()
        .await?;
    app.directory.clear().await;
    tracing::info!(association = record.slug, "association updated");
    Ok(None)
}

/// The association's own settings saved from its space, with the journal
/// entry, in one transaction: only the fields the page sets, so that a
/// change the network's admins make meanwhile is kept.
#[tracing::instrument(skip_all, fields(association = record.slug))]
pub async fn save_settings(
    app: &Routing,
    record: &AssociationRecord,
    entry: shared::journal::Entry,
) -> Result<(), StoreError> {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let fields: [(&str, AttributeValue); 8] = [
        ("email", AttributeValue::S(record.contact_email.clone())),
        (
            "monthly_capacity",
            AttributeValue::N(record.monthly_capacity.to_string()),
        ),
        ("sla_days", AttributeValue::N(record.sla_days.to_string())),
        (
            "mentor_intake",
            serde_dynamo::to_attribute_value(record.mentor_intake)?,
        ),
        ("auto_matching", AttributeValue::Bool(record.auto_matching)),
        ("auto_publish", AttributeValue::Bool(record.auto_publish)),
        (
            "matching",
            serde_dynamo::to_attribute_value(record.matching)?,
        ),
        ("updated_at", AttributeValue::S(now)),
    ];
    let mut update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(Key::association(&record.slug).attributes()))
        .condition_expression("attribute_exists(pk)");
    let mut assignments = Vec::new();
    for (index, (name, value)) in fields.into_iter().enumerate() {
        assignments.push(format!("#f{index} = :v{index}"));
        update = update
            .expression_attribute_names(format!("#f{index}"), name)
            .expression_attribute_values(format!(":v{index}"), value);
    }
    let update = update.update_expression(format!("SET {}", assignments.join(", ")));
    app.store
        .transact(vec![
            shared::store::transact_update(update)?,
            entry.transact_put(&app.store.table, &record.slug)?,
        ])
        .await?;
    app.directory.clear().await;
    tracing::info!(association = record.slug, "association settings saved");
    Ok(())
}

#[utoipa::path(
    post,
    path = "/v1/admin/associations/{slug}/keys",
    tag = "annuaire",
    operation_id = "directory_rotate_key",
    summary = "Renouveler la clé d'API d'une association",
    description = "Crée une nouvelle clé, affichée cette seule fois ; l'ancienne cesse aussitôt de fonctionner. Aucun corps de requête.",
    security(("admin" = [])),
    params(
        ("slug" = String, Path, description = "Identifiant de l'association : minuscules, chiffres et tirets, 2 à 64 caractères, sans tiret au début ni à la fin.", pattern = "^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$", example = "article-1"),
    ),
    responses(
        (status = 200, description = "Nouvelle clé créée.", body = AssociationKey),
        (status = 400, description = "Identifiant d'association invalide (`invalid_slug`).", body = shared::http::ApiError),
        (status = 404, description = "Association inconnue (`not_found`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/admin/associations/{slug}/keys`: a new key; the old one stops working.
pub async fn rotate_key(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    // The key only: a new key breaks the association's own tools, and no
    // page of the network offers it.
    app.admin_key.check(request)?;
    let slug = slug_of(request)?;
    let (api_key, hash) = new_api_key(&slug);
    let rotated = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::association(&slug).attributes()))
        .update_expression("SET #hash = :hash")
        .expression_attribute_names("#hash", counters::KEY_HASH)
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":hash", AttributeValue::S(hash))
        .send()
        .await;
    match rotated {
        Ok(_) => {
            tracing::info!(association = slug, "association key rotated");
            Ok(http::json(
                StatusCode::OK,
                &AssociationKey {
                    slug,
                    api_key,
                    message: "Nouvelle clé créée ; l'ancienne ne fonctionne plus. Conservez-la : elle ne sera plus affichée.",
                },
            ))
        }
        Err(error) if shared::store::condition_failed(&error) => Err(ApiError::not_found()),
        Err(error) => Err(StoreError::from(error).into()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/admin/requests/{id}/routing",
    tag = "annuaire",
    operation_id = "directory_request_routing",
    summary = "Le routage d'une demande",
    description = "Où en est une demande (jeune ou mentor) : son statut, la décision en cours avec les trois meilleures associations et leurs points, les associations qui l'ont eue avant. Aucune coordonnée de la personne.",
    security(("admin" = [])),
    params(
        ("id" = String, Path, description = "Identifiant de la demande (lettres et chiffres, 64 au plus).", pattern = "^[A-Za-z0-9]{1,64}$"),
    ),
    responses(
        (status = 200, description = "La demande et son routage.", body = RequestRouting),
        (status = 404, description = "Demande inconnue ou identifiant invalide (`not_found`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/admin/requests/{id}/routing`: where a request stands, each
/// decision's candidates and points, and its hand-overs; no contact detail.
pub async fn routing_of(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    shared::staff::authorise_network(&app.store, &app.admin_key, request, Utc::now()).await?;
    let id = request
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .unwrap_or_default();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::not_found());
    }
    match crate::route::read_request(app, id).await? {
        Some(found) => Ok(http::json(
            StatusCode::OK,
            &RequestRouting {
                id: found.id,
                role: found.role,
                status: found.status,
                departement: found.departement,
                routing: found.routing,
            },
        )),
        None => Err(ApiError::not_found()),
    }
}
