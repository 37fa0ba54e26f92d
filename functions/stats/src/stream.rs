//! The table's stream: each record changes the figures by what its item
//! counts after it minus what it counted before, once.

use std::collections::HashSet;

use aws_lambda_events::event::{
    dynamodb::{Event, EventRecord},
    streams::DynamoDbEventResponse,
};
use shared::store::{Key, StoreError};

use crate::{Stats, cells, facts};

/// Counts a batch in order; the first record that fails comes back with
/// the ones after it. The batch's markers are read first (one call per
/// 100 records), so that a redelivered batch costs no write for what it
/// counted already.
pub async fn deliver(app: &Stats, batch: &Event) -> DynamoDbEventResponse {
    let counted = match counted_before(app, batch).await {
        Ok(counted) => counted,
        Err(error) => {
            // The markers still guard each write: count record by record.
            tracing::warn!(%error, "markers of the batch unread");
            HashSet::new()
        }
    };
    shared::stream::in_order(batch, |record| {
        let counted = &counted;
        async move {
            let written = count(app, record, counted).await?;
            app.tally.add(written);
            Ok::<_, StoreError>(())
        }
    })
    .await
}

/// The id a record's marker is kept under: its event id, unique to the
/// record and the same at each delivery.
fn record_id(record: &EventRecord) -> Option<&str> {
    match (&record.event_id, &record.change.sequence_number) {
        (id, _) if !id.is_empty() => Some(id),
        (_, Some(sequence)) => Some(sequence),
        _ => None,
    }
}

/// The records of `batch` whose figures were written by an earlier delivery.
#[tracing::instrument(skip_all, fields(records = batch.records.len()))]
async fn counted_before(app: &Stats, batch: &Event) -> Result<HashSet<String>, StoreError> {
    let keys: Vec<Key> = batch
        .records
        .iter()
        .filter_map(record_id)
        .map(Key::stats_record)
        .collect();
    let found = app.store.batch_get(&keys, "pk").await?;
    Ok(found
        .iter()
        .filter_map(|item| item.get("pk")?.as_s().ok())
        .filter_map(|pk| Key::stats_record_of(pk).map(str::to_owned))
        .collect())
}

/// Counts one record: how many items it wrote (none for a record that
/// changes no figure, or that was counted before).
#[tracing::instrument(skip_all, fields(sequence = record.change.sequence_number))]
pub async fn count(
    app: &Stats,
    record: &EventRecord,
    counted: &HashSet<String>,
) -> Result<usize, StoreError> {
    let change = &record.change;
    let Some(pk) = shared::stream::text(&change.keys, "pk") else {
        return Ok(0);
    };
    let Some(record_id) = record_id(record) else {
        tracing::warn!("stream record without an id: not counted");
        return Ok(0);
    };
    let (old, new) = (&change.old_image, &change.new_image);
    let figures = facts::change(
        (!old.is_empty()).then_some(old),
        (!new.is_empty()).then_some(new),
    );
    if figures.is_empty() || (counted.contains(record_id) && cells::fits_one_write(&figures)) {
        return Ok(0);
    }
    cells::record(&app.store, record_id, cells::shard_of(pk), &figures).await
}
