//! The association inbox, behind the association's API key: its requests,
//! one request with the contact details (and, only here, the sensitive
//! data), acknowledge, decline. An association sees only the requests routed
//! to it: any other id answers 404, the same as an unknown one.
//!
//! What an association sees of a person is an explicit view
//! ([`PersonView`], [`SensitiveView`], [`GuardianView`]): a field added to
//! a profile later stays private until someone adds it there.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::{
    directory::AssociationRecord,
    http::{self, ApiError},
    journal::{Action, Actor, Entry},
    people::{
        Honorability, Mode, Need, PriorityGroup, ProfileStatus, Role, Sector, Situation, StudyLevel,
    },
    phone::PhoneNumber,
    place::{Departement, PostalCode},
    staff,
    store::{
        Key, StoreError,
        keys::{index, sort},
        timestamp,
    },
};

use crate::{
    Routing,
    request::{Cause, RequestItem},
    route::{Outcome, read_request, route},
    rules::Decision,
};

/// Requests per page, by default and at most.
const PAGE: i32 = 25;
const MAX_PAGE: i32 = 100;

/// What an association sees of a person it holds.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "La personne de la demande : ses coordonnées, puis les champs d'un jeune ou ceux d'un mentor selon `role`."
)]
pub struct PersonView {
    /// Identifiant de la demande.
    pub id: String,
    pub role: Role,
    pub status: ProfileStatus,
    pub first_name: String,
    pub last_name: String,
    #[schema(format = Email)]
    pub email: String,
    /// Téléphone au format E.164, s'il a été donné.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "+33612345678")]
    pub phone: Option<PhoneNumber>,
    #[schema(value_type = String, pattern = "^[0-9]{5}$", example = "93200")]
    pub postal_code: PostalCode,
    #[schema(value_type = String, example = "93")]
    pub departement: Departement,
    pub mode: Mode,
    /// Langues parlées (codes ISO 639-1).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Date de l'inscription.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Date de la confirmation de l'adresse e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<DateTime<Utc>>,
    // `{reason, at}` once their address bounced or complained: mails no
    // longer reach them, call them or ask for another address.
    /// Présent quand les e-mails ne lui parviennent plus : `{"reason", "at"}`, `reason` valant
    /// `hard_bounce` ou `complaint`. Appelez la personne ou demandez-lui une autre adresse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<Value>,
    #[serde(flatten)]
    #[schema(value_type = RoleFields)]
    pub mentee: Option<MenteeView>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub mentor: Option<MentorView>,
}

// The contract's view of `PersonView`'s flattened `mentee` or `mentor`
// fields: one or the other, as its role says. Never built.
#[derive(Debug, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(description = "Les champs propres au rôle de la personne.")]
pub enum RoleFields {
    Mentee(MenteeView),
    Mentor(MentorView),
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Ce qu'un jeune a indiqué.")]
pub struct MenteeView {
    pub birth_date: NaiveDate,
    pub situation: Situation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study_level: Option<StudyLevel>,
    /// Domaine d'études ou de métier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub needs: Vec<Need>,
    /// Publics prioritaires non sensibles (les autres sont dans `sensitive_data`).
    pub priority_groups: Vec<PriorityGroup>,
    /// Moins de 15 ans : le consentement du représentant légal est nécessaire (voir `guardian`).
    pub guardian_required: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Ce qu'un mentor a indiqué.")]
pub struct MentorView {
    pub job_title: String,
    pub sector: Sector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    pub years_experience: u8,
    /// Besoins qu'il peut accompagner.
    pub expertise: Vec<Need>,
    /// Situations des jeunes qu'il veut accompagner.
    pub audiences: Vec<Situation>,
    /// Ses domaines.
    pub fields: Vec<String>,
    /// Nombre de jeunes qu'il peut accompagner à la fois.
    pub capacity: u8,
    pub hours_per_month: u8,
    /// Binômes proposés ou actifs qu'il a.
    #[serde(default)]
    pub pairs_held: u8,
    /// La vérification d'honorabilité enregistrée par l'association ; absente sinon : le mentor
    /// n'est alors proposé à aucun jeune de moins de 18 ans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorability: Option<Honorability>,
}

/// The special-category groups, shown only to the association holding the request.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "Données sensibles (RGPD art. 9), montrées à la seule association qui a la demande."
)]
pub struct SensitiveView {
    /// Publics prioritaires sensibles (`refugie`, `handicap`).
    pub priority_groups: Vec<PriorityGroup>,
}

/// The guardian of a mentee under 15: who to contact.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Le représentant légal d'un jeune de moins de 15 ans : qui contacter.")]
pub struct GuardianView {
    pub name: String,
    #[schema(format = Email)]
    pub email: String,
}

/// A request in a list: enough to sort and choose, no contact detail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Une demande dans la liste : de quoi trier et choisir, sans coordonnées.")]
pub struct ListedRequest {
    /// Identifiant de la demande.
    pub id: String,
    pub role: Role,
    pub status: ProfileStatus,
    /// Quand elle a été routée à l'association.
    #[schema(format = DateTime)]
    pub routed_at: String,
    pub cause: Cause,
    #[schema(value_type = String, example = "93")]
    pub departement: Departement,
    pub mode: Mode,
    /// Situation du jeune ; `null` pour un mentor.
    #[schema(required = true)]
    pub situation: Option<Situation>,
    /// Besoins du jeune ; vide pour un mentor.
    pub needs: Vec<Need>,
    /// Âge du jeune aujourd'hui ; `null` pour un mentor.
    #[schema(required = true)]
    pub age: Option<u32>,
    /// Quand l'association a été relancée ; `null` sinon.
    #[schema(required = true, format = DateTime)]
    pub reminded_at: Option<String>,
    /// Si les e-mails ne parviennent plus à la personne.
    pub unreachable: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Une page des demandes de l'association, la plus ancienne d'abord.")]
pub struct RequestPage {
    pub requests: Vec<ListedRequest>,
    /// À passer en `cursor` pour la page suivante ; `null` après la dernière.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// One request as its association sees it; a section is absent when its
/// item is.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[schema(
    description = "Une demande avec les coordonnées de la personne, ses données sensibles et son représentant légal s'il y en a, et la décision de routage."
)]
pub struct RequestDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<PersonView>,
    /// Absent quand la personne n'a pas donné de données sensibles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitive_data: Option<SensitiveView>,
    /// Présent pour un jeune de moins de 15 ans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardian: Option<GuardianView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Pourquoi et quand la demande est arrivée à l'association.")]
pub struct RoutingView {
    pub cause: Cause,
    /// Quand elle a été routée à l'association.
    #[schema(format = DateTime)]
    pub routed_at: String,
    /// Quand l'association a été relancée ; `null` sinon.
    #[schema(required = true, format = DateTime)]
    pub reminded_at: Option<String>,
    /// Quand l'association l'a prise en charge ; `null` sinon.
    #[schema(required = true, format = DateTime)]
    pub acknowledged_at: Option<String>,
    /// La décision, avec les associations candidates et leurs points.
    pub decision: Decision,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "La demande est prise en charge par l'association.")]
pub struct RequestAcknowledged {
    /// Identifiant de la demande.
    pub id: String,
    /// Toujours `acknowledged`.
    #[schema(example = "acknowledged")]
    pub status: &'static str,
    pub message: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "La demande est déclinée et passe à une autre association.")]
pub struct RequestDeclined {
    /// Identifiant de la demande.
    pub id: String,
    /// Toujours `declined`.
    #[schema(example = "declined")]
    pub status: &'static str,
    pub message: &'static str,
}

fn request_id(request: &Request) -> String {
    request
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .unwrap_or_default()
        .to_owned()
}

/// Whether the request is with this association now: waiting for its
/// answer, taken on, or in one of its pairs (proposed, active or ended).
fn holds(association: &AssociationRecord, request: &RequestItem) -> bool {
    matches!(
        request.status,
        ProfileStatus::Routed
            | ProfileStatus::Acknowledged
            | ProfileStatus::Proposed
            | ProfileStatus::Paired
            | ProfileStatus::Closed
    ) && request
        .routing
        .as_ref()
        .and_then(|r| r.association.as_deref())
        == Some(association.slug.as_str())
}

/// The request, if this association holds it; 404 otherwise.
async fn held_request(
    app: &Routing,
    association: &AssociationRecord,
    id: &str,
) -> Result<RequestItem, ApiError> {
    if !is_request_id(id) {
        return Err(ApiError::not_found());
    }
    match read_request(app, id).await? {
        Some(request) if holds(association, &request) => Ok(request),
        _ => Err(ApiError::not_found()),
    }
}

/// Whether `id` can name a request: checked before any key is built from it.
fn is_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What a list shows of a request: enough to sort and choose, no contact detail.
fn listed(item: &HashMap<String, AttributeValue>) -> Option<ListedRequest> {
    let request: RequestItem = serde_dynamo::from_item(item.clone()).ok()?;
    let routing = request.routing.as_ref()?;
    let (routed_at, cause) = (timestamp(routing.decided_at), routing.cause);
    let reminded_at = routing.reminded_at.map(timestamp);
    let age = request
        .birth_date
        .map(|_| request.age_on(Utc::now().date_naive()));
    Some(ListedRequest {
        id: request.id,
        role: request.role,
        status: request.status,
        routed_at,
        cause,
        departement: request.departement,
        mode: request.mode,
        situation: request.situation,
        needs: request.needs,
        age,
        reminded_at,
        unreachable: item.contains_key("unreachable"),
    })
}

/// Page positions are handed out as opaque hex; only the sort keys are
/// taken from them, the partition always comes from the caller's key.
fn decode_cursor(cursor: &str, slug: &str) -> Option<HashMap<String, AttributeValue>> {
    let raw: HashMap<String, String> = serde_json::from_slice(&hex::decode(cursor).ok()?).ok()?;
    let mut key = HashMap::new();
    for name in ["pk", "sk", "assoc_sk"] {
        key.insert(name.to_owned(), AttributeValue::S(raw.get(name)?.clone()));
    }
    key.insert(
        "assoc_pk".to_owned(),
        AttributeValue::S(index::association_requests(slug)),
    );
    Some(key)
}

fn encode_cursor(key: &HashMap<String, AttributeValue>) -> String {
    let raw: HashMap<&str, &str> = ["pk", "sk", "assoc_sk"]
        .into_iter()
        .filter_map(|name| Some((name, key.get(name)?.as_s().ok()?.as_str())))
        .collect();
    hex::encode(serde_json::to_vec(&raw).expect("strings serialize"))
}

fn bad_parameter(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

#[utoipa::path(
    get,
    path = "/v1/association/requests",
    tag = "demandes",
    operation_id = "inbox_list_requests",
    summary = "Les demandes de l'association",
    description = "Les demandes routées à l'association (à traiter ou prises en charge), la plus ancienne d'abord, par pages ; sans coordonnées (voir une demande pour les avoir).",
    security(("association" = [])),
    params(
        ("status" = Option<String>, Query, description = "`routed` : à traiter ; `acknowledged` : prises en charge ; absent ou vide : les deux.", pattern = "^(routed|acknowledged)?$", example = "routed"),
        ("limit" = Option<i32>, Query, description = "Demandes par page, de 1 à 100 (par défaut : 25).", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "Le `next_cursor` de la page précédente (opaque)."),
    ),
    responses(
        (status = 200, description = "Une page de demandes.", body = RequestPage),
        (status = 400, description = "Paramètre invalide : `invalid_status`, `invalid_limit`, `invalid_cursor` (un curseur qui ne vient pas de la page précédente).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/association/requests?status=&cursor=&limit=`: oldest first.
pub async fn list(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, _) = staff::authorise(&app.store, request, Utc::now()).await?;
    let status = match http::query_parameter(request, "status").as_deref() {
        None | Some("") => None,
        Some(s @ ("routed" | "acknowledged")) => Some(s.to_owned()),
        Some(_) => {
            return Err(bad_parameter(
                "invalid_status",
                "Le paramètre status vaut routed (à traiter) ou acknowledged (pris en charge).",
            ));
        }
    };
    let limit = match http::query_parameter(request, "limit") {
        None => PAGE,
        Some(raw) => raw
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| bad_parameter("invalid_limit", "Le paramètre limit va de 1 à 100."))?,
    };
    let cursor = http::query_parameter(request, "cursor");
    let page = requests_page(
        app,
        &association,
        status.as_deref(),
        limit,
        cursor.as_deref(),
    )
    .await?;
    Ok(http::json(StatusCode::OK, &page))
}

/// One page of the association's requests in `status` (both when `None`),
/// oldest first, from `cursor` (a `next_cursor` handed out before).
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn requests_page(
    app: &Routing,
    association: &AssociationRecord,
    status: Option<&str>,
    limit: i32,
    cursor: Option<&str>,
) -> Result<RequestPage, ApiError> {
    let invalid_cursor = || {
        bad_parameter(
            "invalid_cursor",
            "Le paramètre cursor n'est pas valide : reprenez celui de la page précédente.",
        )
    };
    let start = match cursor {
        None => None,
        Some(cursor) => Some(decode_cursor(cursor, &association.slug).ok_or_else(invalid_cursor)?),
    };
    let query = app
        .store
        .by_association(
            index::association_requests(&association.slug),
            status.map(index::association_request_status),
        )
        .limit(limit)
        .set_exclusive_start_key(start);
    let page = query.send().await.map_err(|error| {
        if error
            .as_service_error()
            .is_some_and(|e| e.meta().code() == Some("ValidationException"))
        {
            invalid_cursor()
        } else {
            StoreError::from(error).into()
        }
    })?;
    Ok(RequestPage {
        requests: page.items().iter().filter_map(listed).collect(),
        next_cursor: page.last_evaluated_key().map(encode_cursor),
    })
}

/// How many of the association's requests are in `status`.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn count(
    app: &Routing,
    association: &AssociationRecord,
    status: ProfileStatus,
) -> Result<usize, StoreError> {
    let mut total = 0;
    let mut start = None;
    loop {
        let page = app
            .store
            .by_association(
                index::association_requests(&association.slug),
                Some(index::association_request_status(status.as_str())),
            )
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        total += usize::try_from(page.count()).unwrap_or_default();
        match page.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => return Ok(total),
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/association/requests/{id}",
    tag = "demandes",
    operation_id = "inbox_get_request",
    summary = "Une demande, avec les coordonnées",
    description = "La personne et ses coordonnées, ses données sensibles et son représentant légal s'il y en a, et la décision de routage. Seulement pour une demande que l'association a (à traiter, prise en charge, ou dans un de ses binômes).",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant de la demande (lettres et chiffres, 64 au plus).", pattern = "^[A-Za-z0-9]{1,64}$"),
    ),
    responses(
        (status = 200, description = "La demande.", body = RequestDetails),
        (status = 404, description = "Demande inconnue, d'une autre association, ou identifiant invalide (`not_found`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/association/requests/{id}`: the contact details, the request,
/// the sensitive data and the guardian, and the routing decision.
pub async fn show(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, _) = staff::authorise(&app.store, request, Utc::now()).await?;
    let details = details(app, &association, &request_id(request)).await?;
    Ok(http::json(StatusCode::OK, &details))
}

/// A request the association holds, with everything it may see of it.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn details(
    app: &Routing,
    association: &AssociationRecord,
    id: &str,
) -> Result<RequestDetails, ApiError> {
    let held = held_request(app, association, id).await?;
    // The request's items but its mails, in one consistent read:
    // GUARDIAN < MAIL#… < PROFILE < SENSITIVE.
    let page = app
        .store
        .client
        .query()
        .table_name(&app.store.table)
        .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
        .expression_attribute_values(":pk", AttributeValue::S(Key::person_partition(&held.id)))
        .expression_attribute_values(":first", AttributeValue::S(sort::GUARDIAN.into()))
        .expression_attribute_values(":last", AttributeValue::S(sort::SENSITIVE.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from)?;
    let mut answer = RequestDetails::default();
    for item in page.items() {
        let sk = item
            .get("sk")
            .and_then(|s| s.as_s().ok())
            .map(String::as_str);
        match sk {
            Some(sort::PROFILE) => {
                // Checked again on the same read as the data shown.
                let current: Option<RequestItem> = serde_dynamo::from_item(item.clone()).ok();
                if !current.is_some_and(|c| holds(association, &c)) {
                    return Err(ApiError::not_found());
                }
                let mut person: PersonView = view(item)?;
                // Another association's check is not this one's.
                if let Some(mentor) = person.mentor.as_mut() {
                    mentor.honorability = mentor
                        .honorability
                        .take()
                        .filter(|check| check.association == association.slug);
                }
                answer.request = Some(person);
            }
            Some(sort::SENSITIVE) => answer.sensitive_data = Some(view(item)?),
            Some(sort::GUARDIAN) => answer.guardian = Some(view(item)?),
            _ => {}
        }
    }
    answer.routing = held.routing.map(|routing| RoutingView {
        cause: routing.cause,
        routed_at: timestamp(routing.decided_at),
        reminded_at: routing.reminded_at.map(timestamp),
        acknowledged_at: routing.acknowledged_at.map(timestamp),
        decision: routing.decision,
    });
    Ok(answer)
}

/// An item as one of the association's views: only the view's fields.
fn view<V: for<'de> Deserialize<'de>>(
    item: &HashMap<String, AttributeValue>,
) -> Result<V, StoreError> {
    serde_dynamo::from_item(item.clone()).map_err(StoreError::from)
}

#[utoipa::path(
    post,
    path = "/v1/association/requests/{id}/acknowledge",
    tag = "demandes",
    operation_id = "inbox_acknowledge_request",
    summary = "Prendre en charge une demande",
    description = "L'association prend la demande en charge : les relances s'arrêtent et elle ne passe plus à une autre association faute de réponse. La prendre en charge deux fois revient à une seule ; une demande déjà passée en binôme répond de même. Aucun corps de requête.",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant de la demande (lettres et chiffres, 64 au plus).", pattern = "^[A-Za-z0-9]{1,64}$"),
    ),
    responses(
        (status = 200, description = "Demande prise en charge.", body = RequestAcknowledged),
        (status = 404, description = "Demande inconnue, d'une autre association (ou qui l'a quittée entre-temps), ou identifiant invalide (`not_found`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/requests/{id}/acknowledge`: the association takes
/// the request on; reminders stop. Acknowledging twice is the same as once.
pub async fn acknowledge(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, actor) = staff::authorise(&app.store, request, Utc::now()).await?;
    let id = acknowledge_request(app, &association, &request_id(request), actor).await?;
    Ok(http::json(
        StatusCode::OK,
        &RequestAcknowledged {
            id,
            status: "acknowledged",
            message: "Demande prise en charge. Contactez la personne dans les meilleurs délais.",
        },
    ))
}

/// The association takes the request on (twice is the same as once), with
/// its journal entry in the same transaction; the request's id.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn acknowledge_request(
    app: &Routing,
    association: &AssociationRecord,
    id: &str,
    actor: Actor,
) -> Result<String, ApiError> {
    let held = held_request(app, association, id).await?;
    if held.status != ProfileStatus::Routed {
        // Taken on already (and perhaps paired since).
        return Ok(held.id);
    }
    let routing = held.routing.as_ref().ok_or_else(ApiError::not_found)?;
    let now = Utc::now();
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(Key::person_profile(&held.id).attributes()))
        .update_expression(
            "SET #status = :acknowledged, #routing.acknowledged_at = :now, assoc_sk = :assoc_sk REMOVE due_pk, due_sk",
        )
        .condition_expression("#status = :routed AND #routing.attempt = :attempt")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#routing", "routing")
        .expression_attribute_values(
            ":acknowledged",
            AttributeValue::S(ProfileStatus::Acknowledged.as_str().into()),
        )
        .expression_attribute_values(":routed", AttributeValue::S(ProfileStatus::Routed.as_str().into()))
        .expression_attribute_values(":now", AttributeValue::S(timestamp(now)))
        .expression_attribute_values(
            ":assoc_sk",
            AttributeValue::S(index::association_request_sort(
                ProfileStatus::Acknowledged.as_str(),
                &timestamp(routing.decided_at),
                &held.id,
            )),
        )
        .expression_attribute_values(":attempt", AttributeValue::N(routing.attempt.to_string()));
    let entry = Entry::new(actor, Action::RequestAcknowledged, &held.id, now);
    let writes = vec![
        shared::store::transact_update(update)?,
        entry.transact_put(&app.store.table, &association.slug)?,
    ];
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(
                request = held.id,
                association = association.slug,
                "request acknowledged"
            );
            Ok(held.id)
        }
        Err(error) if shared::store::first_condition_failed(&error) => {
            // Moved meanwhile: acknowledged by a concurrent call, or gone.
            let again = held_request(app, association, &held.id).await?;
            if again.status == ProfileStatus::Acknowledged {
                Ok(held.id)
            } else {
                Err(ApiError::not_found())
            }
        }
        Err(error) => Err(StoreError::from(error).into()),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
/// Pourquoi l'association décline la demande.
pub struct DeclineForm {
    /// En quelques mots, pourquoi l'association ne peut pas accompagner cette personne (3 à 500
    /// caractères, espaces autour retirés).
    #[schema(value_type = String, min_length = 3, max_length = 500)]
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/association/requests/{id}/decline",
    tag = "demandes",
    operation_id = "inbox_decline_request",
    summary = "Décliner une demande",
    description = "La demande passe à la meilleure association suivante (ou attend qu'une place se libère) et la place du mois est rendue à l'association. L'association qui l'a déclinée ne la reçoit plus jamais ; décliner à nouveau répond de même.",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant de la demande (lettres et chiffres, 64 au plus).", pattern = "^[A-Za-z0-9]{1,64}$"),
    ),
    request_body(content = DeclineForm, content_type = "application/json"),
    responses(
        (status = 200, description = "Demande déclinée.", body = RequestDeclined),
        (status = 400, description = "Motif manquant ou de longueur invalide (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 404, description = "Demande inconnue, d'une autre association, ou identifiant invalide (`not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Un binôme est proposé ou formé pour cette demande (`request_paired`), ou elle a changé entre-temps (`request_changed`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/requests/{id}/decline {"reason"}`: the request goes
/// to the next best association (or waits), and the counter is given back.
pub async fn decline(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, actor) = staff::authorise(&app.store, request, Utc::now()).await?;
    let id = request_id(request);
    let form: DeclineForm = http::parse_json(request)?;
    decline_request(app, &association, &id, form.reason.as_deref(), actor).await?;
    Ok(http::json(
        StatusCode::OK,
        &RequestDeclined {
            id,
            status: "declined",
            message: "Demande déclinée : elle est transmise à une autre association.",
        },
    ))
}

/// The reason for declining, as typed, if it is one: 3 to 500 characters.
pub(crate) fn decline_reason(reason: Option<&str>) -> Result<String, ApiError> {
    http::short_reason(
        reason,
        "Indiquez en quelques mots pourquoi l'association ne peut pas accompagner cette personne (3 à 500 caractères).",
    )
}

/// The association declines the request, which goes to the next best one
/// (or waits); declining again is the same as once. The journal entry is
/// written in the routing's transaction.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn decline_request(
    app: &Routing,
    association: &AssociationRecord,
    id: &str,
    reason: Option<&str>,
    actor: Actor,
) -> Result<(), ApiError> {
    let reason = decline_reason(reason)?;
    let held = match held_request(app, association, id).await {
        Ok(held) => held,
        // A retried decline: already passed on by this association.
        Err(not_found) if !is_request_id(id) => return Err(not_found),
        Err(not_found) => {
            return match read_request(app, id).await? {
                Some(r) if r.declined_by().contains(&association.slug) => Ok(()),
                _ => Err(not_found),
            };
        }
    };
    if !matches!(
        held.status,
        ProfileStatus::Routed | ProfileStatus::Acknowledged
    ) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "request_paired",
            "Un binôme est proposé ou formé pour cette demande : clôturez-le avant de la décliner.",
        ));
    }
    let now = Utc::now();
    let entry = Entry::new(actor, Action::RequestDeclined, &held.id, now)
        .transact_put(&app.store.table, &association.slug)?;
    match route(app, &held, Cause::Declined, Some(&reason), Some(entry), now).await? {
        Outcome::Routed { .. } | Outcome::Waiting => Ok(()),
        Outcome::Unchanged => Err(ApiError::new(
            StatusCode::CONFLICT,
            "request_changed",
            "La demande a changé entre-temps : rechargez-la avant de la décliner.",
        )),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
/// La vérification d'honorabilité d'un mentor par l'association.
pub struct HonorabilityForm {
    /// Date de la vérification (AAAA-MM-JJ) : ni dans le futur, ni plus de trois ans en arrière.
    #[schema(value_type = String, format = Date, example = "2026-11-30")]
    checked_on: Option<NaiveDate>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "La vérification est enregistrée : le mentor peut être proposé à des jeunes de moins de 18 ans."
)]
pub struct HonorabilityRecorded {
    /// Identifiant du mentor.
    pub id: String,
    pub honorability: Honorability,
}

#[utoipa::path(
    post,
    path = "/v1/association/requests/{id}/honorability",
    tag = "demandes",
    operation_id = "inbox_record_honorability",
    summary = "Enregistrer la vérification d'honorabilité d'un mentor",
    description = "L'association a vérifié l'honorabilité du mentor (bulletin n° 3 du casier judiciaire et FIJAIS) : elle en enregistre la date, sans aucun document. Sans cette vérification, un mentor n'est proposé à aucun jeune de moins de 18 ans, ni par les runs, ni dans les suggestions, ni à la main. L'enregistrer à nouveau remplace la date.",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant du mentor (lettres et chiffres, 64 au plus).", pattern = "^[A-Za-z0-9]{1,64}$"),
    ),
    request_body(content = HonorabilityForm, content_type = "application/json"),
    responses(
        (status = 200, description = "Vérification enregistrée.", body = HonorabilityRecorded),
        (status = 400, description = "Date manquante, dans le futur ou trop ancienne (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 404, description = "Demande inconnue, d'une autre association, ou identifiant invalide (`not_found`).", body = shared::http::ApiError),
        (status = 409, description = "La demande est celle d'un jeune, pas d'un mentor (`not_a_mentor`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/requests/{id}/honorability {"checked_on"}`
pub async fn record_honorability(
    app: &Routing,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = Utc::now();
    let (association, actor) = staff::authorise(&app.store, request, now).await?;
    let form: HonorabilityForm = http::parse_json(request)?;
    let checked_on = checked_on(form.checked_on, now.date_naive())?;
    let id = request_id(request);
    let honorability = record_honorability_check(app, &association, &id, checked_on, actor).await?;
    Ok(http::json(
        StatusCode::OK,
        &HonorabilityRecorded { id, honorability },
    ))
}

/// The date of a check, if it is one: not after `today`, at most three years before.
pub(crate) fn checked_on(date: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, ApiError> {
    date.filter(|date| *date <= today && today.years_since(*date).is_some_and(|years| years < 3))
        .ok_or_else(|| {
            ApiError::invalid_fields(vec![http::FieldError {
                field: "checked_on".into(),
                message: "Indiquez la date de la vérification : aujourd'hui ou avant, et il y a moins de trois ans.".into(),
            }])
        })
}

/// Records that the association checked this mentor's honorability, with
/// its journal entry in the same transaction.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn record_honorability_check(
    app: &Routing,
    association: &AssociationRecord,
    id: &str,
    checked_on: NaiveDate,
    actor: Actor,
) -> Result<Honorability, ApiError> {
    let held = held_request(app, association, id).await?;
    if held.role != Role::Mentor {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_a_mentor",
            "Seuls les mentors ont une vérification d'honorabilité : cette demande est celle d'un ou d'une jeune.",
        ));
    }
    let now = Utc::now();
    let honorability = Honorability {
        association: association.slug.clone(),
        checked_on,
        by: actor.id.clone(),
        by_name: actor.name.clone(),
    };
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(Key::person_profile(&held.id).attributes()))
        .update_expression("SET honorability = :honorability")
        .condition_expression("#routing.association = :association")
        .expression_attribute_names("#routing", "routing")
        .expression_attribute_values(
            ":honorability",
            serde_dynamo::to_attribute_value(&honorability).map_err(StoreError::from)?,
        )
        .expression_attribute_values(":association", AttributeValue::S(association.slug.clone()));
    let entry = Entry::new(actor, Action::HonorabilityRecorded, &held.id, now)
        .with_detail(format!("vérifiée le {}", checked_on.format("%d/%m/%Y")));
    let writes = vec![
        shared::store::transact_update(update)?,
        entry.transact_put(&app.store.table, &association.slug)?,
    ];
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(
                request = held.id,
                association = association.slug,
                "honorability recorded"
            );
            Ok(honorability)
        }
        // Left the association meanwhile.
        Err(error) if shared::store::first_condition_failed(&error) => Err(ApiError::not_found()),
        Err(error) => Err(StoreError::from(error).into()),
    }
}
