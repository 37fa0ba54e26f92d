//! The due-work engine on the embedded emulator: seven months of 200 pairs,
//! day by day with a moved clock; a run killed halfway and run again; an
//! erasure during the follow-up; the end of a programme, answered and
//! extended; idle accounts warned, kept or erased, and old pairs deleted.

use std::{
    collections::BTreeMap,
    time::{Duration as Elapsed, Instant},
};

use binome_tests::{Backend, TestTable, as_association, event, keyring, with_body};
use chrono::{DateTime, Duration, Utc};
use matching::pairs::{CheckIn, CheckInRecorded};
use reminders::Reminders;
use serde_json::{Value, json};
use shared::{
    pair::{CheckInAnswer, PROGRAMME_END_NOTICE, Pair, PairStatus, RiskReason, programme_end},
    people::Role,
    retention::Retention,
    store::{Key, keys::index, query_all, timestamp},
};

use crate::matching::{app, association, call, held, links};

const SLUG: &str = "tremplin-93";

fn engine(table: &TestTable) -> Reminders {
    Reminders::new(
        table.store.clone(),
        keyring(),
        links(),
        Retention::default(),
    )
}

fn deadline() -> Instant {
    Instant::now() + Elapsed::from_secs(120)
}

/// `count` mentees and mentors held by the association, each pair proposed
/// by it; returns the association's key and the pair ids in order.
async fn proposed_pairs(table: &TestTable, count: usize) -> (String, Vec<String>) {
    let key = association(table, SLUG, json!({})).await;
    let matching = app(table);
    let mut ids = Vec::new();
    for n in 0..count {
        let (mentee, mentor) = (format!("jeune{n}"), format!("mentor{n}"));
        held(table, SLUG, &mentee, "mentee", json!({})).await;
        held(table, SLUG, &mentor, "mentor", json!({})).await;
        let pair = json!({"mentee_id": mentee, "mentor_id": mentor});
        let (status, proposed) = call(
            &matching,
            as_association(with_body(event("matching-pair.json"), &pair), &key),
        )
        .await;
        assert_eq!(status, 201, "{proposed}");
        ids.push(proposed["id"].as_str().unwrap().to_owned());
    }
    (key, ids)
}

/// `count` pairs both sides accepted at `now`; returns the key and pair ids.
async fn active_pairs(
    table: &TestTable,
    count: usize,
    now: DateTime<Utc>,
) -> (String, Vec<String>) {
    let (key, ids) = proposed_pairs(table, count).await;
    let matching = app(table);
    for id in &ids {
        for side in [Role::Mentee, Role::Mentor] {
            matching::pairs::accept(&matching, id, side, now)
                .await
                .unwrap();
        }
    }
    (key, ids)
}

async fn pairs(table: &TestTable) -> BTreeMap<String, Pair> {
    query_all(
        table
            .store
            .by_association(index::association_pairs(SLUG), None),
    )
    .await
    .unwrap()
    .into_iter()
    .map(|item| serde_dynamo::from_item::<_, Pair>(item).unwrap())
    .map(|pair| (pair.id.clone(), pair))
    .collect()
}

/// The outbox mails of one template, by recipient partition.
async fn mails_by_recipient(table: &TestTable, template: &str) -> BTreeMap<String, Vec<Value>> {
    let mut by_recipient: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for mail in table.outbox().await {
        if mail["mail"]["template"] == template {
            by_recipient
                .entry(mail["pk"].as_str().unwrap().to_owned())
                .or_default()
                .push(mail);
        }
    }
    by_recipient
}

/// How each fifth of the pairs behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Both accept, both answer « Tout va bien » every month.
    Thriving,
    /// Both accept; the mentee asks for help at the second check-in.
    AsksForHelp,
    /// Both accept; the mentee says they have not met, twice.
    NeverMet,
    /// Both accept, then nobody answers a check-in.
    Silent,
    /// Only the mentor accepts; the proposal expires.
    Unanswered,
}

fn behaviour(n: usize) -> Behaviour {
    [
        Behaviour::Thriving,
        Behaviour::AsksForHelp,
        Behaviour::NeverMet,
        Behaviour::Silent,
        Behaviour::Unanswered,
    ][n % 5]
}

fn answer_for(behaviour: Behaviour, side: Role, round: u32) -> Option<CheckInAnswer> {
    match (behaviour, side, round) {
        (Behaviour::Thriving, _, _) => Some(CheckInAnswer::AllGood),
        (Behaviour::AsksForHelp, Role::Mentee, 2) => Some(CheckInAnswer::NeedHelp),
        (Behaviour::AsksForHelp, _, _) => Some(CheckInAnswer::AllGood),
        (Behaviour::NeverMet, Role::Mentee, 1 | 2) => Some(CheckInAnswer::NotMetYet),
        _ => None,
    }
}

#[tokio::test]
async fn seven_months_of_200_pairs_get_every_follow_up_when_due_and_once() {
    let table = TestTable::new(Backend::Embedded).await;
    let (_, ids) = proposed_pairs(&table, 200).await;
    let matching = app(&table);
    let engine = engine(&table);
    let start = Utc::now();
    let day = |d: i64| -> DateTime<Utc> { start + Duration::days(d) + Duration::hours(1) };

    for d in 1..=210 {
        let now = day(d);
        if d == 1 {
            for (n, id) in ids.iter().enumerate() {
                matching::pairs::accept(&matching, id, Role::Mentor, now)
                    .await
                    .unwrap();
                if behaviour(n) != Behaviour::Unanswered {
                    matching::pairs::accept(&matching, id, Role::Mentee, now)
                        .await
                        .unwrap();
                }
            }
        }
        let report = reminders::run(&engine, now, deadline()).await.unwrap();
        assert_eq!((report.failed, report.left_over), (0, false), "day {d}");
        if d % 30 == 22 {
            assert_eq!(
                reminders::run(&engine, now, deadline()).await.unwrap().done,
                0,
                "day {d}: a second run the same day does nothing"
            );
        }
        // Each side answers the check-in it just received, as it behaves.
        if report.done == 0 {
            continue;
        }
        let today = pairs(&table).await;
        for (n, id) in ids.iter().enumerate() {
            let Some(round) = today[id]
                .check_ins
                .iter()
                .find(|round| round.sent_at == now)
                .map(|round| round.round)
            else {
                continue;
            };
            for side in [Role::Mentee, Role::Mentor] {
                if let Some(answer) = answer_for(behaviour(n), side, round) {
                    let check_in = CheckIn {
                        pair_id: id.clone(),
                        side,
                        round,
                        answer,
                    };
                    let recorded = matching::pairs::answer_check_in(&matching, &check_in, now)
                        .await
                        .unwrap();
                    assert_eq!(recorded, CheckInRecorded::Recorded);
                }
            }
        }
    }

    let pairs = pairs(&table).await;
    let check_in_mails = mails_by_recipient(&table, "pair_check_in").await;
    let reminder_mails = mails_by_recipient(&table, "pair_answer_reminder").await;
    let expired_mails = mails_by_recipient(&table, "proposal_expired").await;
    let survey_mails = mails_by_recipient(&table, "outcome_survey").await;
    for (n, id) in ids.iter().enumerate() {
        let pair = &pairs[id];
        let mentee = Key::person_partition(&format!("jeune{n}"));
        let mentor = Key::person_partition(&format!("mentor{n}"));
        if behaviour(n) == Behaviour::Unanswered {
            assert_eq!(pair.status, PairStatus::Closed, "pair {n}");
            assert_eq!(pair.close_reason.map(|r| r.as_str()), Some("expired"));
            assert_eq!(
                reminder_mails.get(&mentee).map(Vec::len),
                Some(1),
                "the silent mentee is reminded once"
            );
            assert!(
                !reminder_mails.contains_key(&mentor),
                "the mentor had answered"
            );
            assert_eq!(
                pair.due_sk.as_deref().map(|at| at[..10].to_owned()),
                pair.ended_at
                    .as_deref()
                    .and_then(|at| at.parse::<DateTime<Utc>>().ok())
                    .map(|ended| (ended + Duration::days(1095))
                        .format("%Y-%m-%d")
                        .to_string()),
                "over: due only for its deletion, three years on"
            );
            let mentee_profile = profile(&table, &format!("jeune{n}")).await;
            assert_eq!(mentee_profile["status"], "acknowledged", "back in the pool");
            assert_eq!(
                profile(&table, &format!("mentor{n}")).await["pairs_held"],
                0,
                "the mentor's place is freed"
            );
            continue;
        }
        assert_eq!(pair.status, PairStatus::Active, "pair {n}");
        // Three weeks in, then every thirty days: days 22, 52 … 202.
        let sent: Vec<DateTime<Utc>> = pair.check_ins.iter().map(|r| r.sent_at).collect();
        let expected: Vec<DateTime<Utc>> = (0..7).map(|k| day(22 + 30 * k)).collect();
        assert_eq!(sent, expected, "pair {n}: check-ins exactly when due");
        assert_eq!(
            check_in_mails[&mentee].len(),
            7,
            "pair {n}: one mail a round to the mentee"
        );
        assert_eq!(check_in_mails[&mentor].len(), 7);
        assert!(pair.outcome_sent_at.is_some(), "six months in: surveyed");
        assert_eq!(
            survey_mails[&mentee].len(),
            1,
            "pair {n}: one survey, on day 183"
        );
        assert_eq!(
            survey_mails[&mentee][0]["created_at"]
                .as_str()
                .map(|at| at[..10].to_owned()),
            Some(day(183).format("%Y-%m-%d").to_string())
        );
        let expected_risk = match behaviour(n) {
            Behaviour::Thriving => None,
            Behaviour::AsksForHelp => Some((RiskReason::NeedsHelp, day(52))),
            Behaviour::NeverMet => Some((RiskReason::NotMetTwice, day(52))),
            Behaviour::Silent => Some((RiskReason::SilentTwice, day(82))),
            Behaviour::Unanswered => unreachable!(),
        };
        assert_eq!(
            pair.risk.map(|risk| (risk.reason, risk.since)),
            expected_risk,
            "pair {n}"
        );
    }
    assert_eq!(
        expired_mails[&Key::association(SLUG).pk].len(),
        40,
        "the association is told of each expiry"
    );
    // Started on day 1, the programme of six months ends 6 months later:
    // both are asked two weeks before, once; the association is told.
    let asked_on = (programme_end(day(1), 6) - PROGRAMME_END_NOTICE)
        .format("%Y-%m-%d")
        .to_string();
    let programme_mails = mails_by_recipient(&table, "programme_ending").await;
    assert_eq!(
        programme_mails.len(),
        320,
        "both sides of the 160 active pairs"
    );
    for mails in programme_mails.values() {
        assert_eq!(mails.len(), 1);
        let sent_on = mails[0]["created_at"].as_str().unwrap()[..10].to_owned();
        assert!(
            sent_on == asked_on || Some(sent_on.as_str()) == day_after(&asked_on).as_deref(),
            "asked on {sent_on}, due {asked_on}"
        );
    }
    assert_eq!(
        mails_by_recipient(&table, "programme_ending_association").await
            [&Key::association(SLUG).pk]
            .len(),
        160
    );
}

/// The day after `date` (`YYYY-MM-DD`): a follow-up due at the hour of the
/// daily run goes that day or the next.
fn day_after(date: &str) -> Option<String> {
    let date: chrono::NaiveDate = date.parse().ok()?;
    Some((date + Duration::days(1)).format("%Y-%m-%d").to_string())
}

async fn profile(table: &TestTable, id: &str) -> Value {
    let item = table
        .store
        .client
        .get_item()
        .table_name(&table.store.table)
        .set_key(Some(Key::person_profile(id).attributes()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    serde_dynamo::from_item(item).unwrap()
}

/// A run cut off halfway (its future dropped, as a crash or a timeout
/// would) and run again: every pair gets its check-in, none twice.
#[tokio::test]
async fn a_run_killed_halfway_and_run_again_sends_nothing_twice_and_misses_nothing() {
    let table = TestTable::new(Backend::Embedded).await;
    let now = Utc::now();
    active_pairs(&table, 60, now).await;
    let engine = engine(&table);
    let due = now + Duration::days(22);
    let killed = tokio::time::timeout(
        Elapsed::from_millis(150),
        reminders::run(&engine, due, deadline()),
    )
    .await;
    assert!(killed.is_err(), "the run was cut off");
    let first = mails_by_recipient(&table, "pair_check_in").await;
    let cut_at = first.values().map(Vec::len).sum::<usize>();
    assert!(
        cut_at < 120,
        "the run stopped before the end ({cut_at} mails)"
    );

    let report = reminders::run(&engine, due, deadline()).await.unwrap();
    assert_eq!(report.failed, 0);
    let mails = mails_by_recipient(&table, "pair_check_in").await;
    assert_eq!(mails.len(), 120, "every person has their check-in");
    assert!(mails.values().all(|m| m.len() == 1), "nobody has two");
    assert!(pairs(&table).await.values().all(|p| p.check_ins.len() == 1));
}

/// A run past its time budget stops taking work and leaves the rest due.
#[tokio::test]
async fn a_run_stops_at_its_deadline_and_the_next_one_finishes() {
    let table = TestTable::new(Backend::Embedded).await;
    let (_, ids) = proposed_pairs(&table, 10).await;
    let engine = engine(&table);
    let reminded = Utc::now() + Duration::days(6);
    let stopped = reminders::run(&engine, reminded, Instant::now())
        .await
        .unwrap();
    assert_eq!((stopped.done, stopped.left_over), (0, true));
    let finished = reminders::run(&engine, reminded, deadline()).await.unwrap();
    assert_eq!((finished.done, finished.left_over), (ids.len(), false));
    assert_eq!(
        mails_by_recipient(&table, "pair_answer_reminder")
            .await
            .len(),
        20,
        "both sides of each of the ten proposals, once"
    );
}

/// A person erased during the follow-up takes their pair's due work with
/// them: the pair is closed and off the index, nothing more is sent.
#[tokio::test]
async fn an_erasure_during_the_follow_up_ends_it() {
    let table = TestTable::new(Backend::Embedded).await;
    let now = Utc::now();
    let (_, ids) = active_pairs(&table, 2, now).await;
    let matching = app(&table);
    matching::pairs::forget(&matching, &ids[0], "jeune0", now)
        .await
        .unwrap();
    let engine = engine(&table);
    let report = reminders::run(&engine, now + Duration::days(22), deadline())
        .await
        .unwrap();
    assert_eq!(report.done, 1, "only the pair still going");
    let pairs = pairs(&table).await;
    assert_eq!(pairs[&ids[0]].status, PairStatus::Closed);
    assert!(
        pairs[&ids[0]].due_sk.as_deref() > Some(timestamp(now + Duration::days(1000)).as_str()),
        "due only for its deletion"
    );
    assert!(
        pairs[&ids[0]].mentee_first_name.is_empty(),
        "no trace of the erased person"
    );
    let mails = mails_by_recipient(&table, "pair_check_in").await;
    assert!(!mails.contains_key(&Key::person_partition("mentor0")));
    assert_eq!(mails[&Key::person_partition("mentor1")].len(), 1);
}

/// The mailed check-in links work as a person would use them: the page
/// changes nothing, its button records the answer.
#[tokio::test]
async fn a_check_in_is_answered_through_its_mailed_link() {
    let table = TestTable::new(Backend::Embedded).await;
    let now = Utc::now();
    let (key, ids) = active_pairs(&table, 1, now).await;
    let matching = app(&table);
    reminders::run(&engine(&table), now + Duration::days(22), deadline())
        .await
        .unwrap();
    let mail =
        &mails_by_recipient(&table, "pair_check_in").await[&Key::person_partition("jeune0")][0];
    let help = mail["mail"]["params"]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "J'ai besoin d'aide de l'association")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let query: BTreeMap<String, String> = url::Url::parse(&help)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let link = |sample: &str| {
        let mut request = event(sample);
        request["rawQueryString"] =
            format!("token={}&answer={}", query["token"], query["answer"]).into();
        request["queryStringParameters"] = json!(query);
        request
    };
    let (status, page) = call(&matching, link("pair-check-in-page.json")).await;
    assert_eq!(status, 200);
    assert!(
        page.as_str().unwrap().contains("<form"),
        "a button to confirm"
    );
    assert!(
        pairs(&table).await[&ids[0]].check_ins[0].mentee.is_none(),
        "opening the link records nothing"
    );
    let (status, page) = call(&matching, link("pair-check-in.json")).await;
    assert_eq!(status, 200);
    assert!(
        page.as_str()
            .unwrap()
            .contains("l'association est prévenue")
            || page
                .as_str()
                .unwrap()
                .contains("l&#39;association est prévenue")
    );
    let pair = &pairs(&table).await[&ids[0]];
    assert_eq!(
        pair.check_ins[0].mentee.map(|a| a.answer),
        Some(CheckInAnswer::NeedHelp)
    );
    assert_eq!(pair.risk.map(|r| r.reason), Some(RiskReason::NeedsHelp));

    // The association sees it among its pairs at risk.
    let (status, listed) = call(
        &matching,
        as_association(event("matching-pairs.json"), &key),
    )
    .await;
    assert_eq!(status, 200);
    let at_risk = listed["pairs"].as_array().unwrap();
    assert_eq!(at_risk.len(), 1);
    assert_eq!(at_risk[0]["risk"]["reason"], "needs_help");
    assert!(
        at_risk[0]["risk"]["label"]
            .as_str()
            .unwrap()
            .contains("aide")
    );
}

/// The six-month survey as a person fills it in: a missing answer shows
/// the form again with the problem next to it; the answers are stored
/// without the person; answering twice keeps the first answers.
#[tokio::test]
async fn the_survey_is_answered_through_its_mailed_link_and_kept_without_the_person() {
    let table = TestTable::new(Backend::Embedded).await;
    let now = Utc::now();
    let (_, ids) = active_pairs(&table, 1, now).await;
    let matching = app(&table);
    let engine = engine(&table);
    // The programme's end (6 months less two weeks: day 167 to 170) comes
    // between the fifth and sixth check-ins.
    for days in [22, 52, 82, 112, 142, 165, 170, 172, 183] {
        reminders::run(
            &engine,
            now + Duration::days(days) + Duration::hours(1),
            deadline(),
        )
        .await
        .unwrap();
    }
    let mail =
        &mails_by_recipient(&table, "outcome_survey").await[&Key::person_partition("jeune0")][0];
    let survey = url::Url::parse(mail["mail"]["params"]["survey_url"].as_str().unwrap()).unwrap();
    let token = survey
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    let request = |sample: &str, body: &str| {
        let mut request = binome_tests::with_token(event(sample), &token);
        request["body"] = body.into();
        request
    };
    let (status, page) = call(&matching, request("pair-outcome-page.json", "")).await;
    assert_eq!(status, 200);
    let page = page.as_str().unwrap().to_owned();
    assert!(
        page.contains("name=\"situation_now\"") && page.contains("name=\"helped\""),
        "{page}"
    );

    let (status, page) = call(
        &matching,
        request("pair-outcome.json", "situation_now=emploi&helped=4"),
    )
    .await;
    assert_eq!(status, 400);
    let page = page.as_str().unwrap().to_owned();
    assert!(
        page.contains("Répondez oui ou non."),
        "the problem next to its question"
    );
    assert!(
        page.contains("value=\"emploi\" checked"),
        "the answers kept"
    );
    assert!(
        table.items_with_sort_prefix("OUTCOME").await.is_empty(),
        "nothing stored"
    );

    let (status, _) = call(
        &matching,
        request(
            "pair-outcome.json",
            "situation_now=emploi&helped=4&recommend=oui&comment=Super",
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &matching,
        request(
            "pair-outcome.json",
            "situation_now=autre&helped=1&recommend=non",
        ),
    )
    .await;
    assert_eq!(status, 200, "a second answer is thanked too");
    let outcomes = table
        .items_with_sort_prefix(Key::outcome("x").sk.as_str())
        .await;
    assert_eq!(outcomes.len(), 1, "the first answers stay");
    let outcome = &outcomes[0];
    assert_eq!(outcome["situation_now"], "emploi");
    assert_eq!(outcome["helped"], 4);
    assert_eq!(outcome["association"], SLUG);
    assert_eq!(outcome["departement"], "93");
    assert_eq!(outcome["situation_at_signup"], "lyceen");
    let text = outcome.to_string();
    for personal in ["jeune0", "mentor0", "Prénom", "Nom-", "exemple.fr", &ids[0]] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
}

fn signup_app(table: &TestTable) -> signup::Signup {
    signup::Signup::new(table.store.clone(), keyring(), links(), Elapsed::ZERO)
}

async fn sign_up(table: &TestTable, body: &Value) {
    let mut request = with_body(event("signup-mentee.json"), body);
    request["headers"]
        .as_object_mut()
        .unwrap()
        .remove("idempotency-key");
    let response = signup::handle(&signup_app(table), binome_tests::api_request(&request))
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

/// A sign-up left unconfirmed is reminded once at 48 hours with a fresh
/// link that works; a guardian silent at 72 hours is reminded once and the
/// young person told; a confirmed sign-up is never reminded.
#[tokio::test]
async fn unconfirmed_sign_ups_and_silent_guardians_are_reminded_once() {
    let table = TestTable::new(Backend::Embedded).await;
    let engine = engine(&table);
    sign_up(&table, &binome_tests::mentee_body()).await;
    sign_up(&table, &binome_tests::minor_body()).await;
    let now = Utc::now();
    let run = |hours: i64| reminders::run(&engine, now + Duration::hours(hours), deadline());

    assert_eq!(run(47).await.unwrap().done, 0, "not yet");
    assert_eq!(run(49).await.unwrap().done, 2, "both addresses unconfirmed");
    assert_eq!(run(50).await.unwrap().done, 0, "once");
    let reminders = mails_by_recipient(&table, "signup_verification_reminder").await;
    assert_eq!(reminders.len(), 2);
    assert!(reminders.values().all(|mails| mails.len() == 1));

    // The adult follows the fresh link: confirmed.
    let adult = table
        .items()
        .await
        .into_iter()
        .find(|item| {
            item["email"] == "ines.benali@exemple.fr"
                && item["sk"] == shared::store::keys::sort::PROFILE
        })
        .unwrap();
    let mail = &reminders[adult["pk"].as_str().unwrap()][0];
    let link = url::Url::parse(mail["mail"]["params"]["verify_url"].as_str().unwrap()).unwrap();
    let token = link
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    let page = signup::handle(
        &signup_app(&table),
        binome_tests::api_request(&binome_tests::with_token(
            event("signup-verify.json"),
            &token,
        )),
    )
    .await
    .unwrap();
    assert_eq!(page.status(), 200);

    assert_eq!(run(73).await.unwrap().done, 1, "only the minor's guardian");
    assert_eq!(run(74).await.unwrap().done, 0);
    let guardian = mails_by_recipient(&table, "guardian_consent_reminder").await;
    assert_eq!(guardian.len(), 1);
    assert!(guardian.keys().next().unwrap().starts_with("PERSON#"));
    assert_eq!(
        mails_by_recipient(&table, "guardian_reminded").await.len(),
        1
    );
    assert!(
        table
            .items()
            .await
            .iter()
            .filter(|item| item["sk"] == shared::store::keys::sort::PROFILE)
            .all(|item| item.get("due_pk").is_none()),
        "reminded or confirmed: off the index"
    );
}

/// The token and answer of the `n`th answer link of a mail.
fn answer_link(mail: &Value, n: usize) -> (String, String) {
    let url = url::Url::parse(
        mail["mail"]["params"]["answers"][n]["url"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    (query["token"].clone(), query["answer"].clone())
}

fn with_answer(sample: &str, (token, answer): &(String, String)) -> Value {
    let mut request = binome_tests::with_token(event(sample), token);
    request["rawQueryString"] = format!("token={token}&answer={answer}").into();
    request["queryStringParameters"]["answer"] = answer.clone().into();
    request
}

/// Two weeks before the programme's end both are asked whether they go on
/// (a GET shows the answer to confirm, the POST records it, a second answer
/// keeps the first); the association sees the answers and sets a longer
/// programme — a retry sets the same — which asks both again before its
/// new end; another association cannot touch the pair.
#[tokio::test]
async fn the_programme_end_is_asked_answered_and_extended() {
    let table = TestTable::new(Backend::Embedded).await;
    // Started 190 days ago: the association decides, today, after the end.
    let now = Utc::now() - Duration::days(190);
    let (key, ids) = active_pairs(&table, 1, now).await;
    let matching = app(&table);
    let engine = engine(&table);
    let run_at = |at: DateTime<Utc>| reminders::run(&engine, at, deadline());
    for days in [22, 52, 82, 112, 142, 165] {
        run_at(now + Duration::days(days) + Duration::hours(1))
            .await
            .unwrap();
    }
    assert!(
        mails_by_recipient(&table, "programme_ending")
            .await
            .is_empty(),
        "not yet"
    );
    let asked = programme_end(now, 6) - PROGRAMME_END_NOTICE + Duration::hours(1);
    assert_eq!(run_at(asked).await.unwrap().done, 1);
    assert_eq!(run_at(asked).await.unwrap().done, 0, "once");
    let mails = mails_by_recipient(&table, "programme_ending").await;
    let mentee_mail = &mails[&Key::person_partition("jeune0")][0];
    assert_eq!(mails[&Key::person_partition("mentor0")].len(), 1);
    assert_eq!(
        mentee_mail["mail"]["params"]["ends_on"],
        programme_end(now, 6).format("%d/%m/%Y").to_string()
    );
    assert_eq!(
        mails_by_recipient(&table, "programme_ending_association").await
            [&Key::association(SLUG).pk]
            .len(),
        1
    );

    let go_on = answer_link(mentee_mail, 0);
    assert_eq!(go_on.1, "continue");
    let (status, page) = call(&matching, with_answer("pair-programme-page.json", &go_on)).await;
    assert_eq!(status, 200);
    assert!(page.as_str().unwrap().contains("Nous souhaitons continuer"));
    assert!(
        pairs(&table).await[&ids[0]]
            .programme_end
            .as_ref()
            .unwrap()
            .mentee
            .is_none(),
        "opening the link records nothing"
    );
    let (status, _) = call(&matching, with_answer("pair-programme.json", &go_on)).await;
    assert_eq!(status, 200);
    let stop = answer_link(mentee_mail, 1);
    let (status, _) = call(&matching, with_answer("pair-programme.json", &stop)).await;
    assert_eq!(status, 200, "a second answer is thanked too");
    let (status, listed) = call(
        &matching,
        as_association(event("matching-pairs.json"), &key),
    )
    .await;
    assert_eq!(status, 200);
    let programme = &listed["pairs"][0]["programme"];
    assert_eq!(programme["months"], 6);
    assert_eq!(
        programme["question"]["mentee"]["answer"], "continue",
        "the first answer stays"
    );
    assert!(programme["question"]["mentor"].is_null());

    let lengthen = |months: Value, key: &str| {
        as_association(
            binome_tests::at(
                with_body(
                    event("matching-pair-programme.json"),
                    &json!({ "months": months }),
                ),
                &ids[0],
            ),
            key,
        )
    };
    for _ in 0..2 {
        let (status, set) = call(&matching, lengthen(json!(9), &key)).await;
        assert_eq!(status, 200, "{set}");
        assert_eq!(
            set["ends_on"],
            programme_end(now, 9).date_naive().to_string()
        );
    }
    let (status, refused) = call(&matching, lengthen(json!(40), &key)).await;
    assert_eq!(
        (status, refused["fields"][0]["field"].as_str()),
        (400, Some("months"))
    );
    let (status, _) = call(&matching, lengthen(json!(5), &key)).await;
    assert_eq!(status, 400, "a programme already over");
    let other = association(&table, "autre-asso", json!({})).await;
    let (status, _) = call(&matching, lengthen(json!(12), &other)).await;
    assert_eq!(status, 404, "another association's pair");
    let pair = &pairs(&table).await[&ids[0]];
    assert_eq!(pair.programme_months, 9);

    // The engine takes up the check-ins and the survey, then asks again.
    for days in [172, 183, 202, 232, 262, 263] {
        run_at(now + Duration::days(days) + Duration::hours(1))
            .await
            .unwrap();
    }
    let again = programme_end(now, 9) - PROGRAMME_END_NOTICE + Duration::hours(2);
    run_at(again).await.unwrap();
    run_at(again).await.unwrap();
    let mails = mails_by_recipient(&table, "programme_ending").await;
    let asked: Vec<&str> = mails[&Key::person_partition("jeune0")]
        .iter()
        .map(|mail| mail["mail"]["params"]["ends_on"].as_str().unwrap())
        .collect();
    let nine = programme_end(now, 9).format("%d/%m/%Y").to_string();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked.contains(&nine.as_str()), "{asked:?}");
    let (status, page) = call(&matching, with_answer("pair-programme.json", &go_on)).await;
    assert_eq!(status, 200);
    assert!(
        page.as_str().unwrap().contains("plus nécessaire"),
        "the first question's link no longer answers the second"
    );
}

fn signup_request(sample: &str, email: &str) -> Value {
    let mut body = binome_tests::event_body(sample);
    body["email"] = email.into();
    let mut request = with_body(event(sample), &body);
    request["headers"]
        .as_object_mut()
        .unwrap()
        .remove("idempotency-key");
    request
}

/// Signs up and verifies each `(sample, address)`; returns the person ids.
async fn verified_people(table: &TestTable, people: &[(&str, &str)]) -> Vec<String> {
    let signup = signup_app(table);
    for (sample, email) in people {
        let response = signup::handle(
            &signup,
            binome_tests::api_request(&signup_request(sample, email)),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 202);
        let token = binome_tests::link_token(table, "/v1/verify").await;
        let response = signup::handle(
            &signup,
            binome_tests::api_request(&binome_tests::with_token(
                event("signup-verify.json"),
                &token,
            )),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
    }
    let mut ids = Vec::new();
    for (_, email) in people {
        let profile = table
            .items()
            .await
            .into_iter()
            .find(|item| {
                item["email"] == *email && item["sk"] == shared::store::keys::sort::PROFILE
            })
            .unwrap();
        ids.push(profile["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn call_signup(table: &TestTable, request: Value) -> (u16, Value) {
    let response = signup::handle(&signup_app(table), binome_tests::api_request(&request))
        .await
        .unwrap();
    binome_tests::status_and_json(&response)
}

/// Moves a verified person's sign-up, and their retention item, to `at`.
async fn backdate(table: &TestTable, person_id: &str, at: DateTime<Utc>) {
    let client = &table.store.client;
    let text = |value: String| aws_sdk_dynamodb::types::AttributeValue::S(value);
    client
        .update_item()
        .table_name(&table.store.table)
        .set_key(Some(Key::person_profile(person_id).attributes()))
        .update_expression("SET created_at = :at, verified_at = :at, last_active_at = :at")
        .expression_attribute_values(":at", text(timestamp(at)))
        .send()
        .await
        .unwrap();
    client
        .update_item()
        .table_name(&table.store.table)
        .set_key(Some(Key::person_retention(person_id).attributes()))
        .update_expression("SET due_sk = :due")
        .expression_attribute_values(
            ":due",
            text(timestamp(at + shared::retention::FIRST_LOOK_AFTER)),
        )
        .send()
        .await
        .unwrap();
}

/// Three years without activity: the person is told a month ahead with a
/// link to keep the account; who keeps it is kept (and looked at again three
/// years on), who does not is erased as by their erasure link, with an audit
/// record without personal data; an account in use is never warned.
#[tokio::test]
async fn an_idle_account_is_warned_a_month_ahead_then_kept_or_erased() {
    let table = TestTable::new(Backend::Embedded).await;
    let ids = verified_people(
        &table,
        &[
            ("signup-mentor.json", "camille.martin@exemple.fr"),
            ("signup-mentor.json", "hugo.bernard@exemple.fr"),
            ("signup-mentee.json", "ines.benali@exemple.fr"),
        ],
    )
    .await;
    let (kept, erased, waiting) = (&ids[0], &ids[1], &ids[2]);
    // They signed up three years ago less a month: the keep link, clicked
    // now, is clicked on the engine's day 1066.
    let now = Utc::now() - Duration::days(1066);
    for id in &ids {
        backdate(&table, id, now).await;
    }
    let engine = engine(&table);
    let run_at = |days: i64| reminders::run(&engine, now + Duration::days(days), deadline());

    assert_eq!(
        run_at(30).await.unwrap().done,
        0,
        "nothing due in the first year"
    );
    assert_eq!(
        run_at(336).await.unwrap().done,
        0,
        "a first look only moves the date"
    );
    assert!(
        mails_by_recipient(&table, "retention_warning")
            .await
            .is_empty()
    );
    assert_eq!(run_at(1066).await.unwrap().done, 2, "the two idle mentors");
    assert_eq!(run_at(1066).await.unwrap().done, 0, "warned once");
    let warnings = mails_by_recipient(&table, "retention_warning").await;
    assert_eq!(warnings.len(), 2);
    assert!(
        !warnings.contains_key(&Key::person_partition(waiting)),
        "a request still waiting for an association is in use"
    );
    let warning = &warnings[&Key::person_partition(kept)][0];
    assert_eq!(
        warning["mail"]["params"]["erased_on"],
        (now + Duration::days(1096)).format("%d/%m/%Y").to_string()
    );
    let token_of = |mail: &Value| {
        let url = url::Url::parse(mail["mail"]["params"]["keep_url"].as_str().unwrap()).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "token")
            .unwrap()
            .1
            .into_owned()
    };
    let keep = token_of(warning);
    let (status, page) = call_signup(
        &table,
        binome_tests::with_token(event("me-keep-page.json"), &keep),
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.as_str().unwrap().contains("Garder mon compte"));
    let (status, _) = call_signup(
        &table,
        binome_tests::with_token(event("me-keep.json"), &keep),
    )
    .await;
    assert_eq!(status, 200);

    assert_eq!(
        run_at(1097).await.unwrap().done,
        1,
        "only the one who did not keep it"
    );
    assert_eq!(run_at(1097).await.unwrap().done, 0);
    let left = table.items().await;
    assert!(
        !left
            .iter()
            .any(|item| item["pk"] == Key::person_partition(erased)),
        "nothing left of the erased person"
    );
    assert!(
        !left
            .iter()
            .any(|item| item["email"] == "hugo.bernard@exemple.fr"),
        "nor of their address"
    );
    let audit = left
        .iter()
        .find(|item| item["pk"] == Key::erasure_audit(erased).pk)
        .expect("an audit record");
    assert_eq!(audit["cause"], "retention");
    assert!(!audit.to_string().contains("exemple.fr"));
    assert!(
        left.iter()
            .any(|item| item["pk"] == Key::person_partition(kept)
                && item["sk"] == shared::store::keys::sort::PROFILE),
        "the kept account stays"
    );
    let erased_keep = token_of(&warnings[&Key::person_partition(erased)][0]);
    let (status, _) = call_signup(
        &table,
        binome_tests::with_token(event("me-keep.json"), &erased_keep),
    )
    .await;
    assert_eq!(status, 410, "too late: the account is gone");

    // The kept account starts its three years again from the click.
    assert_eq!(run_at(1500).await.unwrap().done, 0);
    assert_eq!(
        run_at(1066 + 1066).await.unwrap().done,
        1,
        "warned again, three years on"
    );
}

/// A closed pair stays (for the association's history) for the retention
/// period after it ended, then goes with the references in its people's
/// partitions.
#[tokio::test]
async fn a_closed_pair_is_deleted_once_the_retention_period_is_over() {
    let table = TestTable::new(Backend::Embedded).await;
    let now = Utc::now();
    let (key, ids) = active_pairs(&table, 1, now).await;
    let matching = app(&table);
    let (status, _) = call(
        &matching,
        as_association(
            binome_tests::at(event("matching-pair-close.json"), &ids[0]),
            &key,
        ),
    )
    .await;
    assert_eq!(status, 200);
    let engine = engine(&table);
    let run_at = |days: i64| reminders::run(&engine, Utc::now() + Duration::days(days), deadline());
    assert_eq!(
        run_at(1).await.unwrap().done,
        0,
        "kept: its date only moves"
    );
    assert_eq!(run_at(1000).await.unwrap().done, 0);
    assert_eq!(pairs(&table).await.len(), 1);
    assert_eq!(run_at(1096).await.unwrap().done, 1);
    assert!(pairs(&table).await.is_empty(), "the pair is gone");
    assert!(
        table.items_with_sort_prefix("PAIR#").await.is_empty(),
        "and so are its references"
    );
    assert!(
        table
            .items()
            .await
            .iter()
            .any(|item| item["pk"] == Key::person_partition("jeune0")),
        "its people stay"
    );
    assert_eq!(run_at(1097).await.unwrap().done, 0);
}
