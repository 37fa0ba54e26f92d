//! The network's figures, kept from the table's stream: a seeded history
//! (2,000 requests, 400 mentors, pairs through every state, hand-overs,
//! erasures) replayed through the stream gives the figures the history
//! itself says, delivered twice it changes nothing, and the backfill's
//! recount from the items equals them. Associations read only their own.

use std::collections::BTreeMap;

use aws_lambda_events::event::dynamodb::Event;
use binome_tests::{
    ADMIN_KEY, Backend, TestTable, api_request, as_association, event, status_and_json,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures_util::{StreamExt, stream};
use routing::{
    Routing,
    directory::{self, AssociationForm},
};
use serde_json::{Value, json};
use shared::{keyring::AddressId, links::Links, store::Key};
use stats::{
    Stats,
    backfill::{self, BackfillRequest},
    cells,
    facts::{Figures, metric},
};

const ASSOCIATIONS: [&str; 3] = ["tremplin-93", "cap-avenir", "elan-sud"];
const DEPARTEMENTS: [&str; 5] = ["93", "75", "13", "971", "2A"];

/// A small deterministic generator (xorshift): the same history every run.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

fn at(when: DateTime<Utc>) -> String {
    shared::store::timestamp(when)
}

fn person_id(role: &str, n: u64) -> String {
    format!(
        "{:032x}",
        (if role == "mentee" { 1 << 60 } else { 2 << 60 }) + n * 7919
    )
}

/// What the history itself says the figures must be (network totals).
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected(BTreeMap<&'static str, i64>);

impl Expected {
    fn add(&mut self, name: &'static str, count: i64) {
        *self.0.entry(name).or_default() += count;
    }
}

/// Every version of every item of the seeded history, item after item.
struct History {
    versions: Vec<Vec<Value>>,
    removed: Vec<Key>,
    expected: Expected,
    /// Names, addresses and ids no figure may carry.
    personal: Vec<String>,
}

fn profile(role: &str, id: &str, departement: &str, created: DateTime<Utc>, n: u64) -> Value {
    json!({
        "pk": Key::person_partition(id), "sk": "PROFILE", "id": id, "role": role,
        "status": "pending_verification", "departement": departement,
        "first_name": format!("Prénom{n}"), "last_name": format!("Nom{n}"),
        "email": format!("personne{n}@exemple.fr"),
        "created_at": at(created), "mode": "indifferent",
    })
}

fn with(base: &Value, changes: Value) -> Value {
    let mut next = base.clone();
    for (name, value) in changes.as_object().unwrap() {
        next[name] = value.clone();
    }
    next
}

fn seed() -> History {
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mut history = History {
        versions: Vec::new(),
        removed: Vec::new(),
        expected: Expected::default(),
        personal: Vec::new(),
    };
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
    let day = Duration::days(1);
    for n in 0..2_000 {
        let id = person_id("mentee", n);
        let departement = DEPARTEMENTS[(n % 5) as usize];
        let created = start + day * dice.roll(250) as i32;
        let pending = profile("mentee", &id, departement, created, n);
        history.personal.extend([
            id.clone(),
            format!("personne{n}@exemple.fr"),
            format!("Nom{n}"),
        ]);
        history.expected.add(metric::REQUESTS_CREATED, 1);
        let mut versions = vec![pending.clone()];
        let erased = dice.roll(100) < 5;
        if dice.roll(10) == 0 {
            // Never confirmed; half of them expire.
            if n % 2 == 0 {
                history.removed.push(Key::person_profile(&id));
            }
            history.versions.push(versions);
            continue;
        }
        let verified_at = created + Duration::hours(1);
        let verified = with(
            &pending,
            json!({"status": "verified", "verified_at": at(verified_at)}),
        );
        history.expected.add(metric::REQUESTS_VERIFIED, 1);
        versions.push(verified.clone());
        let association = ASSOCIATIONS[dice.roll(3) as usize];
        let other =
            ASSOCIATIONS[(ASSOCIATIONS.iter().position(|a| *a == association).unwrap() + 1) % 3];
        let routed_at = verified_at + Duration::minutes(5);
        let fate = dice.roll(100);
        if fate < 8 {
            let waiting = with(
                &verified,
                json!({"status": "waiting", "routing": {"attempt": 1, "decision": {}, "cause": "verified", "decided_at": at(routed_at), "waiting_since": at(routed_at)}}),
            );
            if !erased {
                history.expected.add(metric::MENTEES_UNROUTED, 1);
            }
            versions.push(waiting);
        } else {
            let (handed_over, history_entries, decided_at, reminded) = match fate {
                8..16 => {
                    history.expected.add(metric::REQUESTS_DECLINED, 1);
                    let ended = routed_at + day * 2;
                    (
                        true,
                        json!([{"association": other, "routed_at": at(routed_at), "ended_at": at(ended), "outcome": "declined", "reason": "Complet"}]),
                        ended,
                        false,
                    )
                }
                16..20 => {
                    history.expected.add(metric::REQUESTS_SLA_EXPIRED, 1);
                    let ended = routed_at + day * 7;
                    (
                        true,
                        json!([{"association": other, "routed_at": at(routed_at), "ended_at": at(ended), "outcome": "sla_expired"}]),
                        ended,
                        true,
                    )
                }
                _ => (false, json!([]), routed_at, false),
            };
            history
                .expected
                .add(metric::REQUESTS_ROUTED, if handed_over { 2 } else { 1 });
            let routing = json!({
                "attempt": if handed_over { 2 } else { 1 }, "association": association,
                "decision": {}, "cause": if handed_over { "declined" } else { "verified" },
                "decided_at": at(decided_at), "history": history_entries,
            });
            let mut routed_routing = routing.clone();
            if reminded {
                routed_routing["reminded_at"] = at(decided_at + day * 4).into();
            }
            let routed = with(
                &verified,
                json!({"status": "routed", "routing": routed_routing}),
            );
            versions.push(routed.clone());
            if fate < 45 {
                if !erased {
                    history.expected.add(metric::MENTEES_WAITING, 1);
                }
            } else {
                let delay = [Duration::hours(12), day * 2, day * 5, day * 10, day * 20]
                    [dice.roll(5) as usize];
                let mut acknowledged_routing = routing.clone();
                acknowledged_routing["acknowledged_at"] = at(decided_at + delay).into();
                if delay > day * 3 {
                    acknowledged_routing["reminded_at"] = at(decided_at + day * 3).into();
                } else {
                    history.expected.add(metric::ACKNOWLEDGED_WITHIN_SLA, 1);
                }
                history.expected.add(metric::REQUESTS_ACKNOWLEDGED, 1);
                let acknowledged = with(
                    &routed,
                    json!({"status": "acknowledged", "routing": acknowledged_routing}),
                );
                versions.push(acknowledged.clone());
                let acknowledged_at = decided_at + delay;
                let pair = pair_of(
                    &mut dice,
                    &mut history,
                    n,
                    &id,
                    association,
                    departement,
                    acknowledged_at,
                );
                let status = pair.unwrap_or("acknowledged");
                if status != "acknowledged" {
                    versions.push(with(&acknowledged, json!({"status": status})));
                } else if !erased {
                    // Still in the association's pool.
                    history.expected.add(metric::MENTEES_WAITING, 1);
                }
            }
        }
        if erased {
            history.removed.push(Key::person_profile(&id));
        }
        history.versions.push(versions);
    }
    for n in 0..400 {
        let id = person_id("mentor", n);
        let departement = DEPARTEMENTS[(n % 5) as usize];
        let created = start + day * dice.roll(300) as i32;
        let pending = profile("mentor", &id, departement, created, 10_000 + n);
        history.personal.push(id.clone());
        history.expected.add(metric::MENTORS_SIGNED_UP, 1);
        let capacity = 1 + dice.roll(3) as i64;
        let held = dice.roll(capacity as u64 + 1) as i64;
        let verified = with(
            &pending,
            json!({"status": "verified", "verified_at": at(created + Duration::hours(2)), "capacity": capacity}),
        );
        history.expected.add(metric::MENTORS_VERIFIED, 1);
        let routed = with(
            &verified,
            json!({"status": "acknowledged", "pairs_held": held,
                   "routing": {"attempt": 1, "association": ASSOCIATIONS[(n % 3) as usize], "decision": {}, "cause": "verified",
                               "decided_at": at(created + Duration::hours(3)), "acknowledged_at": at(created + day)}}),
        );
        if n % 40 == 7 {
            history.removed.push(Key::person_profile(&id));
        } else {
            history.expected.add(metric::PLACES_OFFERED, capacity);
            history.expected.add(metric::PLACES_HELD, held);
        }
        history.versions.push(vec![pending, verified, routed]);
    }
    for n in 0..300u64 {
        let address = format!("{:064x}", n + 1);
        let key = Key::newsletter_subscriber(&AddressId::from_trusted(address));
        let pending = json!({"pk": key.pk, "sk": key.sk, "status": "pending", "email": format!("lecteur{n}@exemple.fr")});
        history.personal.push(format!("lecteur{n}@exemple.fr"));
        let mut versions = vec![pending.clone()];
        if n % 5 != 0 {
            let confirmed_at = start + day * (n as i32);
            let confirmed = with(
                &pending,
                json!({"status": "confirmed", "confirmed_at": at(confirmed_at)}),
            );
            history.expected.add(metric::SUBSCRIBERS_CONFIRMED, 1);
            versions.push(confirmed.clone());
            if n % 4 == 0 {
                history.expected.add(metric::SUBSCRIBERS_UNSUBSCRIBED, 1);
                versions.push(with(&confirmed, json!({"status": "unsubscribed", "unsubscribed_at": at(confirmed_at + day * 20), "email": Value::Null})));
            }
        }
        history.versions.push(versions);
    }
    for n in 0..100u64 {
        let mentee = n % 3 != 0;
        let mut outcome = json!({
            "pk": Key::outcome(&format!("{:032x}", n + 99)).pk, "sk": "OUTCOME",
            "role": if mentee { "mentee" } else { "mentor" },
            "association": ASSOCIATIONS[(n % 3) as usize], "departement": "93",
            "situation_at_signup": null, "age_band": null, "months_paired": 6,
            "answered_in": "2026-10", "helped": 1 + n % 5, "recommend": n % 2 == 0,
        });
        if mentee {
            outcome["situation_now"] = "emploi".into();
        }
        history.expected.add(
            if mentee {
                metric::OUTCOMES_MENTEE
            } else {
                metric::OUTCOMES_MENTOR
            },
            1,
        );
        history
            .expected
            .add(metric::OUTCOMES_HELPED_TOTAL, (1 + n % 5) as i64);
        if n % 2 == 0 {
            history.expected.add(metric::OUTCOMES_RECOMMEND, 1);
        }
        history.versions.push(vec![outcome]);
    }
    history
}

/// A pair for an acknowledged mentee, through one of its lives; the
/// mentee's status after it, `None` when they got no pair.
fn pair_of(
    dice: &mut Dice,
    history: &mut History,
    n: u64,
    mentee_id: &str,
    association: &str,
    departement: &str,
    acknowledged_at: DateTime<Utc>,
) -> Option<&'static str> {
    if dice.roll(10) < 4 {
        return None;
    }
    let day = Duration::days(1);
    let id = format!("{:032x}", (3 << 60) + n);
    let proposed_at = acknowledged_at + day;
    let proposed = json!({
        "pk": Key::pair(&id).pk, "sk": "PAIR", "id": id, "association": association,
        "departement": departement, "mentee_id": mentee_id, "mentor_id": person_id("mentor", n % 400),
        "mentee_first_name": format!("Prénom{n}"), "status": "proposed",
        "points": {}, "score": 10, "proposed_at": at(proposed_at),
        "assoc_pk": format!("PAIRS#{association}"), "assoc_sk": format!("{mentee_id}#x"),
    });
    history.expected.add(metric::PAIRS_PROPOSED, 1);
    let mut versions = vec![proposed.clone()];
    let life = dice.roll(100);
    let status = if life < 15 {
        history.expected.add(metric::PAIRS_DECLINED, 1);
        versions.push(with(&proposed, json!({"status": "declined", "declined_by": "mentor", "ended_at": at(proposed_at + day * 3)})));
        "acknowledged"
    } else if life < 25 {
        history.expected.add(metric::PAIRS_EXPIRED, 1);
        versions.push(with(&proposed, json!({"status": "closed", "close_reason": "expired", "ended_at": at(proposed_at + day * 14)})));
        "acknowledged"
    } else {
        let started = proposed_at + day * 2;
        let active = with(
            &proposed,
            json!({"status": "active", "started_at": at(started)}),
        );
        history.expected.add(metric::PAIRS_ACCEPTED, 1);
        versions.push(active.clone());
        if life < 55 {
            let lasted = [30, 100, 200][dice.roll(3) as usize];
            if lasted >= 91 {
                history.expected.add(metric::PAIRS_LASTED_3_MONTHS, 1);
            } else {
                history.expected.add(metric::PAIRS_ENDED_BEFORE_3_MONTHS, 1);
            }
            if lasted >= 182 {
                history.expected.add(metric::PAIRS_LASTED_6_MONTHS, 1);
            } else {
                history.expected.add(metric::PAIRS_ENDED_BEFORE_6_MONTHS, 1);
            }
            versions.push(with(&active, json!({"status": "closed", "close_reason": "completed", "ended_at": at(started + day * lasted)})));
            "closed"
        } else {
            history.expected.add(metric::PAIRS_ACTIVE, 1);
            if life < 80 {
                history.expected.add(metric::PAIRS_LASTED_3_MONTHS, 1);
                versions.push(with(
                    &active,
                    json!({"check_ins": [{"round": 4, "sent_at": at(started + day * 111)}]}),
                ));
            }
            "paired"
        }
    };
    history.versions.push(versions);
    Some(status)
}

/// Writes every version of every item (items side by side, each item's
/// versions in order), then removes the erased and expired ones.
async fn replay_history(table: &TestTable, history: &History) {
    stream::iter(&history.versions)
        .for_each_concurrent(8, |versions| async move {
            for version in versions {
                table.put(version).await;
            }
        })
        .await;
    for key in &history.removed {
        table
            .store
            .client
            .delete_item()
            .table_name(&table.store.table)
            .set_key(Some(key.attributes()))
            .send()
            .await
            .unwrap();
    }
}

/// Every item the figures wrote (cells, kept cells, markers), as JSON.
async fn figure_items(table: &TestTable) -> Vec<Value> {
    let segments = (0..4).map(|segment| {
        table
            .store
            .client
            .scan()
            .table_name(&table.store.table)
            .segment(segment)
            .total_segments(4)
            .filter_expression("begins_with(pk, :stats)")
            .expression_attribute_values(
                ":stats",
                aws_sdk_dynamodb::types::AttributeValue::S("STATS".into()),
            )
            .into_paginator()
            .items()
            .send()
            .try_collect()
    });
    let pages: Vec<Vec<shared::store::Item>> =
        futures_util::future::try_join_all(segments).await.unwrap();
    pages
        .into_iter()
        .flatten()
        .map(|item| serde_dynamo::from_item(item).unwrap())
        .collect()
}

async fn deliver_all(app: &Stats, batches: &[Event]) {
    for batch in batches {
        let response = stats::stream::deliver(app, batch).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "every record counts"
        );
    }
}

/// The network totals of every month and of the present.
fn totals(figures: &Figures) -> BTreeMap<&'static str, i64> {
    let mut totals = BTreeMap::new();
    for counts in figures.0.values() {
        for (name, count) in counts {
            *totals.entry(*name).or_default() += count;
        }
    }
    totals
}

fn months_of_2026() -> Vec<String> {
    (1..=12).map(|month| format!("2026-{month:02}")).collect()
}

/// The one association's key, in a directory of the three.
async fn association_keys(table: &TestTable) -> BTreeMap<&'static str, String> {
    let routing = Routing::new(
        table.store.clone(),
        Links::new("https://api.binome.test", "https://binome.test"),
        Some(ADMIN_KEY),
        None,
    );
    let mut keys = BTreeMap::new();
    for slug in ASSOCIATIONS {
        let form: AssociationForm = serde_json::from_value(json!({
            "name": format!("Association {slug}"),
            "contact_email": format!("contact@{slug}.example"),
            "departements": ["93", "75"], "modes": ["presentiel", "distance"],
            "needs": ["orientation"], "situations": [], "monthly_capacity": 10,
            "mentor_intake": "open",
        }))
        .unwrap();
        let record = directory::validate(slug, form).unwrap();
        keys.insert(
            slug,
            directory::save(&routing, &record).await.unwrap().unwrap(),
        );
    }
    keys
}

fn stats_request(name: &str, query: &str, key: Option<&str>) -> lambda_http::Request {
    let mut event = event(name);
    event["rawQueryString"] = query.into();
    event["queryStringParameters"] = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .map(|(k, v)| (k, Value::from(v)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let event = match key {
        Some(key) => as_association(event, key),
        None => {
            let mut event = event;
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("authorization");
            event
        }
    };
    api_request(&event)
}

#[tokio::test]
async fn a_replayed_history_gives_the_figures_it_says_once_whatever_the_redeliveries() {
    let table = TestTable::new(Backend::Embedded).await;
    let history = seed();
    replay_history(&table, &history).await;
    let batches = table.stream_batches(100).await;
    let records: usize = batches.iter().map(|batch| batch.records.len()).sum();
    let app = Stats::new(table.store.clone(), Some(ADMIN_KEY));

    deliver_all(&app, &batches).await;
    let (counted, written) = app.tally.read();
    assert_eq!(counted as usize, records);
    let live = cells::read(&table.store, &months_of_2026(), None)
        .await
        .unwrap();
    let figures = totals(&live);
    for (name, expected) in &history.expected.0 {
        assert_eq!(figures.get(name).copied().unwrap_or(0), *expected, "{name}");
    }
    let buckets: i64 = metric::ACKNOWLEDGED_IN
        .iter()
        .map(|(name, _)| figures.get(name).copied().unwrap_or(0))
        .sum();
    assert_eq!(
        buckets,
        figures[metric::REQUESTS_ACKNOWLEDGED],
        "one bucket each"
    );
    println!(
        "{records} stream records, {written} items written ({:.2} per record)",
        written as f64 / records as f64
    );

    // Every batch again, as after a crash of the function: nothing changes.
    deliver_all(&app, &batches).await;
    assert_eq!(app.tally.read().1, written, "nothing written twice");
    let again = cells::read(&table.store, &months_of_2026(), None)
        .await
        .unwrap();
    assert_eq!(again, live);

    // The recount from the items equals the live figures.
    let report = backfill::backfill(
        &table.store,
        BackfillRequest {
            segments: 4,
            apply: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.differences, 0, "{:?}", report.listed);
    assert!(report.cells_recounted > 0);

    // No figure names anyone.
    let kept = figure_items(&table)
        .await
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for personal in &history.personal {
        assert!(
            !kept.contains(personal.as_str()),
            "{personal} in the figures"
        );
    }
}

#[tokio::test]
async fn the_backfill_finds_and_mends_a_counter_gone_wrong() {
    let table = TestTable::new(Backend::Embedded).await;
    let history = seed();
    replay_history(
        &table,
        &History {
            versions: history.versions[..300].to_vec(),
            removed: history.removed.iter().take(5).cloned().collect(),
            ..History::empty()
        },
    )
    .await;
    let app = Stats::new(table.store.clone(), Some(ADMIN_KEY));
    deliver_all(&app, &table.stream_batches(100).await).await;
    // A bug that lost a few routed requests in one stored cell.
    let cell = figure_items(&table)
        .await
        .into_iter()
        .find(|item| {
            item["pk"]
                .as_str()
                .is_some_and(|pk| pk.starts_with("STATS#2026"))
                && item.get(metric::REQUESTS_ROUTED).is_some()
        })
        .expect("a cell of routed requests");
    table
        .store
        .client
        .update_item()
        .table_name(&table.store.table)
        .set_key(Some(
            serde_dynamo::to_item(json!({"pk": cell["pk"], "sk": cell["sk"]})).unwrap(),
        ))
        .update_expression("ADD requests_routed :lost")
        .expression_attribute_values(
            ":lost",
            aws_sdk_dynamodb::types::AttributeValue::N("-3".into()),
        )
        .send()
        .await
        .unwrap();

    let check = BackfillRequest {
        segments: 3,
        apply: false,
    };
    let found = backfill::backfill(&table.store, check).await.unwrap();
    assert_eq!(found.differences, 1);
    assert_eq!(found.listed[0].metric, metric::REQUESTS_ROUTED);
    assert_eq!(found.listed[0].recount - found.listed[0].live, 3);
    let mended = backfill::backfill(
        &table.store,
        BackfillRequest {
            apply: true,
            ..check
        },
    )
    .await
    .unwrap();
    assert_eq!(mended.corrected_cells, 1);
    let after = backfill::backfill(&table.store, check).await.unwrap();
    assert_eq!(after.differences, 0, "{:?}", after.listed);
}

impl History {
    fn empty() -> Self {
        History {
            versions: Vec::new(),
            removed: Vec::new(),
            expected: Expected::default(),
            personal: Vec::new(),
        }
    }
}

#[tokio::test]
async fn each_association_reads_its_own_figures_and_the_network_reads_all() {
    let table = TestTable::new(Backend::Embedded).await;
    let keys = association_keys(&table).await;
    let history = seed();
    replay_history(
        &table,
        &History {
            versions: history.versions[..400].to_vec(),
            ..History::empty()
        },
    )
    .await;
    let app = Stats::new(table.store.clone(), Some(ADMIN_KEY));
    deliver_all(&app, &table.stream_batches(100).await).await;
    let ask = |name: &'static str, query: &'static str, key: Option<String>| {
        let app = &app;
        async move {
            let response = stats::handle(app, stats_request(name, query, key.as_deref()))
                .await
                .unwrap();
            status_and_json(&response)
        }
    };

    let (status, network) = ask(
        "stats-admin.json",
        "from=2026-01&to=2026-12&by=association",
        Some(ADMIN_KEY.into()),
    )
    .await;
    assert_eq!(status, 200, "{network}");
    let routed_at = |report: &Value, slug: &str| {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["association"] == slug)
            .map_or(0, |row| row["requests_routed"].as_i64().unwrap())
    };
    let tremplin = routed_at(&network, "tremplin-93");
    assert!(tremplin > 0);
    assert!(
        network["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["association"].is_null()),
        "sign-ups before routing"
    );

    let (status, own) = ask(
        "stats-association.json",
        "from=2026-01&to=2026-12&by=association&format=json",
        Some(keys["tremplin-93"].clone()),
    )
    .await;
    assert_eq!(status, 200, "{own}");
    let rows = own["rows"].as_array().unwrap();
    assert!(
        rows.iter().all(|row| row["association"] == "tremplin-93"),
        "{own}"
    );
    assert_eq!(routed_at(&own, "tremplin-93"), tremplin);

    let (status, refused) = ask(
        "stats-association.json",
        "association=cap-avenir",
        Some(keys["tremplin-93"].clone()),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("other_association"))
    );
    let (status, _) = ask("stats-association.json", "", None).await;
    assert_eq!(status, 401);
    let (status, _) = ask("stats-admin.json", "", Some(keys["tremplin-93"].clone())).await;
    assert_eq!(status, 401, "an association key is not the admins'");
    let (status, wrong) = ask("stats-admin.json", "from=2026-13", Some(ADMIN_KEY.into())).await;
    assert_eq!(
        (status, wrong["code"].as_str()),
        (400, Some("invalid_stats_query"))
    );

    // As CSV, the same figures.
    let response = stats::handle(
        &app,
        stats_request(
            "stats-association.json",
            "from=2026-01&to=2026-12&format=csv",
            Some(&keys["tremplin-93"]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = header
        .iter()
        .position(|name| name == metric::REQUESTS_ROUTED)
        .unwrap();
    let routed: i64 = reader
        .records()
        .map(|row| row.unwrap()[column].parse::<i64>().unwrap())
        .sum();
    assert_eq!(routed, tremplin);

    let (status, impact) = ask("stats-impact.json", "", None).await;
    assert_eq!(status, 200);
    assert!(
        impact["years"][0]["pairs_created"].as_i64().is_some(),
        "{impact}"
    );
}

#[tokio::test]
async fn a_burst_of_verifications_in_one_departement_loses_no_count() {
    let table = TestTable::new(Backend::Embedded).await;
    let start = Utc.with_ymd_and_hms(2026, 11, 30, 18, 0, 0).unwrap();
    let people: Vec<(Value, Value)> = (0..2_000u64)
        .map(|n| {
            let id = person_id("mentee", n);
            let pending = profile("mentee", &id, "93", start, n);
            let verified = with(
                &pending,
                json!({"status": "verified", "verified_at": at(start + Duration::minutes(10))}),
            );
            (pending, verified)
        })
        .collect();
    let writer = &table;
    stream::iter(&people)
        .for_each_concurrent(8, |(pending, verified)| async move {
            writer.put(pending).await;
            writer.put(verified).await;
        })
        .await;
    let batches = table.stream_batches(100).await;
    let app = Stats::new(table.store.clone(), None);
    // Four stream shards counted at once, as Lambda does: the same cells.
    let shards: Vec<Vec<Event>> = (0..4)
        .map(|shard| batches.iter().skip(shard).step_by(4).cloned().collect())
        .collect();
    futures_util::future::join_all(shards.iter().map(|batches| deliver_all(&app, batches))).await;
    let (records, written) = app.tally.read();
    let figures = cells::read(&table.store, &["2026-11".into()], None)
        .await
        .unwrap();
    let counted = totals(&figures);
    assert_eq!(counted[metric::REQUESTS_CREATED], 2_000);
    assert_eq!(counted[metric::REQUESTS_VERIFIED], 2_000);
    assert_eq!(
        figures.0.len(),
        1,
        "one month, one département, no association"
    );
    let shards: std::collections::BTreeSet<String> = figure_items(&table)
        .await
        .into_iter()
        .filter_map(|item| item["pk"].as_str().map(str::to_owned))
        .filter(|pk| pk.starts_with("STATS#2026-11#"))
        .collect();
    assert_eq!(
        shards.len() as u32,
        cells::SHARDS,
        "the burst spread over every shard"
    );
    let per_record = written as f64 / records as f64;
    println!("burst: {records} records, {written} items written, {per_record:.2} per record");
    assert!(per_record <= 2.0, "a marker and one cell per record");
}
