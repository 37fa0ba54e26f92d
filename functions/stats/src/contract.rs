//! The figures' routes in the API contract (OpenAPI 3.1), merged with the
//! other functions' into `/v1/openapi.json`.

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        crate::report::network,
        crate::report::association,
        crate::report::impact
    ),
    // Reached only through a query parameter, which utoipa does not follow.
    components(schemas(crate::report::ReportFormat, crate::report::By)),
    tags((
        name = "chiffres",
        description = "Les chiffres du réseau, d'une association, et les chiffres d'impact publics : des comptes par mois, département et association, sans donnée personnelle."
    ))
)]
pub struct Contract;
