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

    /// Writes all of `writes` or none (one round trip).
    pub async fn transact(
        &self,
        writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput,
        SdkError<TransactWriteItemsError>,
    > {
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
    }

    /// Opens the connection (TLS handshake included) during a function's init
    /// rather than in its first request. A miss on a key no item uses.
    pub async fn warm_up(&self) {
        let probe = Key {
            pk: "WARMUP".into(),
            sk: "WARMUP".into(),
        };
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

/// Every item a query matches, page after page (the SDK's paginator).
pub async fn query_all(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<
    Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
    StoreError,
> {
    Ok(query.into_paginator().items().send().try_collect().await?)
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
    let update = update.build().map_err(|e| StoreError(e.to_string()))?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .update(update)
        .build())
}

/// A storage failure, described with the SDK's full context (never item content).
#[derive(Debug, thiserror::Error)]
#[error("DynamoDB: {0}")]
pub struct StoreError(pub String);

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(error: SdkError<E, R>) -> Self {
        Self(DisplayErrorContext(&error).to_string())
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(error: serde_dynamo::Error) -> Self {
        Self(format!("item mapping: {error}"))
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
