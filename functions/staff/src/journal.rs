//! The journal page: the association's latest actions, for its admins.

use askama::Template;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Serialize;
use shared::{
    http::{self, ApiError},
    journal::{self, Action, Actor},
    pages::Page,
    site::{SpaceNav, html, paris_time, unindexed},
    staff::{self, in_space},
};

use crate::Staff;

/// Entries shown.
const SHOWN: i32 = 200;

#[derive(Template)]
#[template(path = "space/journal.html")]
struct JournalPage {
    nav: SpaceNav,
    entries: Vec<Row>,
}

struct Row {
    at: String,
    who: String,
    what: &'static str,
    target: String,
    href: Option<String>,
}

/// `GET /association/journal`
pub async fn page(app: &Staff, request: &Request) -> Response<Body> {
    let space = match in_space(&app.store, request, "/association/journal", Utc::now()).await {
        Ok(Ok(space)) => space,
        Ok(Err(sign_in)) => return sign_in,
        Err(error) => {
            tracing::error!(%error, "journal page failed");
            return Page::unavailable("Le journal n'est pas disponible");
        }
    };
    if let Some(refused) = space.unless_admin("journal") {
        return refused;
    }
    let entries = match journal::latest(&app.store, &space.association.slug, SHOWN).await {
        Ok(entries) => entries,
        Err(error) => {
            tracing::error!(%error, "journal page failed");
            return Page::unavailable("Le journal n'est pas disponible");
        }
    };
    let entries = entries
        .into_iter()
        .map(|entry| {
            let (href, target) = match entry.action {
                Action::RequestAcknowledged
                | Action::RequestDeclined
                | Action::HonorabilityRecorded => (
                    Some(format!("/association/demandes/{}", entry.target)),
                    match entry.detail {
                        Some(detail) => format!("Demande {} : {detail}", entry.target),
                        None => format!("Demande {}", entry.target),
                    },
                ),
                Action::DraftApproved
                | Action::DraftRejected
                | Action::DraftSkipped
                | Action::PairProposed => (None, format!("Binôme {}", entry.target)),
                Action::PairClosed => (
                    None,
                    match entry.detail {
                        Some(detail) => format!("Binôme {} : {detail}", entry.target),
                        None => format!("Binôme {}", entry.target),
                    },
                ),
                Action::SettingsChanged => (
                    Some("/association/reglages".to_owned()),
                    "Réglages de l'association".to_owned(),
                ),
                Action::ApiKeyCreated | Action::ApiKeyRevoked => (
                    Some("/association/cles".to_owned()),
                    entry.detail.unwrap_or_else(|| "Une clé d'API".to_owned()),
                ),
                Action::MemberInvited | Action::MemberRoleChanged | Action::MemberRemoved => {
                    (None, entry.detail.unwrap_or(entry.target))
                }
            };
            Row {
                at: paris_time(entry.at),
                who: entry.actor.name,
                what: entry.action.label(),
                href,
                target,
            }
        })
        .collect();
    let page = JournalPage {
        nav: space.nav("journal"),
        entries,
    };
    unindexed(html(StatusCode::OK, page.render()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "Une action de l'équipe. Les demandes et les binômes n'y sont nommés que par leur identifiant."
)]
pub struct JournalEntry {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: Action,
    /// L'action en mots.
    #[schema(example = "Demande prise en charge")]
    pub label: &'static str,
    /// L'identifiant de la demande, du binôme, de la clé ou du compte concerné.
    pub target: String,
    /// Pour l'équipe : le nom et le rôle du membre ; pour une clé : son nom ; pour un binôme clos : la raison.
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "Les 200 dernières actions, de la plus récente à la plus ancienne ; chacune est gardée un an."
)]
pub struct Journal {
    pub entries: Vec<JournalEntry>,
}

#[utoipa::path(
    get,
    path = "/v1/association/journal",
    tag = "equipe",
    operation_id = "journal_read",
    summary = "Le journal de l'association",
    description = "Qui a fait quoi, et quand : prises en charge, refus, vérifications d'honorabilité, binômes, réglages, clés et équipe. Réservé aux administrateur·rices (ou à une clé d'API de l'association).",
    security(("association" = [])),
    responses(
        (status = 200, description = "Les dernières actions.", body = Journal),
        (status = 403, description = "Un·e membre qui n'est pas administrateur·rice (`admins_only`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/association/journal`
pub async fn read(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    let acting = staff::acting(&app.store, request, Utc::now())
        .await?
        .admin()?;
    let entries = journal::latest(&app.store, &acting.association.slug, SHOWN)
        .await?
        .into_iter()
        .map(|entry| JournalEntry {
            label: entry.action.label(),
            at: entry.at,
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            detail: entry.detail,
        })
        .collect();
    Ok(http::json(StatusCode::OK, &Journal { entries }))
}
