//! Routing: every verified request goes to the most relevant association,
//! with its reasons, and none is ever lost.
//!
//! - `rules`: which associations may take a request and which should (pure);
//! - `directory`: the associations, run by the network's admins (the
//!   record, its counters and the cached directory are `shared::directory`);
//! - `route`: one request routed in one transaction;
//! - `stream`: verified profiles from the table's stream;
//! - `inbox`: the associations' routes;
//! - `sweep`: the daily reminders, hand-overs, retries and digests;
//! - `contract`: the HTTP routes in the API contract (OpenAPI).
//!
//! Two Lambda functions run this crate: `routing` (HTTP) and
//! `routing-events` (the stream and the daily schedule).
//!
//! | route                                                | what it does                               |
//! |------------------------------------------------------|--------------------------------------------|
//! | `PUT  /v1/admin/associations/{slug}`                 | creates (key shown once) or updates        |
//! | `POST /v1/admin/associations/{slug}/keys`            | rotates the association's API key          |
//! | `GET  /v1/admin/requests/{id}/routing`               | a request's decisions and hand-overs       |
//! | `GET  /v1/admin/associations`, `/v1/admin/waiting-list` | the directory; the waiting list        |
//! | `GET`, `PUT /v1/association/settings`                | the association's settings (its admins)    |
//! | `GET  /v1/association/requests`                      | the association's requests, paginated      |
//! | `GET  /v1/association/requests/{id}`                 | one request with its contact details       |
//! | `POST /v1/association/requests/{id}/acknowledge`     | taken on: reminders stop                   |
//! | `POST /v1/association/requests/{id}/decline`         | passed to the next best association        |
//! | `GET /association`, `GET /association/demandes`      | the inbox's page in the staff space        |
//! | `GET /association/demandes/{id}`                     | a request's page                           |
//! | `POST /v1/association/requests/{id}/honorability`    | a mentor's honorability check recorded     |
//! | `POST /association/demandes/{id}/prise-en-charge`, `…/refus`, `…/honorabilite` | the same from the pages (CSRF token) |
//! | `GET`, `POST /association/reglages`                  | the association's settings (its admins)    |
//! | `GET /admin`, `/admin/annuaire`, `POST …/{slug}/activation` | the network's directory (network admins) |
//! | `GET`, `POST /admin/annuaire/nouvelle`, `…/{slug}/fiche` | a directory entry created (key shown once) or edited |
//! | `GET /admin/attente`, `/admin/demandes/{id}`         | the waiting list; a routing decision in words |
//!
//! The association routes take the association's API key or a staff session.

pub mod contract;
pub mod directory;
mod entry;
pub mod inbox;
mod network;
pub mod request;
pub mod route;
pub mod rules;
mod settings;
mod space;
pub mod stream;
pub mod sweep;

use aws_lambda_events::event::{dynamodb, eventbridge::EventBridgeEvent};
use lambda_http::{Body, Error, Request, Response};
use serde_json::{Value, json};
use shared::store::Store;
use shared::{
    directory::{AdminKey, DirectoryCache},
    http::{self, ApiError},
    links::Links,
};

/// The routes this function serves, as API Gateway route keys.
pub const ROUTES: &[&str] = &[
    "PUT /v1/admin/associations/{slug}",
    "POST /v1/admin/associations/{slug}/keys",
    "GET /v1/admin/requests/{id}/routing",
    "GET /v1/admin/associations",
    "GET /v1/admin/waiting-list",
    "GET /v1/association/settings",
    "PUT /v1/association/settings",
    "GET /v1/association/requests",
    "GET /v1/association/requests/{id}",
    "POST /v1/association/requests/{id}/acknowledge",
    "POST /v1/association/requests/{id}/decline",
    "POST /v1/association/requests/{id}/honorability",
    "GET /association",
    "GET /association/demandes",
    "GET /association/demandes/{id}",
    "POST /association/demandes/{id}/prise-en-charge",
    "POST /association/demandes/{id}/refus",
    "POST /association/demandes/{id}/honorabilite",
    "GET /association/reglages",
    "POST /association/reglages",
    "GET /admin",
    "GET /admin/annuaire",
    "POST /admin/annuaire/{slug}/activation",
    "GET /admin/annuaire/nouvelle",
    "POST /admin/annuaire/nouvelle",
    "GET /admin/annuaire/{slug}/fiche",
    "POST /admin/annuaire/{slug}/fiche",
    "GET /admin/attente",
    "GET /admin/demandes/{id}",
];

pub struct Routing {
    pub store: Store,
    pub links: Links,
    pub weights: rules::Weights,
    /// Where the daily list of waiting requests goes; none: not sent.
    pub network_admin_email: Option<String>,
    pub directory: DirectoryCache,
    /// Refuses everyone in the events function, which serves no admin route.
    admin_key: AdminKey,
}

impl Routing {
    /// `admin_key`: the network admins' key (from the secret store).
    pub fn new(
        store: Store,
        links: Links,
        admin_key: Option<&str>,
        network_admin_email: Option<String>,
    ) -> Self {
        Self {
            store,
            links,
            weights: rules::Weights::default(),
            network_admin_email,
            directory: DirectoryCache::default(),
            admin_key: AdminKey::new(admin_key),
        }
    }
}

/// Which of the two functions is starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// `routing`: admin and association routes; reads the admin key.
    Http,
    /// `routing-events`: the stream and the sweep; no admin key.
    Events,
}

/// Both functions' start: configuration, the admin key, a warm connection.
pub async fn start(entry: Entry) -> Result<Routing, Error> {
    let shared::aws::Start {
        sdk,
        mut env,
        store,
    } = shared::aws::start_function().await;
    let links = Links::from_env(&mut env);
    let admin_key_arn = (entry == Entry::Http).then(|| env.required("ADMIN_KEY_SECRET_ARN"));
    let network_admin_email = env.optional("NETWORK_ADMIN_EMAIL");
    let (store, links) = env.finish(|| (store, links))?;
    let admin_key = shared::aws::secret_and_warm_up(&sdk, &store, admin_key_arn.as_deref()).await?;
    Ok(Routing::new(
        store,
        links,
        admin_key.as_deref(),
        network_admin_email,
    ))
}

pub async fn handle(app: &Routing, request: Request) -> Result<Response<Body>, Error> {
    let answer = match http::route_key(&request) {
        Some("PUT /v1/admin/associations/{slug}") => directory::put(app, &request).await,
        Some("POST /v1/admin/associations/{slug}/keys") => {
            directory::rotate_key(app, &request).await
        }
        Some("GET /v1/admin/requests/{id}/routing") => directory::routing_of(app, &request).await,
        Some("GET /v1/admin/associations") => network::directory_list(app, &request).await,
        Some("GET /v1/admin/waiting-list") => network::waiting_list(app, &request).await,
        Some("GET /v1/association/settings") => settings::read(app, &request).await,
        Some("PUT /v1/association/settings") => settings::write(app, &request).await,
        Some("GET /v1/association/requests") => inbox::list(app, &request).await,
        Some("GET /v1/association/requests/{id}") => inbox::show(app, &request).await,
        Some("POST /v1/association/requests/{id}/acknowledge") => {
            inbox::acknowledge(app, &request).await
        }
        Some("POST /v1/association/requests/{id}/decline") => inbox::decline(app, &request).await,
        Some("GET /association") => Ok(space::home()),
        Some("GET /association/demandes") => Ok(space::requests(app, &request).await),
        Some("GET /association/demandes/{id}") => Ok(space::request(app, &request).await),
        Some("POST /association/demandes/{id}/prise-en-charge") => {
            Ok(space::acknowledge(app, &request).await)
        }
        Some("POST /association/demandes/{id}/refus") => Ok(space::decline(app, &request).await),
        Some("POST /v1/association/requests/{id}/honorability") => {
            inbox::record_honorability(app, &request).await
        }
        Some("POST /association/demandes/{id}/honorabilite") => {
            Ok(space::honorability(app, &request).await)
        }
        Some("GET /association/reglages") => Ok(settings::page(app, &request).await),
        Some("POST /association/reglages") => Ok(settings::posted_settings(app, &request).await),
        Some("GET /admin") => Ok(network::home()),
        Some("GET /admin/annuaire") => Ok(network::directory(app, &request).await),
        Some("POST /admin/annuaire/{slug}/activation") => {
            Ok(network::activation(app, &request).await)
        }
        Some("GET /admin/annuaire/nouvelle") => Ok(entry::new_page(app, &request).await),
        Some("POST /admin/annuaire/nouvelle") => Ok(entry::created(app, &request).await),
        Some("GET /admin/annuaire/{slug}/fiche") => Ok(entry::edit_page(app, &request).await),
        Some("POST /admin/annuaire/{slug}/fiche") => Ok(entry::saved(app, &request).await),
        Some("GET /admin/attente") => Ok(network::waiting(app, &request).await),
        Some("GET /admin/demandes/{id}") => Ok(network::routing_decision(app, &request).await),
        _ => Err(ApiError::not_found()),
    };
    Ok(answer.unwrap_or_else(|error| error.respond()))
}

/// The `routing-events` function: a batch of the table's stream, or the
/// daily schedule (an EventBridge "Scheduled Event").
pub async fn handle_event(app: &Routing, event: Value) -> Result<Value, Error> {
    if event.get("Records").is_some() {
        let batch: dynamodb::Event = serde_json::from_value(event)?;
        return Ok(serde_json::to_value(stream::deliver(app, &batch).await)?);
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let schedule: EventBridgeEvent<Value> = serde_json::from_value(event)?;
        let now = schedule.time.unwrap_or_else(chrono::Utc::now);
        let report = sweep::sweep(app, now).await?;
        return Ok(json!(report));
    }
    Err("unexpected event: neither a stream batch nor the daily schedule".into())
}
