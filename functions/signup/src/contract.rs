//! The crate's routes in the API contract (OpenAPI 3.1), merged with the other
//! functions' into `/v1/openapi.json`.

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        crate::register::mentee,
        crate::register::mentor,
        crate::verify::address,
        crate::verify::guardian_page,
        crate::verify::guardian_consent,
        crate::personal_data::link,
        crate::personal_data::export,
        crate::personal_data::erase_page,
        crate::personal_data::erase,
        crate::personal_data::keep_page,
        crate::personal_data::keep,
    ),
    tags(
        (
            name = "inscription",
            description = "Les demandes des jeunes qui cherchent un mentor, les inscriptions des mentors bénévoles, et leur confirmation : l'adresse e-mail par un lien, et avant 15 ans l'accord du responsable légal. Une demande non confirmée est effacée au bout de 7 jours."
        ),
        (
            name = "donnees-personnelles",
            description = "Les droits de chacun sur ses données (RGPD) : un lien reçu par e-mail pour les télécharger ou les effacer, et pour garder un compte inactif avant sa suppression. Les liens sont signés et limités dans le temps ; rien ne révèle si une adresse est connue."
        )
    )
)]
pub struct Contract;
