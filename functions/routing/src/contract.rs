//! The crate's routes in the API contract (OpenAPI 3.1), merged with the other
//! functions' into `/v1/openapi.json`.

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        crate::directory::put,
        crate::directory::rotate_key,
        crate::directory::routing_of,
        crate::network::directory_list,
        crate::network::waiting_list,
        crate::settings::read,
        crate::settings::write,
        crate::inbox::list,
        crate::inbox::show,
        crate::inbox::acknowledge,
        crate::inbox::decline,
        crate::inbox::record_honorability,
    ),
    tags(
        (name = "annuaire", description = "L'annuaire des associations, tenu par les administrateurs du réseau : créer ou mettre à jour une association, renouveler sa clé d'API, suivre le routage d'une demande."),
        (name = "demandes", description = "Les demandes qu'une association reçoit, avec sa clé d'API (ou la session d'un membre de son équipe, les écritures portant alors l'en-tête `X-CSRF-Token`) : les lister, en voir une avec les coordonnées de la personne, la prendre en charge ou la décliner, enregistrer la vérification d'honorabilité d'un mentor."),
    )
)]
pub struct Contract;
