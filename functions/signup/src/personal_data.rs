//! The person's rights (GDPR art. 15 and 17): a link by mail to a known
//! address, a JSON export of everything stored about them, and erasure.
//! Links name the person and their address id; nothing here reveals whether
//! an address is known.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{Duration, SecondsFormat, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shared::{
    email::EmailAddress,
    erasure::{self, Erasure, ErasureCause},
    http::{self, ApiError, FieldError},
    mail::{MailContent, OutboxMail},
    pages::{FormButton, Page},
    people::Role,
    retention,
    store::{
        self, Key, StoreError,
        keys::{
            OUTBOX_PREFIX, PAIR_REFERENCE_PREFIX,
            sort::{GUARDIAN, PROFILE, SENSITIVE},
        },
        timestamp, transact_update,
    },
    subject::SignupSubject,
    tokens::Purpose,
};

use crate::Signup;

/// Links to one's data work this long.
pub(crate) const ACCESS_LINK_LIFETIME: Duration = Duration::hours(24);

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

/// Mails the personal-data link to each sign-up of the address, if any.
#[tracing::instrument(skip_all)]
pub(crate) async fn send_links(app: &Signup, email: &EmailAddress) -> Result<(), ApiError> {
    let address = app.keyring.addresses.id_of(email);
    let guards = [Role::Mentee, Role::Mentor].map(|role| Key::email_guard(&address, role));
    let found = app.store.batch_get(&guards, "subject").await?;
    let now = Utc::now();
    let mut writes = Vec::new();
    for guard in &found {
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
                status_url: app.links.api(&format!("/ma-demande?token={token}")),
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

/// `GET /v1/me?token=`: everything stored about the person, as JSON.
pub async fn export(app: &Signup, request: &Request) -> Response<Body> {
    let Some((_, subject)) = verified(app, request) else {
        return invalid_link().respond();
    };
    let items = match erasure::partition(&app.store, &subject.person_id).await {
        Ok(items) => items,
        Err(error) => return ApiError::from(error).respond(),
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
    match erasure::already_erased(&app.store, &subject.person_id).await {
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
    match erasure::erase(&app.store, &subject, ErasureCause::Request, Utc::now()).await {
        Ok(Erasure::Nothing) => erased_before(),
        Ok(Erasure::Done) => Page::new(
            "Vos données ont été effacées.",
            &["Nous ne conservons plus rien qui permette de vous identifier. Vous pouvez refaire une demande à tout moment."],
        )
        .respond(StatusCode::OK),
        Err(_) => Page::unavailable("Nous n'avons pas pu effacer vos données."),
    }
}

/// The person a valid keep link names.
fn keep_link(app: &Signup, request: &Request) -> Option<(String, String)> {
    let token = http::query_parameter(request, "token")?;
    let verified = app
        .keyring
        .tokens
        .verify(&token, Purpose::KeepAccount, Utc::now())
        .ok()?;
    Some((token, verified.subject))
}

fn keep_refused() -> Response<Body> {
    Page::new(
        "Ce lien n'est pas valide.",
        &["Il a peut-être expiré ou n'a pas été copié en entier. Si votre compte existe encore, écrivez à l'association qui vous accompagne : elle peut le garder pour vous."],
    )
    .respond(StatusCode::BAD_REQUEST)
}

/// `GET /v1/me/keep?token=`: the warned person keeps their account with a
/// button; opening the link changes nothing.
pub fn keep_page(app: &Signup, request: &Request) -> Response<Body> {
    let Some((token, _)) = keep_link(app, request) else {
        return keep_refused();
    };
    Page::new(
        "Garder mon compte",
        &["Votre compte binome n'a pas servi depuis longtemps et va être supprimé. Vous pouvez le garder : nous vous écrirons de nouveau avant toute suppression."],
    )
    .with_form(FormButton {
        action: app.links.api(&format!("/v1/me/keep?token={token}")),
        label: "Garder mon compte".into(),
        hidden: Vec::new(),
        secondary: false,
    })
    .respond(StatusCode::OK)
}

/// `POST /v1/me/keep?token=`: the account counts as active from now; its
/// retention period starts again and the warning is withdrawn.
pub async fn keep(app: &Signup, request: &Request) -> Response<Body> {
    let Some((_, person_id)) = keep_link(app, request) else {
        return keep_refused();
    };
    match keep_account(app, &person_id).await {
        Ok(true) => Page::new(
            "Votre compte est conservé.",
            &["Merci ! Nous vous écrirons de nouveau avant toute suppression."],
        )
        .respond(StatusCode::OK),
        Ok(false) => Page::new(
            "Ce compte n'existe plus.",
            &["Il a été supprimé, avec toutes ses données. Vous pouvez refaire une demande à tout moment depuis le site."],
        )
        .respond(StatusCode::GONE),
        Err(error) => {
            tracing::error!(%error, "keeping an account failed");
            Page::unavailable("Nous n'avons pas pu garder votre compte.")
        }
    }
}

/// `false` when the account is gone already.
#[tracing::instrument(skip_all)]
async fn keep_account(app: &Signup, person_id: &str) -> Result<bool, StoreError> {
    let now = Utc::now();
    let at = AttributeValue::S(timestamp(now));
    let profile = Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(Key::person_profile(person_id).attributes()))
        .update_expression("SET last_active_at = :now")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":now", at);
    let retention = Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(Key::person_retention(person_id).attributes()))
        .update_expression("SET due_sk = :next REMOVE warned_at")
        // Too late once the erasure has claimed the account.
        .condition_expression("attribute_exists(pk) AND attribute_not_exists(erasing_at)")
        .expression_attribute_values(
            ":next",
            AttributeValue::S(timestamp(now + retention::FIRST_LOOK_AFTER)),
        );
    let writes = vec![transact_update(profile)?, transact_update(retention)?];
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(person = person_id, "account kept");
            Ok(true)
        }
        Err(error) if store::first_condition_failed(&error) => Ok(false),
        Err(error) => Err(error.into()),
    }
}
