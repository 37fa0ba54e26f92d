//! The scheduled jobs of the template, run by the local stack on timers,
//! and on demand at a moved clock: `POST /local/jobs/{job}?days=N` (admin
//! key) runs one job now as if it were N days later, so that a person can
//! try a month of follow-up in a minute. `POST /local/jobs/stats-backfill`
//! recounts the figures (`?apply=true` corrects them).

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use mailer::Delivery;
use matching::Matching;
use reminders::Reminders;
use routing::Routing;
use serde_json::{Value, json};

/// The jobs and what they run on.
pub struct Jobs {
    pub routing: Arc<Routing>,
    pub matching: Arc<Matching>,
    pub delivery: Arc<Delivery>,
    pub reminders: Arc<Reminders>,
    pub campaigns: Arc<campaigns::Campaigns>,
    pub stats: Arc<stats::Stats>,
    pub admin_key: String,
}

/// The names `POST /local/jobs/{job}` takes, with their template schedules.
pub const JOBS: &[(&str, &str)] = &[
    ("reminders", "rate(15 minutes)"),
    ("routing-sweep", "cron(0 6 * * ? *)"),
    ("nightly-matching", "cron(0 2 * * ? *)"),
    ("mail-leases", "rate(5 minutes)"),
    ("campaigns", "rate(1 minute)"),
    // Invoked by hand in AWS (`{"backfill": {...}}` to `stats-events`).
    ("stats-backfill", "on demand"),
];

impl Jobs {
    /// Runs `job` as if the clock read `now + days`.
    pub async fn run(&self, job: &str, offset: &Offset) -> Result<Value, String> {
        let days = offset.days;
        let now = Utc::now() + chrono::Duration::days(days);
        let failed = |error: shared::store::StoreError| error.to_string();
        Ok(match job {
            "reminders" => {
                let deadline = std::time::Instant::now() + reminders::TIME_BUDGET;
                json!(
                    reminders::run(&self.reminders, now, deadline)
                        .await
                        .map_err(failed)?
                )
            }
            "routing-sweep" => json!(
                routing::sweep::sweep(&self.routing, now)
                    .await
                    .map_err(failed)?
            ),
            "nightly-matching" => json!({
                "requested": matching::runs::nightly(&self.matching, now).await.map_err(failed)?
            }),
            "mail-leases" => json!({
                "expired_leases": mailer::expired_leases(&self.delivery, now).await.map_err(failed)?
            }),
            "campaigns" => json!({
                "started": campaigns::start::scheduled(&self.campaigns, now).await.map_err(failed)?
            }),
            "stats-backfill" => json!(
                stats::backfill::backfill(
                    &self.stats.store,
                    stats::backfill::BackfillRequest {
                        segments: 4,
                        apply: offset.apply,
                    },
                )
                .await
                .map_err(failed)?
            ),
            other => return Err(format!("unknown job {other}")),
        })
    }
}

/// The query of a job run: the clock moved by `days`; `apply` for the
/// backfill's correction.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Offset {
    #[serde(default)]
    days: i64,
    #[serde(default)]
    apply: bool,
}

/// `POST /local/jobs/{job}?days=N`, behind the admin key.
pub async fn run_now(
    State(jobs): State<Arc<Jobs>>,
    Path(job): Path<String>,
    Query(offset): Query<Offset>,
    headers: HeaderMap,
) -> Response {
    let presented = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if presented != Some(jobs.admin_key.as_str()) {
        return (StatusCode::UNAUTHORIZED, "admin key required\n").into_response();
    }
    if !JOBS.iter().any(|(name, _)| *name == job) {
        let names: Vec<&str> = JOBS.iter().map(|(name, _)| *name).collect();
        return (
            StatusCode::NOT_FOUND,
            format!("jobs: {}\n", names.join(", ")),
        )
            .into_response();
    }
    match jobs.run(&job, &offset).await {
        Ok(report) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            report.to_string(),
        )
            .into_response(),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error).into_response(),
    }
}

/// Runs `job` every `every`, as the template schedules it.
pub async fn every(jobs: Arc<Jobs>, job: &'static str, every: Duration) {
    let mut timer = tokio::time::interval(every);
    timer.tick().await;
    loop {
        timer.tick().await;
        if let Err(error) = jobs.run(job, &Offset::default()).await {
            tracing::error!(%error, job, "scheduled job failed");
        }
    }
}
