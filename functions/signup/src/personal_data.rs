//! The person's rights (GDPR art. 15 and 17): a link by mail to a known
//! address, a JSON export of everything stored about them, and erasure.
//! Links name the person and their address id; nothing here reveals whether
//! an address is known.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{Duration, SecondsFormat, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
/// L'adresse à laquelle envoyer le lien vers ses données.
#[schema(as = PersonalDataLinkRequest)]
pub struct LinkRequest {
    /// Adresse e-mail donnée à l'inscription ; le domaine doit contenir un point.
    #[schema(format = Email, max_length = 254, examples("ines.benali@exemple.fr"))]
    email: String,
}

/// The answer to `POST /v1/me/link`, the same whether the address is known or not.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "La même réponse, que l'adresse soit connue ou non : si elle l'est, un e-mail part avec les liens vers ses données (valables 24 heures).", as = PersonalDataLinkRequested)]
pub struct LinkRequested {
    /// Message à montrer à la personne.
    #[schema(examples(
        "Si cette adresse est connue, un e-mail avec un lien vers vos données vient d'y être envoyé."
    ))]
    message: &'static str,
}

#[utoipa::path(
    post,
    path = "/v1/me/link",
    tag = "donnees-personnelles",
    operation_id = "signup_me_link",
    summary = "Recevoir un lien vers ses données",
    description = "Envoie à l'adresse donnée, si elle a une demande ou une inscription, un e-mail avec les liens pour suivre sa demande, télécharger ses données (`GET /v1/me`) et les effacer (`/v1/me/erase`), valables 24 heures. La réponse est la même, et prend au moins le même temps, que l'adresse soit connue ou non.",
    request_body(content = LinkRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Demande reçue ; un e-mail part si l'adresse est connue.", body = LinkRequested),
        (status = 400, description = "Corps invalide : JSON mal formé (`malformed_json`), champ inconnu (`unknown_field`), `email` absent (`missing_field`) ou du mauvais type (`invalid_type`), adresse invalide (`invalid_fields`).", body = shared::http::ApiError),
    )
)]
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
            &LinkRequested {
                message: "Si cette adresse est connue, un e-mail avec un lien vers vos données vient d'y être envoyé.",
            },
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

#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "donnees-personnelles",
    operation_id = "signup_me_export",
    summary = "Télécharger ses données",
    description = "Tout ce que le réseau conserve sur la personne du lien (RGPD, article 15), en un fichier JSON à télécharger : son profil, ses données sensibles et son responsable légal s'il y en a, l'orientation de sa demande, les e-mails envoyés, ses binômes. Le lien vient de `POST /v1/me/link` et vaut 24 heures.",
    params(
        ("token" = String, Query, description = "Jeton signé reçu dans l'e-mail « Votre demande et vos données »."),
    ),
    responses(
        (status = 200, description = "Les données, en pièce jointe `mes-donnees-binome.json`.", body = PersonalDataExport,
            headers(("content-disposition" = String, description = "`attachment; filename=\"mes-donnees-binome.json\"`"))),
        (status = 400, description = "Lien absent, invalide ou expiré (`invalid_link`).", body = shared::http::ApiError),
        (status = 404, description = "Plus aucune donnée n'est liée à ce lien, par exemple après un effacement (`no_data`).", body = shared::http::ApiError),
    )
)]
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
    let mut export = PersonalDataExport::default();
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
            export.pairs.push(value);
            continue;
        }
        if sort_key.starts_with(OUTBOX_PREFIX) {
            export.mails.push(ExportedMail {
                template: value.get("mail").and_then(|m| m.get("template")).cloned(),
                status: value.get("status").cloned(),
                created_at: value.get("created_at").cloned(),
            });
            continue;
        }
        // Index keys are the table's bookkeeping, not data about the person.
        for internal in ["assoc_pk", "assoc_sk", "due_pk", "due_sk", "signup_subject"] {
            value.remove(internal);
        }
        if let Some(routing) = value.remove("routing") {
            export.routing = Some(routing);
        }
        match sort_key.as_str() {
            PROFILE => export.profile = Some(value),
            SENSITIVE => export.sensitive_data = Some(value),
            GUARDIAN => export.guardian = Some(value),
            other => {
                export
                    .other
                    .insert(other.to_lowercase(), Value::Object(value));
            }
        }
    }
    export.exported_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut response = http::json(StatusCode::OK, &export);
    response.headers_mut().insert(
        "content-disposition",
        "attachment; filename=\"mes-donnees-binome.json\""
            .parse()
            .expect("a static header value"),
    );
    response
}

/// What `GET /v1/me` answers: one section per item of the person's
/// partition (named from its sort key), their mails and pairs.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[schema(
    description = "Tout ce qui est conservé sur la personne. Chaque section est l'enregistrement tel qu'il est stocké, sans les clés internes de la base. D'autres sections peuvent s'ajouter, nommées d'après l'enregistrement (par exemple `retention`, la date du prochain examen de la durée de conservation)."
)]
pub struct PersonalDataExport {
    /// Le profil : coordonnées, situation, besoins ou compétences, consentements, statut de la demande. Absent quand il n'existe plus, par exemple pour une demande non confirmée à temps (les e-mails restent).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    profile: Option<Map<String, Value>>,
    /// Les données sensibles (`refugie`, `handicap`) et leur consentement, s'il y en a.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    sensitive_data: Option<Map<String, Value>>,
    /// Le responsable légal d'un ou une jeune de moins de 15 ans, et son accord, s'il y en a un.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    guardian: Option<Map<String, Value>>,
    /// L'orientation de la demande vers une association et ses raisons ; `null` tant qu'elle n'a pas été orientée.
    #[schema(value_type = Option<Object>)]
    routing: Option<Value>,
    /// Les e-mails envoyés ou à envoyer à la personne (sans leur contenu).
    mails: Vec<ExportedMail>,
    /// Les binômes dont la personne fait ou a fait partie.
    #[schema(value_type = Vec<Object>)]
    pairs: Vec<Map<String, Value>>,
    /// Date et heure de l'export (UTC, RFC 3339).
    #[schema(format = DateTime, examples("2026-11-26T10:15:00Z"))]
    exported_at: String,
    /// Une autre section, nommée d'après son enregistrement.
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// One mail of the export: what it was, where it stands, not its content.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Un e-mail envoyé ou à envoyer à la personne, sans son contenu.", as = PersonalDataMail)]
pub struct ExportedMail {
    /// Le modèle de l'e-mail, par exemple `signup_verification`.
    #[schema(value_type = Option<String>, examples("signup_verification"))]
    template: Option<Value>,
    /// Où en est l'envoi : `queued`, `sending`, `sent`, `dropped` (destinataire disparu), `suppressed` (adresse en échec ou plainte) ou `failed`.
    #[schema(value_type = Option<String>, examples("sent"))]
    status: Option<Value>,
    /// Date et heure de création (UTC, RFC 3339).
    #[schema(value_type = Option<String>, format = DateTime)]
    created_at: Option<Value>,
}

#[utoipa::path(
    get,
    path = "/v1/me/erase",
    tag = "donnees-personnelles",
    operation_id = "signup_me_erase_page",
    summary = "Page d'effacement de ses données",
    description = "Le lien d'effacement reçu par e-mail ouvre une page qui dit ce qui sera effacé, avec un bouton qui envoie `POST /v1/me/erase`. L'ouvrir ne change rien.",
    params(
        ("token" = String, Query, description = "Jeton signé reçu dans l'e-mail « Votre demande et vos données » (valable 24 heures)."),
    ),
    responses(
        (status = 200, description = "Page avec le bouton d'effacement, ou page disant que les données sont déjà effacées.", content_type = "text/html", body = String),
        (status = 400, description = "Page : lien absent, invalide ou expiré.", content_type = "text/html", body = String),
        (status = 503, description = "Stockage momentanément indisponible : page d'erreur, avec l'en-tête `Retry-After`.", content_type = "text/html", body = String),
    )
)]
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

#[utoipa::path(
    post,
    path = "/v1/me/erase",
    tag = "donnees-personnelles",
    operation_id = "signup_me_erase",
    summary = "Effacer ses données",
    description = "Efface définitivement tout ce qui est conservé sur la personne du lien (RGPD, article 17) : sa demande, ses coordonnées, ses e-mails ; si un mentorat est en cours, l'association et le binôme ne voient plus ses informations. Seule reste une trace de l'effacement, sans donnée personnelle. Le corps de la requête, s'il y en a un, est ignoré. Recommencer ne change rien.",
    params(
        ("token" = String, Query, description = "Jeton signé reçu dans l'e-mail « Votre demande et vos données » (valable 24 heures)."),
    ),
    responses(
        (status = 200, description = "Page : données effacées, ou déjà effacées.", content_type = "text/html", body = String),
        (status = 400, description = "Page : lien absent, invalide ou expiré.", content_type = "text/html", body = String),
        (status = 503, description = "Stockage momentanément indisponible : page d'erreur, avec l'en-tête `Retry-After`.", content_type = "text/html", body = String),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/me/keep",
    tag = "donnees-personnelles",
    operation_id = "signup_me_keep_page",
    summary = "Page pour garder son compte",
    description = "Un compte qui n'a pas servi depuis longtemps est supprimé après un avertissement par e-mail. Le lien de cet e-mail ouvre une page avec un bouton « Garder mon compte », qui envoie `POST /v1/me/keep`. L'ouvrir ne change rien.",
    params(
        ("token" = String, Query, description = "Jeton signé reçu dans l'e-mail prévenant de la suppression du compte."),
    ),
    responses(
        (status = 200, description = "Page avec le bouton.", content_type = "text/html", body = String),
        (status = 400, description = "Page : lien absent, invalide ou expiré.", content_type = "text/html", body = String),
    )
)]
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

#[utoipa::path(
    post,
    path = "/v1/me/keep",
    tag = "donnees-personnelles",
    operation_id = "signup_me_keep",
    summary = "Garder son compte",
    description = "Le compte compte comme actif à partir de maintenant : sa durée de conservation repart de zéro et l'avertissement est retiré. Le corps de la requête, s'il y en a un, est ignoré.",
    params(
        ("token" = String, Query, description = "Jeton signé reçu dans l'e-mail prévenant de la suppression du compte."),
    ),
    responses(
        (status = 200, description = "Page : compte conservé.", content_type = "text/html", body = String),
        (status = 400, description = "Page : lien absent, invalide ou expiré.", content_type = "text/html", body = String),
        (status = 410, description = "Page : le compte a déjà été supprimé.", content_type = "text/html", body = String),
        (status = 503, description = "Stockage momentanément indisponible : page d'erreur, avec l'en-tête `Retry-After`.", content_type = "text/html", body = String),
    )
)]
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
