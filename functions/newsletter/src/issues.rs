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
#[derive(Serialize)]
struct View {
    id: String,
    slug: String,
    status: CampaignStatus,
    subject: String,
    preheader: Option<String>,
    body_markdown: String,
    web_url: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    send_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
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

/// `GET /v1/admin/newsletter/issues/{id}`: the campaign and its figures.
#[tracing::instrument(skip_all)]
pub async fn show(app: &Newsletter, request: &Request) -> Result<Response<Body>, ApiError> {
    app.admin_key.check(request)?;
    let id = id_of(request)?;
    respond(app, StatusCode::OK, existing(app, &id).await?).await
}

#[derive(Serialize)]
struct Preview {
    subject: String,
    html: String,
    text: String,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestForm {
    emails: Vec<String>,
}

#[derive(Serialize)]
struct TestQueued {
    queued: usize,
    /// Addresses that already had this version of the issue.
    already_sent: usize,
}

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

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendForm {
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

/// `POST …/{id}/send` `{"at"?}`, `…/pause`, `…/resume`, `…/cancel`.
#[tracing::instrument(skip_all)]
pub async fn command(
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
