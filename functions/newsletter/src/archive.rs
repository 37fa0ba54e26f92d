//! The newsletter's public archive: the published issues, newest first, and
//! each issue's web version (the link at the top of every mail).

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use shared::{
    campaign::{self, french_date},
    campaign_store,
    pages::Page,
    site::{IssueList, IssuePage},
    store::{StoreError, keys::index},
};

use crate::Newsletter;

/// Issues listed on the archive page (about four years of monthly issues).
const LISTED: i32 = 50;

#[utoipa::path(
    get,
    path = "/v1/newsletter/issues",
    tag = "newsletter",
    operation_id = "newsletter_issues_archive",
    summary = "Les archives de la lettre",
    description = "Les lettres publiées (dont l'envoi a commencé), de la plus récente à la plus ancienne, 50 au plus, chacune avec son lien et sa date. Répond une page HTML.",
    responses(
        (status = 200, description = "La page des archives.", content_type = "text/html", body = String),
        (status = 503, description = "Service momentanément indisponible : page HTML, avec l'en-tête `Retry-After`.", content_type = "text/html", body = String),
    )
)]
/// `GET /v1/newsletter/issues`
#[tracing::instrument(skip_all)]
pub async fn list(app: &Newsletter) -> Response<Body> {
    match published(app).await {
        Ok(issues) => IssueList { issues }.respond(StatusCode::OK),
        Err(error) => {
            tracing::error!(%error, "newsletter archive unavailable");
            Page::unavailable("Nous n'avons pas pu afficher les lettres.")
        }
    }
}

async fn published(app: &Newsletter) -> Result<Vec<(String, String, String)>, StoreError> {
    let output = app
        .store
        .client
        .query()
        .table_name(&app.store.table)
        .index_name(index::BY_LIST)
        .key_condition_expression("list_pk = :issues")
        .expression_attribute_values(":issues", AttributeValue::S(index::ISSUES_LIST.into()))
        .projection_expression("slug, subject, started_at")
        .scan_index_forward(false)
        .limit(LISTED)
        .send()
        .await?;
    let mut issues = Vec::new();
    for item in output.items.unwrap_or_default() {
        let text = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let started = chrono::DateTime::parse_from_rfc3339(&text("started_at"))
            .map(|at| french_date(at.to_utc()))
            .unwrap_or_default();
        issues.push((
            format!("/v1/newsletter/issues/{}", text("slug")),
            text("subject"),
            started,
        ));
    }
    Ok(issues)
}

#[utoipa::path(
    get,
    path = "/v1/newsletter/issues/{slug}",
    tag = "newsletter",
    operation_id = "newsletter_issue_page",
    summary = "La version web d'une lettre",
    description = "Une lettre publiée telle que ses lecteurs la reçoivent (le lien en tête de chaque e-mail). Répond une page HTML.",
    params(
        ("slug" = String, Path, description = "L'objet de la lettre en minuscules sans accent, puis son identifiant (12 chiffres hexadécimaux) : seul l'identifiant final compte.", pattern = "^([^/]*-)?[0-9a-f]{12}$", example = "lettre-de-decembre-0a1b2c3d4e5f"),
    ),
    responses(
        (status = 200, description = "La lettre.", content_type = "text/html", body = String),
        (status = 404, description = "Aucune lettre publiée sous cet identifiant (inconnue, brouillon, programmée ou annulée).", content_type = "text/html", body = String),
        (status = 503, description = "Service momentanément indisponible : page HTML, avec l'en-tête `Retry-After`.", content_type = "text/html", body = String),
    )
)]
/// `GET /v1/newsletter/issues/{slug}`
#[tracing::instrument(skip_all)]
pub async fn show(app: &Newsletter, request: &Request) -> Response<Body> {
    let slug = request
        .path_parameters_ref()
        .and_then(|p| p.first("slug"))
        .unwrap_or_default()
        .to_owned();
    let id = campaign::id_of_slug(&slug);
    if !campaign::valid_id(id) {
        return missing();
    }
    match campaign_store::load(&app.store, id).await {
        Ok(Some(item)) if item.status.is_published() => IssuePage {
            date: item.started_at.map(french_date).unwrap_or_default(),
            body_html: campaign::render(&item.body_markdown).html,
            subject: item.subject,
        }
        .respond(StatusCode::OK),
        Ok(_) => missing(),
        Err(error) => {
            tracing::error!(%error, "newsletter issue unavailable");
            Page::unavailable("Nous n'avons pas pu afficher cette lettre.")
        }
    }
}

fn missing() -> Response<Body> {
    Page::new(
        "Cette lettre n'existe pas ou a été retirée.",
        &["Retrouvez les lettres publiées dans les archives."],
    )
    .with_link("/v1/newsletter/issues", "Toutes les lettres")
    .respond(StatusCode::NOT_FOUND)
}
