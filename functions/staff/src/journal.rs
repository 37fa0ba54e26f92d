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
            let on_request = matches!(
                entry.action,
                Action::RequestAcknowledged | Action::RequestDeclined
            );
            Row {
                at: paris_time(entry.at),
                who: entry.actor.name,
                what: entry.action.label(),
                href: on_request.then(|| format!("/association/demandes/{}", entry.target)),
                target: match entry.detail {
                    Some(detail) => detail,
                    None => format!("Demande {}", entry.target),
                },
            }
        })
        .collect();
    let page = JournalPage {
        nav: space.nav("journal"),
        entries,
    };
    unindexed(html(StatusCode::OK, page.render()))
}
