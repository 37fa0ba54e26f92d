//! DynamoDB: one table (see `table`), every key format in one place (see
//! `keys`), items mapped with serde_dynamo.

pub mod keys;
pub mod table;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::{
    Client,
    error::{DisplayErrorContext, SdkError},
    operation::transact_write_items::TransactWriteItemsError,
    types::CancellationReason,
};

pub use keys::Key;

use crate::config::Env;

/// The table and the client that reaches it.
#[derive(Clone, Debug)]
pub struct Store {
    pub client: Client,
    pub table: String,
}

impl Store {
    /// `TABLE_NAME`, and `DYNAMODB_ENDPOINT` when an emulator stands in for DynamoDB.
    pub fn from_env(env: &mut Env, sdk: &SdkConfig) -> Self {
        let table = env.required("TABLE_NAME");
        let endpoint = env.optional("DYNAMODB_ENDPOINT");
        Self::new(sdk, table, endpoint.as_deref())
    }

    /// Writes all of `writes` or none. A transaction refused only because
    /// another one held one of its items (a burst on one association), or
    /// for a lack of capacity on one, is tried again after a short jittered
    /// pause: the SDK does not retry those.
    #[tracing::instrument(skip_all, fields(writes = writes.len()))]
    pub async fn transact(
        &self,
        writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput,
        SdkError<TransactWriteItemsError>,
    > {
        let mut conflicts = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await;
            match result {
                Err(error) if conflicts < CONFLICT_RETRIES && only_conflicts(&error) => {
                    conflicts += 1;
                    tracing::debug!(conflicts, "transaction conflict, trying again");
                    let pause = 10 * 2u64.pow(conflicts.min(6)) + rand::random_range(0..25);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                other => return other,
            }
        }
    }

    /// The items of `keys` that exist, read consistently: 100 keys a call
    /// (BatchGetItem's limit), keys left unprocessed asked again.
    /// `projection` names the attributes, `#status` standing for `status`.
    #[tracing::instrument(skip_all, fields(keys = keys.len()))]
    pub async fn batch_get(&self, keys: &[Key], projection: &str) -> Result<Vec<Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(Key::attributes).collect()))
                .projection_expression(projection)
                .set_expression_attribute_names(
                    projection
                        .contains("#status")
                        .then(|| [("#status".to_owned(), "status".to_owned())].into()),
                )
                .consistent_read(true)
                .build()?;
            loop {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await?;
                found.extend(
                    output
                        .responses
                        .and_then(|mut tables| tables.remove(&self.table))
                        .unwrap_or_default(),
                );
                match output
                    .unprocessed_keys
                    .and_then(|mut left| left.remove(&self.table))
                {
                    Some(left) if !left.keys().is_empty() => request = left,
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    /// A query of one `by_due_date` partition: what is due at or before `until`.
    pub fn due(
        &self,
        partition: String,
        until: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        use aws_sdk_dynamodb::types::AttributeValue;
        self.client
            .query()
            .table_name(&self.table)
            .index_name(keys::index::BY_DUE_DATE)
            .key_condition_expression("due_pk = :pk AND due_sk <= :until")
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .expression_attribute_values(":until", AttributeValue::S(until.to_owned()))
    }

    /// A query of the `by_association` index: the partition `assoc_pk`, and
    /// only the sort keys starting with `prefix` when there is one.
    pub fn by_association(
        &self,
        assoc_pk: String,
        prefix: Option<String>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        use aws_sdk_dynamodb::types::AttributeValue;
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::index::BY_ASSOCIATION)
            .expression_attribute_values(":pk", AttributeValue::S(assoc_pk));
        match prefix {
            Some(prefix) => query
                .key_condition_expression("assoc_pk = :pk AND begins_with(assoc_sk, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S(prefix)),
            None => query.key_condition_expression("assoc_pk = :pk"),
        }
    }

    /// Opens the connection (TLS handshake included) during a function's init
    /// rather than in its first request. A miss on a key no item uses.
    pub async fn warm_up(&self) {
        let probe = Key::warm_up();
        let result = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(probe.attributes()))
            .send()
            .await;
        if let Err(error) = result {
            tracing::warn!(error = %DisplayErrorContext(&error), "warm-up read failed");
        }
    }

    /// `endpoint` overrides the service endpoint (an emulator on loopback).
    pub fn new(sdk: &SdkConfig, table: impl Into<String>, endpoint: Option<&str>) -> Self {
        let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        Self {
            client: Client::from_conf(config.build()),
            table: table.into(),
        }
    }
}

/// An instant as stored: RFC 3339, UTC, to the second (sorts as text).
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An item as DynamoDB returns it.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// The items of the `by_due_date` partitions `partitions` whose due date is
/// at or before `until` (a due key as written: an instant or a date).
#[tracing::instrument(skip_all, fields(until))]
pub async fn due_items(
    store: &Store,
    partitions: impl IntoIterator<Item = String>,
    until: &str,
) -> Result<Vec<Item>, StoreError> {
    let mut due = Vec::new();
    for partition in partitions {
        due.extend(query_all(store.due(partition, until)).await?);
    }
    Ok(due)
}

/// Every item a query matches, page after page (the SDK's paginator).
#[tracing::instrument(skip_all)]
pub async fn query_all(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<Item>, StoreError> {
    Ok(query.into_paginator().items().send().try_collect().await?)
}

/// Conflicts with other transactions retried before the caller sees one.
const CONFLICT_RETRIES: u32 = 8;

/// Cancellation reasons worth another try: another transaction held an
/// item, or the table lacked capacity for one (DynamoDB reports throttling
/// inside a transaction this way, not as an error the SDK retries).
const PASSING_REASONS: [&str; 3] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

/// Whether a transaction was refused for passing reasons alone (no failed condition).
fn only_conflicts(error: &SdkError<TransactWriteItemsError>) -> bool {
    cancellation_reasons(error).is_some_and(|reasons| {
        reasons
            .iter()
            .any(|r| r.code().is_some_and(|code| PASSING_REASONS.contains(&code)))
            && !reasons.iter().any(is_condition_failure)
    })
}

/// Whether a single-item write was refused by its condition: the item
/// is not (or no longer) as the write expects.
pub fn condition_failed<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .is_some_and(|e| e.code() == Some("ConditionalCheckFailedException"))
}

/// Whether a transaction was refused because its first write's condition
/// failed: the item it guards moved on since it was read.
pub fn first_condition_failed(error: &SdkError<TransactWriteItemsError>) -> bool {
    cancellation_reasons(error)
        .is_some_and(|reasons| reasons.first().is_some_and(is_condition_failure))
}

/// An update as one write of a transaction.
pub fn transact_update(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    let update = update.build()?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .update(update)
        .build())
}

/// A storage failure. Its message carries the SDK's full context (never
/// item content); the error it came from stays its source.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A DynamoDB call failed, after the SDK's own retries.
    #[error("DynamoDB: {context}")]
    Call {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An item did not map to or from its type.
    #[error("item mapping: {0}")]
    Mapping(#[from] serde_dynamo::Error),
    /// A request was built without a required part (a bug, not a fault).
    #[error("request building: {0}")]
    Build(#[from] aws_sdk_dynamodb::error::BuildError),
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(error: SdkError<E, R>) -> Self {
        Self::Call {
            context: DisplayErrorContext(&error).to_string(),
            source: Box::new(error),
        }
    }
}

/// The per-item reasons of a cancelled transaction, in request order; `None`
/// when the call failed for any other reason.
pub fn cancellation_reasons(
    error: &SdkError<TransactWriteItemsError>,
) -> Option<&[CancellationReason]> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => {
            Some(cancelled.cancellation_reasons())
        }
        _ => None,
    }
}

/// Whether a cancellation reason is a failed condition (as opposed to a conflict or a throttle).
pub fn is_condition_failure(reason: &CancellationReason) -> bool {
    reason.code() == Some("ConditionalCheckFailed")
}
