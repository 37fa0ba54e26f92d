//! A campaign peak on the local stack: 2,000 mentees verified at once across
//! the seeded directory, whose capacities cannot take them all.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::{Value, json};
use shared::store::keys::{self, Key, counters};

const MENTEES: usize = 2_000;
const DEPARTEMENTS: &[&str] = &[
    "93", "75", "13", "59", "69", "974", "33", "23", "2A", "01", "62", "31",
];
const MODES: &[&str] = &["presentiel", "distance", "indifferent"];
const SITUATIONS: &[&str] = &["lyceen", "etudiant", "demandeur_emploi", "jeune_actif"];
const NEEDS: &[&str] = &[
    "orientation",
    "stage_alternance",
    "insertion_pro",
    "reussite_etudes",
    "confiance_reseau",
];

fn mentee(n: usize) -> Value {
    let id = format!("{n:032x}");
    let key = Key::person_profile(&id);
    json!({
        "pk": key.pk, "sk": key.sk, "id": id,
        "role": "mentee", "status": "verified",
        "email": format!("jeune{n}@exemple.fr"), "first_name": "Camille", "last_name": "Durand",
        "postal_code": "93200", "departement": DEPARTEMENTS[n % DEPARTEMENTS.len()],
        "mode": MODES[n % MODES.len()], "languages": ["fr"],
        "consent": {"given_at": "2026-11-26T09:00:00Z", "text_version": "mentee-2026-11"},
        "created_at": "2026-11-26T09:00:00Z",
        "birth_date": format!("{}-03-14", 2001 + n % 12),
        "situation": SITUATIONS[n % SITUATIONS.len()],
        "needs": [NEEDS[n % NEEDS.len()], NEEDS[(n / 7) % NEEDS.len()]],
        "priority_groups": if n.is_multiple_of(5) { json!(["qpv"]) } else { json!([]) },
        "guardian_required": false, "has_sensitive_data": false,
    })
}

async fn scan(store: &shared::store::Store) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .client
            .scan()
            .table_name(&store.table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}

fn json_of(item: &HashMap<String, AttributeValue>) -> Value {
    serde_dynamo::from_item(item.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_mentees_verified_at_once_are_all_routed_or_waiting() {
    let data = tempfile::tempdir().unwrap();
    let stack =
        crate::end_to_end::start_stack_throttled(data.path(), local::gateway::Throttle::TEMPLATE)
            .await;
    let store = stack.routing.store.clone();

    let started = Instant::now();
    for chunk in (0..MENTEES).collect::<Vec<_>>().chunks(25) {
        let writes = chunk
            .iter()
            .map(|n| {
                let item = serde_dynamo::to_item(mentee(*n)).unwrap();
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        let output = store
            .client
            .batch_write_item()
            .request_items(&store.table, writes)
            .send()
            .await
            .unwrap();
        assert!(output.unprocessed_items().is_none_or(|u| u.is_empty()));
    }

    let written = started.elapsed();
    let profiles = loop {
        let items = scan(&store).await;
        let profiles: Vec<Value> = items
            .iter()
            .filter(|i| {
                i.get("sk")
                    .and_then(|s| s.as_s().ok())
                    .is_some_and(|s| s == keys::sort::PROFILE)
            })
            .map(json_of)
            .collect();
        let settled = profiles
            .iter()
            .filter(|p| p["status"] == "routed" || p["status"] == "waiting")
            .count();
        if settled == MENTEES {
            break (profiles, items);
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{settled} of {MENTEES} settled after five minutes"
        );
        // A scan holds the embedded database: look rarely.
        tokio::time::sleep(Duration::from_secs(3)).await;
    };
    let elapsed = started.elapsed();
    let (profiles, items) = profiles;
    assert_eq!(profiles.len(), MENTEES, "none lost, none doubled");

    let month = shared::directory::month_of(chrono::Utc::now());
    let mut routed: BTreeMap<String, i64> = BTreeMap::new();
    for profile in &profiles {
        if profile["status"] == "routed" {
            *routed
                .entry(
                    profile["routing"]["association"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                )
                .or_default() += 1;
        }
    }
    let waiting = profiles.iter().filter(|p| p["status"] == "waiting").count();
    assert!(waiting > 0, "the directory cannot take everyone");
    for association in items.iter().map(json_of).filter(|i| {
        i["sk"]
            .as_str()
            .is_some_and(|s| s.starts_with(keys::ASSOCIATION_PREFIX))
    }) {
        let slug = association["slug"].as_str().unwrap();
        let counted = association[counters::routed_in(&month)]
            .as_i64()
            .unwrap_or(0);
        let held = routed.get(slug).copied().unwrap_or(0);
        assert_eq!(counted, held, "{slug}: the counter is the routed count");
        assert!(
            held <= association["monthly_capacity"].as_i64().unwrap(),
            "{slug}: {held} above its capacity"
        );
    }

    // Each person is told exactly once: forwarded, or waiting.
    let mut told: HashMap<String, usize> = HashMap::new();
    for mail in items.iter().map(json_of).filter(|i| {
        i["sk"]
            .as_str()
            .is_some_and(|s| s.starts_with(keys::OUTBOX_PREFIX))
            && i["pk"]
                .as_str()
                .is_some_and(|p| Key::person_of(p).is_some())
    }) {
        *told
            .entry(mail["pk"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(told.len(), MENTEES);
    assert!(told.values().all(|count| *count == 1));
    println!(
        "burst: {MENTEES} mentees written in {:.1} s, settled in {:.1} s ({} routed over {} associations, {waiting} waiting)",
        written.as_secs_f64(),
        elapsed.as_secs_f64(),
        MENTEES - waiting,
        routed.len()
    );
}
