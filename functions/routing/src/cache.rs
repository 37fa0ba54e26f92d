//! The directory as routing reads it: one Query of the `DIRECTORY`
//! partition, kept for a minute by each warm function. The counters it
//! holds may be a minute old; the conditional write on the association item
//! is what enforces capacities, and a refused write marks the association
//! full here until the next read.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::{
    people::Mode,
    store::{Store, StoreError, query_all},
};
use tokio::sync::Mutex;

use crate::{
    directory::{AssociationRecord, Intake},
    rules::{self, Bits, departement_index, group_index, need_index, situation_index},
};

/// How long a directory read is trusted.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(60);
/// How recent a read must be to tell someone that no association can take them.
pub const WAITING_RECHECK: Duration = Duration::from_secs(5);

/// Attributes of the association item that count what routing sent it.
pub mod counters {
    /// Mentees routed to it in a month (`YYYY_MM`, UTC): what `monthly_capacity` bounds.
    pub fn routed_in(month: &str) -> String {
        format!("routed_{month}")
    }
    /// Its mentees routed and not yet paired.
    pub const WAITING_MENTEES: &str = "waiting_mentees";
    /// The places its routed mentors offer and that no pair fills yet.
    pub const FREE_MENTOR_PLACES: &str = "free_mentor_places";
    /// Until when its requests were listed in a daily digest.
    pub const LAST_DIGEST_AT: &str = "last_digest_at";
}

/// One association: as stored, and as the rules see it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub record: AssociationRecord,
    pub rules: rules::Association,
    /// When its last daily digest was queued.
    pub last_digest_at: Option<String>,
}

/// The directory at one moment, for one month.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub month: String,
    pub associations: Vec<Listed>,
}

impl Snapshot {
    pub fn get(&self, slug: &str) -> Option<&Listed> {
        self.associations.iter().find(|a| a.record.slug == slug)
    }

    pub fn rules(&self) -> Vec<rules::Association> {
        self.associations.iter().map(|a| a.rules.clone()).collect()
    }
}

#[derive(Default)]
pub struct DirectoryCache {
    loaded: Mutex<Option<(Instant, Arc<Snapshot>)>>,
}

impl DirectoryCache {
    /// The directory for `month`, read at most once per [`DIRECTORY_TTL`].
    pub async fn snapshot(&self, store: &Store, month: &str) -> Result<Arc<Snapshot>, StoreError> {
        self.snapshot_within(store, month, DIRECTORY_TTL).await
    }

    /// The directory for `month`, read again if older than `max_age`.
    pub async fn snapshot_within(
        &self,
        store: &Store,
        month: &str,
        max_age: Duration,
    ) -> Result<Arc<Snapshot>, StoreError> {
        let mut loaded = self.loaded.lock().await;
        if let Some((at, snapshot)) = loaded.as_ref()
            && at.elapsed() < max_age
            && snapshot.month == month
        {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(read(store, month).await?);
        *loaded = Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }

    /// Records what this function just wrote, or learnt from a refused write,
    /// so that the next decisions do not repeat it.
    pub async fn adjust(&self, slug: &str, change: impl FnOnce(&mut rules::Association)) {
        let mut loaded = self.loaded.lock().await;
        if let Some((_, snapshot)) = loaded.as_mut()
            && let Some(listed) = Arc::make_mut(snapshot)
                .associations
                .iter_mut()
                .find(|a| a.record.slug == slug)
        {
            change(&mut listed.rules);
        }
    }

    /// Forgets the directory (an admin changed it, or a test wants a fresh read).
    pub async fn clear(&self) {
        *self.loaded.lock().await = None;
    }
}

/// Every association, with its counters for `month` (a consistent read).
pub async fn read(store: &Store, month: &str) -> Result<Snapshot, StoreError> {
    let items = query_all(
        store
            .client
            .query()
            .table_name(&store.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S("DIRECTORY".into()))
            .expression_attribute_values(":prefix", AttributeValue::S("ASSOCIATION#".into()))
            .consistent_read(true),
    )
    .await?;
    let associations = items
        .into_iter()
        .map(|item| listed(item, month))
        .collect::<Result<_, _>>()?;
    Ok(Snapshot {
        month: month.to_owned(),
        associations,
    })
}

fn count(item: &HashMap<String, AttributeValue>, attribute: &str) -> u32 {
    item.get(attribute)
        .and_then(|value| value.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .map_or(0, |n| n.clamp(0, i64::from(u32::MAX)) as u32)
}

fn listed(item: HashMap<String, AttributeValue>, month: &str) -> Result<Listed, StoreError> {
    let routed_this_month = count(&item, &counters::routed_in(month));
    let waiting_mentees = count(&item, counters::WAITING_MENTEES);
    let free_mentor_places = count(&item, counters::FREE_MENTOR_PLACES);
    let last_digest_at = item
        .get(counters::LAST_DIGEST_AT)
        .and_then(|value| value.as_s().ok())
        .cloned();
    let record: AssociationRecord = serde_dynamo::from_item(item)?;
    let rules = rules::Association {
        slug: record.slug.clone(),
        active: record.active,
        departements: Bits::of(
            record
                .departements
                .iter()
                .filter_map(|d| departement_index(d)),
        ),
        national: record.national,
        presentiel: record.modes.contains(&Mode::Presentiel),
        distance: record.modes.contains(&Mode::Distance),
        ages: record.min_age..=record.max_age,
        needs: Bits::of(record.needs.iter().map(|n| need_index(*n))),
        situations: Bits::of(record.situations.iter().map(|s| situation_index(*s))),
        specialities: record
            .specialities
            .iter()
            .map(|s| (group_index(s.group), s.weight))
            .collect(),
        reserved_for: Bits::of(record.reserved_for.iter().map(|g| group_index(*g))),
        monthly_capacity: record.monthly_capacity,
        routed_this_month,
        mentor_intake: record.mentor_intake == Intake::Open,
        waiting_mentees,
        free_mentor_places,
    };
    Ok(Listed {
        record,
        rules,
        last_digest_at,
    })
}
