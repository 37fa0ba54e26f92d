//! `POST /v1/mentees` and `POST /v1/mentors`: one transaction writes the
//! profile, the e-mail guard of the role, the verification mail (and, for a
//! mentee, the sensitive data and the guardian with their mail). The same
//! address again gets the same answer and a "déjà une demande en cours" mail
//! instead of a second profile. An `Idempotency-Key` replays the first answer.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use shared::{
    consent::Consent,
    http::{self, ApiError, FieldError},
    keyring::Keyring,
    links::Links,
    mail::{MailContent, OutboxMail},
    pending::VERIFICATION_REMINDER_AFTER,
    people::{
        Guardian, MenteeDetails, MenteeProfile, MentorDetails, MentorProfile, Person, Profile,
        ProfileStatus, Role, SensitiveData,
    },
    store::{self, Key, StoreError, keys::index, timestamp},
    subject::SignupSubject,
    tokens::Purpose,
};

use crate::{
    Signup,
    form::{
        Contact, MenteeRequest, MentorRegistration, Submission, validate_mentee, validate_mentor,
    },
    personal_data::ACCESS_LINK_LIFETIME,
};

pub const CONSENT_TEXT_MENTEE: &str = "signup-mentee-2026-11";
pub const CONSENT_TEXT_MENTOR: &str = "signup-mentor-2026-11";
pub const CONSENT_TEXT_SENSITIVE: &str = "sensitive-data-2026-11";
/// An unverified sign-up, and its links, expire after this.
pub const VERIFICATION_WINDOW: Duration = Duration::days(7);
/// A replayed `Idempotency-Key` returns the first answer within this time.
const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);
const IDEMPOTENCY_KEY_MAX: usize = 255;
/// A repeated sign-up reminds the address's owner at most this often.
const REMIND_AFTER: Duration = Duration::minutes(10);
/// A form posted twice, or a request retried, this soon after the sign-up
/// is the same sign-up: no reminder for it.
const SAME_SIGNUP_WITHIN: Duration = Duration::minutes(1);

type Item = HashMap<String, AttributeValue>;

/// The answer to a sign-up, also replayed for its `Idempotency-Key`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "La demande est reçue : un e-mail de confirmation part vers l'adresse donnée. La même réponse est donnée quand l'adresse a déjà une demande en cours dans ce rôle (un rappel lui est alors envoyé), afin de ne pas révéler si elle est connue.", as = SignupAccepted)]
pub struct Accepted {
    /// Identifiant de la demande.
    #[schema(
        pattern = "^[0-9a-f]{32}$",
        examples("0192f3a4b5c67d8e9f0a1b2c3d4e5f60")
    )]
    pub id: String,
    /// Toujours `pending_verification` : la demande attend la confirmation de l'adresse e-mail (et, avant 15 ans, l'accord du responsable légal). Sans confirmation, elle est effacée au bout de 7 jours.
    #[schema(examples("pending_verification"))]
    pub status: &'static str,
}

fn accepted(person_id: &str) -> (StatusCode, String) {
    let body = serde_json::to_string(&Accepted {
        id: person_id.to_owned(),
        status: "pending_verification",
    })
    .expect("a plain struct serializes");
    (StatusCode::ACCEPTED, body)
}

fn respond((status, body): (StatusCode, String)) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(body))
        .expect("static headers are valid")
}

/// Everything one sign-up writes, built without any I/O.
pub struct SignupItems {
    pub subject: SignupSubject,
    /// The profile first, then the other items of the person (all new).
    pub items: Vec<Item>,
}

fn new_person_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn verification_mail(
    app_links: &Links,
    keyring: &Keyring,
    subject: &SignupSubject,
    first_name: &str,
    now: DateTime<Utc>,
) -> OutboxMail {
    let token = keyring.tokens.issue(
        Purpose::SignupVerify,
        &subject.encode(),
        now,
        VERIFICATION_WINDOW,
    );
    OutboxMail::new(
        subject.profile(),
        MailContent::SignupVerification {
            role: subject.role,
            first_name: first_name.to_owned(),
            verify_url: app_links.api(&format!("/v1/verify?token={token}")),
        },
        now,
    )
}

fn person(contact: &Contact, id: &str, role: Role, consent: Consent, now: DateTime<Utc>) -> Person {
    Person {
        id: id.to_owned(),
        role,
        status: ProfileStatus::PendingVerification,
        email: contact.email.as_str().to_owned(),
        first_name: contact.first_name.clone(),
        last_name: contact.last_name.clone(),
        phone: contact.phone.clone(),
        postal_code: contact.postal_code.clone(),
        departement: contact.departement.clone(),
        mode: contact.mode,
        languages: contact.languages.clone(),
        consent,
        created_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

fn to_item<T: Serialize>(value: &T) -> Item {
    serde_dynamo::to_item(value).expect("profile types map to items")
}

/// The items of a mentee request (benchmarked: no I/O here).
pub fn mentee_items(
    request: &MenteeRequest,
    keyring: &Keyring,
    links: &Links,
    now: DateTime<Utc>,
) -> SignupItems {
    let person_id = new_person_id();
    let expires = (now + VERIFICATION_WINDOW).timestamp();
    let subject = SignupSubject {
        person_id: person_id.clone(),
        role: Role::Mentee,
        address: keyring.addresses.id_of(&request.contact.email),
        has_sensitive_data: !request.sensitive_groups.is_empty(),
        has_guardian: request.guardian.is_some(),
    };
    let key = subject.profile();
    let consent = Consent::given(now, CONSENT_TEXT_MENTEE, request.contact.source.as_deref());
    let profile: MenteeProfile = Profile {
        pk: key.pk.clone(),
        sk: key.sk.clone(),
        person: person(&request.contact, &person_id, Role::Mentee, consent, now),
        details: MenteeDetails {
            birth_date: request.birth_date,
            situation: request.situation,
            study_level: request.study_level,
            field: request.field.clone(),
            needs: request.needs.clone(),
            priority_groups: request.priority_groups.clone(),
            guardian_required: request.guardian.is_some(),
            has_sensitive_data: subject.has_sensitive_data,
        },
        ttl: Some(expires),
        signup_subject: Some(subject.encode()),
        due_pk: Some(index::signup_due(&person_id)),
        due_sk: Some(timestamp(now + VERIFICATION_REMINDER_AFTER)),
    };
    let mut items = vec![
        to_item(&profile),
        to_item(&verification_mail(
            links,
            keyring,
            &subject,
            &request.contact.first_name,
            now,
        )),
    ];
    if subject.has_sensitive_data {
        let sensitive = Key::person_sensitive_data(&person_id);
        items.push(to_item(&SensitiveData {
            pk: sensitive.pk,
            sk: sensitive.sk,
            priority_groups: request.sensitive_groups.clone(),
            consent: Consent::given(now, CONSENT_TEXT_SENSITIVE, None),
            ttl: Some(expires),
        }));
    }
    if let Some(guardian) = &request.guardian {
        let guardian_key = Key::person_guardian(&person_id);
        let token = keyring.tokens.issue(
            Purpose::GuardianConsent,
            &subject.encode(),
            now,
            VERIFICATION_WINDOW,
        );
        items.push(to_item(&Guardian {
            pk: guardian_key.pk.clone(),
            sk: guardian_key.sk.clone(),
            name: guardian.name.clone(),
            email: guardian.email.as_str().to_owned(),
            consent: None,
            ttl: Some(expires),
        }));
        items.push(to_item(&OutboxMail::new(
            guardian_key,
            MailContent::GuardianConsentRequest {
                guardian_name: guardian.name.clone(),
                mentee_first_name: request.contact.first_name.clone(),
                consent_url: links.api(&format!("/v1/guardian/consent?token={token}")),
            },
            now,
        )));
    }
    SignupItems { subject, items }
}

pub(crate) fn mentor_items(
    registration: &MentorRegistration,
    keyring: &Keyring,
    links: &Links,
    now: DateTime<Utc>,
) -> SignupItems {
    let person_id = new_person_id();
    let subject = SignupSubject {
        person_id: person_id.clone(),
        role: Role::Mentor,
        address: keyring.addresses.id_of(&registration.contact.email),
        has_sensitive_data: false,
        has_guardian: false,
    };
    let key = subject.profile();
    let consent = Consent::given(
        now,
        CONSENT_TEXT_MENTOR,
        registration.contact.source.as_deref(),
    );
    let profile: MentorProfile = Profile {
        pk: key.pk,
        sk: key.sk,
        person: person(
            &registration.contact,
            &person_id,
            Role::Mentor,
            consent,
            now,
        ),
        details: MentorDetails {
            job_title: registration.job_title.clone(),
            sector: registration.sector,
            employer: registration.employer.clone(),
            years_experience: registration.years_experience,
            expertise: registration.expertise.clone(),
            audiences: registration.audiences.clone(),
            fields: registration.fields.clone(),
            capacity: registration.capacity,
            hours_per_month: registration.hours_per_month,
            preferred_association: registration.preferred_association.clone(),
            charter_accepted_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        },
        ttl: Some((now + VERIFICATION_WINDOW).timestamp()),
        signup_subject: Some(subject.encode()),
        due_pk: Some(index::signup_due(&person_id)),
        due_sk: Some(timestamp(now + VERIFICATION_REMINDER_AFTER)),
    };
    let items = vec![
        to_item(&profile),
        to_item(&verification_mail(
            links,
            keyring,
            &subject,
            &registration.contact.first_name,
            now,
        )),
    ];
    SignupItems { subject, items }
}

/// A client's `Idempotency-Key`, bound to the route and to the exact body.
struct Idempotency {
    key: Key,
    fingerprint: String,
}

fn idempotency(request: &Request, route: &str) -> Result<Option<Idempotency>, ApiError> {
    let Some(value) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "L'en-tête Idempotency-Key doit contenir de 1 à 255 caractères imprimables.",
        ));
    }
    let hash = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
    Ok(Some(Idempotency {
        key: Key::idempotent_response(&hash(format!("{route}\n{key}").as_bytes())),
        fingerprint: hash(request.body().as_ref()),
    }))
}

#[utoipa::path(
    post,
    path = "/v1/mentees",
    tag = "inscription",
    operation_id = "signup_register_mentee",
    summary = "Demander un mentor",
    description = "Un ou une jeune de 11 à 30 ans demande un mentor. La demande est enregistrée en attente : elle n'est transmise à une association qu'une fois l'adresse e-mail confirmée par le lien envoyé (et, avant 15 ans, l'accord du responsable légal donné par le sien). Une adresse n'a qu'une demande en cours : la renvoyer donne la même réponse et un rappel par e-mail. La réponse prend toujours au moins le même temps, que l'adresse soit connue ou non.",
    params(
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[\\t -~]*[!-~][\\t -~]*$",
            description = "Clé choisie par le client (1 à 255 caractères ASCII imprimables) : la même demande renvoyée avec la même clé dans les 24 heures reçoit la première réponse, sans rien écrire de plus. La même clé avec un autre corps est refusée (422).",
            example = "5f0c2d1e-7a9b-4c3d-8e6f-1a2b3c4d5e6f"),
    ),
    request_body(content = crate::MenteeForm, content_type = "application/json"),
    responses(
        (status = 202, description = "Demande reçue, en attente de confirmation de l'adresse.", body = Accepted),
        (status = 400, description = "Corps invalide : JSON mal formé (`malformed_json`), champ inconnu (`unknown_field`), champ du mauvais type (`invalid_type`), champs invalides (`invalid_fields`, chacun nommé dans `fields` avec un message en français), ou en-tête `Idempotency-Key` vide ou trop long (`invalid_idempotency_key`).", body = shared::http::ApiError),
        (status = 422, description = "Cette clé `Idempotency-Key` a déjà servi avec un autre corps (`idempotency_key_reused`).", body = shared::http::ApiError),
    )
)]
pub async fn mentee(app: &Signup, request: &Request) -> Response<Body> {
    sign_up(
        app,
        request,
        "POST /v1/mentees",
        |form| validate_mentee(form, Utc::now().date_naive()),
        mentee_items,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/v1/mentors",
    tag = "inscription",
    operation_id = "signup_register_mentor",
    summary = "S'inscrire comme mentor",
    description = "Une personne en activité s'inscrit comme mentor bénévole, après avoir accepté la charte. L'inscription est enregistrée en attente jusqu'à la confirmation de l'adresse e-mail par le lien envoyé ; une association du réseau prend ensuite contact. Une adresse n'a qu'une inscription en cours : la renvoyer donne la même réponse et un rappel par e-mail. La réponse prend toujours au moins le même temps, que l'adresse soit connue ou non.",
    params(
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[\\t -~]*[!-~][\\t -~]*$",
            description = "Clé choisie par le client (1 à 255 caractères ASCII imprimables) : la même demande renvoyée avec la même clé dans les 24 heures reçoit la première réponse, sans rien écrire de plus. La même clé avec un autre corps est refusée (422).",
            example = "5f0c2d1e-7a9b-4c3d-8e6f-1a2b3c4d5e6f"),
    ),
    request_body(content = crate::form::MentorForm, content_type = "application/json"),
    responses(
        (status = 202, description = "Inscription reçue, en attente de confirmation de l'adresse.", body = Accepted),
        (status = 400, description = "Corps invalide : JSON mal formé (`malformed_json`), champ inconnu (`unknown_field`), champ du mauvais type (`invalid_type`), champs invalides (`invalid_fields`, chacun nommé dans `fields` avec un message en français), ou en-tête `Idempotency-Key` vide ou trop long (`invalid_idempotency_key`).", body = shared::http::ApiError),
        (status = 422, description = "Cette clé `Idempotency-Key` a déjà servi avec un autre corps (`idempotency_key_reused`).", body = shared::http::ApiError),
    )
)]
pub async fn mentor(app: &Signup, request: &Request) -> Response<Body> {
    sign_up(
        app,
        request,
        "POST /v1/mentors",
        validate_mentor,
        mentor_items,
    )
    .await
}

/// Parse, validate, write; answers no sooner than the response floor, so that
/// a known address cannot be told from a new one by the time it takes.
async fn sign_up<F, T>(
    app: &Signup,
    request: &Request,
    route: &str,
    validate: impl FnOnce(F) -> Result<Submission<T>, Vec<FieldError>>,
    items: impl FnOnce(&T, &Keyring, &Links, DateTime<Utc>) -> SignupItems,
) -> Response<Body>
where
    F: DeserializeOwned,
{
    let started = tokio::time::Instant::now();
    let parsed = http::parse_json::<F>(request)
        .and_then(|form| validate(form).map_err(ApiError::invalid_fields))
        .and_then(|submission| Ok((submission, idempotency(request, route)?)));
    let (submission, replay) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return error.respond(),
    };
    let answer = match submission {
        Submission::Honeypot => Ok(accepted(&new_person_id())),
        Submission::Genuine(form) => {
            let now = Utc::now();
            record(
                app,
                items(&form, &app.keyring, &app.links, now),
                replay,
                now,
            )
            .await
        }
    };
    tokio::time::sleep_until(started + app.response_floor).await;
    answer.map_or_else(|error| error.respond(), respond)
}

/// A sign-up from the site's form: written as the API's (no replay key: a
/// form posted twice meets the address's guard), answered no sooner than
/// the response floor.
pub(crate) async fn from_page<T>(
    app: &Signup,
    submission: Submission<T>,
    items: impl FnOnce(&T, &Keyring, &Links, DateTime<Utc>) -> SignupItems,
) -> Result<(), ApiError> {
    let started = tokio::time::Instant::now();
    let result = match submission {
        Submission::Honeypot => Ok(()),
        Submission::Genuine(form) => {
            let now = Utc::now();
            record(app, items(&form, &app.keyring, &app.links, now), None, now)
                .await
                .map(|_| ())
        }
    };
    tokio::time::sleep_until(started + app.response_floor).await;
    result
}

fn put(table: &str, item: Item, condition: &str, now: i64) -> TransactWriteItem {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    if condition.contains(":now") {
        put = put
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()));
    }
    TransactWriteItem::builder()
        .put(put.build().expect("table and item are set"))
        .build()
}

/// A guard or a saved answer that expired (TTL deletion is late) counts as absent.
const ABSENT_OR_EXPIRED: &str = "attribute_not_exists(pk) OR #ttl < :now";

/// A first answer kept for an Idempotency-Key (`IDEMPOTENCY#<hash>` / `RESPONSE`).
#[derive(Serialize, serde::Deserialize)]
struct SavedAnswer {
    pk: String,
    sk: String,
    /// A hash of the body it answered: the same key with another body is refused.
    fingerprint: String,
    status: u16,
    body: String,
    ttl: i64,
}

fn saved_answer(replay: &Idempotency, answer: &(StatusCode, String), now: DateTime<Utc>) -> Item {
    serde_dynamo::to_item(SavedAnswer {
        pk: replay.key.pk.clone(),
        sk: replay.key.sk.clone(),
        fingerprint: replay.fingerprint.clone(),
        status: answer.0.as_u16(),
        body: answer.1.clone(),
        ttl: (now + IDEMPOTENCY_WINDOW).timestamp(),
    })
    .expect("a saved answer maps to an item")
}

/// The saved answer of a replayed key, or 422 when the key came with another body.
fn replayed(replay: &Idempotency, saved: &Item) -> Result<(StatusCode, String), ApiError> {
    let saved: SavedAnswer =
        serde_dynamo::from_item(saved.clone()).map_err(shared::store::StoreError::from)?;
    if saved.fingerprint != replay.fingerprint {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "Cette clé Idempotency-Key a déjà servi pour une autre demande : utilisez une nouvelle clé.",
        ));
    }
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::ACCEPTED);
    Ok((status, saved.body))
}

/// The one sign-up an address has in a role (`EMAIL#<address id>` / role).
#[derive(Serialize)]
struct EmailGuard {
    pk: String,
    sk: String,
    person_id: String,
    /// What a new verification link for this sign-up must name.
    subject: String,
    created_at: i64,
    ttl: i64,
}

#[tracing::instrument(skip_all)]
async fn record(
    app: &Signup,
    signup: SignupItems,
    replay: Option<Idempotency>,
    now: DateTime<Utc>,
) -> Result<(StatusCode, String), ApiError> {
    let table = &app.store.table;
    let epoch = now.timestamp();
    let subject = &signup.subject;
    let answer = accepted(&subject.person_id);
    let expires = (now + VERIFICATION_WINDOW).timestamp();
    let guard_key = Key::email_guard(&subject.address, subject.role);
    let guard = serde_dynamo::to_item(EmailGuard {
        pk: guard_key.pk,
        sk: guard_key.sk,
        person_id: subject.person_id.clone(),
        subject: subject.encode(),
        created_at: epoch,
        ttl: expires,
    })
    .map_err(shared::store::StoreError::from)?;
    let mut writes = vec![put(table, guard, ABSENT_OR_EXPIRED, epoch)];
    if let Some(replay) = &replay {
        writes.push(put(
            table,
            saved_answer(replay, &answer, now),
            ABSENT_OR_EXPIRED,
            epoch,
        ));
    }
    writes.extend(
        signup
            .items
            .into_iter()
            .map(|item| put(table, item, "attribute_not_exists(pk)", epoch)),
    );

    let result = app.store.transact(writes).await;
    let error = match result {
        Ok(_) => {
            tracing::info!(person = subject.person_id, role = ?subject.role, "sign-up recorded");
            return Ok(answer);
        }
        Err(error) => error,
    };
    let Some(reasons) = store::cancellation_reasons(&error) else {
        return Err(StoreError::from(error).into());
    };
    if let Some(replay) = &replay
        && let Some(saved) = reasons
            .get(1)
            .filter(|r| store::is_condition_failure(r))
            .and_then(|r| r.item())
    {
        return replayed(replay, saved);
    }
    let existing = reasons
        .first()
        .filter(|r| store::is_condition_failure(r))
        .and_then(|r| r.item())
        .and_then(|guard| guard.get("subject"))
        .and_then(|subject| subject.as_s().ok())
        .and_then(|subject| SignupSubject::decode(subject));
    let Some(existing) = existing else {
        return Err(StoreError::from(error).into());
    };
    already_requested(app, &existing, replay.as_ref(), answer, now).await
}

/// The address already has a sign-up in this role: mail its owner a fresh
/// verification link instead of creating a second profile. The answer is
/// saved for the request's Idempotency-Key whether a reminder goes or not.
#[tracing::instrument(skip_all)]
async fn already_requested(
    app: &Signup,
    existing: &SignupSubject,
    replay: Option<&Idempotency>,
    answer: (StatusCode, String),
    now: DateTime<Utc>,
) -> Result<(StatusCode, String), ApiError> {
    let token = app.keyring.tokens.issue(
        Purpose::SignupVerify,
        &existing.encode(),
        now,
        VERIFICATION_WINDOW,
    );
    let status = app.keyring.tokens.issue(
        Purpose::PersonalData,
        &existing.encode(),
        now,
        ACCESS_LINK_LIFETIME,
    );
    let mail = OutboxMail::new(
        existing.profile(),
        MailContent::SignupAlreadyRequested {
            role: existing.role,
            verify_url: app.links.api(&format!("/v1/verify?token={token}")),
            status_url: app.links.api(&format!("/ma-demande?token={status}")),
        },
        now,
    );
    let table = &app.store.table;
    let guard = Key::email_guard(&existing.address, existing.role);
    let since = AttributeValue::N((now - REMIND_AFTER).timestamp().to_string());
    // A repeat is told at once (past the minute of a double post), a burst
    // of them once per 10 minutes.
    let remind = Update::builder()
        .table_name(table)
        .set_key(Some(guard.attributes()))
        .update_expression("SET reminded_at = :now")
        .condition_expression(
            "created_at < :grace AND (attribute_not_exists(reminded_at) OR reminded_at < :since)",
        )
        .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
        .expression_attribute_values(":since", since)
        .expression_attribute_values(
            ":grace",
            AttributeValue::N((now - SAME_SIGNUP_WITHIN).timestamp().to_string()),
        )
        .build()
        .expect("table, key and expression are set");
    let mut writes = vec![
        TransactWriteItem::builder().update(remind).build(),
        put(
            table,
            to_item(&mail),
            "attribute_not_exists(pk)",
            now.timestamp(),
        ),
    ];
    if let Some(replay) = replay {
        writes.push(put(
            table,
            saved_answer(replay, &answer, now),
            ABSENT_OR_EXPIRED,
            now.timestamp(),
        ));
    }
    let error = match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(person = existing.person_id, role = ?existing.role, "repeated sign-up: reminder queued");
            return Ok(answer);
        }
        Err(error) => error,
    };
    let reasons = store::cancellation_reasons(&error).unwrap_or_default();
    if let Some(replay) = replay
        && let Some(saved) = reasons
            .get(2)
            .filter(|r| store::is_condition_failure(r))
            .and_then(|r| r.item())
    {
        return replayed(replay, saved);
    }
    if !reasons.first().is_some_and(store::is_condition_failure) {
        return Err(StoreError::from(error).into());
    }
    tracing::info!(person = existing.person_id, role = ?existing.role, "repeated sign-up: reminded recently");
    match replay {
        Some(replay) => save_answer(app, replay, answer, now).await,
        None => Ok(answer),
    }
}

/// Saves `answer` for a replayed key, or answers with the one saved first.
async fn save_answer(
    app: &Signup,
    replay: &Idempotency,
    answer: (StatusCode, String),
    now: DateTime<Utc>,
) -> Result<(StatusCode, String), ApiError> {
    let result = app
        .store
        .transact(vec![put(
            &app.store.table,
            saved_answer(replay, &answer, now),
            ABSENT_OR_EXPIRED,
            now.timestamp(),
        )])
        .await;
    match result {
        Ok(_) => Ok(answer),
        Err(error) => match store::cancellation_reasons(&error)
            .and_then(<[_]>::first)
            .filter(|r| store::is_condition_failure(r))
            .and_then(|r| r.item())
        {
            Some(saved) => replayed(replay, saved),
            None => Err(StoreError::from(error).into()),
        },
    }
}
