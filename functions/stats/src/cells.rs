//! The figures as stored: one item per shard, month, association and
//! département, its counts as numbers that only `ADD` changes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, TransactWriteItem, Update, builders::UpdateBuilder,
};
use chrono::{Duration, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};
use shared::store::{
    self, Key, Store, StoreError,
    keys::{self, STATS_KEPT_PREFIX, STATS_PREFIX},
};

use crate::facts::{Cell, Change, Figures, NOW, metric};

/// Shards of each cell: a spike in one département writes to this many items.
pub const SHARDS: u32 = 8;
/// How long a counted record's marker is kept: longer than the stream
/// keeps records (24 hours).
const RECORD_MARKER_LIFETIME: Duration = Duration::days(2);
/// Writes of one transaction (DynamoDB's limit: 100), the marker included.
const TRANSACTION_ITEMS: usize = 100;
/// Partitions read at once by a report.
const READS_IN_FLIGHT: usize = 16;

/// The shard of an item's figures: always the same for one item, so that
/// what an item counts in a cell stays in one shard.
pub fn shard_of(item_pk: &str) -> u32 {
    item_pk.bytes().map(u32::from).sum::<u32>() % SHARDS
}

/// Every attribute of a cell that is a count.
fn metrics() -> Vec<&'static str> {
    let mut all = metric::monthly();
    all.extend(metric::NOW);
    all
}

/// `ADD` of every count of one cell, its place set beside them.
fn cell_update(table: &str, key: Key, cell: &Cell, counts: &[(&str, i64)]) -> UpdateBuilder {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key.attributes()))
        .expression_attribute_names("#month", "month")
        .expression_attribute_names("#association", "association")
        .expression_attribute_names("#departement", "departement")
        .expression_attribute_values(":month", AttributeValue::S(cell.month.clone()))
        .expression_attribute_values(":association", AttributeValue::S(cell.association.clone()))
        .expression_attribute_values(":departement", AttributeValue::S(cell.departement.clone()));
    let mut additions = Vec::new();
    for (n, (name, count)) in counts.iter().enumerate() {
        additions.push(format!("#m{n} :m{n}"));
        update = update
            .expression_attribute_names(format!("#m{n}"), *name)
            .expression_attribute_values(format!(":m{n}"), AttributeValue::N(count.to_string()));
    }
    update.update_expression(format!(
        "SET #month = :month, #association = :association, #departement = :departement ADD {}",
        additions.join(", ")
    ))
}

/// Whether `change` is written in one transaction (one marker).
pub fn fits_one_write(change: &Change) -> bool {
    change.live.0.len() + change.kept.0.len() < TRANSACTION_ITEMS
}

/// Writes `change` for the stream record `record_id` once: its marker
/// (refused if the record was counted already) in the same transaction
/// as its cells. Answers how many items it wrote (0: counted before).
#[tracing::instrument(skip(store, change))]
pub async fn record(
    store: &Store,
    record_id: &str,
    shard: u32,
    change: &Change,
) -> Result<usize, StoreError> {
    let mut updates = Vec::new();
    for (figures, stored) in [(&change.live, Stored::Live), (&change.kept, Stored::Kept)] {
        for (cell, counts) in &figures.0 {
            let (month, association, departement) =
                (&cell.month, &cell.association, &cell.departement);
            let key = match stored {
                Stored::Live => Key::stats_cell(month, shard, association, departement),
                Stored::Kept => Key::stats_kept_cell(month, shard, association, departement),
            };
            let counts: Vec<(&str, i64)> = counts.iter().map(|(m, c)| (*m, *c)).collect();
            updates.push(cell_update(&store.table, key, cell, &counts).build()?);
        }
    }
    let expires = (Utc::now() + RECORD_MARKER_LIFETIME).timestamp();
    let mut written = 0;
    // A change touches a few cells; one with more than a transaction holds
    // is written in parts, each with its own marker.
    for (part, chunk) in updates.chunks(TRANSACTION_ITEMS - 1).enumerate() {
        let marker_id = if part == 0 {
            record_id.to_owned()
        } else {
            format!("{record_id}#{part}")
        };
        let marker = Put::builder()
            .table_name(&store.table)
            .set_item(Some(HashMap::from([
                (
                    "pk".to_owned(),
                    AttributeValue::S(Key::stats_record(&marker_id).pk),
                ),
                (
                    "sk".to_owned(),
                    AttributeValue::S(Key::stats_record(&marker_id).sk),
                ),
                ("ttl".to_owned(), AttributeValue::N(expires.to_string())),
            ])))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        let mut writes = vec![TransactWriteItem::builder().put(marker).build()];
        writes.extend(
            chunk
                .iter()
                .map(|update| TransactWriteItem::builder().update(update.clone()).build()),
        );
        let items = writes.len();
        match store.transact(writes).await {
            Ok(_) => written += items,
            // Counted by an earlier delivery of the same record.
            Err(error) if store::first_condition_failed(&error) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(written)
}

/// The cell an item stored under `STATS#` or `STATS_KEPT#` is, and its counts.
pub fn parse(item: &store::Item, figures: &mut Figures) {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let (Some(month), Some(association), Some(departement)) =
        (text("month"), text("association"), text("departement"))
    else {
        return;
    };
    let cell = Cell {
        month,
        association,
        departement,
    };
    for name in metrics() {
        let count = item
            .get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0);
        figures.add(&cell, name, count);
    }
}

/// What a scanned item of the figures is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A cell of the live figures.
    Live,
    /// A cell of what removed items kept.
    Kept,
}

/// Whether a scanned item is a cell of the figures, and which.
pub fn stored(item: &store::Item) -> Option<Stored> {
    let pk = item.get("pk").and_then(|v| v.as_s().ok())?;
    if pk.starts_with(STATS_KEPT_PREFIX) {
        Some(Stored::Kept)
    } else if pk.starts_with(STATS_PREFIX) {
        Some(Stored::Live)
    } else {
        None
    }
}

/// The live figures of `months` and of the present, every shard added
/// up; only `association`'s cells when given.
#[tracing::instrument(skip(store))]
pub async fn read(
    store: &Store,
    months: &[String],
    association: Option<&str>,
) -> Result<Figures, StoreError> {
    let partitions: Vec<String> = months
        .iter()
        .map(String::as_str)
        .chain([NOW])
        .flat_map(|month| (0..SHARDS).map(move |shard| keys::stats_partition(month, shard)))
        .collect();
    let pages: Vec<Vec<store::Item>> = stream::iter(partitions)
        .map(|partition| {
            let mut query = store
                .client
                .query()
                .table_name(&store.table)
                .expression_attribute_values(":pk", AttributeValue::S(partition));
            query = match association {
                Some(slug) => query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :association)")
                    .expression_attribute_values(
                        ":association",
                        AttributeValue::S(keys::stats_association_prefix(slug)),
                    ),
                None => query.key_condition_expression("pk = :pk"),
            };
            store::query_all(query)
        })
        .buffer_unordered(READS_IN_FLIGHT)
        .try_collect()
        .await?;
    let mut figures = Figures::default();
    for item in pages.iter().flatten() {
        parse(item, &mut figures);
    }
    Ok(figures)
}

/// Adds `difference` to shard 0 of each of its cells (the backfill's
/// correction), a transaction's worth of cells at a time.
#[tracing::instrument(skip_all)]
pub async fn correct(store: &Store, difference: &Figures) -> Result<usize, StoreError> {
    let mut writes = Vec::new();
    for (cell, counts) in &difference.0 {
        let counts: Vec<(&str, i64)> = counts.iter().map(|(m, c)| (*m, *c)).collect();
        let key = Key::stats_cell(&cell.month, 0, &cell.association, &cell.departement);
        writes.push(store::transact_update(cell_update(
            &store.table,
            key,
            cell,
            &counts,
        ))?);
    }
    for chunk in writes.chunks(TRANSACTION_ITEMS) {
        store.transact(chunk.to_vec()).await?;
    }
    Ok(writes.len())
}
