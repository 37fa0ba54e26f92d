//! The newsletter: subscribe with double opt-in, confirm, unsubscribe in one
//! click (RFC 8058).
//!
//! | route                             | what it does                                        |
//! |-----------------------------------|-----------------------------------------------------|
//! | `POST /v1/newsletter`             | records the consent, queues the confirmation mail   |
//! | `GET  /v1/newsletter/confirm`     | confirms (idempotent), queues the welcome mail      |
//! | `GET  /v1/newsletter/unsubscribe` | a page with a button; changes nothing               |
//! | `POST /v1/newsletter/unsubscribe` | unsubscribes (one-click or the button)              |

mod confirm;
mod subscribe;

pub use subscribe::CONSENT_TEXT_VERSION;
mod unsubscribe;

use lambda_http::{Body, Error, Request, Response};
use shared::{config::Env, http, keyring::Keyring, store::Store};

/// The routes this function serves, as API Gateway route keys.
pub const ROUTES: &[&str] = &[
    "POST /v1/newsletter",
    "GET /v1/newsletter/confirm",
    "GET /v1/newsletter/unsubscribe",
    "POST /v1/newsletter/unsubscribe",
];

/// What the handler needs, built once per Lambda environment.
pub struct Newsletter {
    pub store: Store,
    keyring: Keyring,
    links: Links,
}

/// Where people are sent: this API (links in mails) and the public site (forms).
#[derive(Debug, Clone)]
pub struct Links {
    public_base_url: String,
    site_url: String,
}

impl Links {
    pub fn new(public_base_url: &str, site_url: &str) -> Self {
        Self {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            site_url: site_url.trim_end_matches('/').to_owned(),
        }
    }

    /// `PUBLIC_BASE_URL` (this API, as seen from a mail) and `SITE_URL`.
    pub fn from_env(env: &mut Env) -> Self {
        let public_base_url: Option<url::Url> = env.parsed("PUBLIC_BASE_URL");
        let site_url: Option<url::Url> = env.parsed("SITE_URL");
        Self::new(
            public_base_url.as_ref().map_or("", url::Url::as_str),
            site_url.as_ref().map_or("", url::Url::as_str),
        )
    }

    fn api(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.public_base_url)
    }

    /// The site's newsletter form, offered when a link no longer works.
    fn subscribe_form(&self) -> String {
        format!("{}/newsletter", self.site_url)
    }
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

pub async fn handle(app: &Newsletter, request: Request) -> Result<Response<Body>, Error> {
    let response = match http::route_key(&request) {
        Some("POST /v1/newsletter") => subscribe::handle(app, &request).await,
        Some("GET /v1/newsletter/confirm") => confirm::handle(app, &request).await,
        Some("GET /v1/newsletter/unsubscribe") => unsubscribe::page(app, &request),
        Some("POST /v1/newsletter/unsubscribe") => unsubscribe::handle(app, &request).await,
        _ => http::ApiError::not_found().respond(),
    };
    Ok(response)
}
