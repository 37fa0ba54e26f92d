//! The association directory's admin routes, in process, on a fresh table per test.

use binome_tests::{Backend, TestTable, api_request, event, on_both_emulators, with_body};
use lambda_http::{Body, Response};
use routing::Routing;
use serde_json::{Value, json};
use shared::directory::key_matches;
use shared::store::keys::{self, counters};

use binome_tests::ADMIN_KEY;

fn app(table: &TestTable) -> Routing {
    Routing::new(
        table.store.clone(),
        shared::links::Links::new("https://api.binome.test", "https://binome.test"),
        Some(ADMIN_KEY),
        None,
    )
}

fn as_admin(mut event: Value, key: &str) -> Value {
    event["headers"]["authorization"] = format!("Bearer {key}").into();
    event
}

fn association() -> Value {
    serde_json::from_str(
        event("admin-put-association.json")["body"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

async fn call(app: &Routing, event: Value) -> (u16, Value) {
    let response: Response<Body> = routing::handle(app, api_request(&event)).await.unwrap();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (response.status().as_u16(), body)
}

async fn stored(table: &TestTable) -> Vec<Value> {
    table.items_with_sort_prefix(keys::ASSOCIATION_PREFIX).await
}

async fn an_association_is_created_with_a_key_shown_once_then_updated(table: TestTable) {
    let app = app(&table);
    let put = as_admin(
        with_body(event("admin-put-association.json"), &association()),
        ADMIN_KEY,
    );
    let (status, created) = call(&app, put.clone()).await;
    assert_eq!(status, 201);
    let key = created["api_key"].as_str().unwrap().to_owned();
    let record = &stored(&table).await[0];
    assert_eq!(record["slug"], "tremplin-93");
    assert_eq!(
        record["specialities"],
        json!([{"group": "qpv", "weight": 40}])
    );
    assert!(key_matches(
        &key,
        record[counters::KEY_HASH].as_str().unwrap()
    ));
    assert!(
        !record.to_string().contains(&key),
        "only the hash is stored"
    );

    let mut changed = association();
    changed["monthly_capacity"] = 90.into();
    let (status, updated) = call(&app, with_body(put, &changed)).await;
    assert_eq!(status, 200);
    assert!(updated.get("api_key").is_none(), "the key is shown once");
    let record = &stored(&table).await[0];
    assert_eq!(record["monthly_capacity"], 90);
    assert!(
        key_matches(&key, record[counters::KEY_HASH].as_str().unwrap()),
        "an update keeps the key"
    );

    let (status, rotated) = call(&app, as_admin(event("admin-rotate-key.json"), ADMIN_KEY)).await;
    assert_eq!(status, 200);
    let new_key = rotated["api_key"].as_str().unwrap();
    let hash = stored(&table).await[0][counters::KEY_HASH]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(key_matches(new_key, &hash));
    assert!(!key_matches(&key, &hash), "the old key stops working");
}

on_both_emulators!(an_association_is_created_with_a_key_shown_once_then_updated);

#[tokio::test]
async fn only_the_admin_key_opens_the_directory() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let put = with_body(event("admin-put-association.json"), &association());
    for key in [
        "",
        "cle-admin-de-tes",
        "cle-admin-de-test2",
        "bnm_tremplin-93_00",
    ] {
        let (status, body) = call(&app, as_admin(put.clone(), key)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthorized")),
            "{key}"
        );
    }
    let mut anonymous = put.clone();
    anonymous["headers"]
        .as_object_mut()
        .unwrap()
        .remove("authorization");
    assert_eq!(call(&app, anonymous).await.0, 401);
    assert_eq!(
        call(&app, as_admin(event("admin-rotate-key.json"), "nope"))
            .await
            .0,
        401
    );
    assert!(table.items().await.is_empty());
}

#[tokio::test]
async fn a_bad_association_names_every_field_and_stores_nothing() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let mut bad = association();
    bad["departements"] = json!(["93", "20"]);
    bad["modes"] = json!(["indifferent"]);
    bad["min_age"] = 25.into();
    bad["max_age"] = 18.into();
    bad["contact_email"] = "pas une adresse".into();
    let (status, body) = call(
        &app,
        as_admin(
            with_body(event("admin-put-association.json"), &bad),
            ADMIN_KEY,
        ),
    )
    .await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["contact_email", "departements", "modes", "min_age"]
    );

    let mut event = as_admin(
        with_body(event("admin-put-association.json"), &association()),
        ADMIN_KEY,
    );
    event["pathParameters"]["slug"] = "Pas_Un_Slug".into();
    assert_eq!(call(&app, event).await.1["code"], "invalid_slug");
    let mut rotate = as_admin(binome_tests::event("admin-rotate-key.json"), ADMIN_KEY);
    rotate["pathParameters"]["slug"] = "inconnue".into();
    assert_eq!(call(&app, rotate).await.0, 404);
    assert!(table.items().await.is_empty());
}
