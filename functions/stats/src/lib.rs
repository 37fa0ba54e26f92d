//! The `stats` functions: the network's figures, kept live from the table's
//! stream and read by month, département and association.
//!
//! | function | trigger | what it does |
//! |---|---|---|
//! | `stats-events` | table stream: profiles, pairs, outcomes, subscribers | adds what each record changes to the sharded counters, once per record |
//! | `stats-events` | `{"backfill": {"segments": 4, "apply": false}}`, invoked by hand | recounts every figure from the items (parallel Scan) and compares, or corrects |
//! | `stats` | `GET /v1/admin/stats`, `GET /v1/association/stats`, `GET /v1/stats/impact` | the figures as JSON or CSV |
//!
//! The counts carry no personal data: a month, an association, a
//! département, numbers. See `facts` for what each item counts.

pub mod backfill;
pub mod cells;
pub mod contract;
pub mod facts;
pub mod report;
pub mod stream;

use std::sync::atomic::{AtomicU64, Ordering};

use aws_lambda_events::event::dynamodb;
use lambda_http::{Body, Error, Request, Response};
use serde_json::Value;
use shared::{
    directory::AdminKey,
    http::{self, ApiError},
    store::Store,
};

pub const ROUTES: &[&str] = &[
    "GET /v1/admin/stats",
    "GET /v1/association/stats",
    "GET /v1/stats/impact",
];

pub struct Stats {
    pub store: Store,
    /// Refuses everyone in the events function, which serves no route.
    admin_key: AdminKey,
    pub tally: Tally,
}

impl Stats {
    pub fn new(store: Store, admin_key: Option<&str>) -> Self {
        Self {
            store,
            admin_key: AdminKey::new(admin_key),
            tally: Tally::default(),
        }
    }
}

/// Stream records counted and items they wrote, since the start.
#[derive(Debug, Default)]
pub struct Tally {
    records: AtomicU64,
    items_written: AtomicU64,
}

impl Tally {
    fn add(&self, written: usize) {
        self.records.fetch_add(1, Ordering::Relaxed);
        self.items_written
            .fetch_add(written as u64, Ordering::Relaxed);
    }

    /// (records counted, items written).
    pub fn read(&self) -> (u64, u64) {
        (
            self.records.load(Ordering::Relaxed),
            self.items_written.load(Ordering::Relaxed),
        )
    }
}

/// Which of the two functions is starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// `stats`: the routes; reads the admin key.
    Api,
    /// `stats-events`: the stream and the backfill.
    Events,
}

pub async fn start(entry: Entry) -> Result<Stats, Error> {
    let shared::aws::Start {
        sdk,
        mut env,
        store,
    } = shared::aws::start_function().await;
    let admin_key_arn = (entry == Entry::Api).then(|| env.required("ADMIN_KEY_SECRET_ARN"));
    let store = env.finish(|| store)?;
    let admin_key = shared::aws::secret_and_warm_up(&sdk, &store, admin_key_arn.as_deref()).await?;
    Ok(Stats::new(store, admin_key.as_deref()))
}

pub async fn handle(app: &Stats, request: Request) -> Result<Response<Body>, Error> {
    let answer = match http::route_key(&request) {
        Some("GET /v1/admin/stats") => report::network(app, &request).await,
        Some("GET /v1/association/stats") => report::association(app, &request).await,
        Some("GET /v1/stats/impact") => report::impact(app).await,
        _ => Err(ApiError::not_found()),
    };
    Ok(answer.unwrap_or_else(|error| error.respond()))
}

/// The `stats-events` function: a batch of the table's stream, or a backfill.
pub async fn handle_event(app: &Stats, event: Value) -> Result<Value, Error> {
    if event.get("Records").is_some() {
        let batch: dynamodb::Event = serde_json::from_value(event)?;
        return Ok(serde_json::to_value(stream::deliver(app, &batch).await)?);
    }
    if let Some(request) = event.get("backfill") {
        let request: backfill::BackfillRequest = serde_json::from_value(request.clone())?;
        let report = backfill::backfill(&app.store, request).await?;
        return Ok(serde_json::to_value(report)?);
    }
    Err("unexpected event: neither a stream batch nor a backfill".into())
}
