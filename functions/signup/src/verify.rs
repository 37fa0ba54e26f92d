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
    AlreadyVerified,
    /// The guardian refused: the request goes no further.
    Refused,
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
    .with_link(app.links.api("/demande"), "Refaire une demande")
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

fn outcome_page(
    app: &Signup,
    half: Half,
    outcome: Result<Outcome, http::ApiError>,
) -> Response<Body> {
    match outcome {
        Ok(Outcome::Verified(_)) if half == Half::Guardian => Page::new(
            "Merci, votre accord est enregistré.",
            &["La demande est confirmée : elle va être transmise à l'association du réseau la plus adaptée, qui prendra contact avec le ou la jeune. Vous pourrez retirer votre accord à tout moment en écrivant à l'association."],
        )
        .respond(StatusCode::OK),
        Ok(Outcome::Verified(role)) => {
            Page::new("Votre demande est confirmée.", &[next_steps(role)])
                .with_link(app.links.api("/ma-demande"), "Où en est ma demande ?")
                .respond(StatusCode::OK)
        }
        Ok(Outcome::AlreadyVerified) if half == Half::Guardian => Page::new(
            "La demande est déjà confirmée avec votre accord.",
            &["Elle a été transmise à une association du réseau. Pour retirer votre accord, écrivez à cette association (son adresse est dans les e-mails envoyés au ou à la jeune) : elle arrêtera l'accompagnement et fera effacer les informations."],
        )
        .respond(StatusCode::OK),
        Ok(Outcome::AlreadyVerified) => Page::new(
            "Votre demande est déjà confirmée.",
            &["Vous n'avez rien d'autre à faire : vous pouvez suivre où elle en est."],
        )
        .with_link(app.links.api("/ma-demande"), "Où en est ma demande ?")
        .respond(StatusCode::OK),
        Ok(Outcome::Refused) if half == Half::Guardian => Page::new(
            "Votre refus est enregistré.",
            &["La demande ne sera pas transmise. Nous avons prévenu le ou la jeune ; ses informations seront effacées d'ici 7 jours."],
        )
        .respond(StatusCode::OK),
        Ok(Outcome::Refused) => Page::new(
            "Votre demande ne peut pas aller plus loin.",
            &["Votre parent ou responsable légal n'a pas donné son accord : la demande ne sera pas transmise. Parlez-en ensemble ; vous pourrez refaire une demande à tout moment."],
        )
        .with_link(app.links.api("/demande"), "Refaire une demande")
        .respond(StatusCode::OK),
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

#[utoipa::path(
    get,
    path = "/v1/verify",
    tag = "inscription",
    operation_id = "signup_verify_address",
    summary = "Confirmer son adresse e-mail",
    description = "Le lien envoyé à l'inscription (valable 7 jours) confirme l'adresse et répond par une page. La demande est confirmée, puis transmise, dès que l'adresse l'est et, avant 15 ans, que le responsable légal a donné son accord. Suivre le lien de nouveau ne change rien.",
    params(
        ("token" = String, Query, description = "Jeton signé reçu dans l'e-mail de confirmation."),
    ),
    responses(
        (status = 200, description = "Page : demande confirmée, déjà confirmée, en attente de l'accord du responsable légal, ou arrêtée par son refus.", content_type = "text/html", body = String),
        (status = 400, description = "Page : lien absent, incomplet ou invalide.", content_type = "text/html", body = String),
        (status = 410, description = "Page : lien expiré, ou demande effacée (non confirmée à temps, ou à la demande de la personne).", content_type = "text/html", body = String),
        (status = 503, description = "Stockage momentanément indisponible : page d'erreur, avec l'en-tête `Retry-After`.", content_type = "text/html", body = String),
    )
)]
pub async fn address(app: &Signup, request: &Request) -> Response<Body> {
    match subject(app, request, Purpose::SignupVerify) {
        Ok((_, subject)) => outcome_page(
            app,
            Half::Address,
            complete(app, &subject, Half::Address, Utc::now()).await,
        ),
        Err(status) => link_refused(status, app),
    }
}

/// What the guardian's pages read of the young person's request.
#[derive(serde::Deserialize)]
struct Child {
    first_name: String,
}

#[tracing::instrument(skip_all)]
async fn child(app: &Signup, subject: &SignupSubject) -> Result<Option<Child>, StoreError> {
    let item = app
        .store
        .client
        .get_item()
        .table_name(&app.store.table)
        .set_key(Some(subject.profile().attributes()))
        .projection_expression("first_name")
        .consistent_read(true)
        .send()
        .await?
        .item;
    Ok(item.map(serde_dynamo::from_item).transpose()?)
}

#[utoipa::path(
    get,
    path = "/v1/guardian/consent",
    tag = "inscription",
    operation_id = "signup_guardian_consent_page",
    summary = "Lire la demande d'accord du responsable légal",
    description = "Le responsable légal d'un ou une jeune de moins de 15 ans ouvre le lien reçu par e-mail (valable 7 jours) : la page dit à quoi il ou elle consent, avec deux boutons, « J'accepte » et « Je refuse ». L'ouvrir ne change rien.",
    params(
        ("token" = String, Query, description = "Jeton signé reçu dans l'e-mail envoyé au responsable légal."),
    ),
    responses(
        (status = 200, description = "Page avec les deux boutons.", content_type = "text/html", body = String),
        (status = 400, description = "Page : lien absent, incomplet ou invalide.", content_type = "text/html", body = String),
        (status = 410, description = "Page : lien expiré, ou demande effacée.", content_type = "text/html", body = String),
        (status = 503, description = "Stockage momentanément indisponible : page d'erreur, avec l'en-tête `Retry-After`.", content_type = "text/html", body = String),
    )
)]
/// `GET /v1/guardian/consent?token=`: what the guardian agrees to, for the
/// child named, with « J'accepte » and « Je refuse »; opening it changes nothing.
pub async fn guardian_page(app: &Signup, request: &Request) -> Response<Body> {
    let (token, subject) = match subject(app, request, Purpose::GuardianConsent) {
        Ok(found) => found,
        Err(status) => return link_refused(status, app),
    };
    let first_name = match child(app, &subject).await {
        Ok(Some(child)) => child.first_name,
        Ok(None) => return link_refused(StatusCode::GONE, app),
        Err(_) => return Page::unavailable("Nous n'avons pas pu ouvrir cette page."),
    };
    let action = |answer: &str| {
        app.links.api(&format!(
            "/v1/guardian/consent?token={token}&answer={answer}"
        ))
    };
    Page::new(
        format!("{first_name} demande un mentor : votre accord"),
        &[
            &format!("{first_name}, dont vous êtes responsable, a demandé à être accompagné·e par un mentor bénévole du réseau binome : une personne en activité, formée par une association, qui le ou la rencontre environ 3 heures par mois pour l'aider dans sa scolarité, son orientation ou son projet."),
            &format!("En acceptant, vous permettez que l'association choisie reçoive les informations de la demande et mette {first_name} en relation avec un mentor. Vous pourrez retirer cet accord et faire effacer ces informations à tout moment."),
            "Si vous refusez, la demande s'arrête là et ses informations sont effacées d'ici 7 jours.",
        ],
    )
    .with_form(FormButton {
        action: action("accept"),
        label: "J'accepte".into(),
        hidden: Vec::new(),
        secondary: false,
    })
    .with_form(FormButton {
        action: action("refuse"),
        label: "Je refuse".into(),
        hidden: Vec::new(),
        secondary: true,
    })
    .respond(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/v1/guardian/consent",
    tag = "inscription",
    operation_id = "signup_guardian_consent_answer",
    summary = "Accepter ou refuser, pour le responsable légal",
    description = "Le bouton de la page : le responsable légal accepte le mentorat (la demande est confirmée si l'adresse du ou de la jeune l'est aussi) ou le refuse (la demande s'arrête, le ou la jeune est prévenu·e, ses informations sont effacées d'ici 7 jours). Le corps de la requête, s'il y en a un, est ignoré. Répondre de nouveau ne change rien.",
    params(
        ("token" = String, Query, description = "Jeton signé reçu dans l'e-mail envoyé au responsable légal."),
        ("answer" = Option<String>, Query, pattern = "^(accept|refuse)$", description = "`accept` (par défaut) ou `refuse`."),
    ),
    responses(
        (status = 200, description = "Page : accord enregistré (demande confirmée, ou en attente de la confirmation de l'adresse du ou de la jeune), demande déjà confirmée, ou refus enregistré.", content_type = "text/html", body = String),
        (status = 400, description = "Page : lien absent, incomplet ou invalide, lien d'une demande sans responsable légal, ou `answer` autre que `accept` ou `refuse`.", content_type = "text/html", body = String),
        (status = 410, description = "Page : lien expiré, ou demande effacée.", content_type = "text/html", body = String),
        (status = 503, description = "Stockage momentanément indisponible : page d'erreur, avec l'en-tête `Retry-After`.", content_type = "text/html", body = String),
    )
)]
/// `POST /v1/guardian/consent?token=&answer=accept|refuse`
pub async fn guardian_consent(app: &Signup, request: &Request) -> Response<Body> {
    // The page's two buttons; a form from before the refusal existed posts no answer.
    let refused = match http::query_parameter(request, "answer").as_deref() {
        None | Some("accept") => false,
        Some("refuse") => true,
        Some(_) => return link_refused(StatusCode::BAD_REQUEST, app),
    };
    match subject(app, request, Purpose::GuardianConsent) {
        Ok((_, subject)) if subject.has_guardian => {
            let now = Utc::now();
            let outcome = if refused {
                refuse(app, &subject, now).await
            } else {
                complete(app, &subject, Half::Guardian, now).await
            };
            outcome_page(app, Half::Guardian, outcome)
        }
        Ok(_) => link_refused(StatusCode::BAD_REQUEST, app),
        Err(status) => link_refused(status, app),
    }
}

/// The guardian refuses: the request stops (it expires with its 7-day
/// expiry), the address may ask again, and the young person is told.
#[tracing::instrument(skip_all)]
async fn refuse(
    app: &Signup,
    subject: &SignupSubject,
    now: DateTime<Utc>,
) -> Result<Outcome, http::ApiError> {
    let table = &app.store.table;
    let Some(child) = child(app, subject).await? else {
        return Ok(Outcome::Gone);
    };
    let profile = update(table, &subject.profile())
        // Also after an agreement, as long as the request is not verified.
        .update_expression(
            "SET guardian_refused_at = :at REMOVE due_pk, due_sk, guardian_consent_at",
        )
        .condition_expression("#status = :pending AND attribute_not_exists(guardian_refused_at)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":pending", AttributeValue::S("pending_verification".into()))
        .expression_attribute_values(":at", text(now))
        .build()
        .map_err(StoreError::from)?;
    // The address may ask again at once.
    let guard = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(table)
        .set_key(Some(
            Key::email_guard(&subject.address, subject.role).attributes(),
        ))
        .condition_expression("attribute_not_exists(pk) OR person_id = :person")
        .expression_attribute_values(":person", AttributeValue::S(subject.person_id.clone()))
        .build()
        .map_err(StoreError::from)?;
    let told = shared::mail::OutboxMail::new(
        subject.profile(),
        shared::mail::MailContent::GuardianRefused {
            first_name: child.first_name,
        },
        now,
    )
    .transact_put(table)?;
    let writes = vec![
        TransactWriteItem::builder().update(profile).build(),
        TransactWriteItem::builder().delete(guard).build(),
        told,
    ];
    let error = match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(person = subject.person_id, "guardian refused");
            return Ok(Outcome::Refused);
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
    let status = profile.get("status").and_then(|s| s.as_s().ok());
    Ok(if profile.contains_key("guardian_refused_at") {
        Outcome::Refused
    } else if status.is_some_and(|s| s == "verified") {
        Outcome::AlreadyVerified
    } else {
        Outcome::Gone
    })
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
    let pending =
        "#status = :pending AND #ttl > :now AND attribute_not_exists(guardian_refused_at)";
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
    if profile.contains_key("guardian_refused_at") {
        return Ok(Outcome::Refused);
    }
    match status {
        Some("verified") => Ok(Outcome::AlreadyVerified),
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
                Outcome::AlreadyVerified
            } else {
                Outcome::Gone
            })
        }
        Err(error) => Err(StoreError::from(error).into()),
    }
}
