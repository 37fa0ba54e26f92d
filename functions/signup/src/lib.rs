//! Sign-up of young people and volunteer mentors.
//!
//! | route                       | what it does                                                  |
//! |-----------------------------|---------------------------------------------------------------|
//! | `POST /v1/mentees`          | a young person asks for a mentor (one transaction)            |
//! | `POST /v1/mentors`          | a volunteer signs up (one transaction)                        |
//! | `GET  /v1/verify`           | confirms the address; verified once the guardian agreed too   |
//! | `GET  /v1/guardian/consent` | the guardian of a mentee under 15 reads what they agree to    |
//! | `POST /v1/guardian/consent` | … and agrees or refuses (`answer=refuse`)                     |
//! | `POST /v1/me/link`          | mails a personal-data link to a known address; 202 always     |
//! | `GET  /v1/me`               | JSON export of everything stored about the person             |
//! | `GET  /v1/me/erase`         | a page with a button; changes nothing                         |
//! | `POST /v1/me/erase`         | erases the person's data, keeps an audit record without it    |
//! | `GET  /v1/me/keep`          | an idle account's owner, warned of its erasure: a button      |
//! | `POST /v1/me/keep`          | … keeps it: its retention period starts again                 |
//! | `GET  /`                    | the home page: what the network does, the calls to action     |
//! | `GET`, `POST /demande`      | the mentee form (no JavaScript needed), checked as the API's  |
//! | `GET`, `POST /mentor`       | the mentor form, with the charter linked                      |
//! | `GET`, `POST /ma-demande`   | « Où en est ma demande ? »: a mailed link, then the request in words |
//! | `GET  /charte`, `/mentions-legales`, `/donnees-personnelles`, `/accessibilite`, `/plan-du-site` | text pages |

pub mod contract;
pub mod form;
mod my_request;
mod personal_data;
mod register;
mod site;
mod verify;

pub use form::{MenteeForm, MenteeRequest, Submission, validate_mentee};
pub use register::{CONSENT_TEXT_MENTEE, mentee_items};

use std::time::Duration;

use lambda_http::{Body, Error, Request, Response};
use shared::{http, keyring::Keyring, links::Links, store::Store};

/// The routes this function serves, as API Gateway route keys.
pub const ROUTES: &[&str] = &[
    "POST /v1/mentees",
    "POST /v1/mentors",
    "GET /v1/verify",
    "GET /v1/guardian/consent",
    "POST /v1/guardian/consent",
    "POST /v1/me/link",
    "GET /v1/me",
    "GET /v1/me/erase",
    "POST /v1/me/erase",
    "GET /v1/me/keep",
    "POST /v1/me/keep",
    "GET /",
    "GET /demande",
    "POST /demande",
    "GET /mentor",
    "POST /mentor",
    "GET /charte",
    "GET /mentions-legales",
    "GET /donnees-personnelles",
    "GET /accessibilite",
    "GET /plan-du-site",
    "GET /ma-demande",
    "POST /ma-demande",
];

/// Answers that could tell a known address from an unknown one take at least
/// this long, whatever work they did.
pub const DEFAULT_RESPONSE_FLOOR_MS: u64 = 150;

pub struct Signup {
    pub store: Store,
    keyring: Keyring,
    links: Links,
    response_floor: Duration,
}

impl Signup {
    pub fn new(store: Store, keyring: Keyring, links: Links, response_floor: Duration) -> Self {
        Self {
            store,
            keyring,
            links,
            response_floor,
        }
    }
}

/// The function's start: configuration, the signing secret, a warm connection.
pub async fn start() -> Result<Signup, Error> {
    let start = shared::aws::start_signing(shared::aws::Secrets::Signing, |env| {
        env.parsed_or("SIGNUP_RESPONSE_FLOOR_MS", DEFAULT_RESPONSE_FLOOR_MS)
    })
    .await?;
    shared::phone::PhoneNumber::load_numbering_plans();
    Ok(Signup::new(
        start.store,
        start.keyring,
        start.links,
        Duration::from_millis(start.settings),
    ))
}

pub async fn handle(app: &Signup, request: Request) -> Result<Response<Body>, Error> {
    let response = match http::route_key(&request) {
        Some("POST /v1/mentees") => register::mentee(app, &request).await,
        Some("POST /v1/mentors") => register::mentor(app, &request).await,
        Some("GET /v1/verify") => verify::address(app, &request).await,
        Some("GET /v1/guardian/consent") => verify::guardian_page(app, &request).await,
        Some("POST /v1/guardian/consent") => verify::guardian_consent(app, &request).await,
        Some("POST /v1/me/link") => personal_data::link(app, &request).await,
        Some("GET /v1/me") => personal_data::export(app, &request).await,
        Some("GET /v1/me/erase") => personal_data::erase_page(app, &request).await,
        Some("POST /v1/me/erase") => personal_data::erase(app, &request).await,
        Some("GET /v1/me/keep") => personal_data::keep_page(app, &request),
        Some("POST /v1/me/keep") => personal_data::keep(app, &request).await,
        Some("GET /") => site::home(),
        Some("GET /demande") => site::mentee_form(),
        Some("POST /demande") => site::mentee_posted(app, &request).await,
        Some("GET /mentor") => site::mentor_form(),
        Some("POST /mentor") => site::mentor_posted(app, &request).await,
        Some("GET /charte") => site::charter(),
        Some("GET /mentions-legales") => site::legal_notice(),
        Some("GET /donnees-personnelles") => site::personal_data(),
        Some("GET /accessibilite") => site::accessibility(),
        Some("GET /plan-du-site") => site::site_map(),
        Some("GET /ma-demande") => my_request::page(app, &request).await,
        Some("POST /ma-demande") => my_request::posted(app, &request).await,
        _ => http::ApiError::not_found().respond(),
    };
    Ok(response)
}
