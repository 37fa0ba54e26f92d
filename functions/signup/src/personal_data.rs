//! The person's rights (GDPR art. 15 and 17): a link by mail to a known
//! address, a JSON export of everything stored about them, and erasure.
//! Links name the person and their address id; nothing here reveals whether
//! an address is known.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem};
use chrono::{Duration, SecondsFormat, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shared::{
    directory::{Counted, counters_update},
    email::EmailAddress,
    http::{self, ApiError, FieldError},
    mail::{MailContent, OutboxMail},
    pages::{FormButton, Page},
    people::Role,
    store::{
        Key, StoreError,
        keys::{
            OUTBOX_PREFIX, PAIR_REFERENCE_PREFIX,
            sort::{GUARDIAN, PROFILE, SENSITIVE},
        },
        query_all, timestamp, transact_update,
    },
    tokens::Purpose,
};

use crate::{Signup, subject::SignupSubject};

/// Links to one's data work this long.
const ACCESS_LINK_LIFETIME: Duration = Duration::hours(24);
/// DynamoDB's limit of items per transaction.
const TRANSACTION_ITEMS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    email: String,
}

/// `POST /v1/me/link {"email"}`: 202 whatever the address; a mail with the
/// links goes to it if it has a sign-up.
pub async fn link(app: &Signup, request: &Request) -> Response<Body> {
    let started = tokio::time::Instant::now();
    let email = match http::parse_json::<LinkRequest>(request) {
        Ok(body) => match EmailAddress::parse(&body.email) {
            Ok(email) => email,
            Err(_) => {
                return ApiError::invalid_fields(vec![FieldError {
                    field: "email".into(),
                    message:
                        "Indiquez une adresse e-mail valide, par exemple prenom.nom@exemple.fr."
                            .into(),
                }])
                .respond();
            }
        },
        Err(error) => return error.respond(),
    };
    let result = send_links(app, &email).await;
    tokio::time::sleep_until(started + app.response_floor).await;
    match result {
        Ok(()) => http::json(
            StatusCode::ACCEPTED,
            &json!({"message": "Si cette adresse est connue, un e-mail avec un lien vers vos données vient d'y être envoyé."}),
        ),
        Err(error) => error.respond(),
    }
}

#[tracing::instrument(skip_all)]
async fn send_links(app: &Signup, email: &EmailAddress) -> Result<(), ApiError> {
    let address = app.keyring.addresses.id_of(email);
    let guards =
        [Role::Mentee, Role::Mentor].map(|role| Key::email_guard(&address, role).attributes());
    let found = app
        .store
        .client
        .batch_get_item()
        .request_items(
            &app.store.table,
            KeysAndAttributes::builder()
                .set_keys(Some(guards.to_vec()))
                .projection_expression("subject")
                .consistent_read(true)
                .build()
                .map_err(StoreError::from)?,
        )
        .send()
        .await
        .map_err(StoreError::from)?;
    let now = Utc::now();
    let mut writes = Vec::new();
    for guard in found
        .responses()
        .and_then(|r| r.get(&app.store.table))
        .into_iter()
        .flatten()
    {
        let Some(subject) = guard
            .get("subject")
            .and_then(|s| s.as_s().ok())
            .and_then(|s| SignupSubject::decode(s))
        else {
            continue;
        };
        let token = app.keyring.tokens.issue(
            Purpose::PersonalData,
            &subject.encode(),
            now,
            ACCESS_LINK_LIFETIME,
        );
        let mail = OutboxMail::new(
            subject.profile(),
            MailContent::PersonalDataAccess {
                export_url: app.links.api(&format!("/v1/me?token={token}")),
                erase_url: app.links.api(&format!("/v1/me/erase?token={token}")),
            },
            now,
        );
        let put = Put::builder()
            .table_name(&app.store.table)
            .set_item(Some(
                serde_dynamo::to_item(&mail).map_err(StoreError::from)?,
            ))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(StoreError::from)?;
        writes.push(TransactWriteItem::builder().put(put).build());
        tracing::info!(person = subject.person_id, "personal data link queued");
    }
    if !writes.is_empty() {
        app.store.transact(writes).await.map_err(StoreError::from)?;
    }
    Ok(())
}

fn verified(app: &Signup, request: &Request) -> Option<(String, SignupSubject)> {
    let token = http::query_parameter(request, "token")?;
    let verified = app
        .keyring
        .tokens
        .verify(&token, Purpose::PersonalData, Utc::now())
        .ok()?;
    Some((token, SignupSubject::decode(&verified.subject)?))
}

fn invalid_link() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_link",
        "Ce lien n'est pas valide ou a expiré (il vaut 24 heures) : demandez-en un nouveau.",
    )
}

/// Every item of the person's partition.
#[tracing::instrument(skip_all)]
async fn partition(
    app: &Signup,
    person_id: &str,
) -> Result<Vec<HashMap<String, AttributeValue>>, ApiError> {
    query_all(
        app.store
            .client
            .query()
            .table_name(&app.store.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(Key::person_partition(person_id)))
            .consistent_read(true),
    )
    .await
    .map_err(ApiError::from)
}

/// `GET /v1/me?token=`: everything stored about the person, as JSON.
pub async fn export(app: &Signup, request: &Request) -> Response<Body> {
    let Some((_, subject)) = verified(app, request) else {
        return invalid_link().respond();
    };
    let items = match partition(app, &subject.person_id).await {
        Ok(items) => items,
        Err(error) => return error.respond(),
    };
    if items.is_empty() {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "no_data",
            "Nous ne conservons aucune donnée liée à ce lien.",
        )
        .respond();
    }
    let mut export = Map::new();
    let mut mails = Vec::new();
    let mut pairs = Vec::new();
    for item in items {
        let Ok(mut value) = serde_dynamo::from_item::<_, Map<String, Value>>(item) else {
            continue;
        };
        let sort_key = value
            .remove("sk")
            .and_then(|sk| sk.as_str().map(str::to_owned))
            .unwrap_or_default();
        value.remove("pk");
        if sort_key.starts_with(PAIR_REFERENCE_PREFIX) {
            pairs.push(Value::Object(value));
            continue;
        }
        if sort_key.starts_with(OUTBOX_PREFIX) {
            mails.push(json!({
                "template": value.get("mail").and_then(|m| m.get("template")),
                "status": value.get("status"),
                "created_at": value.get("created_at"),
            }));
            continue;
        }
        // Index keys are the table's bookkeeping, not data about the person.
        for internal in ["assoc_pk", "assoc_sk", "due_pk", "due_sk", "signup_subject"] {
            value.remove(internal);
        }
        if let Some(routing) = value.remove("routing") {
            export.insert("routing".into(), routing);
        }
        let section = match sort_key.as_str() {
            PROFILE => "profile".to_owned(),
            SENSITIVE => "sensitive_data".to_owned(),
            GUARDIAN => "guardian".to_owned(),
            other => other.to_lowercase(),
        };
        export.insert(section, Value::Object(value));
    }
    export.insert("mails".into(), Value::Array(mails));
    export.insert("pairs".into(), Value::Array(pairs));
    // Absent until routing writes it.
    export.entry("routing").or_insert(Value::Null);
    export.insert(
        "exported_at".into(),
        json!(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)),
    );
    let mut response = http::json(StatusCode::OK, &Value::Object(export));
    response.headers_mut().insert(
        "content-disposition",
        "attachment; filename=\"mes-donnees-binome.json\""
            .parse()
            .expect("a static header value"),
    );
    response
}

pub async fn erase_page(app: &Signup, request: &Request) -> Response<Body> {
    let Some((token, subject)) = verified(app, request) else {
        return erase_refused();
    };
    match already_erased(app, &subject.person_id).await {
        Ok(true) => return erased_before(),
        Ok(false) => {}
        Err(error) => {
            tracing::error!(%error, "erasure page failed");
            return Page::unavailable("Nous n'avons pas pu ouvrir cette page.");
        }
    }
    Page::new(
        "Effacer mes données",
        &[
            "Votre demande, vos coordonnées et tout ce que nous conservons sur vous seront effacés. Cette action est définitive.",
            "Si un mentorat est en cours, l'association et votre binôme ne verront plus vos informations.",
        ],
    )
    .with_form(FormButton {
        action: app.links.api(&format!("/v1/me/erase?token={token}")),
        label: "Effacer définitivement mes données".into(),
        hidden: Vec::new(),
        secondary: false,
    })
    .respond(StatusCode::OK)
}

/// The erasure's audit record says it happened already.
#[tracing::instrument(skip_all)]
async fn already_erased(app: &Signup, person_id: &str) -> Result<bool, StoreError> {
    let audit = app
        .store
        .client
        .get_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::erasure_audit(person_id).attributes()))
        .consistent_read(true)
        .send()
        .await?;
    Ok(audit.item.is_some())
}

/// A replayed erasure link: nothing left to erase, no button to press.
fn erased_before() -> Response<Body> {
    Page::new(
        "Vos données ont déjà été effacées.",
        &["Nous ne conservons plus rien qui permette de vous identifier. Vous pouvez refaire une demande à tout moment."],
    )
    .respond(StatusCode::OK)
}

fn erase_refused() -> Response<Body> {
    Page::new(
        "Ce lien n'est pas valide.",
        &["Il a peut-être expiré (il vaut 24 heures) ou n'a pas été copié en entier. Demandez un nouveau lien depuis le site."],
    )
    .respond(StatusCode::BAD_REQUEST)
}

/// `POST /v1/me/erase?token=`: deletes the person's partition and e-mail
/// guard; an audit record without personal data stays.
pub async fn erase(app: &Signup, request: &Request) -> Response<Body> {
    let Some((_, subject)) = verified(app, request) else {
        return erase_refused();
    };
    match erase_person(app, &subject).await {
        Ok(Erasure::Nothing) => erased_before(),
        Ok(Erasure::Done) => Page::new(
            "Vos données ont été effacées.",
            &["Nous ne conservons plus rien qui permette de vous identifier. Vous pouvez refaire une demande à tout moment."],
        )
        .respond(StatusCode::OK),
        Err(_) => Page::unavailable("Nous n'avons pas pu effacer vos données."),
    }
}

/// What stays of an erased person: that an erasure happened, and when.
#[derive(serde::Serialize)]
struct ErasureAudit {
    pk: String,
    sk: String,
    role: Role,
    erased_at: String,
}

/// What an erasure found to erase.
enum Erasure {
    Done,
    /// Erased before: the partition is empty and the audit record there.
    Nothing,
}

#[tracing::instrument(skip_all)]
async fn erase_person(app: &Signup, subject: &SignupSubject) -> Result<Erasure, ApiError> {
    let table = &app.store.table;
    let items = partition(app, &subject.person_id).await?;
    if items.is_empty() && already_erased(app, &subject.person_id).await? {
        return Ok(Erasure::Nothing);
    }
    let profile = Key::person_profile(&subject.person_id);
    // What the person counts at their association leaves with their profile.
    let released = items
        .iter()
        .find(|item| item.get("sk").and_then(|s| s.as_s().ok()) == Some(&profile.sk))
        .and_then(|item| serde_dynamo::from_item::<_, Counted>(item.clone()).ok())
        .and_then(|counted| {
            counted
                .released()
                .map(|(slug, change)| counters_update(table, slug, &change))
        });
    let mut keys: Vec<HashMap<String, AttributeValue>> = items
        .into_iter()
        .map(|item| {
            item.into_iter()
                .filter(|(name, _)| name == "pk" || name == "sk")
                .collect()
        })
        .collect();
    // The profile goes last, with the counters it releases: a retry after a
    // partial erasure releases them once.
    keys.sort_by_key(|key| key == &profile.attributes());
    let audit = Key::erasure_audit(&subject.person_id);
    let audit_item: HashMap<String, AttributeValue> = serde_dynamo::to_item(ErasureAudit {
        pk: audit.pk,
        sk: audit.sk,
        role: subject.role,
        erased_at: timestamp(Utc::now()),
    })
    .map_err(StoreError::from)?;
    // The audit record goes with the last chunk: it says the erasure finished.
    let chunks: Vec<_> = keys.chunks(TRANSACTION_ITEMS - 3).collect();
    for (index, chunk) in chunks.iter().enumerate() {
        let mut writes: Vec<TransactWriteItem> = chunk
            .iter()
            .map(|key| {
                let delete = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key.clone()))
                    .build()
                    .expect("table and key are set");
                TransactWriteItem::builder().delete(delete).build()
            })
            .collect();
        if index + 1 == chunks.len() {
            // The guard, unless a newer sign-up of the address holds it.
            let guard = Delete::builder()
                .table_name(table)
                .set_key(Some(
                    Key::email_guard(&subject.address, subject.role).attributes(),
                ))
                .condition_expression("attribute_not_exists(pk) OR person_id = :person")
                .expression_attribute_values(
                    ":person",
                    AttributeValue::S(subject.person_id.clone()),
                )
                .build()
                .map_err(StoreError::from)?;
            writes.push(TransactWriteItem::builder().delete(guard).build());
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(audit_item.clone()))
                .build()
                .map_err(StoreError::from)?;
            writes.push(TransactWriteItem::builder().put(put).build());
            if let Some(release) = released.clone() {
                writes.push(transact_update(release)?);
            }
        }
        app.store.transact(writes).await.map_err(StoreError::from)?;
    }
    tracing::info!(person = subject.person_id, "personal data erased");
    Ok(Erasure::Done)
}
