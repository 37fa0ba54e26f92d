//! The crate's routes in the API contract (OpenAPI 3.1), merged with the other
//! functions' into `/v1/openapi.json`.

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        crate::subscribe::handle,
        crate::confirm::handle,
        crate::unsubscribe::page,
        crate::unsubscribe::handle,
        crate::archive::list,
        crate::archive::show,
        crate::issues::create,
        crate::issues::edit,
        crate::issues::show,
        crate::issues::preview,
        crate::issues::test,
        crate::issues::send,
        crate::issues::pause,
        crate::issues::resume,
        crate::issues::cancel,
    ),
    tags(
        (
            name = "newsletter",
            description = "La lettre d'information mensuelle du réseau, côté lecteurs : inscription avec double confirmation par e-mail, désinscription en un clic (RFC 8058), archives et version web des lettres publiées. Les liens des e-mails ouvrent des pages HTML."
        ),
        (
            name = "newsletter-admin",
            description = "Les lettres d'information, côté administrateurs du réseau (clé d'administration) : brouillons, aperçu, envois de test, puis l'envoi à tous les abonné·es — programmé, mis en pause, repris ou annulé — et ses chiffres."
        ),
    )
)]
pub struct Contract;
