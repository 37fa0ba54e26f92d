//! The association's API keys, for the programs its admins connect: create
//! one with a name (the key is shown once; only its hash is kept), list
//! them, revoke one (it stops at once). The key the network made with the
//! association is listed too, and can be revoked the same way.

use askama::Template;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chrono::Utc;
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::Deserialize;
use shared::{
    directory::{NamedKey, has_original_key, named_keys},
    journal::{Action, Actor, Entry},
    site::{SpaceNav, html, paris_time, posted, see_other, unindexed},
    staff::{InSpace, in_space},
    store::{Key, StoreError, first_condition_failed, keys::counters},
};

use crate::Staff;

const KEYS: &str = "/association/cles";
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
            let done = (shared::http::query_parameter(request, "fait").as_deref()
                == Some("revocation"))
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
            let name = form.name.trim();
            if !(2..=80).contains(&name.chars().count()) || name.chars().any(char::is_control) {
                let error = "Donnez un nom à la clé (2 à 80 caractères), par exemple celui du logiciel qui l'utilise.";
                return render(app, &space, None, form.name.clone(), Some(error.into()), None, StatusCode::BAD_REQUEST).await;
            }
            let slug = &space.association.slug;
            let (key, record) = NamedKey::new(slug, name, &space.account().name, now);
            let entry = Entry::new(Actor::staff(space.account()), Action::ApiKeyCreated, &record.id, now)
                .with_detail(name);
            let put = Put::builder()
                .table_name(&app.store.table)
                .set_item(Some(record.item()?))
                .condition_expression("attribute_not_exists(pk)")
                .build()?;
            app.store
                .transact(vec![
                    TransactWriteItem::builder().put(put).build(),
                    entry.transact_put(&app.store.table, slug)?,
                ])
                .await?;
            tracing::info!(association = slug, "API key created");
            render(app, &space, Some((name.to_owned(), key)), String::new(), None, None, StatusCode::CREATED).await
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
            let id = request
                .path_parameters_ref()
                .and_then(|p| p.first("id"))
                .unwrap_or_default()
                .to_owned();
            let slug = &space.association.slug;
            let table = &app.store.table;
            let revoke = if id == ORIGINAL {
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(table)
                            .set_key(Some(Key::association(slug).attributes()))
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
                            .set_key(Some(Key::api_key(&id).attributes()))
                            .condition_expression("association = :association")
                            .expression_attribute_values(
                                ":association",
                                AttributeValue::S(slug.clone()),
                            )
                            .build()?,
                    )
                    .build()
            } else {
                return Ok(see_other(KEYS));
            };
            let entry = Entry::new(
                Actor::staff(space.account()),
                Action::ApiKeyRevoked,
                &id,
                now,
            );
            match app
                .store
                .transact(vec![revoke, entry.transact_put(table, slug)?])
                .await
            {
                Ok(_) => tracing::info!(association = slug, "API key revoked"),
                // Revoked already (or another association's): nothing to do.
                Err(error) if first_condition_failed(&error) => {}
                Err(error) => return Err(error.into()),
            }
            Ok(see_other("/association/cles?fait=revocation"))
        }
        .await,
        "Aucune clé n'a été modifiée",
    )
}
