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
use serde_json::{Map, Value, json};
use shared::{
    directory::{AssociationRecord, authenticate},
    http::{self, ApiError},
    people::{Mode, Need, PriorityGroup, ProfileStatus, Role, Sector, Situation, StudyLevel},
    phone::PhoneNumber,
    place::{Departement, PostalCode},
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
};

/// Requests per page, by default and at most.
const PAGE: i32 = 25;
const MAX_PAGE: i32 = 100;

/// What an association sees of a person it holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct PersonView {
    pub id: String,
    pub role: Role,
    pub status: ProfileStatus,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    pub postal_code: PostalCode,
    pub departement: Departement,
    pub mode: Mode,
    #[serde(default)]
    pub languages: Vec<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<DateTime<Utc>>,
    /// `{reason, at}` once their address bounced or complained: mails no
    /// longer reach them, call them or ask for another address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<Value>,
    #[serde(flatten)]
    pub mentee: Option<MenteeView>,
    #[serde(flatten)]
    pub mentor: Option<MentorView>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MenteeView {
    pub birth_date: NaiveDate,
    pub situation: Situation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study_level: Option<StudyLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub needs: Vec<Need>,
    pub priority_groups: Vec<PriorityGroup>,
    pub guardian_required: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MentorView {
    pub job_title: String,
    pub sector: Sector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    pub years_experience: u8,
    pub expertise: Vec<Need>,
    pub audiences: Vec<Situation>,
    pub fields: Vec<String>,
    pub capacity: u8,
    pub hours_per_month: u8,
    #[serde(default)]
    pub pairs_held: u8,
}

/// The special-category groups, shown only to the association holding the request.
#[derive(Debug, Serialize, Deserialize)]
pub struct SensitiveView {
    pub priority_groups: Vec<PriorityGroup>,
}

/// The guardian of a mentee under 15: who to contact.
#[derive(Debug, Serialize, Deserialize)]
pub struct GuardianView {
    pub name: String,
    pub email: String,
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
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::not_found());
    }
    match read_request(app, id).await? {
        Some(request) if holds(association, &request) => Ok(request),
        _ => Err(ApiError::not_found()),
    }
}

/// What a list shows of a request: enough to sort and choose, no contact detail.
fn listed(item: &HashMap<String, AttributeValue>) -> Option<Value> {
    let request: RequestItem = serde_dynamo::from_item(item.clone()).ok()?;
    let routing = request.routing.as_ref()?;
    Some(json!({
        "id": request.id,
        "role": request.role,
        "status": request.status,
        "routed_at": timestamp(routing.decided_at),
        "cause": routing.cause,
        "departement": request.departement,
        "mode": request.mode,
        "situation": request.situation,
        "needs": request.needs,
        "age": request.birth_date.map(|_| request.age_on(Utc::now().date_naive())),
        "reminded_at": routing.reminded_at.map(timestamp),
        "unreachable": item.contains_key("unreachable"),
    }))
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

/// `GET /v1/association/requests?status=&cursor=&limit=`: oldest first.
pub async fn list(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let association = authenticate(&app.store, request).await?;
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
    let start = match http::query_parameter(request, "cursor") {
        None => None,
        Some(cursor) => Some(decode_cursor(&cursor, &association.slug).ok_or_else(|| {
            bad_parameter(
                "invalid_cursor",
                "Le paramètre cursor n'est pas valide : reprenez celui de la page précédente.",
            )
        })?),
    };
    let query = app
        .store
        .by_association(
            index::association_requests(&association.slug),
            status.as_deref().map(index::association_request_status),
        )
        .limit(limit)
        .set_exclusive_start_key(start);
    let page = query.send().await.map_err(|error| {
        if error
            .as_service_error()
            .is_some_and(|e| e.meta().code() == Some("ValidationException"))
        {
            bad_parameter(
                "invalid_cursor",
                "Le paramètre cursor n'est pas valide : reprenez celui de la page précédente.",
            )
        } else {
            StoreError::from(error).into()
        }
    })?;
    let requests: Vec<Value> = page.items().iter().filter_map(listed).collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({
            "requests": requests,
            "next_cursor": page.last_evaluated_key().map(encode_cursor),
        }),
    ))
}

/// `GET /v1/association/requests/{id}`: the contact details, the request,
/// the sensitive data and the guardian, and the routing decision.
pub async fn show(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let association = authenticate(&app.store, request).await?;
    let held = held_request(app, &association, &request_id(request)).await?;
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
    let mut answer = Map::new();
    for item in page.items() {
        let sk = item
            .get("sk")
            .and_then(|s| s.as_s().ok())
            .map(String::as_str);
        let (section, view) = match sk {
            Some(sort::PROFILE) => {
                // Checked again on the same read as the data shown.
                let current: Option<RequestItem> = serde_dynamo::from_item(item.clone()).ok();
                if !current.is_some_and(|c| holds(&association, &c)) {
                    return Err(ApiError::not_found());
                }
                ("request", view::<PersonView>(item)?)
            }
            Some(sort::SENSITIVE) => ("sensitive_data", view::<SensitiveView>(item)?),
            Some(sort::GUARDIAN) => ("guardian", view::<GuardianView>(item)?),
            _ => continue,
        };
        answer.insert(section.into(), view);
    }
    if let Some(routing) = &held.routing {
        answer.insert(
            "routing".into(),
            json!({
                "cause": routing.cause,
                "routed_at": timestamp(routing.decided_at),
                "reminded_at": routing.reminded_at.map(timestamp),
                "acknowledged_at": routing.acknowledged_at.map(timestamp),
                "decision": routing.decision,
            }),
        );
    }
    Ok(http::json(StatusCode::OK, &Value::Object(answer)))
}

/// An item as one of the association's views: only the view's fields.
fn view<V: Serialize + for<'de> Deserialize<'de>>(
    item: &HashMap<String, AttributeValue>,
) -> Result<Value, StoreError> {
    let view: V = serde_dynamo::from_item(item.clone())?;
    Ok(serde_json::to_value(view).expect("views serialize"))
}

/// `POST /v1/association/requests/{id}/acknowledge`: the association takes
/// the request on; reminders stop. Acknowledging twice is the same as once.
pub async fn acknowledge(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let association = authenticate(&app.store, request).await?;
    let held = held_request(app, &association, &request_id(request)).await?;
    let acknowledged = || {
        http::json(
            StatusCode::OK,
            &json!({"id": held.id, "status": "acknowledged", "message": "Demande prise en charge. Contactez la personne dans les meilleurs délais."}),
        )
    };
    if held.status != ProfileStatus::Routed {
        // Taken on already (and perhaps paired since).
        return Ok(acknowledged());
    }
    let routing = held.routing.as_ref().ok_or_else(ApiError::not_found)?;
    let now = Utc::now();
    let result = app
        .store
        .client
        .update_item()
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
        .expression_attribute_values(":attempt", AttributeValue::N(routing.attempt.to_string()))
        .send()
        .await;
    match result {
        Ok(_) => {
            tracing::info!(
                request = held.id,
                association = association.slug,
                "request acknowledged"
            );
            Ok(acknowledged())
        }
        Err(error) if shared::store::condition_failed(&error) => {
            // Moved meanwhile: acknowledged by a concurrent call, or gone.
            let again = held_request(app, &association, &held.id).await?;
            if again.status == ProfileStatus::Acknowledged {
                Ok(acknowledged())
            } else {
                Err(ApiError::not_found())
            }
        }
        Err(error) => Err(StoreError::from(error).into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclineForm {
    reason: Option<String>,
}

/// `POST /v1/association/requests/{id}/decline {"reason"}`: the request goes
/// to the next best association (or waits), and the counter is given back.
pub async fn decline(app: &Routing, request: &Request) -> Result<Response<Body>, ApiError> {
    let association = authenticate(&app.store, request).await?;
    let id = request_id(request);
    let declined = || {
        http::json(
            StatusCode::OK,
            &json!({"id": id, "status": "declined", "message": "Demande déclinée : elle est transmise à une autre association."}),
        )
    };
    let form: DeclineForm = http::parse_json(request)?;
    let reason = form
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| (3..=500).contains(&r.chars().count()))
        .ok_or_else(|| {
            ApiError::invalid_fields(vec![http::FieldError {
                field: "reason".into(),
                message: "Indiquez en quelques mots pourquoi l'association ne peut pas accompagner cette personne (3 à 500 caractères).".into(),
            }])
        })?;
    let held = match held_request(app, &association, &id).await {
        Ok(held) => held,
        // A retried decline: already passed on by this association.
        Err(not_found) => {
            return match read_request(app, &id).await? {
                Some(r) if r.declined_by().contains(&association.slug) => Ok(declined()),
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
    match route(app, &held, Cause::Declined, Some(&reason), Utc::now()).await? {
        Outcome::Routed { .. } | Outcome::Waiting => Ok(declined()),
        Outcome::Unchanged => Err(ApiError::new(
            StatusCode::CONFLICT,
            "request_changed",
            "La demande a changé entre-temps : rechargez-la avant de la décliner.",
        )),
    }
}
