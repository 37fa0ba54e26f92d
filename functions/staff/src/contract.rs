//! The crate's routes in the API contract (OpenAPI 3.1), merged with the other
//! functions' into `/v1/openapi.json`.

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    crate::team::list,
    crate::team::invite_member,
    crate::team::change_role,
    crate::team::remove_member,
    crate::keys::list,
    crate::keys::create,
    crate::keys::revoke,
    crate::journal::read,
    crate::team::first_admin,
    crate::network::invite_network_admin,
    crate::network::network_team
), tags(
    (name = "equipe", description = "L'espace de l'association pour ses administrateur·rices : son équipe, ses clés d'API, son journal et ses réglages, avec une clé d'API de l'association ou la session d'un·e administrateur·rice (les écritures portant alors l'en-tête `X-CSRF-Token`). Un·e membre de l'équipe qui n'est pas administrateur·rice reçoit 403 `admins_only`."),
))]
pub struct Contract;
