//! The API contract (OpenAPI 3.1) merged from each function's routes, with
//! what every route shares: the two keys, the answers API Gateway and the
//! storage give to any route (401, 413, 415, 429, 503).
//!
//! Committed as `web/openapi.json`, served at `/v1/openapi.json` (CloudFront
//! from the assets bucket; the local stack from the file). After a change
//! of a route or of its types: `UPDATE_CONTRACT=1 cargo test -p binome-tests
//! --test api contract`, then read the difference.

use std::path::PathBuf;

use utoipa::{
    OpenApi, PartialSchema,
    openapi::{
        self, ContentBuilder, HttpMethod, InfoBuilder, Ref, RefOr, Response, ResponseBuilder,
        Server,
        header::HeaderBuilder,
        link::LinkBuilder,
        path::Operation,
        schema::{AnyOfBuilder, ObjectBuilder},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

/// Where the contract is committed.
fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/openapi.json")
}

/// The contract as the functions' types describe it today.
fn generate() -> openapi::OpenApi {
    let mut contract = openapi::OpenApi::default();
    contract.info = InfoBuilder::new()
        .title("binome — API du réseau de mentorat")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(DESCRIPTION))
        .build();
    contract.servers = Some(vec![Server::new("/")]);
    for part in [
        signup::contract::Contract::openapi(),
        newsletter::contract::Contract::openapi(),
        routing::contract::Contract::openapi(),
        matching::contract::Contract::openapi(),
        stats::contract::Contract::openapi(),
        staff::contract::Contract::openapi(),
    ] {
        merge(&mut contract, part);
    }
    add_shared_answers(&mut contract);
    add_links(&mut contract);
    contract
}

/// Where an answer leads: (operation, status, link name, next operation,
/// its parameter, where the value comes from). Clients (and schemathesis's
/// stateful phase) follow them from what they created to what acts on it.
const LINKS: &[(&str, &str, &str, &str, &str, &str)] = {
    const ISSUE: &str = "$response.body#/id";
    const SAME_ISSUE: &str = "$request.path.id";
    &[
        (
            "newsletter_admin_create_issue",
            "201",
            "lire",
            "newsletter_admin_get_issue",
            "id",
            ISSUE,
        ),
        (
            "newsletter_admin_create_issue",
            "201",
            "modifier",
            "newsletter_admin_edit_issue",
            "id",
            ISSUE,
        ),
        (
            "newsletter_admin_create_issue",
            "201",
            "apercu",
            "newsletter_admin_preview_issue",
            "id",
            ISSUE,
        ),
        (
            "newsletter_admin_create_issue",
            "201",
            "essai",
            "newsletter_admin_test_issue",
            "id",
            ISSUE,
        ),
        (
            "newsletter_admin_create_issue",
            "201",
            "envoyer",
            "newsletter_admin_send_issue",
            "id",
            ISSUE,
        ),
        (
            "newsletter_admin_create_issue",
            "201",
            "annuler",
            "newsletter_admin_cancel_issue",
            "id",
            ISSUE,
        ),
        (
            "newsletter_admin_send_issue",
            "200",
            "suspendre",
            "newsletter_admin_pause_issue",
            "id",
            SAME_ISSUE,
        ),
        (
            "newsletter_admin_send_issue",
            "200",
            "annuler",
            "newsletter_admin_cancel_issue",
            "id",
            SAME_ISSUE,
        ),
        (
            "newsletter_admin_pause_issue",
            "200",
            "reprendre",
            "newsletter_admin_resume_issue",
            "id",
            SAME_ISSUE,
        ),
        (
            "matching_request_run",
            "202",
            "suivre",
            "matching_show_run",
            "id",
            "$response.body#/id",
        ),
        (
            "matching_propose_pair",
            "201",
            "clore",
            "matching_close_pair",
            "id",
            "$response.body#/id",
        ),
        (
            "matching_propose_pair",
            "201",
            "duree",
            "matching_set_programme_length",
            "id",
            "$response.body#/id",
        ),
        (
            "matching_list_pairs",
            "200",
            "clore",
            "matching_close_pair",
            "id",
            "$response.body#/pairs/0/id",
        ),
        (
            "inbox_list_requests",
            "200",
            "lire",
            "inbox_get_request",
            "id",
            "$response.body#/requests/0/id",
        ),
        (
            "inbox_list_requests",
            "200",
            "prendre_en_charge",
            "inbox_acknowledge_request",
            "id",
            "$response.body#/requests/0/id",
        ),
        (
            "inbox_list_requests",
            "200",
            "decliner",
            "inbox_decline_request",
            "id",
            "$response.body#/requests/0/id",
        ),
        (
            "inbox_list_requests",
            "200",
            "suggestions",
            "matching_mentee_suggestions",
            "id",
            "$response.body#/requests/0/id",
        ),
        (
            "directory_put_association",
            "201",
            "nouvelle_cle",
            "directory_rotate_key",
            "slug",
            "$request.path.slug",
        ),
        (
            "signup_register_mentee",
            "202",
            "routage",
            "directory_request_routing",
            "id",
            "$response.body#/id",
        ),
    ]
};

fn add_links(contract: &mut openapi::OpenApi) {
    let known: Vec<String> = contract
        .paths
        .paths
        .values()
        .flat_map(|item| [&item.get, &item.post, &item.put, &item.delete])
        .flatten()
        .filter_map(|operation| operation.operation_id.clone())
        .collect();
    for &(from, status, name, to, parameter, value) in LINKS {
        assert!(
            known.iter().any(|id| id == to),
            "a link leads to {to}, which is not an operation"
        );
        let answer = contract
            .paths
            .paths
            .values_mut()
            .flat_map(|item| {
                [
                    &mut item.get,
                    &mut item.post,
                    &mut item.put,
                    &mut item.delete,
                ]
            })
            .flatten()
            .find(|operation| operation.operation_id.as_deref() == Some(from))
            .and_then(|operation| operation.responses.responses.get_mut(status));
        let Some(RefOr::T(answer)) = answer else {
            panic!("{from} has no {status} answer to link from");
        };
        answer.links.insert(
            name.into(),
            RefOr::T(
                LinkBuilder::new()
                    .operation_id(to)
                    .parameter(parameter, value)
                    .build(),
            ),
        );
    }
}

/// Merges `part` into `contract`, refusing two routes or two schemas of the
/// same name that differ (utoipa's own merge would keep one silently).
fn merge(contract: &mut openapi::OpenApi, part: openapi::OpenApi) {
    let components = contract.components.get_or_insert_default();
    if let Some(theirs) = &part.components {
        for (name, schema) in &theirs.schemas {
            if let Some(ours) = components.schemas.get(name) {
                assert!(ours == schema, "two different schemas are named {name}");
            }
        }
    }
    for path in part.paths.paths.keys() {
        assert!(
            !contract.paths.paths.contains_key(path),
            "{path} is described by two functions"
        );
    }
    contract.merge(part);
}

const DESCRIPTION: &str = "Le contrat des routes JSON de binome : les formulaires d'inscription des jeunes et des mentor·es, la lettre d'information, la boîte de réception des associations, leurs binômes et leurs chiffres, l'annuaire du réseau.\n\n\
**Authentification.** Les routes `/v1/association/...` demandent la clé d'API de l'association (`Authorization: Bearer <clé>`), les routes `/v1/admin/...` celle des administrateur·rices du réseau. Une association ne voit que ses propres demandes et binômes : l'identifiant d'une autre répond 404.\n\n\
**Erreurs.** Toute erreur est un objet JSON `{\"code\", \"message\", \"fields\"}` : `code` est stable (à tester dans vos programmes), `message` est en français et dit quoi corriger, `fields` nomme chaque champ invalide. Rien n'est enregistré quand la réponse est une erreur.\n\n\
**Réessayer.** 429 (trop de requêtes) et 503 (service momentanément indisponible) portent l'en-tête `Retry-After` en secondes : réessayez après ce délai, avec le même en-tête `Idempotency-Key` pour les inscriptions, qui rejouent alors la première réponse.\n\n\
**Liens des e-mails.** Les routes qui prennent un `token` sont ouvertes depuis les e-mails envoyés aux personnes ; ce jeton est signé et limité dans le temps.";

/// The answers every route may give, described once and referenced by each
/// operation, and the two keys.
fn add_shared_answers(contract: &mut openapi::OpenApi) {
    let components = contract.components.get_or_insert_default();
    let error = || {
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name("ApiError"))))
            .build()
    };
    let retry_after = || {
        HeaderBuilder::new()
            .schema(u32::schema())
            .description(Some("Secondes à attendre avant de réessayer."))
            .build()
    };
    let answers: [(&str, Response); 6] = [
        (
            "Unauthorized",
            ResponseBuilder::new()
                .description("Clé absente ou inconnue (`unauthorized`).")
                .content("application/json", error())
                .build(),
        ),
        (
            "PayloadTooLarge",
            ResponseBuilder::new()
                .description("Corps trop long (`payload_too_large`) : 16 Ko au plus, 64 Ko pour le texte d'une lettre.")
                .content("application/json", error())
                .build(),
        ),
        (
            "UnsupportedMediaType",
            ResponseBuilder::new()
                .description("Corps sans l'en-tête `Content-Type: application/json` (`unsupported_media_type`).")
                .content("application/json", error())
                .build(),
        ),
        (
            "TooManyRequests",
            ResponseBuilder::new()
                .description("Trop de requêtes en même temps : réessayez après `Retry-After` s'il est donné, sinon après quelques secondes. Le corps est l'erreur `too_many_requests`, ou, quand API Gateway refuse lui-même la requête, `{\"message\": \"Too Many Requests\"}`.")
                .header("Retry-After", retry_after())
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(
                            AnyOfBuilder::new()
                                .item(Ref::from_schema_name("ApiError"))
                                .item(
                                    ObjectBuilder::new()
                                        .property("message", String::schema())
                                        .required("message"),
                                ),
                        ))
                        .build(),
                )
                .build(),
        ),
        (
            "UnavailablePage",
            ResponseBuilder::new()
                .description("Service momentanément indisponible : la page le dit, rien n'a été enregistré, réessayez après `Retry-After`.")
                .header("Retry-After", retry_after())
                .content("text/html", ContentBuilder::new().schema(Some(String::schema())).build())
                .build(),
        ),
        (
            "Unavailable",
            ResponseBuilder::new()
                .description("Service momentanément indisponible (`unavailable`) : rien n'a été enregistré, réessayez après `Retry-After`.")
                .header("Retry-After", retry_after())
                .content("application/json", error())
                .build(),
        ),
    ];
    for (name, answer) in answers {
        components.responses.insert(name.into(), answer.into());
    }
    components.security_schemes.insert(
        "association".into(),
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("La clé d'API de l'association, remise par le réseau."))
                .build(),
        ),
    );
    components.security_schemes.insert(
        "admin".into(),
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("La clé des administrateur·rices du réseau."))
                .build(),
        ),
    );
    for item in contract.paths.paths.values_mut() {
        for method in [
            HttpMethod::Get,
            HttpMethod::Post,
            HttpMethod::Put,
            HttpMethod::Delete,
        ] {
            if let Some(operation) = operation(item, method) {
                refer_shared_answers(operation);
            }
        }
    }
}

fn operation(item: &mut openapi::PathItem, method: HttpMethod) -> Option<&mut Operation> {
    match method {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Put => item.put.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        _ => None,
    }
}

fn refer_shared_answers(operation: &mut Operation) {
    // The pages that links open say a failure in a page, not in JSON.
    let is_page = operation.responses.responses.values().any(
        |answer| matches!(answer, RefOr::T(answer) if answer.content.contains_key("text/html")),
    );
    let unavailable = if is_page {
        "UnavailablePage"
    } else {
        "Unavailable"
    };
    let mut shared = vec![("429", "TooManyRequests"), ("503", unavailable)];
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        shared.push(("401", "Unauthorized"));
    }
    // The JSON body checks; a form posted by a page has its own answers.
    let takes_json = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"));
    if takes_json {
        shared.push(("413", "PayloadTooLarge"));
        shared.push(("415", "UnsupportedMediaType"));
    }
    for (status, name) in shared {
        operation
            .responses
            .responses
            .entry(status.into())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

/// The contract as published. utoipa 5.5 writes a link's fields in
/// snake_case, where OpenAPI names them in camelCase: renamed here.
fn published() -> String {
    let mut contract = serde_json::to_value(generate()).expect("a contract serialises");
    for item in contract["paths"]
        .as_object_mut()
        .expect("paths")
        .values_mut()
    {
        for operation in item.as_object_mut().expect("a path item").values_mut() {
            let Some(answers) = operation
                .get_mut("responses")
                .and_then(|r| r.as_object_mut())
            else {
                continue;
            };
            for answer in answers.values_mut() {
                let Some(links) = answer.get_mut("links").and_then(|l| l.as_object_mut()) else {
                    continue;
                };
                for link in links.values_mut() {
                    let link = link.as_object_mut().expect("a link");
                    for (snake, camel) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(value) = link.remove(snake) {
                            link.insert(camel.into(), value);
                        }
                    }
                }
            }
        }
    }
    serde_json::to_string_pretty(&contract).expect("JSON serialises") + "\n"
}

#[test]
fn the_committed_contract_is_the_one_the_types_describe() {
    let generated = published();
    let path = committed_path();
    if std::env::var_os("UPDATE_CONTRACT").is_some() {
        std::fs::write(&path, &generated).expect("web/openapi.json is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "web/openapi.json is not what the routes' types describe: run \
         `UPDATE_CONTRACT=1 cargo test -p binome-tests --test api contract` and commit it"
    );
}

#[test]
fn every_json_route_is_in_the_contract_and_nothing_else() {
    let routes: Vec<&str> = [
        signup::ROUTES,
        newsletter::ROUTES,
        routing::ROUTES,
        matching::ROUTES,
        stats::ROUTES,
        staff::ROUTES,
    ]
    .concat()
    .into_iter()
    .filter(|key| key.contains(" /v1/"))
    .collect();
    let mut described = Vec::new();
    for (path, item) in &generate().paths.paths {
        for (method, operation) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
        ] {
            if let Some(operation) = operation {
                described.push(format!("{method} {path}"));
                assert!(
                    operation.summary.is_some() && operation.operation_id.is_some(),
                    "{method} {path} has no summary or operation id"
                );
            }
        }
    }
    let missing: Vec<&&str> = routes
        .iter()
        .filter(|key| !described.iter().any(|d| d == *key))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from the contract: {missing:?}"
    );
    let unknown: Vec<&String> = described
        .iter()
        .filter(|d| !routes.contains(&d.as_str()))
        .collect();
    assert!(unknown.is_empty(), "described but not served: {unknown:?}");
}

#[test]
fn what_clients_may_send_lists_every_value() {
    let contract: serde_json::Value =
        serde_json::from_str(&published()).expect("the contract is JSON");
    // Every link names an operation the contract has, in OpenAPI's spelling.
    let text = published();
    assert!(text.contains("\"operationId\": \"newsletter_admin_get_issue\""));
    assert!(!text.contains("\"operation_id\""));
    let values = |schema: &str| -> Vec<String> {
        contract["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} lists its values"))
            .iter()
            .map(|v| v.as_str().expect("a string value").to_owned())
            .collect()
    };
    // The values are the ones serde reads: each one is accepted back.
    for value in values("Situation") {
        serde_json::from_value::<shared::people::Situation>(value.clone().into())
            .unwrap_or_else(|_| panic!("situation {value} is not read"));
    }
    for value in values("Need") {
        serde_json::from_value::<shared::people::Need>(value.clone().into())
            .unwrap_or_else(|_| panic!("need {value} is not read"));
    }
    for value in values("PriorityGroup") {
        serde_json::from_value::<shared::people::PriorityGroup>(value.clone().into())
            .unwrap_or_else(|_| panic!("group {value} is not read"));
    }
    for value in values("Mode") {
        serde_json::from_value::<shared::people::Mode>(value.clone().into())
            .unwrap_or_else(|_| panic!("mode {value} is not read"));
    }
}
