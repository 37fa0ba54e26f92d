//! The crate's routes in the API contract (OpenAPI 3.1), merged with the other
//! functions' into `/v1/openapi.json`.

#[derive(utoipa::OpenApi)]
#[openapi(paths(crate::team::first_admin, crate::network::invite_network_admin))]
pub struct Contract;
