//! Verification: the person's address (`GET /v1/verify`), and for a mentee
//! under 15 the guardian's consent (`GET` page, `POST` agreement). A sign-up
//! becomes `verified` — what routing picks up from the stream — once both
//! are there: one transaction marks the profile verified and keeps its items
//! (their expiry removed). When the other half is still missing, a second
//! write records the half that is done.

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use shared::{
    consent::Consent,
    http,
    pages::{FormButton, Page},
    people::Role,
    retention::RetentionItem,
    store::{self, Key, StoreError, keys::sort::GUARDIAN},
    subject::SignupSubject,
    tokens::{Purpose, TokenError},
};

use crate::Signup;

pub const CONSENT_TEXT_GUARDIAN: &str = "guardian-2026-11";

/// Which half of the verification a link gives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Half {
    Address,
    Guardian,
}

enum Outcome {
    /// Both halves are there: the sign-up is verified.
    Verified(Role),
    /// This half is recorded; the other is awaited.
    Waiting(Half),
    AlreadyVerified(Role),
    /// Unknown, expired or erased.
    Gone,
}

fn subject(
    app: &Signup,
    request: &Request,
    purpose: Purpose,
) -> Result<(String, SignupSubject), StatusCode> {
    let token = http::query_parameter(request, "token").unwrap_or_default();
    match app.keyring.tokens.verify(&token, purpose, Utc::now()) {
        Ok(verified) => SignupSubject::decode(&verified.subject)
            .map(|subject| (token, subject))
            .ok_or(StatusCode::BAD_REQUEST),
        Err(TokenError::Expired) => Err(StatusCode::GONE),
        Err(_) => Err(StatusCode::BAD_REQUEST),
    }
}

fn link_refused(status: StatusCode, app: &Signup) -> Response<Body> {
    let reason = if status == StatusCode::GONE {
        "Ce lien a expiré, ou la demande a été effacée : une demande non confirmée est effacée au bout de 7 jours."
    } else {
        "Ce lien n'est pas valide. Vérifiez qu'il a été copié en entier."
    };
    Page::new(
        "Nous n'avons pas pu confirmer cette demande.",
        &[
            reason,
            "Vous pouvez refaire une demande : elle ne prend que quelques minutes.",
        ],
    )
    .with_link(app.links.site("/"), "Refaire une demande")
    .respond(status)
}

fn next_steps(role: Role) -> &'static str {
    match role {
        Role::Mentee => {
            "Votre demande va être transmise à l'association du réseau la plus adaptée à vos besoins. Elle vous contactera par e-mail ou par téléphone."
        }
        Role::Mentor => {
            "Une association du réseau va vous contacter pour vous présenter le mentorat, puis vous proposer un ou une jeune à accompagner."
        }
    }
}

fn outcome_page(app: &Signup, outcome: Result<Outcome, http::ApiError>) -> Response<Body> {
    match outcome {
        Ok(Outcome::Verified(role) | Outcome::AlreadyVerified(role)) => {
            Page::new("Votre demande est confirmée.", &[next_steps(role)]).respond(StatusCode::OK)
        }
        Ok(Outcome::Waiting(Half::Address)) => Page::new(
            "Votre adresse est confirmée.",
            &[
                "Il manque encore l'accord de votre parent ou responsable légal : nous lui avons écrit.",
                "Dès qu'il ou elle aura donné son accord, votre demande sera transmise à une association.",
            ],
        )
        .respond(StatusCode::OK),
        Ok(Outcome::Waiting(Half::Guardian)) => Page::new(
            "Merci, votre accord est enregistré.",
            &["La demande avancera dès que le ou la jeune aura confirmé sa propre adresse e-mail, avec le lien que nous lui avons envoyé."],
        )
        .respond(StatusCode::OK),
        Ok(Outcome::Gone) => link_refused(StatusCode::GONE, app),
        Err(_) => Page::unavailable("Nous n'avons pas pu confirmer cette demande."),
    }
}

pub async fn address(app: &Signup, request: &Request) -> Response<Body> {
    match subject(app, request, Purpose::SignupVerify) {
        Ok((_, subject)) => outcome_page(
            app,
            complete(app, &subject, Half::Address, Utc::now()).await,
        ),
        Err(status) => link_refused(status, app),
    }
}

pub fn guardian_page(app: &Signup, request: &Request) -> Response<Body> {
    let token = match subject(app, request, Purpose::GuardianConsent) {
        Ok((token, _)) => token,
        Err(status) => return link_refused(status, app),
    };
    Page::new(
        "Accord du responsable légal",
        &[
            "Un jeune dont vous êtes responsable a demandé à être accompagné par un mentor bénévole du réseau binome : une personne en activité, formée par une association, qui le ou la rencontre environ 3 heures par mois pour l'aider dans sa scolarité, son orientation ou son projet.",
            "En donnant votre accord, vous acceptez que l'association choisie reçoive les informations de la demande et mette le jeune en relation avec un mentor. Vous pourrez retirer cet accord et faire effacer ces informations à tout moment.",
        ],
    )
    .with_form(FormButton {
        action: app.links.api(&format!("/v1/guardian/consent?token={token}")),
        label: "Je donne mon accord".into(),
        hidden: Vec::new(),
        secondary: false,
    })
    .respond(StatusCode::OK)
}

pub async fn guardian_consent(app: &Signup, request: &Request) -> Response<Body> {
    match subject(app, request, Purpose::GuardianConsent) {
        Ok((_, subject)) if subject.has_guardian => outcome_page(
            app,
            complete(app, &subject, Half::Guardian, Utc::now()).await,
        ),
        Ok(_) => link_refused(StatusCode::BAD_REQUEST, app),
        Err(status) => link_refused(status, app),
    }
}

fn text(now: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(now.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn update(table: &str, key: &Key) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder()
        .table_name(table)
        .set_key(Some(key.attributes()))
}

/// The attribute a half sets on the profile.
fn done_attribute(half: Half) -> &'static str {
    match half {
        Half::Address => "email_verified_at",
        Half::Guardian => "guardian_consent_at",
    }
}

/// Tries to finish the verification with this half (one transaction); when
/// the other half is missing, records this one alone.
#[tracing::instrument(skip_all)]
async fn complete(
    app: &Signup,
    subject: &SignupSubject,
    half: Half,
    now: DateTime<Utc>,
) -> Result<Outcome, http::ApiError> {
    let table = &app.store.table;
    let other = match half {
        Half::Address => {
            "(attribute_not_exists(guardian_required) OR guardian_required = :false OR attribute_exists(guardian_consent_at))"
        }
        Half::Guardian => "attribute_exists(email_verified_at)",
    };
    let pending = "#status = :pending AND #ttl > :now";
    let profile = update(table, &subject.profile())
        .update_expression(format!(
            "SET #status = :verified, verified_at = :at, last_active_at = :at, {} = :at REMOVE #ttl, due_pk, due_sk",
            done_attribute(half)
        ))
        .condition_expression(format!("{pending} AND {other}"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":pending", AttributeValue::S("pending_verification".into()))
        .expression_attribute_values(":verified", AttributeValue::S("verified".into()))
        .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
        .expression_attribute_values(":at", text(now));
    let profile = if half == Half::Address {
        profile.expression_attribute_values(":false", AttributeValue::Bool(false))
    } else {
        profile
    };
    // From now on the account is kept while it serves (`shared::retention`).
    let retention = Put::builder()
        .table_name(table)
        .set_item(Some(
            serde_dynamo::to_item(RetentionItem::new(&subject.person_id, now))
                .map_err(StoreError::from)?,
        ))
        .build()
        .map_err(StoreError::from)?;
    let mut writes = vec![
        TransactWriteItem::builder()
            .update(profile.build().map_err(StoreError::from)?)
            .build(),
        TransactWriteItem::builder().put(retention).build(),
    ];
    for key in subject.dependents() {
        let mut keep = update(table, &key)
            .update_expression("REMOVE #ttl")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#ttl", "ttl");
        if key.sk == GUARDIAN && half == Half::Guardian {
            keep = keep
                .update_expression("SET consent = :consent REMOVE #ttl")
                .expression_attribute_values(":consent", guardian_consent_record(now));
        }
        writes.push(
            TransactWriteItem::builder()
                .update(keep.build().map_err(StoreError::from)?)
                .build(),
        );
    }
    let error = match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(person = subject.person_id, role = ?subject.role, "sign-up verified");
            return Ok(Outcome::Verified(subject.role));
        }
        Err(error) => error,
    };
    let Some(profile) = store::cancellation_reasons(&error)
        .and_then(<[_]>::first)
        .filter(|reason| store::is_condition_failure(reason))
        .map(|reason| reason.item().cloned().unwrap_or_default())
    else {
        return Err(StoreError::from(error).into());
    };
    let status = profile
        .get("status")
        .and_then(|s| s.as_s().ok())
        .map(String::as_str);
    let expired = profile
        .get("ttl")
        .and_then(|t| t.as_n().ok())
        .and_then(|t| t.parse::<i64>().ok())
        .is_some_and(|ttl| ttl <= now.timestamp());
    match status {
        Some("verified") => Ok(Outcome::AlreadyVerified(subject.role)),
        Some("pending_verification") if !expired => record_half(app, subject, half, now).await,
        _ => Ok(Outcome::Gone),
    }
}

/// The guardian's consent record, as stored on the guardian item.
fn guardian_consent_record(now: DateTime<Utc>) -> AttributeValue {
    serde_dynamo::to_attribute_value(Consent::given(now, CONSENT_TEXT_GUARDIAN, None))
        .expect("a consent maps to an attribute")
}

/// Records one half while the other is awaited (the sign-up stays pending).
#[tracing::instrument(skip_all)]
async fn record_half(
    app: &Signup,
    subject: &SignupSubject,
    half: Half,
    now: DateTime<Utc>,
) -> Result<Outcome, http::ApiError> {
    let table = &app.store.table;
    let profile = update(table, &subject.profile())
        .update_expression(format!("SET {} = :at", done_attribute(half)))
        .condition_expression("#status = :pending AND #ttl > :now")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":pending", AttributeValue::S("pending_verification".into()))
        .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
        .expression_attribute_values(":at", text(now))
        .build()
        .map_err(StoreError::from)?;
    let mut writes = vec![TransactWriteItem::builder().update(profile).build()];
    if half == Half::Guardian {
        let guardian = update(table, &Key::person_guardian(&subject.person_id))
            .update_expression("SET consent = :consent")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":consent", guardian_consent_record(now))
            .build()
            .map_err(StoreError::from)?;
        writes.push(TransactWriteItem::builder().update(guardian).build());
    }
    match app.store.transact(writes).await {
        Ok(_) => Ok(Outcome::Waiting(half)),
        // The other link was followed at the same moment: verified, or gone.
        Err(error) if store::cancellation_reasons(&error).is_some() => {
            let verified = store::cancellation_reasons(&error)
                .and_then(<[_]>::first)
                .and_then(|reason| reason.item())
                .and_then(|item| item.get("status"))
                .is_some_and(|status| status.as_s().is_ok_and(|s| s == "verified"));
            Ok(if verified {
                Outcome::AlreadyVerified(subject.role)
            } else {
                Outcome::Gone
            })
        }
        Err(error) => Err(StoreError::from(error).into()),
    }
}
