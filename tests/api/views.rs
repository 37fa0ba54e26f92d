//! What an association reads of a request is an explicit view: an attribute
//! added later to a person's items (profile, sensitive data, guardian) does
//! not reach its inbox, nor do the keys and bookkeeping of those items.

use aws_sdk_dynamodb::types::AttributeValue;
use binome_tests::{
    Backend, TestTable, api_request, as_association, at, event, status_and_json, store_verified,
    verified_profile,
};
use chrono::{Duration, Utc};
use routing::{
    Routing,
    directory::{self, AssociationForm},
    stream,
};
use serde_json::{Value, json};
use shared::{links::Links, store::keys::Key};

const NOTE: &str = "ne pas montrer";

fn app(table: &TestTable) -> Routing {
    Routing::new(
        table.store.clone(),
        Links::new("https://api.binome.test", "https://binome.test"),
        None,
        None,
    )
}

/// An association of 93 open to every request; returns its key.
async fn association(app: &Routing, slug: &str) -> String {
    let form: AssociationForm = serde_json::from_value(json!({
        "name": format!("Association {slug}"),
        "contact_email": format!("contact@{slug}.example"),
        "departements": ["93"],
        "modes": ["presentiel", "distance"],
        "needs": ["orientation", "stage_alternance", "insertion_pro", "reussite_etudes", "confiance_reseau", "creation_entreprise"],
        "situations": [],
        "monthly_capacity": 10,
    }))
    .unwrap();
    let record = directory::validate(slug, form).unwrap();
    directory::save(app, &record).await.unwrap().unwrap()
}

/// Stores the sample verified mentee as `id` with `changes`, and routes it
/// as the stream would.
async fn verify_and_route(app: &Routing, table: &TestTable, id: &str, changes: Value) {
    let batch = store_verified(table, &[verified_profile(id, changes)]).await;
    let response = stream::deliver(app, &batch).await;
    assert!(response.batch_item_failures.is_empty());
}

/// Adds attributes to a stored item, as a later version of the code might.
async fn add_attributes(table: &TestTable, key: &Key, attributes: &Value) {
    let mut update = table
        .store
        .client
        .update_item()
        .table_name(&table.store.table)
        .set_key(Some(key.attributes()));
    let mut sets = Vec::new();
    for (n, (name, value)) in attributes.as_object().unwrap().iter().enumerate() {
        sets.push(format!("#a{n} = :v{n}"));
        let value: AttributeValue = serde_dynamo::to_attribute_value(value).unwrap();
        update = update
            .expression_attribute_names(format!("#a{n}"), name)
            .expression_attribute_values(format!(":v{n}"), value);
    }
    update
        .update_expression(format!("SET {}", sets.join(", ")))
        .condition_expression("attribute_exists(pk)")
        .send()
        .await
        .unwrap();
}

async fn show(app: &Routing, key: &str, id: &str) -> (u16, Value) {
    let request = as_association(at(event("association-request.json"), id), key);
    status_and_json(&routing::handle(app, api_request(&request)).await.unwrap())
}

#[tokio::test]
async fn an_attribute_added_to_a_profile_does_not_reach_the_association() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&app, "ecoute-93").await;
    let id = "jeune1";
    let fourteen = Utc::now().date_naive() - Duration::days(14 * 365 + 100);
    let expires = (Utc::now() + Duration::days(30)).timestamp();
    let consent = json!({"given_at": "2026-11-26T09:12:03Z", "text_version": "sensitive-2026-11"});
    let sensitive = Key::person_sensitive_data(id);
    table
        .put(
            &json!({"pk": sensitive.pk, "sk": sensitive.sk, "priority_groups": ["handicap"],
                "consent": consent, "ttl": expires}),
        )
        .await;
    let guardian = Key::person_guardian(id);
    table
        .put(&json!({"pk": guardian.pk, "sk": guardian.sk, "name": "Nadia Haddad",
                "email": "nadia.haddad@exemple.fr", "ttl": expires,
                "consent": {"given_at": "2026-11-26T09:13:00Z", "text_version": "guardian-2026-11"}}))
        .await;
    verify_and_route(
        &app,
        &table,
        id,
        json!({"birth_date": fourteen.format("%Y-%m-%d").to_string(), "situation": "collegien",
               "guardian_required": true, "has_sensitive_data": true}),
    )
    .await;

    let added = json!({
        "internal_note": NOTE,
        "consent": {"given_at": "2026-11-26T09:12:03Z", "text_version": "mentee-2026-11", "note": NOTE},
        "ttl": expires,
    });
    for item in [Key::person_profile(id), sensitive, guardian] {
        add_attributes(&table, &item, &added).await;
    }

    let (status, shown) = show(&app, &key, id).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["request"]["email"], "ines.martin@exemple.fr");
    assert_eq!(shown["request"]["first_name"], "Inès");
    assert_eq!(shown["request"]["guardian_required"], true);
    assert_eq!(
        shown["sensitive_data"]["priority_groups"],
        json!(["handicap"])
    );
    assert_eq!(shown["guardian"]["name"], "Nadia Haddad");
    assert_eq!(shown["guardian"]["email"], "nadia.haddad@exemple.fr");
    for section in ["request", "sensitive_data", "guardian"] {
        let view = shown[section].as_object().unwrap();
        for private in [
            "internal_note",
            "consent",
            "ttl",
            "pk",
            "sk",
            "assoc_pk",
            "assoc_sk",
            "due_pk",
            "due_sk",
            "routing",
        ] {
            assert!(
                !view.contains_key(private),
                "{section} shows {private}: {view:?}"
            );
        }
    }
    assert!(
        !shown.to_string().contains(NOTE),
        "the note reaches the association: {shown}"
    );
}
