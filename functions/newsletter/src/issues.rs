//! The network admins' newsletter issues (admin key): drafts, preview, test
//! sends, and the commands that start, pause, resume or cancel the sending,
//! which the `campaigns` function carries out.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    campaign::{self, CampaignStatus, Command, Counts, Draft, MAX_TEST_RECIPIENTS},
    campaign_store::{self, CampaignItem},
    email::EmailAddress,
    http::{self, ApiError, FieldError},
    mail::{IssueMail, MailContent, OutboxMail},
    store::{Key, StoreError},
};

use crate::Newsletter;

/// A test recipient's address is kept this long, then expired.
const TEST_RECIPIENT_LIFETIME: Duration = Duration::days(1);

/// A campaign as admins read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Une lettre d'information, telle que les administrateurs la lisent : contenu, état et chiffres.", as = NewsletterIssue)]
struct View {
    /// L'identifiant de la lettre (12 chiffres hexadécimaux).
    #[schema(example = "0a1b2c3d4e5f")]
    id: String,
    /// Le chemin de sa version web : l'objet en minuscules sans accent, puis l'identifiant.
    #[schema(example = "lettre-de-decembre-0a1b2c3d4e5f")]
    slug: String,
    /// Brouillon (`draft`), programmée (`scheduled`, en attente de `send_at`), en cours d'envoi
    /// (`sending`), en pause (`paused`), annulée (`cancelled`) ou envoyée (`sent` : chaque
    /// destinataire a un résultat).
    status: CampaignStatus,
    /// L'objet de l'e-mail.
    subject: String,
    /// Le texte d'aperçu affiché après l'objet par les messageries ; `null` sans aperçu.
    #[schema(required = true)]
    preheader: Option<String>,
    /// Le contenu, en Markdown (CommonMark, tableaux, texte barré).
    body_markdown: String,
    /// L'adresse de la version web (visible des lecteurs une fois l'envoi commencé).
    web_url: String,
    /// Création du brouillon.
    created_at: DateTime<Utc>,
    /// Dernière modification (contenu ou état).
    updated_at: DateTime<Utc>,
    /// L'heure d'envoi programmée ; `null` sans programmation.
    #[schema(required = true)]
    send_at: Option<DateTime<Utc>>,
    /// Le début de l'envoi ; `null` tant qu'il n'a pas commencé.
    #[schema(required = true)]
    started_at: Option<DateTime<Utc>>,
    /// La fin de l'envoi ; `null` tant qu'il n'est pas fini.
    #[schema(required = true)]
    finished_at: Option<DateTime<Utc>>,
    /// Les chiffres de l'envoi : abonné·es confirmé·es au départ (`recipients`), envois lancés
    /// (`queued`), envoyés (`sent`), en échec (`failed`), écartés (adresse bloquée ou
    /// désinscrite avant son tour, `suppressed`), nouvelles tentatives (`retried`), remis
    /// (`delivered`), rejetés (`bounced`), signalés comme indésirables (`complained`),
    /// désinscriptions par le lien de cette lettre (`unsubscribed`). Tous à zéro pour un
    /// brouillon.
    counts: Counts,
}

fn view(app: &Newsletter, item: CampaignItem, counts: Counts) -> View {
    View {
        web_url: web_url(app, &item.slug),
        id: item.id,
        slug: item.slug,
        status: item.status,
        subject: item.subject,
        preheader: item.preheader,
        body_markdown: item.body_markdown,
        created_at: item.created_at,
        updated_at: item.updated_at,
        send_at: item.send_at,
        started_at: item.started_at,
        finished_at: item.finished_at,
        counts,
    }
}

fn web_url(app: &Newsletter, slug: &str) -> String {
    campaign::web_url(&app.links, slug)
}

fn draft_of(request: &Request) -> Result<Draft, ApiError> {
    let draft: Draft = http::parse_json_up_to(request, campaign::MAX_REQUEST_BYTES)?;
    campaign::validate(draft).map_err(ApiError::invalid_fields)
}

fn id_of(request: &Request) -> Result<String, ApiError> {
    let id = request
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .unwrap_or_default();
    if campaign::valid_id(id) {
        Ok(id.to_owned())
    } else {
        Err(not_found())
    }
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "campaign_not_found",
        "Aucune lettre ne porte cet identifiant : vérifiez l'id renvoyé à la création.",
    )
}

async fn existing(app: &Newsletter, id: &str) -> Result<CampaignItem, ApiError> {
    campaign_store::load(&app.store, id)
        .await?
        .ok_or_else(not_found)
}

async fn respond(
    app: &Newsletter,
    status: StatusCode,
    item: CampaignItem,
) -> Result<Response<Body>, ApiError> {
    let counts = campaign_store::counts(&app.store, &item).await?;
    Ok(http::json(status, &view(app, item, counts)))
}

#[utoipa::path(
    post,
    path = "/v1/admin/newsletter/issues",
    tag = "newsletter-admin",
    operation_id = "newsletter_admin_create_issue",
    summary = "Créer une lettre (brouillon)",
    description = "Enregistre une nouvelle lettre à l'état de brouillon ; rien n'est envoyé. La requête peut faire jusqu'à 64 Ko.",
    security(("admin" = [])),
    request_body(content = Draft, content_type = "application/json"),
    responses(
        (status = 201, description = "Le brouillon créé, avec son identifiant.", body = View),
        (status = 400, description = "Champs invalides (`invalid_fields` : `subject`, `preheader`, `body_markdown`, chacun nommé dans `fields`), ou corps illisible (`malformed_json`, `unknown_field`, `missing_field`, `invalid_type`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/admin/newsletter/issues`
#[tracing::instrument(skip_all)]
pub async fn create(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    app.admin_key.check(request)?;
    let draft = draft_of(request)?;
    let now = Utc::now();
    let id = campaign::new_id();
    let item = CampaignItem::draft(&id, draft, now);
    app.store
        .client
        .put_item()
        .table_name(&app.store.table)
        .set_item(Some(
            serde_dynamo::to_item(&item).map_err(StoreError::from)?,
        ))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(StoreError::from)?;
    tracing::info!(campaign = item.id, "newsletter draft created");
    Ok(http::json(
        StatusCode::CREATED,
        &view(app, item, Counts::default()),
    ))
}

#[utoipa::path(
    put,
    path = "/v1/admin/newsletter/issues/{id}",
    tag = "newsletter-admin",
    operation_id = "newsletter_admin_edit_issue",
    summary = "Modifier un brouillon",
    description = "Remplace l'objet, l'aperçu et le contenu d'une lettre ; seul un brouillon se modifie. Un aperçu absent ou vide est retiré. La requête peut faire jusqu'à 64 Ko.",
    security(("admin" = [])),
    params(
        ("id" = String, Path, description = "L'identifiant de la lettre, renvoyé à sa création (12 chiffres hexadécimaux).", pattern = "^[0-9a-f]{12}$", example = "0a1b2c3d4e5f"),
    ),
    request_body(content = Draft, content_type = "application/json"),
    responses(
        (status = 200, description = "La lettre modifiée.", body = View),
        (status = 400, description = "Champs invalides (`invalid_fields` : `subject`, `preheader`, `body_markdown`, chacun nommé dans `fields`), ou corps illisible (`malformed_json`, `unknown_field`, `missing_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 404, description = "Aucune lettre ne porte cet identifiant (`campaign_not_found`).", body = shared::http::ApiError),
        (status = 409, description = "La lettre n'est plus un brouillon (`campaign_not_draft`) : programmée, en cours d'envoi, en pause, annulée ou envoyée.", body = shared::http::ApiError),
    )
)]
/// `PUT /v1/admin/newsletter/issues/{id}`: only a draft can be edited.
#[tracing::instrument(skip_all)]
pub async fn edit(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    app.admin_key.check(request)?;
    let id = id_of(request)?;
    let draft = draft_of(request)?;
    let now = shared::store::timestamp(Utc::now());
    let mut update = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::campaign(&id).attributes()))
        .update_expression(
            "SET subject = :subject, slug = :slug, body_markdown = :body, updated_at = :now, preheader = :preheader",
        )
        .condition_expression("#status = :draft")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":draft", campaign_store::status_value(CampaignStatus::Draft))
        .expression_attribute_values(":slug", AttributeValue::S(campaign::slug(&draft.subject, &id)))
        .expression_attribute_values(":subject", AttributeValue::S(draft.subject))
        .expression_attribute_values(":body", AttributeValue::S(draft.body_markdown))
        .expression_attribute_values(":now", AttributeValue::S(now));
    update = match draft.preheader {
        Some(preheader) => update.expression_attribute_values(":preheader", AttributeValue::S(preheader)),
        None => update
            .update_expression(
                "SET subject = :subject, slug = :slug, body_markdown = :body, updated_at = :now REMOVE preheader",
            ),
    };
    match update.send().await {
        Ok(_) => respond(app, StatusCode::OK, existing(app, &id).await?).await,
        Err(error) if shared::store::condition_failed(&error) => {
            let item = existing(app, &id).await?;
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "campaign_not_draft",
                format!(
                    "Seul un brouillon se modifie : cette lettre est {}.",
                    item.status.label()
                ),
            ))
        }
        Err(error) => Err(StoreError::from(error).into()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/admin/newsletter/issues/{id}",
    tag = "newsletter-admin",
    operation_id = "newsletter_admin_get_issue",
    summary = "Lire une lettre et ses chiffres",
    description = "La lettre, son état et les chiffres de son envoi (envoyés, remis, rejetés, désinscriptions…).",
    security(("admin" = [])),
    params(
        ("id" = String, Path, description = "L'identifiant de la lettre, renvoyé à sa création (12 chiffres hexadécimaux).", pattern = "^[0-9a-f]{12}$", example = "0a1b2c3d4e5f"),
    ),
    responses(
        (status = 200, description = "La lettre.", body = View),
        (status = 404, description = "Aucune lettre ne porte cet identifiant (`campaign_not_found`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/admin/newsletter/issues/{id}`: the campaign and its figures.
#[tracing::instrument(skip_all)]
pub async fn show(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    app.admin_key.check(request)?;
    let id = id_of(request)?;
    respond(app, StatusCode::OK, existing(app, &id).await?).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Une lettre telle qu'un lecteur la recevra.", as = NewsletterIssuePreview)]
struct Preview {
    /// L'objet de l'e-mail.
    subject: String,
    /// La partie HTML complète de l'e-mail (contenu nettoyé, lien vers la version web, lien de
    /// désinscription factice).
    html: String,
    /// La partie texte de l'e-mail, chaque lien suivi de son adresse.
    text: String,
}

#[utoipa::path(
    get,
    path = "/v1/admin/newsletter/issues/{id}/preview",
    tag = "newsletter-admin",
    operation_id = "newsletter_admin_preview_issue",
    summary = "Aperçu d'une lettre",
    description = "Les deux parties de l'e-mail, HTML et texte, telles qu'un lecteur les recevra ; rien n'est envoyé.",
    security(("admin" = [])),
    params(
        ("id" = String, Path, description = "L'identifiant de la lettre, renvoyé à sa création (12 chiffres hexadécimaux).", pattern = "^[0-9a-f]{12}$", example = "0a1b2c3d4e5f"),
    ),
    responses(
        (status = 200, description = "L'aperçu.", body = Preview),
        (status = 404, description = "Aucune lettre ne porte cet identifiant (`campaign_not_found`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/admin/newsletter/issues/{id}/preview`: both parts as a reader gets them.
#[tracing::instrument(skip_all)]
pub async fn preview(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    app.admin_key.check(request)?;
    let id = id_of(request)?;
    let item = existing(app, &id).await?;
    let unsubscribe = app.links.api("/v1/newsletter/unsubscribe?token=…");
    let rendered = IssueMail {
        campaign: &item.id,
        subject: &item.subject,
        preheader: item.preheader.as_deref(),
        web_url: &web_url(app, &item.slug),
        unsubscribe_url: Some(&unsubscribe),
    }
    .render(&campaign::render(&item.body_markdown))
    .map_err(|error| {
        tracing::error!(%error, "issue preview could not be rendered");
        ApiError::unavailable()
    })?;
    Ok(http::json(
        StatusCode::OK,
        &Preview {
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
        },
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
/// Les destinataires d'un envoi de test.
#[schema(as = NewsletterIssueTestSend)]
struct TestForm {
    /// De 1 à 10 adresses de test (les doublons comptent une fois).
    #[schema(
        min_items = 1,
        max_items = 10,
        format = Email,
        max_length = 254,
        example = json!(["prenom.nom@exemple.fr"])
    )]
    emails: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Ce que l'envoi de test a mis en file.", as = NewsletterIssueTestQueued)]
struct TestQueued {
    /// Les e-mails de test mis en file d'envoi.
    queued: usize,
    /// Les adresses qui avaient déjà reçu cette version de la lettre : rien ne leur est
    /// renvoyé.
    already_sent: usize,
}

#[utoipa::path(
    post,
    path = "/v1/admin/newsletter/issues/{id}/test",
    tag = "newsletter-admin",
    operation_id = "newsletter_admin_test_issue",
    summary = "Envoyer une lettre en test",
    description = "Envoie la lettre telle qu'elle est, « [TEST] » dans l'objet, à 10 adresses au plus, quel que soit son état. Une même version ne part qu'une fois vers une même adresse : la renvoyer demande de la modifier.",
    security(("admin" = [])),
    params(
        ("id" = String, Path, description = "L'identifiant de la lettre, renvoyé à sa création (12 chiffres hexadécimaux).", pattern = "^[0-9a-f]{12}$", example = "0a1b2c3d4e5f"),
    ),
    request_body(content = TestForm, content_type = "application/json"),
    responses(
        (status = 202, description = "Les e-mails de test sont en file d'envoi.", body = TestQueued),
        (status = 400, description = "Adresses invalides (`invalid_fields` : `emails` vide ou de plus de 10 adresses, ou `emails[n]` pour chaque adresse invalide), ou corps illisible (`malformed_json`, `unknown_field`, `missing_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 404, description = "Aucune lettre ne porte cet identifiant (`campaign_not_found`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/admin/newsletter/issues/{id}/test` `{"emails": [...]}`: the
/// issue as it is now, « [TEST] » in its subject, to up to ten addresses;
/// the same version goes to the same address once.
#[tracing::instrument(skip_all)]
pub async fn test(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    app.admin_key.check(request)?;
    let id = id_of(request)?;
    let form: TestForm = http::parse_json(request)?;
    let addresses = test_addresses(&form.emails)?;
    let item = existing(app, &id).await?;
    let now = Utc::now();
    let mut queued = 0;
    for address in &addresses {
        let version = format!(
            "{}#{}",
            item.updated_at.timestamp_millis(),
            app.keyring.addresses.id_of(address).as_str()
        );
        let recipient = Key::campaign_test_recipient(&id, &version);
        let mail = OutboxMail::new(
            recipient.clone(),
            MailContent::NewsletterIssueTest {
                campaign: item.id.clone(),
                subject: item.subject.clone(),
                preheader: item.preheader.clone(),
                body_markdown: item.body_markdown.clone(),
                web_url: web_url(app, &item.slug),
            },
            now,
        );
        let put = Put::builder()
            .table_name(&app.store.table)
            .set_item(Some(
                [
                    ("pk", AttributeValue::S(recipient.pk.clone())),
                    ("sk", AttributeValue::S(recipient.sk.clone())),
                    ("email", AttributeValue::S(address.as_str().into())),
                    (
                        "ttl",
                        AttributeValue::N((now + TEST_RECIPIENT_LIFETIME).timestamp().to_string()),
                    ),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            ))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(StoreError::from)?;
        let result = app
            .store
            .transact(vec![
                TransactWriteItem::builder().put(put).build(),
                mail.transact_put(&app.store.table)?,
            ])
            .await;
        match result {
            Ok(_) => queued += 1,
            Err(error) if shared::store::first_condition_failed(&error) => {}
            Err(error) => return Err(StoreError::from(error).into()),
        }
    }
    tracing::info!(campaign = id, queued, "newsletter test send queued");
    Ok(http::json(
        StatusCode::ACCEPTED,
        &TestQueued {
            queued,
            already_sent: addresses.len() - queued,
        },
    ))
}

fn test_addresses(emails: &[String]) -> Result<Vec<EmailAddress>, ApiError> {
    if emails.is_empty() || emails.len() > MAX_TEST_RECIPIENTS {
        return Err(ApiError::invalid_fields(vec![FieldError {
            field: "emails".into(),
            message: format!("Indiquez de 1 à {MAX_TEST_RECIPIENTS} adresses de test."),
        }]));
    }
    let mut addresses = Vec::new();
    let mut problems = Vec::new();
    for (n, email) in emails.iter().enumerate() {
        match EmailAddress::parse(email) {
            Ok(address) if !addresses.contains(&address) => addresses.push(address),
            Ok(_) => {}
            Err(_) => problems.push(FieldError {
                field: format!("emails[{n}]"),
                message: "Indiquez une adresse e-mail valide, par exemple prenom.nom@exemple.fr."
                    .into(),
            }),
        }
    }
    if problems.is_empty() {
        Ok(addresses)
    } else {
        Err(ApiError::invalid_fields(problems))
    }
}

#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
/// Quand envoyer la lettre (corps facultatif).
#[schema(as = NewsletterIssueSend)]
struct SendForm {
    /// L'heure d'envoi (RFC 3339) : dans le futur, la lettre est programmée ; passée, absente
    /// ou `null`, l'envoi commence tout de suite.
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

#[utoipa::path(
    post,
    path = "/v1/admin/newsletter/issues/{id}/send",
    tag = "newsletter-admin",
    operation_id = "newsletter_admin_send_issue",
    summary = "Envoyer ou programmer une lettre",
    description = "Lance l'envoi à tous les abonné·es confirmé·es, tout de suite ou à l'heure `at`, d'un brouillon ou d'une lettre programmée (dont l'heure peut ainsi changer). Le corps est facultatif. Déjà en cours d'envoi ou envoyée : rien ne change, la lettre est renvoyée telle quelle.",
    security(("admin" = [])),
    params(
        ("id" = String, Path, description = "L'identifiant de la lettre, renvoyé à sa création (12 chiffres hexadécimaux).", pattern = "^[0-9a-f]{12}$", example = "0a1b2c3d4e5f"),
    ),
    request_body(content = Option<SendForm>, content_type = "application/json"),
    responses(
        (status = 200, description = "La lettre, programmée ou en cours d'envoi.", body = View),
        (status = 400, description = "Corps illisible (`malformed_json`, `unknown_field`, `missing_field`, `invalid_type` : `at` n'est pas une date RFC 3339).", body = shared::http::ApiError),
        (status = 404, description = "Aucune lettre ne porte cet identifiant (`campaign_not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Une lettre en pause ou annulée ne s'envoie pas (`campaign_status`), ou la lettre change d'état en ce moment (`campaign_busy`, réessayer).", body = shared::http::ApiError),
    )
)]
pub async fn send(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    command(app, request, "send").await
}

#[utoipa::path(
    post,
    path = "/v1/admin/newsletter/issues/{id}/pause",
    tag = "newsletter-admin",
    operation_id = "newsletter_admin_pause_issue",
    summary = "Mettre un envoi en pause",
    description = "Arrête l'envoi en cours ; les destinataires pas encore servis le seront à la reprise. Déjà en pause : rien ne change.",
    security(("admin" = [])),
    params(
        ("id" = String, Path, description = "L'identifiant de la lettre, renvoyé à sa création (12 chiffres hexadécimaux).", pattern = "^[0-9a-f]{12}$", example = "0a1b2c3d4e5f"),
    ),
    responses(
        (status = 200, description = "La lettre, en pause.", body = View),
        (status = 404, description = "Aucune lettre ne porte cet identifiant (`campaign_not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Seul un envoi en cours se met en pause : brouillon, programmée, annulée ou envoyée (`campaign_status`) ; ou la lettre change d'état en ce moment (`campaign_busy`, réessayer).", body = shared::http::ApiError),
    )
)]
pub async fn pause(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    command(app, request, "pause").await
}

#[utoipa::path(
    post,
    path = "/v1/admin/newsletter/issues/{id}/resume",
    tag = "newsletter-admin",
    operation_id = "newsletter_admin_resume_issue",
    summary = "Reprendre un envoi",
    description = "Reprend l'envoi d'une lettre en pause, pour les destinataires pas encore servis. En cours d'envoi ou envoyée : rien ne change.",
    security(("admin" = [])),
    params(
        ("id" = String, Path, description = "L'identifiant de la lettre, renvoyé à sa création (12 chiffres hexadécimaux).", pattern = "^[0-9a-f]{12}$", example = "0a1b2c3d4e5f"),
    ),
    responses(
        (status = 200, description = "La lettre, en cours d'envoi (ou envoyée).", body = View),
        (status = 404, description = "Aucune lettre ne porte cet identifiant (`campaign_not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Seule une lettre en pause reprend : brouillon, programmée ou annulée (`campaign_status`) ; ou la lettre change d'état en ce moment (`campaign_busy`, réessayer).", body = shared::http::ApiError),
    )
)]
pub async fn resume(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    command(app, request, "resume").await
}

#[utoipa::path(
    post,
    path = "/v1/admin/newsletter/issues/{id}/cancel",
    tag = "newsletter-admin",
    operation_id = "newsletter_admin_cancel_issue",
    summary = "Annuler une lettre",
    description = "Annule un brouillon, une lettre programmée, en cours d'envoi ou en pause : plus aucun e-mail ne part. Déjà annulée : rien ne change.",
    security(("admin" = [])),
    params(
        ("id" = String, Path, description = "L'identifiant de la lettre, renvoyé à sa création (12 chiffres hexadécimaux).", pattern = "^[0-9a-f]{12}$", example = "0a1b2c3d4e5f"),
    ),
    responses(
        (status = 200, description = "La lettre, annulée.", body = View),
        (status = 404, description = "Aucune lettre ne porte cet identifiant (`campaign_not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Une lettre envoyée ne s'annule plus (`campaign_status`), ou la lettre change d'état en ce moment (`campaign_busy`, réessayer).", body = shared::http::ApiError),
    )
)]
pub async fn cancel(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    command(app, request, "cancel").await
}

/// `POST …/{id}/send` `{"at"?}`, `…/pause`, `…/resume`, `…/cancel`.
#[tracing::instrument(skip_all)]
async fn command(
    app: &Newsletter,
    request: &Request,
    verb: &str,
) -> Result<Response<Body>, ApiError> {
    app.admin_key.check(request)?;
    let id = id_of(request)?;
    let command = match verb {
        "send" => {
            let form: SendForm = if request.body().is_empty() {
                SendForm::default()
            } else {
                http::parse_json(request)?
            };
            Command::Send { at: form.at }
        }
        "pause" => Command::Pause,
        "resume" => Command::Resume,
        _ => Command::Cancel,
    };
    // A concurrent change (the sender finishing, another admin) is read
    // again and the command applied to what it finds.
    for _ in 0..3 {
        let item = existing(app, &id).await?;
        let now = Utc::now();
        let to = campaign::apply(item.status, command, now).map_err(|refusal| {
            ApiError::new(StatusCode::CONFLICT, refusal.code, refusal.message)
        })?;
        let at = match command {
            Command::Send { at } => at,
            _ => None,
        };
        let unchanged =
            to == item.status && (to != CampaignStatus::Scheduled || at == item.send_at);
        if unchanged {
            return respond(app, StatusCode::OK, item).await;
        }
        if campaign_store::transition(&app.store, &item, to, at, now).await? {
            tracing::info!(
                campaign = id,
                from = item.status.as_str(),
                to = to.as_str(),
                "campaign status changed"
            );
            return respond(app, StatusCode::OK, existing(app, &id).await?).await;
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "campaign_busy",
        "Cette lettre change d'état en ce moment : réessayez dans quelques secondes.",
    ))
}
