//! Routing: every verified request goes to the most relevant association,
//! with its reasons. The rules are a pure function over plain data
//! (`rules`); the directory they read is run by the network's admins
//! (`directory`).
//!
//! | route                                      | what it does                               |
//! |--------------------------------------------|--------------------------------------------|
//! | `PUT  /v1/admin/associations/{slug}`       | creates (key shown once) or updates        |
//! | `POST /v1/admin/associations/{slug}/keys`  | rotates the association's API key          |

pub mod directory;
pub mod rules;

use lambda_http::{Body, Error, Request, Response};
use sha2::{Digest, Sha256};
use shared::{http, store::Store};
use subtle::ConstantTimeEq;

/// The routes this function serves, as API Gateway route keys.
pub const ROUTES: &[&str] = &[
    "PUT /v1/admin/associations/{slug}",
    "POST /v1/admin/associations/{slug}/keys",
];

pub struct Routing {
    pub store: Store,
    admin_key_hash: [u8; 32],
}

impl Routing {
    /// `admin_key`: the network admins' key (from the secret store).
    pub fn new(store: Store, admin_key: &str) -> Self {
        Self {
            store,
            admin_key_hash: Sha256::digest(admin_key.trim().as_bytes()).into(),
        }
    }

    /// Compares hashes, in constant time.
    fn is_admin(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        presented.ct_eq(&self.admin_key_hash).into()
    }
}

pub async fn handle(app: &Routing, request: Request) -> Result<Response<Body>, Error> {
    let response = match http::route_key(&request) {
        Some("PUT /v1/admin/associations/{slug}") => directory::put(app, &request).await,
        Some("POST /v1/admin/associations/{slug}/keys") => {
            directory::rotate_key(app, &request).await
        }
        _ => http::ApiError::not_found().respond(),
    };
    Ok(response)
}
