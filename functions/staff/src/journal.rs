//! The journal page: the association's latest actions, for its admins.

use askama::Template;
use chrono::Utc;
use lambda_http::{Body, Request, Response, http::StatusCode};
use shared::{
    journal::{self, Action},
    pages::Page,
    site::{SpaceNav, html, paris_time, unindexed},
    staff::in_space,
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
