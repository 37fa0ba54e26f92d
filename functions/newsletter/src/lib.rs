//! The newsletter: subscribe with double opt-in, confirm, unsubscribe in one
//! click (RFC 8058).
//!
//! | route                             | what it does                                        |
//! |-----------------------------------|-----------------------------------------------------|
//! | `POST /v1/newsletter`             | records the consent, queues the confirmation mail   |
//! | `GET  /v1/newsletter/confirm`     | confirms (idempotent), queues the welcome mail      |
//! | `GET  /v1/newsletter/unsubscribe` | a page with a button; changes nothing               |
//! | `POST /v1/newsletter/unsubscribe` | unsubscribes (one-click or the button)              |
//! | `GET`, `POST /newsletter`         | the site's form (no JavaScript needed), as above    |

mod confirm;
mod page;
mod subscribe;

pub use subscribe::CONSENT_TEXT_VERSION;
mod unsubscribe;

use lambda_http::{Body, Error, Request, Response};
use shared::{http, keyring::Keyring, links::Links, store::Store};

/// The routes this function serves, as API Gateway route keys.
pub const ROUTES: &[&str] = &[
    "POST /v1/newsletter",
    "GET /v1/newsletter/confirm",
    "GET /v1/newsletter/unsubscribe",
    "POST /v1/newsletter/unsubscribe",
    "GET /newsletter",
    "POST /newsletter",
];

/// What the handler needs, built once per Lambda environment.
pub struct Newsletter {
    pub store: Store,
    keyring: Keyring,
    links: Links,
}

impl Newsletter {
    pub fn new(store: Store, keyring: Keyring, links: Links) -> Self {
        Self {
            store,
            keyring,
            links,
        }
    }
}

/// The function's start: configuration, the signing secret, a warm connection.
pub async fn start() -> Result<Newsletter, Error> {
    let start = shared::aws::start_signing(|_| ()).await?;
    Ok(Newsletter::new(start.store, start.keyring, start.links))
}

pub async fn handle(app: &Newsletter, request: Request) -> Result<Response<Body>, Error> {
    let response = match http::route_key(&request) {
        Some("POST /v1/newsletter") => subscribe::handle(app, &request).await,
        Some("GET /v1/newsletter/confirm") => confirm::handle(app, &request).await,
        Some("GET /v1/newsletter/unsubscribe") => unsubscribe::page(app, &request),
        Some("POST /v1/newsletter/unsubscribe") => unsubscribe::handle(app, &request).await,
        Some("GET /newsletter") => page::page(),
        Some("POST /newsletter") => page::posted(app, &request).await,
        _ => http::ApiError::not_found().respond(),
    };
    Ok(response)
}
