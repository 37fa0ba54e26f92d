//! Erasure of a person (GDPR art. 17): their partition and e-mail guard are
//! deleted, what they counted at their association is released, and an audit
//! record without personal data says it happened. The same for a person who
//! asked by link and for one whose retention period is over.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    directory::{Counted, counters_update},
    people::Role,
    store::{Key, Store, StoreError, query_all, timestamp, transact_update},
    subject::SignupSubject,
};

/// DynamoDB's limit of items per transaction.
const TRANSACTION_ITEMS: usize = 100;

/// Why a person's data went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureCause {
    /// They asked, by their personal-data link.
    Request,
    /// Nothing happened on their account for the retention period.
    Retention,
}

/// What stays of an erased person: that an erasure happened, why and when.
#[derive(Serialize)]
struct ErasureAudit {
    pk: String,
    sk: String,
    role: Role,
    cause: ErasureCause,
    erased_at: String,
}

/// What an erasure found to erase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    Done,
    /// Erased before: the partition is empty and the audit record there.
    Nothing,
}

/// Every item of the person's partition.
#[tracing::instrument(skip_all)]
pub async fn partition(
    store: &Store,
    person_id: &str,
) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
    query_all(
        store
            .client
            .query()
            .table_name(&store.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(Key::person_partition(person_id)))
            .consistent_read(true),
    )
    .await
}

/// The erasure's audit record says it happened already.
#[tracing::instrument(skip_all)]
pub async fn already_erased(store: &Store, person_id: &str) -> Result<bool, StoreError> {
    let audit = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::erasure_audit(person_id).attributes()))
        .consistent_read(true)
        .send()
        .await?;
    Ok(audit.item.is_some())
}

/// Erases the person `subject` names; run again after a fault, it finishes
/// the work and releases nothing twice.
#[tracing::instrument(skip_all, fields(?cause))]
pub async fn erase(
    store: &Store,
    subject: &SignupSubject,
    cause: ErasureCause,
    now: DateTime<Utc>,
) -> Result<Erasure, StoreError> {
    let table = &store.table;
    let items = partition(store, &subject.person_id).await?;
    if items.is_empty() {
        return Ok(if already_erased(store, &subject.person_id).await? {
            Erasure::Nothing
        } else {
            // Never stored, or gone with an unverified sign-up's expiry.
            Erasure::Done
        });
    }
    let profile = Key::person_profile(&subject.person_id);
    // What the person counts at their association leaves with their profile.
    let released = items
        .iter()
        .find(|item| item.get("sk").and_then(|s| s.as_s().ok()) == Some(&profile.sk))
        .and_then(|item| serde_dynamo::from_item::<_, Counted>(item.clone()).ok())
        .and_then(|counted| {
            counted
                .released()
                .map(|(slug, change)| counters_update(table, slug, &change))
        });
    let keys = items.into_iter().map(|item| {
        item.into_iter()
            .filter(|(name, _)| name == "pk" || name == "sk")
            .collect::<HashMap<_, _>>()
    });
    // The profile and the retention item go last, together, with the
    // counters the profile releases and the audit record that says the
    // erasure finished: a retry after a partial erasure finds them and
    // releases the counters once.
    let last = [
        profile.attributes(),
        Key::person_retention(&subject.person_id).attributes(),
    ];
    let (last, rest): (Vec<_>, Vec<_>) = keys.partition(|key| last.contains(key));
    let delete = |key: HashMap<String, AttributeValue>| {
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key))
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    };
    let mut rest = rest.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<_> = rest.by_ref().take(TRANSACTION_ITEMS).map(delete).collect();
        store.transact(chunk).await?;
    }
    let mut writes: Vec<TransactWriteItem> = last.into_iter().map(delete).collect();
    // The guard, unless a newer sign-up of the address holds it.
    let guard = Delete::builder()
        .table_name(table)
        .set_key(Some(
            Key::email_guard(&subject.address, subject.role).attributes(),
        ))
        .condition_expression("attribute_not_exists(pk) OR person_id = :person")
        .expression_attribute_values(":person", AttributeValue::S(subject.person_id.clone()))
        .build()?;
    writes.push(TransactWriteItem::builder().delete(guard).build());
    // The address's bounce history goes with it.
    let standing = Delete::builder()
        .table_name(table)
        .set_key(Some(Key::deliverability(&subject.address).attributes()))
        .build()?;
    writes.push(TransactWriteItem::builder().delete(standing).build());
    let audit = Key::erasure_audit(&subject.person_id);
    let audit_item: HashMap<String, AttributeValue> = serde_dynamo::to_item(ErasureAudit {
        pk: audit.pk,
        sk: audit.sk,
        role: subject.role,
        cause,
        erased_at: timestamp(now),
    })?;
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(audit_item))
        .build()?;
    writes.push(TransactWriteItem::builder().put(put).build());
    if let Some(release) = released {
        writes.push(transact_update(release)?);
    }
    store.transact(writes).await?;
    tracing::info!(person = subject.person_id, "personal data erased");
    Ok(Erasure::Done)
}
