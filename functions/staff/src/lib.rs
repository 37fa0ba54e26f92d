//! The staff space's doors and team: association staff sign in by a mailed
//! link (single use, 15 minutes) and hold a session; association admins
//! invite, change and remove members and read the journal; the network's
//! admins invite an association's first admin. The session itself is
//! `shared::staff`, read by every function that serves pages of the space.
//!
//! | route                                        | what it does                                     |
//! |----------------------------------------------|--------------------------------------------------|
//! | `GET`, `POST /connexion`                     | asks for a sign-in link (same answer for any address) |
//! | `GET /connexion/lien`                        | a page with a button: following the link does nothing |
//! | `POST /connexion/lien`                       | signs in: a new session, the link used up        |
//! | `POST /deconnexion`                          | signs out                                        |
//! | `GET`, `POST /association/equipe`            | the team; an admin invites                       |
//! | `POST /association/equipe/{id}/role`, `…/retrait` | an admin changes a role, removes a member   |
//! | `GET /association/journal`                   | who did what, newest first (admins)              |
//! | `GET`, `POST /association/cles`, `POST …/{id}/revocation` | the API keys: create (shown once), list, revoke (admins) |
//! | `GET`, `POST /v1/association/team`, `POST …/{id}/role`, `DELETE …/{id}` | the team, as the pages manage it |
//! | `GET`, `POST /v1/association/keys`, `DELETE …/{id}` | the API keys, as the pages manage them |
//! | `GET /v1/association/journal`                | the journal                                      |
//! | `POST /v1/admin/associations/{slug}/admins`  | the network invites an association's first admin |
//! | `POST /v1/admin/network-admins`              | the first network admin (admin key)              |
//! | `GET /v1/admin/network-admins`               | the network's team (admin key)                   |
//! | `GET`, `POST /admin/equipe`                  | the network's team; a network admin invites      |
//! | `POST /admin/annuaire/{slug}/administrateurs` | an association's first admin, from the directory |

pub mod contract;
mod journal;
mod keys;
mod network;
mod sign_in;
mod team;

use std::time::Duration;

use lambda_http::{Body, Error, Request, Response};
use shared::{directory::AdminKey, http, keyring::Keyring, links::Links, store::Store};

/// The routes this function serves, as API Gateway route keys.
pub const ROUTES: &[&str] = &[
    "GET /connexion",
    "POST /connexion",
    "GET /connexion/lien",
    "POST /connexion/lien",
    "POST /deconnexion",
    "GET /association/equipe",
    "POST /association/equipe",
    "POST /association/equipe/{id}/role",
    "POST /association/equipe/{id}/retrait",
    "GET /association/journal",
    "GET /association/cles",
    "POST /association/cles",
    "POST /association/cles/{id}/revocation",
    "GET /v1/association/team",
    "POST /v1/association/team",
    "POST /v1/association/team/{id}/role",
    "DELETE /v1/association/team/{id}",
    "GET /v1/association/keys",
    "POST /v1/association/keys",
    "DELETE /v1/association/keys/{id}",
    "GET /v1/association/journal",
    "POST /v1/admin/associations/{slug}/admins",
    "POST /v1/admin/network-admins",
    "GET /v1/admin/network-admins",
    "GET /admin/equipe",
    "POST /admin/equipe",
    "POST /admin/annuaire/{slug}/administrateurs",
];

/// The sign-in request answers no sooner than this, known address or not.
pub const DEFAULT_RESPONSE_FLOOR_MS: u64 = 150;

pub struct Staff {
    pub store: Store,
    keyring: Keyring,
    links: Links,
    admin_key: AdminKey,
    response_floor: Duration,
}

impl Staff {
    pub fn new(
        store: Store,
        keyring: Keyring,
        links: Links,
        admin_key: &str,
        response_floor: Duration,
    ) -> Self {
        Self {
            store,
            keyring,
            links,
            admin_key: AdminKey::new(Some(admin_key)),
            response_floor,
        }
    }
}

/// The function's start: configuration, the signing secret, the admin key,
/// a warm connection.
pub async fn start() -> Result<Staff, Error> {
    let start =
        shared::aws::start_signing(shared::aws::Secrets::SigningAndAdminKey, |_| ()).await?;
    let admin_key = start.admin_key.expect("read with the signing secret");
    Ok(Staff::new(
        start.store,
        start.keyring,
        start.links,
        &admin_key,
        Duration::from_millis(DEFAULT_RESPONSE_FLOOR_MS),
    ))
}

pub async fn handle(app: &Staff, request: Request) -> Result<Response<Body>, Error> {
    let response = match http::route_key(&request) {
        Some("GET /connexion") => sign_in::page(&request),
        Some("POST /connexion") => sign_in::asked(app, &request).await,
        Some("GET /connexion/lien") => sign_in::link_page(app, &request),
        Some("POST /connexion/lien") => sign_in::link_used(app, &request).await,
        Some("POST /deconnexion") => sign_in::sign_out(app, &request).await,
        Some("GET /association/equipe") => team::page(app, &request).await,
        Some("POST /association/equipe") => team::invited(app, &request).await,
        Some("POST /association/equipe/{id}/role") => team::role_changed(app, &request).await,
        Some("POST /association/equipe/{id}/retrait") => team::removed(app, &request).await,
        Some("GET /association/journal") => journal::page(app, &request).await,
        Some("GET /association/cles") => keys::page(app, &request).await,
        Some("POST /association/cles") => keys::created(app, &request).await,
        Some("POST /association/cles/{id}/revocation") => keys::revoked(app, &request).await,
        Some(route) if route.contains(" /v1/") => api(app, route, &request)
            .await
            .unwrap_or_else(|error| error.respond()),
        Some("GET /admin/equipe") => network::page(app, &request).await,
        Some("POST /admin/equipe") => network::invited(app, &request).await,
        Some("POST /admin/annuaire/{slug}/administrateurs") => {
            network::first_admin_page(app, &request).await
        }
        _ => http::ApiError::not_found().respond(),
    };
    Ok(response)
}

/// The JSON routes: the association's (its key or a session, with the
/// same roles as the pages) and the network's (the admin key).
async fn api(
    app: &Staff,
    route: &str,
    request: &Request,
) -> Result<Response<Body>, http::ApiError> {
    match route {
        "GET /v1/association/team" => team::list(app, request).await,
        "POST /v1/association/team" => team::invite_member(app, request).await,
        "POST /v1/association/team/{id}/role" => team::change_role(app, request).await,
        "DELETE /v1/association/team/{id}" => team::remove_member(app, request).await,
        "GET /v1/association/keys" => keys::list(app, request).await,
        "POST /v1/association/keys" => keys::create(app, request).await,
        "DELETE /v1/association/keys/{id}" => keys::revoke(app, request).await,
        "GET /v1/association/journal" => journal::read(app, request).await,
        "POST /v1/admin/associations/{slug}/admins" => team::first_admin(app, request).await,
        "POST /v1/admin/network-admins" => network::invite_network_admin(app, request).await,
        "GET /v1/admin/network-admins" => network::network_team(app, request).await,
        _ => Err(http::ApiError::not_found()),
    }
}
