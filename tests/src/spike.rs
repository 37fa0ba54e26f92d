//! A campaign spike under fire, on the local stack: young people sign up
//! all at once while DynamoDB throttles and conflicts, the mail service
//! throttles, stream deliveries are killed mid-batch and the whole stack is
//! killed and restarted once. Clients behave as good clients do: a retry
//! with the same `Idempotency-Key` after a lost answer, a 429 or 503, or a
//! refused connection. Used by `tests/api/spike.rs` (sized for CI) and the
//! `spike` bench (10,000 at concurrency 200).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use local::faults::Faults;
use serde_json::Value;
use shared::store::keys;
use tokio::sync::{Mutex, RwLock};

#[derive(Debug, Clone)]
pub struct Settings {
    pub signups: usize,
    pub concurrency: usize,
    pub faults: Faults,
    /// Share of sign-ups sent a second time with the same key (a client
    /// that lost the first answer).
    pub retried_share: f64,
    /// Share of sign-ups from an address that signed up already.
    pub duplicate_share: f64,
    /// The stack is killed and restarted once this many sign-ups are answered.
    pub restart_after: Option<usize>,
    /// How long the stack may take to settle after the last answer.
    pub settle_within: Duration,
}

impl Settings {
    /// `signups` at `concurrency` with the faults of the spike test: 5 % of
    /// DynamoDB calls throttled, 2 % of transactions cancelled for a
    /// conflict, 1 % answered 500, 2 % of mails refused by a throttled SES,
    /// 5 % of stream deliveries killed mid-batch, the stack killed and
    /// restarted halfway; 10 % of sign-ups sent twice with the same key,
    /// 20 % from an address seen before.
    pub fn under_fire(signups: usize, concurrency: usize) -> Self {
        Settings {
            signups,
            concurrency,
            faults: Faults {
                dynamodb: local::faults::DynamoFaults {
                    throttle_rate: 0.05,
                    conflict_rate: 0.02,
                    server_error_rate: 0.01,
                    latency: Duration::ZERO,
                },
                mail_fault_rate: 0.02,
                stream_kill_rate: 0.05,
            },
            retried_share: 0.10,
            duplicate_share: 0.20,
            restart_after: Some(signups / 2),
            settle_within: Duration::from_secs(240),
        }
    }

    /// Distinct addresses among the sign-ups.
    pub fn addresses(&self) -> usize {
        (0..self.signups)
            .map(|n| address(self, n))
            .collect::<HashSet<_>>()
            .len()
    }
}

/// What the spike did, as the bench prints it.
#[derive(Debug, Default)]
pub struct Report {
    pub signups: usize,
    /// Distinct addresses whose sign-up was accepted (202).
    pub accepted: usize,
    /// Every answer the clients got, by status (retries included).
    pub answers: BTreeMap<u16, usize>,
    /// 429 and 503 answers without `Retry-After`.
    pub refusals_without_retry_after: usize,
    /// Requests that never reached the stack (it was restarting).
    pub connection_errors: usize,
    /// Sign-ups whose answers named more than one id (a retry with the
    /// same key gets the first answer), and profiles no answer named (a
    /// second sign-up of an address gets an id of its own, which reveals
    /// nothing of the first).
    pub ids_changed: usize,
    /// Accepted addresses without exactly one profile.
    pub profiles_not_one: usize,
    /// Mails queued and never written to the outbox.
    pub lost_mails: usize,
    /// Mails not sent when the stack settled (or gave up), by status.
    pub unsent: BTreeMap<String, usize>,
    /// Mails written more than once, and the interruptions that may cause
    /// one each (a killed mailer between the send and its record).
    pub duplicated_mails: usize,
    pub mailer_interruptions: u64,
    /// Requests counted by the figures.
    pub counted_requests: i64,
    /// Faults the DynamoDB proxy injected: (calls, throttled, conflicts, 500s).
    pub dynamodb_faults: (u64, u64, u64, u64),
    pub latency_p50: Duration,
    pub latency_p95: Duration,
    pub elapsed: Duration,
    pub settled_in: Duration,
}

struct Live {
    stack: Mutex<Option<local::Stack>>,
    base_url: RwLock<String>,
    admin_key: String,
    /// Mailer deliveries killed by stacks since stopped.
    earlier_mailer_kills: AtomicU64,
}

fn mailer_kills(stack: &local::Stack) -> u64 {
    stack
        .stream_kills
        .get("mailer")
        .map_or(0, |kills| kills.load(Ordering::Relaxed))
}

fn options(data: &Path, faults: Faults) -> local::Options {
    local::Options {
        port: 0,
        data_dir: data.to_path_buf(),
        public_base_url: None,
        site_url: None,
        announce_mail: false,
        throttle: local::gateway::Throttle::TEMPLATE,
        campaigns: local::CampaignOptions::TEMPLATE,
        // Mails are not what this measures: sent ten times faster than SES's pace.
        mail_rate_per_second: 100,
        faults,
    }
}

fn address(settings: &Settings, n: usize) -> String {
    // Every fifth sign-up (at the default 20 %) is an address seen before.
    let every = (1.0 / settings.duplicate_share.max(1e-9)).round() as usize;
    let n = if n >= every && n % every == every - 1 {
        n - every / 2
    } else {
        n
    };
    format!("jeune.pic{n}@exemple.fr")
}

/// One sign-up as a client sends it until it gets an answer it keeps.
async fn sign_up(
    live: &Live,
    client: &reqwest::Client,
    body: &str,
    key: &str,
    report: &Mutex<Report>,
) -> Option<(String, Duration)> {
    let started = Instant::now();
    loop {
        let base = live.base_url.read().await.clone();
        let answer = client
            .post(format!("{base}/v1/mentees"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body.to_owned())
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        let Ok(answer) = answer else {
            report.lock().await.connection_errors += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let status = answer.status().as_u16();
        let retry_after = answer.headers().contains_key("retry-after");
        {
            let mut report = report.lock().await;
            *report.answers.entry(status).or_default() += 1;
            if matches!(status, 429 | 503) && !retry_after {
                report.refusals_without_retry_after += 1;
            }
        }
        match status {
            202 => {
                let id = answer.json::<Value>().await.ok()?["id"]
                    .as_str()?
                    .to_owned();
                return Some((id, started.elapsed()));
            }
            // A good client waits as told; the test waits less.
            429 | 503 => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => return None,
        }
    }
}

/// Runs the spike against a fresh stack in `data`.
pub async fn run(settings: &Settings, data: &Path) -> Report {
    let stack = local::start(options(data, settings.faults))
        .await
        .expect("the stack starts");
    let live = Arc::new(Live {
        base_url: RwLock::new(stack.base_url.clone()),
        admin_key: stack.admin_key.clone(),
        stack: Mutex::new(Some(stack)),
        earlier_mailer_kills: AtomicU64::new(0),
    });
    let client = reqwest::Client::new();
    let report = Mutex::new(Report {
        signups: settings.signups,
        ..Report::default()
    });
    let answered = AtomicUsize::new(0);
    let restarted = Mutex::new(false);
    let mut template = crate::event_body("signup-mentee.json");
    let started = Instant::now();
    let outcomes: Vec<(String, Vec<(String, Duration)>)> = stream::iter(0..settings.signups)
        .map(|n| {
            let email = address(settings, n);
            template["email"] = email.clone().into();
            let body = template.to_string();
            let (live, client, report, answered, restarted) =
                (&live, &client, &report, &answered, &restarted);
            async move {
                let key = format!("pic-{n}");
                let sends = if (n as f64 * 0.618_034).fract() < settings.retried_share {
                    2
                } else {
                    1
                };
                let mut ids = Vec::new();
                for _ in 0..sends {
                    if let Some(answer) = sign_up(live, client, &body, &key, report).await {
                        ids.push(answer);
                    }
                }
                let done = answered.fetch_add(1, Ordering::Relaxed) + 1;
                if settings.restart_after == Some(done) {
                    let mut restarted = restarted.lock().await;
                    if !*restarted {
                        *restarted = true;
                        restart(live, data, settings.faults).await;
                    }
                }
                (email, ids)
            }
        })
        .buffer_unordered(settings.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut report = report.into_inner();
    report.elapsed = elapsed;
    let mut latencies: Vec<Duration> = outcomes
        .iter()
        .flat_map(|(_, ids)| ids.iter().map(|(_, latency)| *latency))
        .collect();
    latencies.sort();
    let at = |share: f64| {
        latencies
            .get(((latencies.len() as f64 * share) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    report.latency_p50 = at(0.50);
    report.latency_p95 = at(0.95);
    let mut ids_of: HashMap<String, HashSet<String>> = HashMap::new();
    for (email, ids) in &outcomes {
        let ids: HashSet<String> = ids.iter().map(|(id, _)| id.clone()).collect();
        if ids.len() > 1 {
            report.ids_changed += 1;
        }
        ids_of.entry(email.clone()).or_default().extend(ids);
    }
    report.accepted = ids_of.values().filter(|ids| !ids.is_empty()).count();

    let settling = Instant::now();
    settle(&live, settings, &mut report, &ids_of).await;
    report.settled_in = settling.elapsed();
    report
}

/// Kills the stack (its tasks stop wherever they are) and starts it again
/// on the same data; clients in flight find the door closed and retry.
async fn restart(live: &Live, data: &Path, faults: Faults) {
    let mut stack = live.stack.lock().await;
    if let Some(killed) = stack.take() {
        live.earlier_mailer_kills
            .fetch_add(mailer_kills(&killed), Ordering::Relaxed);
    }
    let next = local::start(options(data, faults))
        .await
        .expect("the stack starts again");
    *live.base_url.write().await = next.base_url.clone();
    *stack = Some(next);
}

fn mail_files(outbox: &Path) -> HashMap<String, usize> {
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(outbox).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".eml") {
            let id = stem.split('.').next().unwrap_or(stem).to_owned();
            *files.entry(id).or_default() += 1;
        }
    }
    files
}

/// Waits until every queued mail is written and the figures count every
/// request, taking up the leases the killed stack held as its schedule
/// would (the job at a moved clock); then checks what is stored.
async fn settle(
    live: &Live,
    settings: &Settings,
    report: &mut Report,
    ids_of: &HashMap<String, HashSet<String>>,
) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + settings.settle_within;
    loop {
        let (store, outbox, kills, faults) = {
            let stack = live.stack.lock().await;
            let stack = stack.as_ref().expect("a running stack");
            (
                stack.routing.store.clone(),
                stack.outbox_dir.clone(),
                mailer_kills(stack) + live.earlier_mailer_kills.load(Ordering::Relaxed),
                stack.dynamodb_faults.as_ref().map(|c| c.read()),
            )
        };
        let base = live.base_url.read().await.clone();
        let _ = client
            .post(format!("{base}/local/jobs/mail-leases?days=1"))
            .bearer_auth(&live.admin_key)
            .send()
            .await;
        let items = scan_without_faults(&store).await;
        let profiles: Vec<&Value> = items
            .iter()
            .filter(|item| item["sk"] == keys::sort::PROFILE)
            .collect();
        let mails: Vec<&Value> = items
            .iter()
            .filter(|item| {
                item["sk"]
                    .as_str()
                    .is_some_and(|sk| sk.starts_with(keys::OUTBOX_PREFIX))
            })
            .collect();
        let files = mail_files(&outbox);
        let unsent = mails.iter().filter(|mail| mail["status"] != "sent").count();
        let counted = counted_requests(&client, &base, &live.admin_key).await;
        let settled = unsent == 0 && counted == profiles.len() as i64;
        if settled || Instant::now() > deadline {
            let mut per_address: HashMap<&str, usize> = HashMap::new();
            for profile in &profiles {
                *per_address
                    .entry(profile["email"].as_str().unwrap_or_default())
                    .or_default() += 1;
            }
            report.profiles_not_one = ids_of
                .keys()
                .filter(|email| per_address.get(email.as_str()) != Some(&1))
                .count()
                + per_address
                    .keys()
                    .filter(|e| !ids_of.contains_key(**e))
                    .count();
            let ids: HashSet<&str> = ids_of.values().flatten().map(String::as_str).collect();
            report.ids_changed += profiles
                .iter()
                .filter(|profile| !ids.contains(profile["id"].as_str().unwrap_or_default()))
                .count();
            report.lost_mails = mails
                .iter()
                .filter(|mail| {
                    let id = mail["sk"]
                        .as_str()
                        .and_then(|sk| sk.strip_prefix(keys::OUTBOX_PREFIX))
                        .unwrap_or_default();
                    !files.contains_key(id)
                })
                .count();
            report.duplicated_mails = files.values().map(|copies| copies - 1).sum();
            for mail in mails.iter().filter(|mail| mail["status"] != "sent") {
                let status = mail["status"].as_str().unwrap_or_default().to_owned();
                *report.unsent.entry(status).or_default() += 1;
            }
            // The killed stack's mailer interruptions, and the restart.
            report.mailer_interruptions += kills + u64::from(settings.restart_after.is_some());
            report.counted_requests = counted;
            if let Some(faults) = faults {
                report.dynamodb_faults = faults;
            }
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Requests counted by the network's figures this month and last.
async fn counted_requests(client: &reqwest::Client, base: &str, admin_key: &str) -> i64 {
    let Ok(answer) = client
        .get(format!("{base}/v1/admin/stats?by=association"))
        .bearer_auth(admin_key)
        .send()
        .await
    else {
        return -1;
    };
    let figures: Value = answer.json().await.unwrap_or_default();
    figures["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| row["requests_created"].as_i64().unwrap_or(0))
        .sum()
}

/// Every item, read through the stack's own client (its faults are retried
/// by the SDK; a scan that still fails is tried again).
async fn scan_without_faults(store: &shared::store::Store) -> Vec<Value> {
    loop {
        let items: Result<Vec<_>, _> = store
            .client
            .scan()
            .table_name(&store.table)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect();
        if let Ok(items) = items {
            return items
                .into_iter()
                .map(|item| serde_dynamo::from_item(item).expect("items map to JSON"))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
