//! The association's API keys, for the programs its admins connect: create
//! one with a name (the key is shown once; only its hash is kept), list
//! them, revoke one (it stops at once). The key the network made with the
//! association is listed too, and can be revoked the same way.

use askama::Template;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    directory::{NamedKey, has_original_key, named_keys},
    http::{self, ApiError},
    journal::{Action, Actor, Entry},
    site::{SpaceNav, html, paris_time, posted, see_other, unindexed},
    staff::{self, Acting, InSpace, StaffAccount, in_space},
    store::{Key, StoreError, cancellation_reasons, is_condition_failure, keys::counters},
};

use crate::Staff;

const KEYS: &str = "/association/cles";
/// What a key's name must be.
const NAME_NEEDED: &str =
    "Donnez un nom à la clé (2 à 80 caractères), par exemple celui du logiciel qui l'utilise.";
/// The id the key made by the network goes by in the page.
const ORIGINAL: &str = "origine";

#[derive(Template)]
#[template(path = "space/keys.html")]
struct KeysPage {
    nav: SpaceNav,
    original: bool,
    keys: Vec<KeyRow>,
    /// A key just created: shown this once.
    created: Option<(String, String)>,
    name: String,
    error: Option<String>,
    done: Option<&'static str>,
}

struct KeyRow {
    id: String,
    name: String,
    created: String,
}

async fn render(
    app: &Staff,
    space: &InSpace,
    created: Option<(String, String)>,
    name: String,
    error: Option<String>,
    done: Option<&'static str>,
    status: StatusCode,
) -> Result<Response<Body>, StoreError> {
    let slug = &space.association.slug;
    let keys = named_keys(&app.store, slug)
        .await?
        .into_iter()
        .map(|key| KeyRow {
            created: format!("{}, par {}", paris_time(key.created_at), key.created_by),
            id: key.id,
            name: key.name,
        })
        .collect();
    let page = KeysPage {
        nav: space.nav("cles"),
        original: has_original_key(&app.store, slug).await?,
        keys,
        created,
        name,
        error,
        done,
    };
    Ok(unindexed(html(status, page.render())))
}

async fn admin_space(
    app: &Staff,
    request: &Request,
) -> Result<Result<InSpace, Response<Body>>, StoreError> {
    let space = match in_space(&app.store, request, KEYS, Utc::now()).await? {
        Ok(space) => space,
        Err(sign_in) => return Ok(Err(sign_in)),
    };
    match space.unless_admin("cles") {
        Some(refused) => Ok(Err(refused)),
        None => Ok(Ok(space)),
    }
}

/// `GET /association/cles` (admins)
pub async fn page(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match admin_space(app, request).await? {
                Ok(space) => space,
                Err(refused) => return Ok(refused),
            };
            let done = (http::query_parameter(request, "fait").as_deref() == Some("revocation"))
                .then_some(
                    "Clé révoquée : les programmes qui l'utilisaient sont refusés dès maintenant.",
                );
            render(app, &space, None, String::new(), None, done, StatusCode::OK).await
        }
        .await,
        "Aucune clé n'a été modifiée",
    )
}

#[derive(Debug, Default, Deserialize)]
struct KeyForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
}

/// `POST /association/cles {name}`: a new key, shown on this page only.
pub async fn created(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let now = Utc::now();
            let space = match admin_space(app, request).await? {
                Ok(space) => space,
                Err(refused) => return Ok(refused),
            };
            let form: KeyForm = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), KEYS) {
                return Ok(refused);
            }
            let Some(name) = valid_key_name(&form.name) else {
                return render(
                    app,
                    &space,
                    None,
                    form.name.clone(),
                    Some(NAME_NEEDED.into()),
                    None,
                    StatusCode::BAD_REQUEST,
                )
                .await;
            };
            let by = KeyAdmin::of_space(&space);
            let Some(key) = create_key(app, &by, name, now).await? else {
                return Ok(see_other(KEYS));
            };
            render(
                app,
                &space,
                Some((name.to_owned(), key.key)),
                String::new(),
                None,
                None,
                StatusCode::CREATED,
            )
            .await
        }
        .await,
        "Aucune clé n'a été modifiée",
    )
}

/// `POST /association/cles/{id}/revocation`: the key stops at once.
pub async fn revoked(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let now = Utc::now();
            let space = match admin_space(app, request).await? {
                Ok(space) => space,
                Err(refused) => return Ok(refused),
            };
            let form: KeyForm = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), KEYS) {
                return Ok(refused);
            }
            // As the JSON route: another association's key (or one revoked
            // already) is not found, never a success.
            if !revoke_key(app, &KeyAdmin::of_space(&space), key_id(request), now).await? {
                return Ok(space.notice(
                    "cles",
                    StatusCode::NOT_FOUND,
                    "Clé introuvable",
                    &["Cette clé n'existe pas, ou elle n'est pas (ou plus) à votre association."],
                    (KEYS, "Revenir aux clés"),
                ));
            }
            Ok(see_other("/association/cles?fait=revocation"))
        }
        .await,
        "Aucune clé n'a été modifiée",
    )
}

/// Who manages the keys: the association, and who the journal names.
struct KeyAdmin<'a> {
    slug: &'a str,
    actor: Actor,
    /// A staff member, whose role the change's transaction checks.
    account: Option<&'a StaffAccount>,
}

impl<'a> KeyAdmin<'a> {
    fn of_space(space: &'a InSpace) -> Self {
        Self {
            slug: &space.association.slug,
            actor: Actor::staff(space.account()),
            account: Some(space.account()),
        }
    }

    fn of(acting: &'a Acting) -> Self {
        Self {
            slug: &acting.association.slug,
            actor: acting.actor.clone(),
            account: acting.account.as_ref(),
        }
    }
}

/// The key's name, as typed, if it is one: 2 to 80 characters.
fn valid_key_name(name: &str) -> Option<&str> {
    let name = name.trim();
    ((2..=80).contains(&name.chars().count()) && !name.chars().any(char::is_control))
        .then_some(name)
}

/// A key just made: shown this once.
struct Created {
    key: String,
    record: NamedKey,
}

/// Makes a named key with its journal entry; `None` when the admin
/// acting lost the role meanwhile (nothing written).
#[tracing::instrument(skip_all, fields(association = by.slug))]
async fn create_key(
    app: &Staff,
    by: &KeyAdmin<'_>,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<Created>, StoreError> {
    let (key, record) = NamedKey::new(by.slug, name, &by.actor.name, now);
    let entry =
        Entry::new(by.actor.clone(), Action::ApiKeyCreated, &record.id, now).with_detail(name);
    let table = &app.store.table;
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(record.item()?))
        .condition_expression("attribute_not_exists(pk)")
        .build()?;
    let mut writes = vec![
        TransactWriteItem::builder().put(put).build(),
        entry.transact_put(table, by.slug)?,
    ];
    if let Some(account) = by.account {
        writes.push(account.still_acting(table)?);
    }
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(association = by.slug, "API key created");
            Ok(Some(Created { key, record }))
        }
        Err(error)
            if cancellation_reasons(&error)
                .is_some_and(|reasons| reasons.iter().any(is_condition_failure)) =>
        {
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// Revokes the key with this id (`origine`: the one the network made);
/// `false` when there is no such key of the association (revoked already).
#[tracing::instrument(skip_all, fields(association = by.slug))]
async fn revoke_key(
    app: &Staff,
    by: &KeyAdmin<'_>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let table = &app.store.table;
    let revoke = if id == ORIGINAL {
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(Key::association(by.slug).attributes()))
                    .update_expression("REMOVE #hash")
                    .condition_expression("attribute_exists(#hash)")
                    .expression_attribute_names("#hash", counters::KEY_HASH)
                    .build()?,
            )
            .build()
    } else if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(Key::api_key(id).attributes()))
                    .condition_expression("association = :association")
                    .expression_attribute_values(
                        ":association",
                        AttributeValue::S(by.slug.to_owned()),
                    )
                    .build()?,
            )
            .build()
    } else {
        return Ok(false);
    };
    let entry = Entry::new(by.actor.clone(), Action::ApiKeyRevoked, id, now);
    let mut writes = vec![revoke, entry.transact_put(table, by.slug)?];
    if let Some(account) = by.account {
        writes.push(account.still_acting(table)?);
    }
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(association = by.slug, "API key revoked");
            Ok(true)
        }
        // Revoked already, another association's, or the admin acting
        // lost the role: nothing to do.
        Err(error)
            if cancellation_reasons(&error)
                .is_some_and(|reasons| reasons.iter().any(is_condition_failure)) =>
        {
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "Une clé d'API de l'association (jamais la clé elle-même : seule son empreinte est conservée)."
)]
pub struct ApiKeyListed {
    /// Identifiant de la clé (son empreinte SHA-256) ; `origine` pour celle que le réseau a créée avec l'association.
    pub id: String,
    pub name: String,
    /// Absente pour celle du réseau.
    pub created_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Les clés d'API de l'association.")]
pub struct ApiKeys {
    pub keys: Vec<ApiKeyListed>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "La clé à créer.")]
pub struct KeyRequest {
    /// Son nom (2 à 80 caractères), par exemple celui du logiciel qui l'utilise.
    #[schema(min_length = 2, max_length = 80, example = "Notre CRM")]
    name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "La clé créée, affichée cette seule fois.")]
pub struct ApiKeyCreated {
    pub id: String,
    pub name: String,
    /// La clé, à envoyer en `Authorization: Bearer` ; elle n'est plus jamais affichée.
    pub key: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "La clé est révoquée : les programmes qui l'utilisaient sont refusés dès maintenant."
)]
pub struct ApiKeyRevoked {
    pub id: String,
    /// Toujours `revoked`.
    #[schema(example = "revoked")]
    pub status: &'static str,
}

#[utoipa::path(
    get,
    path = "/v1/association/keys",
    tag = "equipe",
    operation_id = "keys_list",
    summary = "Les clés d'API de l'association",
    description = "Leurs noms et dates, jamais les clés. Réservé aux administrateur·rices (ou à une clé d'API de l'association).",
    security(("association" = [])),
    responses(
        (status = 200, description = "Les clés.", body = ApiKeys),
        (status = 403, description = "Un·e membre qui n'est pas administrateur·rice (`admins_only`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/association/keys`
pub async fn list(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    let acting = staff::acting(&app.store, request, Utc::now())
        .await?
        .admin()?;
    let slug = &acting.association.slug;
    let mut keys = Vec::new();
    if has_original_key(&app.store, slug).await? {
        keys.push(ApiKeyListed {
            id: ORIGINAL.to_owned(),
            name: "Clé créée par le réseau avec l'association".to_owned(),
            created_at: None,
            created_by: None,
        });
    }
    keys.extend(
        named_keys(&app.store, slug)
            .await?
            .into_iter()
            .map(|key| ApiKeyListed {
                id: key.id,
                name: key.name,
                created_at: Some(key.created_at),
                created_by: Some(key.created_by),
            }),
    );
    Ok(http::json(StatusCode::OK, &ApiKeys { keys }))
}

#[utoipa::path(
    post,
    path = "/v1/association/keys",
    tag = "equipe",
    operation_id = "keys_create",
    summary = "Créer une clé d'API",
    description = "La clé est affichée dans cette seule réponse ; seule son empreinte est conservée.",
    security(("association" = [])),
    request_body(content = KeyRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Clé créée.", body = ApiKeyCreated),
        (status = 400, description = "Nom invalide (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 403, description = "Réservé aux administrateur·rices (`admins_only`), jeton CSRF manquant avec une session (`csrf_token`).", body = shared::http::ApiError),
        (status = 409, description = "L'administrateur·rice a changé de rôle entre-temps (`changed_meanwhile`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/keys {name}`
pub async fn create(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    let acting = staff::acting(&app.store, request, Utc::now())
        .await?
        .admin()?;
    let form: KeyRequest = http::parse_json(request)?;
    let Some(name) = valid_key_name(&form.name) else {
        return Err(ApiError::invalid_fields(vec![http::FieldError {
            field: "name".into(),
            message: NAME_NEEDED.into(),
        }]));
    };
    let Some(created) = create_key(app, &KeyAdmin::of(&acting), name, Utc::now()).await? else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "changed_meanwhile",
            "Votre rôle a changé entre-temps : aucune clé n'a été créée.",
        ));
    };
    Ok(http::json(
        StatusCode::CREATED,
        &ApiKeyCreated {
            id: created.record.id,
            name: created.record.name,
            key: created.key,
        },
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/association/keys/{id}",
    tag = "equipe",
    operation_id = "keys_revoke",
    summary = "Révoquer une clé d'API",
    description = "Elle est refusée dès la requête suivante. La clé utilisée pour cette requête peut se révoquer elle-même.",
    security(("association" = [])),
    params(("id" = String, Path, description = "Identifiant de la clé (64 chiffres hexadécimaux), ou `origine`.", pattern = "^([0-9a-f]{64}|origine)$")),
    responses(
        (status = 200, description = "Clé révoquée.", body = ApiKeyRevoked),
        (status = 403, description = "Réservé aux administrateur·rices (`admins_only`), jeton CSRF manquant avec une session (`csrf_token`).", body = shared::http::ApiError),
        (status = 404, description = "Pas de clé de l'association avec cet identifiant, ou déjà révoquée (`not_found`).", body = shared::http::ApiError),
    )
)]
/// `DELETE /v1/association/keys/{id}`
pub async fn revoke(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    let now = Utc::now();
    let acting = staff::acting(&app.store, request, now).await?.admin()?;
    let id = key_id(request);
    if !revoke_key(app, &KeyAdmin::of(&acting), id, now).await? {
        return Err(ApiError::not_found());
    }
    Ok(http::json(
        StatusCode::OK,
        &ApiKeyRevoked {
            id: id.to_owned(),
            status: "revoked",
        },
    ))
}

fn key_id(request: &Request) -> &str {
    request
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .unwrap_or_default()
}
