//! Matching runs. A run is an item (`RUN#<id>` / `RUN`); its INSERT on the
//! table's stream starts it, so a request answers at once and a large pool
//! is paired in the background. Its pairs wait as drafts for staff to
//! review (`drafts`), or, for an association that publishes its runs
//! without review (`auto_publish`), are proposed at once, each in its own
//! transaction (a pair of two people exists once), so a redelivered run
//! proposes nothing twice; it ends with its summary.

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use shared::{
    directory::{self, month_of, read_association},
    store::{Key, Store, StoreError, keys::index, timestamp},
};

use crate::{
    Matching,
    algorithm::{self, DEFAULT_CANDIDATES, Objective},
    drafts::{self, Draft},
    pairs::{self, Proposal, Proposer, Refused},
    pool::{self, Pool},
};

/// Proposals written at once by a run.
const CONCURRENT_PROPOSALS: usize = 8;
/// How long a run may price left-out pairs before it settles for the best
/// solution found so far (the function's timeout is 15 minutes).
const PRICING_BUDGET: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
/// Où en est un run : `requested` (en attente), `running` (en cours), `done` (terminé).
#[schema(as = MatchingRunStatus)]
pub enum RunStatus {
    Requested,
    Running,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
/// Qui a lancé le run : l'association (`request`) ou le passage de chaque nuit (`schedule`, associations en appariement automatique).
#[schema(as = MatchingRunSource)]
pub enum RunSource {
    /// Asked by the association.
    Request,
    /// The nightly schedule (`auto_matching`).
    Schedule,
}

/// What a run did. (Its fields' comments are the API contract's
/// descriptions, hence in French.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Le bilan d'un run terminé.", as = MatchingRunSummary)]
pub struct Summary {
    /// Jeunes qui attendaient un mentor au début du run.
    pub mentees: usize,
    /// Mentors qui avaient encore une place au début du run.
    pub mentors: usize,
    /// Binômes proposés par ce run (0 tant que ses brouillons attendent la relecture).
    pub pairs: usize,
    /// Binômes trouvés qui attendent en brouillon qu'un membre de l'équipe les approuve (0 quand
    /// l'association publie ses runs sans relecture).
    #[serde(default)]
    pub drafts: usize,
    /// Identifiants des binômes proposés par ce run.
    #[serde(default)]
    pub pair_ids: Vec<String>,
    /// Jeunes restés sans binôme trouvé.
    pub unmatched: usize,
    /// Total des points des binômes proposés.
    pub objective: u64,
    /// Binômes trouvés mais non proposés : l'une des deux personnes a changé entre-temps.
    pub skipped: usize,
    /// Durée du run, en millisecondes.
    pub duration_ms: u64,
    /// `true` : aucun binôme compatible écarté par l'élagage des candidats ne pouvait améliorer
    /// la solution (le plus de binômes, puis le meilleur total de points, sur tout le vivier).
    #[serde(default)]
    pub optimal: bool,
    /// Tours de vérification qui ont trouvé des binômes à ajouter aux candidats.
    #[serde(default)]
    pub pricing_rounds: u32,
    /// Binômes ajoutés aux candidats par ces tours.
    #[serde(default)]
    pub arcs_added: usize,
    /// Si le temps imparti a arrêté la vérification : binômes écartés qui pouvaient encore
    /// améliorer la solution (0 quand `optimal`).
    #[serde(default)]
    pub could_improve: usize,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub pk: String,
    pub sk: String,
    pub id: String,
    pub association: String,
    pub objective: Objective,
    pub source: RunSource,
    pub status: RunStatus,
    pub requested_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// In the association's list of runs (`by_association`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assoc_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assoc_sk: Option<String>,
}

impl Run {
    pub fn new(
        id: String,
        association: &str,
        objective: Objective,
        source: RunSource,
        now: DateTime<Utc>,
    ) -> Self {
        let key = Key::matching_run(&id);
        let requested_at = timestamp(now);
        Self {
            pk: key.pk,
            sk: key.sk,
            assoc_pk: Some(index::association_runs(association)),
            assoc_sk: Some(index::association_run_sort(&requested_at, &id)),
            id,
            association: association.to_owned(),
            objective,
            source,
            status: RunStatus::Requested,
            requested_at,
            finished_at: None,
            summary: None,
        }
    }
}

/// What asking for a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    Started,
    /// A run of this id exists already (the night's, asked for twice).
    Exists,
    /// Another run of the association is going or in review: its id.
    Busy(String),
}

/// Stores a requested run with the association's run slot, in one
/// transaction: two runs never pair the same pool at once.
#[tracing::instrument(skip_all, fields(run = run.id))]
pub async fn request(store: &Store, run: &Run) -> Result<Requested, StoreError> {
    // A slot left by a run that is over is given back first.
    if let Some(busy) = drafts::in_review(store, &run.association).await? {
        return Ok(if busy == run.id {
            Requested::Exists
        } else {
            Requested::Busy(busy)
        });
    }
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(&store.table)
        .set_item(Some(serde_dynamo::to_item(run)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()?;
    let writes = vec![
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(put)
            .build(),
        drafts::take_slot(&store.table, &run.association, &run.id)?,
    ];
    match store.transact(writes).await {
        Ok(_) => Ok(Requested::Started),
        Err(error) => match shared::store::cancellation_reasons(&error) {
            Some(reasons)
                if reasons
                    .first()
                    .is_some_and(shared::store::is_condition_failure) =>
            {
                Ok(Requested::Exists)
            }
            Some(reasons)
                if reasons
                    .get(1)
                    .is_some_and(shared::store::is_condition_failure) =>
            {
                // Taken meanwhile by another request.
                Ok(Requested::Busy(
                    drafts::in_review(store, &run.association)
                        .await?
                        .unwrap_or_default(),
                ))
            }
            _ => Err(error.into()),
        },
    }
}

pub async fn read(store: &Store, run_id: &str) -> Result<Option<Run>, StoreError> {
    let item = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::matching_run(run_id).attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    Ok(item.map(serde_dynamo::from_item).transpose()?)
}

/// The association's latest runs, newest first.
#[tracing::instrument(skip_all, fields(association = slug))]
pub async fn latest(store: &Store, slug: &str, limit: i32) -> Result<Vec<Run>, StoreError> {
    let page = store
        .by_association(index::association_runs(slug), None)
        .scan_index_forward(false)
        .limit(limit)
        .send()
        .await?;
    Ok(page
        .items()
        .iter()
        .filter_map(|item| serde_dynamo::from_item(item.clone()).ok())
        .collect())
}

/// Executes a run, unless it is done already.
#[tracing::instrument(skip_all, fields(run = run_id))]
pub async fn execute(app: &Matching, run_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    let Some(run) = read(&app.store, run_id).await? else {
        return Ok(());
    };
    if run.status == RunStatus::Done {
        return Ok(());
    }
    let Some(record) = read_association(&app.store, &run.association).await? else {
        return Ok(());
    };
    let started = Instant::now();
    let pool = Pool::load(
        &app.store,
        &record.slug,
        record.matching,
        run.objective,
        now,
    )
    .await?;
    let (solution, certificate) = algorithm::solve_certified(
        &pool.instance,
        Some(DEFAULT_CANDIDATES),
        Some(started + PRICING_BUDGET),
    );
    let run_id = run.id.as_str();
    let found = solution.pairs.len();
    let mut summary = Summary {
        mentees: pool.mentees.len(),
        mentors: pool.mentors.len(),
        optimal: certificate.optimal,
        pricing_rounds: certificate.rounds,
        arcs_added: certificate.arcs_added,
        could_improve: certificate.could_improve,
        ..Summary::default()
    };
    if record.auto_publish {
        let proposer = Proposer {
            slug: &record.slug,
            name: &record.name,
            programme_months: record.programme_months,
        };
        let outcomes: Vec<Result<(String, u32), Refused>> =
            stream::iter(solution.pairs.iter().copied())
                .map(|pair| {
                    let mentee = &pool.mentees[pair.mentee as usize];
                    let mentor = &pool.mentors[pair.mentor as usize];
                    let reasons = pool::reasons(mentee, mentor, &pair.points);
                    let proposer = &proposer;
                    async move {
                        let proposal = Proposal {
                            mentee,
                            mentor,
                            points: pair.points,
                            reasons,
                            run_id: Some(run_id),
                            also: Vec::new(),
                        };
                        pairs::propose(app, proposer, proposal, now)
                            .await
                            .map(|proposed| (proposed.id, proposed.score))
                    }
                })
                .buffer_unordered(CONCURRENT_PROPOSALS)
                .collect()
                .await;
        for outcome in outcomes {
            match outcome {
                Ok((id, score)) => {
                    summary.pair_ids.push(id);
                    summary.objective += u64::from(score);
                }
                // Transient: the redelivered run proposes the rest.
                Err(Refused::Store(error)) => return Err(error),
                Err(_) => {}
            }
        }
        summary.pairs = summary.pair_ids.len();
        summary.pair_ids.sort();
    } else {
        let today = now.date_naive();
        let drafts: Vec<Draft> = solution
            .pairs
            .iter()
            .map(|pair| {
                let mentee = &pool.mentees[pair.mentee as usize];
                let mentor = &pool.mentors[pair.mentor as usize];
                let reasons = pool::reasons(mentee, mentor, &pair.points);
                Draft::new(mentee, mentor, pair.points, reasons, today)
            })
            .collect();
        // Redelivered after writing some: the drafts stored are the run's.
        let stored = drafts::of_run(&app.store, run_id).await?;
        let drafts = if stored.is_empty() {
            drafts::write(&app.store, run_id, drafts.clone()).await?;
            drafts
        } else {
            stored
        };
        summary.drafts = drafts.len();
        summary.objective = drafts.iter().map(|d| u64::from(d.score)).sum();
    }
    let kept = summary.pairs + summary.drafts;
    summary.unmatched = pool.mentees.len().saturating_sub(kept);
    summary.skipped = found.saturating_sub(kept);
    summary.duration_ms = started.elapsed().as_millis() as u64;
    app.store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::matching_run(&run.id).attributes()))
        .update_expression("SET #status = :done, summary = :summary, finished_at = :now")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":done", AttributeValue::S("done".into()))
        .expression_attribute_values(":summary", serde_dynamo::to_attribute_value(&summary)?)
        .expression_attribute_values(":now", AttributeValue::S(timestamp(Utc::now())))
        .send()
        .await?;
    if summary.drafts == 0 {
        // Nothing to review: the association may run again.
        drafts::release(&app.store, &record.slug, &run.id).await?;
    }
    tracing::info!(
        run = run.id,
        association = record.slug,
        pairs = summary.pairs,
        unmatched = summary.unmatched,
        "matching run done"
    );
    Ok(())
}

/// The nightly schedule: one run per association with `auto_matching`, at
/// most one a night (the run id names the night).
pub async fn nightly(app: &Matching, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let directory = directory::read(&app.store, &month_of(now)).await?;
    let mut requested = 0;
    for listed in directory
        .associations
        .iter()
        .filter(|a| a.record.active && a.record.auto_matching)
    {
        if drafts::in_review(&app.store, &listed.record.slug)
            .await?
            .is_some()
        {
            // Last night's drafts are still to review: nobody is drafted twice.
            continue;
        }
        let id = format!("nightly-{}-{}", now.format("%Y%m%d"), listed.record.slug);
        let run = Run::new(
            id,
            &listed.record.slug,
            Objective::MostPairs,
            RunSource::Schedule,
            now,
        );
        // A run still in review (or going) keeps the pool: nobody is drafted twice.
        if request(&app.store, &run).await? == Requested::Started {
            requested += 1;
        }
    }
    tracing::info!(requested, "nightly matching runs requested");
    Ok(requested)
}
