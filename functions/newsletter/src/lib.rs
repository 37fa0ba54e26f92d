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
//! | `GET  /v1/newsletter/issues`      | the archive: published issues, newest first (page)  |
//! | `GET  /v1/newsletter/issues/{slug}` | an issue's web version (page)                     |
//! | `POST /v1/admin/newsletter/issues` | a draft (admin key)                                |
//! | `PUT`, `GET /v1/admin/newsletter/issues/{id}` | edit a draft; status and figures        |
//! | `GET  /v1/admin/newsletter/issues/{id}/preview` | both parts as a reader gets them      |
//! | `POST /v1/admin/newsletter/issues/{id}/test` | to up to ten addresses, « [TEST] »       |
//! | `POST /v1/admin/newsletter/issues/{id}/{send,pause,resume,cancel}` | the sending, which `campaigns` carries out |

mod archive;
mod confirm;
pub mod contract;
mod issues;
mod page;
mod subscribe;

pub use subscribe::CONSENT_TEXT_VERSION;
mod unsubscribe;

use lambda_http::{Body, Error, Request, Response};
use shared::{directory::AdminKey, http, keyring::Keyring, links::Links, store::Store};

/// The routes this function serves, as API Gateway route keys.
pub const ROUTES: &[&str] = &[
    "POST /v1/newsletter",
    "GET /v1/newsletter/confirm",
    "GET /v1/newsletter/unsubscribe",
    "POST /v1/newsletter/unsubscribe",
    "GET /newsletter",
    "POST /newsletter",
    "GET /v1/newsletter/issues",
    "GET /v1/newsletter/issues/{slug}",
    "POST /v1/admin/newsletter/issues",
    "PUT /v1/admin/newsletter/issues/{id}",
    "GET /v1/admin/newsletter/issues/{id}",
    "GET /v1/admin/newsletter/issues/{id}/preview",
    "POST /v1/admin/newsletter/issues/{id}/test",
    "POST /v1/admin/newsletter/issues/{id}/send",
    "POST /v1/admin/newsletter/issues/{id}/pause",
    "POST /v1/admin/newsletter/issues/{id}/resume",
    "POST /v1/admin/newsletter/issues/{id}/cancel",
];

/// What the handler needs, built once per Lambda environment.
pub struct Newsletter {
    pub store: Store,
    keyring: Keyring,
    links: Links,
    admin_key: AdminKey,
}

impl Newsletter {
    /// `admin_key`: the network admins' key (from the secret store).
    pub fn new(store: Store, keyring: Keyring, links: Links, admin_key: &str) -> Self {
        Self {
            store,
            keyring,
            links,
            admin_key: AdminKey::new(Some(admin_key)),
        }
    }
}

/// The function's start: configuration, the signing secret, the admin key,
/// a warm connection.
pub async fn start() -> Result<Newsletter, Error> {
    let start =
        shared::aws::start_signing(shared::aws::Secrets::SigningAndAdminKey, |_| ()).await?;
    let admin_key = start.admin_key.expect("read with the signing secret");
    Ok(Newsletter::new(
        start.store,
        start.keyring,
        start.links,
        &admin_key,
    ))
}

pub async fn handle(app: &Newsletter, request: Request) -> Result<Response<Body>, Error> {
    let response = match http::route_key(&request) {
        Some("POST /v1/newsletter") => subscribe::handle(app, &request).await,
        Some("GET /v1/newsletter/confirm") => confirm::handle(app, &request).await,
        Some("GET /v1/newsletter/unsubscribe") => unsubscribe::page(app, &request),
        Some("POST /v1/newsletter/unsubscribe") => unsubscribe::handle(app, &request).await,
        Some("GET /newsletter") => page::page(),
        Some("POST /newsletter") => page::posted(app, &request).await,
        Some("GET /v1/newsletter/issues") => archive::list(app).await,
        Some("GET /v1/newsletter/issues/{slug}") => archive::show(app, &request).await,
        Some(key) if key.contains("/v1/admin/newsletter/") => admin(app, &request, key)
            .await
            .unwrap_or_else(|error| error.respond()),
        _ => http::ApiError::not_found().respond(),
    };
    Ok(response)
}

async fn admin(
    app: &Newsletter,
    request: &Request,
    route: &str,
) -> Result<Response<Body>, http::ApiError> {
    match route {
        "POST /v1/admin/newsletter/issues" => issues::create(app, request).await,
        "PUT /v1/admin/newsletter/issues/{id}" => issues::edit(app, request).await,
        "GET /v1/admin/newsletter/issues/{id}" => issues::show(app, request).await,
        "GET /v1/admin/newsletter/issues/{id}/preview" => issues::preview(app, request).await,
        "POST /v1/admin/newsletter/issues/{id}/test" => issues::test(app, request).await,
        "POST /v1/admin/newsletter/issues/{id}/send" => issues::send(app, request).await,
        "POST /v1/admin/newsletter/issues/{id}/pause" => issues::pause(app, request).await,
        "POST /v1/admin/newsletter/issues/{id}/resume" => issues::resume(app, request).await,
        "POST /v1/admin/newsletter/issues/{id}/cancel" => issues::cancel(app, request).await,
        _ => Err(http::ApiError::not_found()),
    }
}
