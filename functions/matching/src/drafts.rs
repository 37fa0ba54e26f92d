//! A run's pairs as drafts. Unless its association publishes runs without
//! review (`auto_publish`), a run writes each pair it found as a draft
//! (`RUN#<run>` / `DRAFT#<mentee id>`) and nobody is told. Staff approve
//! all or some: an approved draft is proposed as a manual proposal is (both
//! people mailed), or skipped when one of the two changed since; a
//! rejected draft is recorded with the association's pairs, so that no run
//! proposes it again. While a run has drafts to review the association
//! starts no other (`REVIEW_SLOT#<slug>`), so that two runs never draft the
//! same people.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use shared::{
    directory::AssociationRecord,
    journal::{Action, Actor, Entry},
    pair::Points,
    store::{
        Item, Key, Store, StoreError, first_condition_failed,
        keys::{DRAFT_PREFIX, index},
        query_all,
    },
};

use crate::{
    Matching,
    pairs::{self, Proposal, Proposer, Refused, pair_id},
    pool::Member,
};

/// How long a draft is kept, decided or not.
const DRAFT_RETENTION: chrono::Duration = chrono::Duration::days(60);

/// Drafts written, or approved, at once.
const CONCURRENT_WRITES: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
/// Où en est un binôme en brouillon : `pending` (à relire), `approved` (approuvé et proposé),
/// `rejected` (rejeté, jamais reproposé), `skipped` (approuvé, mais l'une des deux personnes
/// n'était plus disponible).
#[schema(as = MatchingDraftStatus)]
pub enum DraftStatus {
    Pending,
    Approved,
    Rejected,
    Skipped,
}

/// A pair a run found, as stored and as shown to staff (no contact detail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "Un binôme trouvé par un run, en brouillon : personne n'est prévenu avant qu'un membre de l'équipe l'approuve.",
    as = MatchingDraft
)]
pub struct Draft {
    /// Identifiant du jeune.
    pub mentee_id: String,
    /// Identifiant du mentor.
    pub mentor_id: String,
    /// Prénom du jeune.
    pub mentee_first_name: String,
    /// Prénom du mentor.
    pub mentor_first_name: String,
    /// Le jeune en quelques mots, sans coordonnées.
    pub about_mentee: String,
    /// Le mentor en quelques mots, sans coordonnées.
    pub about_mentor: String,
    /// Score total (la somme des points).
    pub score: u32,
    /// Les points, critère par critère.
    pub points: Points,
    /// Pourquoi ce binôme, en phrases courtes.
    pub reasons: Vec<String>,
    pub status: DraftStatus,
    /// Qui l'a approuvé ou rejeté ; `null` tant qu'il est à relire.
    #[serde(default)]
    #[schema(required = true)]
    pub decided_by: Option<String>,
    /// Le motif d'un rejet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// Le binôme proposé, une fois approuvé.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair_id: Option<String>,
}

impl Draft {
    pub fn new(
        mentee: &Member,
        mentor: &Member,
        points: Points,
        reasons: Vec<String>,
        today: chrono::NaiveDate,
    ) -> Self {
        Self {
            mentee_id: mentee.id.clone(),
            mentor_id: mentor.id.clone(),
            mentee_first_name: mentee.first_name.clone(),
            mentor_first_name: mentor.first_name.clone(),
            about_mentee: mentee.about(today),
            about_mentor: mentor.about(today),
            score: points.total(),
            points,
            reasons,
            status: DraftStatus::Pending,
            decided_by: None,
            rejection_reason: None,
            pair_id: None,
        }
    }
}

/// Writes a run's drafts (a redelivered run writes none twice), each with
/// a reference in both people's partitions: erasing either one's data
/// deletes the reference, and the stream takes them out of the draft.
#[tracing::instrument(skip_all, fields(run = run_id))]
pub async fn write(store: &Store, run_id: &str, drafts: Vec<Draft>) -> Result<(), StoreError> {
    // What a draft says of the two people is kept no longer than a review takes.
    let expires = AttributeValue::N((Utc::now() + DRAFT_RETENTION).timestamp().to_string());
    let table = &store.table;
    let results: Vec<Result<(), StoreError>> = stream::iter(drafts)
        .map(|draft| {
            let expires = expires.clone();
            async move {
                let mut item: Item = serde_dynamo::to_item(&draft)?;
                item.extend(Key::run_draft(run_id, &draft.mentee_id).attributes());
                item.insert("ttl".into(), expires.clone());
                let mut writes = vec![
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(table)
                                .set_item(Some(item))
                                .condition_expression("attribute_not_exists(pk)")
                                .build()?,
                        )
                        .build(),
                ];
                for person in [&draft.mentee_id, &draft.mentor_id] {
                    let mut reference: Item = Key::person_draft(person, run_id).attributes();
                    reference.insert("run_id".into(), AttributeValue::S(run_id.to_owned()));
                    reference.insert(
                        "mentee_id".into(),
                        AttributeValue::S(draft.mentee_id.clone()),
                    );
                    reference.insert("ttl".into(), expires.clone());
                    writes.push(
                        TransactWriteItem::builder()
                            .put(
                                Put::builder()
                                    .table_name(table)
                                    .set_item(Some(reference))
                                    .build()?,
                            )
                            .build(),
                    );
                }
                match store.transact(writes).await {
                    // Written by an earlier delivery of the run, references included.
                    Err(error) if first_condition_failed(&error) => Ok(()),
                    other => other.map(|_| ()).map_err(StoreError::from),
                }
            }
        })
        .buffer_unordered(CONCURRENT_WRITES)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(())
}

/// Takes an erased person out of a run: the draft naming them goes (an
/// approved one's pair is taken care of by the pair's own reference).
#[tracing::instrument(skip_all, fields(run = run_id))]
pub async fn forget(store: &Store, run_id: &str, mentee_id: &str) -> Result<(), StoreError> {
    store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(Key::run_draft(run_id, mentee_id).attributes()))
        .send()
        .await?;
    tracing::info!(run = run_id, "erased person's draft deleted");
    Ok(())
}

/// A run's drafts, by mentee id.
#[tracing::instrument(skip_all, fields(run = run_id))]
pub async fn of_run(store: &Store, run_id: &str) -> Result<Vec<Draft>, StoreError> {
    let items = query_all(
        store
            .client
            .query()
            .table_name(&store.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :drafts)")
            .expression_attribute_values(":pk", AttributeValue::S(Key::matching_run(run_id).pk))
            .expression_attribute_values(":drafts", AttributeValue::S(DRAFT_PREFIX.into()))
            .consistent_read(true),
    )
    .await?;
    Ok(items
        .into_iter()
        .map(serde_dynamo::from_item)
        .collect::<Result<_, _>>()?)
}

/// How many of a run's drafts wait for review.
pub fn pending_count(drafts: &[Draft]) -> usize {
    drafts
        .iter()
        .filter(|draft| draft.status == DraftStatus::Pending)
        .count()
}

/// The association's run still going or still in review, if any: its
/// slot (`REVIEW_SLOT#<slug>`) is taken with the run's creation and given
/// back once the run ends without drafts or its drafts are all decided.
#[tracing::instrument(skip_all, fields(association = slug))]
pub async fn in_review(store: &Store, slug: &str) -> Result<Option<String>, StoreError> {
    let marker = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::run_review(slug).attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    let Some(run_id) = marker
        .as_ref()
        .and_then(|item| item.get("run_id"))
        .and_then(|value| value.as_s().ok())
        .cloned()
    else {
        return Ok(None);
    };
    let going = crate::runs::read(store, &run_id)
        .await?
        .is_some_and(|run| run.status != crate::runs::RunStatus::Done);
    let pending = going || pending_count(&of_run(store, &run_id).await?) > 0;
    if pending {
        Ok(Some(run_id))
    } else {
        // Over, and every draft decided: the association may run again.
        release(store, slug, &run_id).await?;
        Ok(None)
    }
}

/// The write that takes the association's run slot for `run_id`, in the
/// transaction that stores the run: refused while another run holds it.
pub fn take_slot(table: &str, slug: &str, run_id: &str) -> Result<TransactWriteItem, StoreError> {
    let mut marker: Item = Key::run_review(slug).attributes();
    marker.insert("run_id".into(), AttributeValue::S(run_id.to_owned()));
    Ok(TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(marker))
                .condition_expression("attribute_not_exists(pk)")
                .build()?,
        )
        .build())
}

/// Gives the association's run slot back (if `run_id` still holds it).
#[tracing::instrument(skip_all, fields(run = run_id))]
pub async fn release(store: &Store, slug: &str, run_id: &str) -> Result<(), StoreError> {
    let result = store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(Key::run_review(slug).attributes()))
        .condition_expression("run_id = :run")
        .expression_attribute_values(":run", AttributeValue::S(run_id.to_owned()))
        .send()
        .await;
    match result {
        Err(error) if shared::store::condition_failed(&error) => Ok(()),
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

/// What a review decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(description = "Ce que la relecture a fait.", as = MatchingReview)]
pub struct Reviewed {
    /// Binômes approuvés et proposés : les deux personnes reçoivent un e-mail.
    pub approved: usize,
    /// Binômes rejetés : ils ne seront plus jamais proposés.
    pub rejected: usize,
    /// Binômes approuvés mais non proposés : l'une des deux personnes n'était plus disponible.
    pub skipped: usize,
    /// Binômes encore à relire dans ce run.
    pub pending: usize,
}

/// The drafts `chosen` (all pending ones when `None`) that are still pending.
fn pending<'a>(drafts: &'a [Draft], chosen: Option<&[String]>) -> Vec<&'a Draft> {
    drafts
        .iter()
        .filter(|d| d.status == DraftStatus::Pending)
        .filter(|d| chosen.is_none_or(|ids| ids.contains(&d.mentee_id)))
        .collect()
}

/// The write that records a decision on a draft (only if still pending).
fn decide(
    table: &str,
    run_id: &str,
    draft: &Draft,
    status: DraftStatus,
    actor: &Actor,
    extra: Option<(&str, &str)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::run_draft(run_id, &draft.mentee_id).attributes()))
        .condition_expression("#status = :pending")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(
            ":pending",
            serde_dynamo::to_attribute_value(DraftStatus::Pending)?,
        )
        .expression_attribute_values(":status", serde_dynamo::to_attribute_value(status)?)
        .expression_attribute_values(":by", AttributeValue::S(actor.name.clone()));
    update = match extra {
        Some((attribute, value)) => update
            .update_expression(format!(
                "SET #status = :status, decided_by = :by, {attribute} = :extra"
            ))
            .expression_attribute_values(":extra", AttributeValue::S(value.to_owned())),
        None => update.update_expression("SET #status = :status, decided_by = :by"),
    };
    Ok(TransactWriteItem::builder().update(update.build()?).build())
}

/// Approves the drafts `chosen` (every pending one when `None`): each is
/// proposed, and both people mailed, unless one of them changed since.
#[tracing::instrument(skip_all, fields(run = run_id))]
pub async fn approve(
    app: &Matching,
    association: &AssociationRecord,
    run_id: &str,
    chosen: Option<&[String]>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Reviewed, StoreError> {
    let drafts = of_run(&app.store, run_id).await?;
    let selected = pending(&drafts, chosen);
    let ids: Vec<&str> = selected
        .iter()
        .flat_map(|d| [d.mentee_id.as_str(), d.mentor_id.as_str()])
        .collect();
    let people = pairs::profiles(&app.store, &ids).await?;
    let proposer = Proposer {
        slug: &association.slug,
        name: &association.name,
        programme_months: association.programme_months,
    };
    let table = &app.store.table;
    let selected: Vec<Draft> = selected.into_iter().cloned().collect();
    let outcomes: Vec<Result<DraftStatus, StoreError>> = stream::iter(selected)
        .map(|draft| {
            let (people, proposer) = (&people, &proposer);
            async move {
                let id = pair_id(&draft.mentee_id, &draft.mentor_id);
                let approved = vec![
                    decide(
                        table,
                        run_id,
                        &draft,
                        DraftStatus::Approved,
                        actor,
                        Some(("pair_id", &id)),
                    )?,
                    Entry::new(actor.clone(), Action::DraftApproved, &id, now)
                        .transact_put(table, &association.slug)?,
                ];
                // Both still there (not erased): proposed, unless one changed since the run.
                if let (Some(mentee), Some(mentor)) =
                    (people.get(&draft.mentee_id), people.get(&draft.mentor_id))
                {
                    let proposal = Proposal {
                        mentee,
                        mentor,
                        points: draft.points,
                        reasons: draft.reasons.clone(),
                        run_id: Some(run_id),
                        // The draft is marked approved with the proposal, or not at all.
                        also: approved,
                    };
                    match pairs::propose(app, proposer, proposal, now).await {
                        Ok(_) => return Ok(DraftStatus::Approved),
                        // Decided by someone else meanwhile.
                        Err(Refused::Decided) => return Ok(DraftStatus::Pending),
                        Err(Refused::Store(error)) => return Err(error),
                        Err(
                            Refused::AlreadyTried
                            | Refused::MentorFull
                            | Refused::MenteeUnavailable,
                        ) => {}
                    }
                }
                let writes = vec![
                    decide(table, run_id, &draft, DraftStatus::Skipped, actor, None)?,
                    Entry::new(actor.clone(), Action::DraftSkipped, &draft.mentee_id, now)
                        .transact_put(table, &association.slug)?,
                ];
                match app.store.transact(writes).await {
                    Ok(_) => Ok(DraftStatus::Skipped),
                    Err(error) if first_condition_failed(&error) => Ok(DraftStatus::Pending),
                    Err(error) => Err(error.into()),
                }
            }
        })
        .buffer_unordered(CONCURRENT_WRITES)
        .collect()
        .await;
    let mut reviewed = Reviewed::default();
    for outcome in outcomes {
        match outcome? {
            DraftStatus::Approved => reviewed.approved += 1,
            DraftStatus::Skipped => reviewed.skipped += 1,
            _ => {}
        }
    }
    finish(app, &association.slug, run_id, reviewed).await
}

/// Rejects the drafts `chosen` with `reason`: never proposed, now or by a later run.
#[tracing::instrument(skip_all, fields(run = run_id))]
pub async fn reject(
    app: &Matching,
    association: &AssociationRecord,
    run_id: &str,
    chosen: &[String],
    reason: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Reviewed, StoreError> {
    let drafts = of_run(&app.store, run_id).await?;
    let table = &app.store.table;
    let mut reviewed = Reviewed::default();
    for draft in pending(&drafts, Some(chosen)) {
        let id = pair_id(&draft.mentee_id, &draft.mentor_id);
        let mut tried: Item = Key::rejected_pair(&draft.mentee_id, &draft.mentor_id).attributes();
        for (name, value) in [
            ("assoc_pk", index::association_pairs(&association.slug)),
            (
                "assoc_sk",
                index::association_pair_sort(&draft.mentee_id, &draft.mentor_id),
            ),
            ("mentee_id", draft.mentee_id.clone()),
            ("mentor_id", draft.mentor_id.clone()),
            ("run_id", run_id.to_owned()),
        ] {
            tried.insert(name.into(), AttributeValue::S(value));
        }
        let writes = vec![
            decide(
                table,
                run_id,
                draft,
                DraftStatus::Rejected,
                actor,
                Some(("rejection_reason", reason)),
            )?,
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(tried))
                        .build()?,
                )
                .build(),
            Entry::new(actor.clone(), Action::DraftRejected, &id, now)
                .transact_put(table, &association.slug)?,
        ];
        match app.store.transact(writes).await {
            Ok(_) => reviewed.rejected += 1,
            Err(error) if first_condition_failed(&error) => {}
            Err(error) => return Err(error.into()),
        }
    }
    finish(app, &association.slug, run_id, reviewed).await
}

/// Counts what is left to review; the association may run again once nothing is.
#[tracing::instrument(skip_all, fields(run = run_id))]
async fn finish(
    app: &Matching,
    slug: &str,
    run_id: &str,
    mut reviewed: Reviewed,
) -> Result<Reviewed, StoreError> {
    reviewed.pending = pending_count(&of_run(&app.store, run_id).await?);
    if reviewed.pending == 0 {
        release(&app.store, slug, run_id).await?;
    }
    tracing::info!(
        run = run_id,
        approved = reviewed.approved,
        rejected = reviewed.rejected,
        skipped = reviewed.skipped,
        pending = reviewed.pending,
        "drafts reviewed"
    );
    Ok(reviewed)
}
