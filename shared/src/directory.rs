//! The association directory, as every function reads it: the association
//! record, its counters, the key an association authenticates with, and the
//! directory read once a minute by each warm function.
//!
//! The counters (requests routed this month, mentees waiting, free mentor
//! places) live on the association item. Routing owns the effects of
//! routing on them, matching the effects of pairing; both write them
//! through [`counters_update`], in the transaction of the change they count.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::{AttributeValue, Update, builders::UpdateBuilder};
use chrono::{DateTime, Utc};
use lambda_http::{Request, http::StatusCode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use crate::{
    criteria::Criteria,
    http::ApiError,
    people::{Mode, Need, PriorityGroup, ProfileStatus, Role, Situation},
    place::Departement,
    store::{
        Item, Key, Store, StoreError,
        keys::{ASSOCIATION_PREFIX, counters},
        query_all,
    },
};

/// How long a directory read is trusted.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Intake {
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Notify {
    Immediate,
    DailyDigest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speciality {
    pub group: PriorityGroup,
    pub weight: u32,
}

/// An association as stored (`DIRECTORY` / `ASSOCIATION#<slug>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssociationRecord {
    pub slug: String,
    pub name: String,
    /// Stored as `email`: the attribute the mailer reads a recipient's address from.
    #[serde(rename = "email")]
    pub contact_email: String,
    pub active: bool,
    pub departements: Vec<Departement>,
    pub national: bool,
    pub modes: Vec<Mode>,
    pub min_age: u32,
    pub max_age: u32,
    pub needs: Vec<Need>,
    pub situations: Vec<Situation>,
    pub specialities: Vec<Speciality>,
    pub reserved_for: Vec<PriorityGroup>,
    pub monthly_capacity: u32,
    pub mentor_intake: Intake,
    pub notify: Notify,
    pub sla_days: u32,
    /// How long its mentoring lasts: at its end both are asked whether they
    /// go on, and the association closes or extends the pair.
    #[serde(default = "default_programme_months")]
    pub programme_months: u32,
    /// How its pairs are weighed.
    #[serde(default)]
    pub matching: Criteria,
    /// Whether the nightly schedule pairs its pool.
    #[serde(default)]
    pub auto_matching: bool,
    /// Whether a run proposes its pairs at once; otherwise they wait as
    /// drafts until staff approve them.
    #[serde(default)]
    pub auto_publish: bool,
}

/// The programme length of the plan « 1 jeune, 1 mentor ».
pub const DEFAULT_PROGRAMME_MONTHS: u32 = 6;

fn default_programme_months() -> u32 {
    DEFAULT_PROGRAMME_MONTHS
}

/// The month whose counter a routing decision takes (UTC), `YYYY_MM`.
pub fn month_of(at: DateTime<Utc>) -> String {
    at.format("%Y_%m").to_string()
}

/// An association's counters for one month, as read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub routed_this_month: u32,
    pub waiting_mentees: u32,
    pub free_mentor_places: u32,
}

/// A change of an association's counters, written with the change it counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterChange {
    /// The month whose routed count changes, and by how much.
    pub routed: Option<(String, i64)>,
    pub waiting_mentees: i64,
    pub free_mentor_places: i64,
}

impl CounterChange {
    pub fn is_empty(&self) -> bool {
        self.routed.is_none() && self.waiting_mentees == 0 && self.free_mentor_places == 0
    }
}

/// The update that applies `change` to the association `slug`; the caller
/// adds its own condition (the routed count reads as `#month`).
pub fn counters_update(table: &str, slug: &str, change: &CounterChange) -> UpdateBuilder {
    let routed = change
        .routed
        .as_ref()
        .map(|(month, delta)| ("month", counters::routed_in(month), *delta));
    let moves = routed.into_iter().chain([
        (
            "waiting",
            counters::WAITING_MENTEES.to_owned(),
            change.waiting_mentees,
        ),
        (
            "places",
            counters::FREE_MENTOR_PLACES.to_owned(),
            change.free_mentor_places,
        ),
    ]);
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::association(slug).attributes()));
    let mut additions = Vec::new();
    for (name, attribute, delta) in moves.filter(|(_, _, delta)| *delta != 0) {
        additions.push(format!("#{name} :{name}"));
        update = update
            .expression_attribute_names(format!("#{name}"), attribute)
            .expression_attribute_values(format!(":{name}"), AttributeValue::N(delta.to_string()));
    }
    update.update_expression(format!("ADD {}", additions.join(", ")))
}

/// What a person's profile counts at the association holding them: a
/// mentee waiting in its pool, a mentor's free places.
#[derive(Debug, Clone, Deserialize)]
pub struct Counted {
    pub role: Role,
    pub status: ProfileStatus,
    #[serde(default)]
    pub capacity: Option<u8>,
    #[serde(default)]
    pub pairs_held: u8,
    #[serde(default)]
    pub routing: Option<HeldBy>,
}

/// The association a request is with (the `routing` map of a profile).
#[derive(Debug, Clone, Deserialize)]
pub struct HeldBy {
    #[serde(default)]
    pub association: Option<String>,
}

impl Counted {
    /// The association and the change that takes this person out of its
    /// counters (the person leaves: erased); `None` when they count nowhere.
    pub fn released(&self) -> Option<(&str, CounterChange)> {
        let slug = self.routing.as_ref()?.association.as_deref()?;
        if !matches!(
            self.status,
            ProfileStatus::Routed | ProfileStatus::Acknowledged
        ) {
            return None;
        }
        let change = match self.role {
            Role::Mentee => CounterChange {
                waiting_mentees: -1,
                ..CounterChange::default()
            },
            Role::Mentor => CounterChange {
                free_mentor_places: -i64::from(
                    self.capacity.unwrap_or(1).saturating_sub(self.pairs_held),
                ),
                ..CounterChange::default()
            },
        };
        (!change.is_empty()).then_some((slug, change))
    }
}

/// One association as listed in the directory.
#[derive(Debug, Clone)]
pub struct Listed {
    pub record: AssociationRecord,
    pub counters: Counters,
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
}

/// The directory kept for a minute by a warm function. The counters it
/// holds may be a minute old: conditional writes on the association item
/// are what enforce capacities.
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
    pub async fn adjust(&self, slug: &str, change: impl FnOnce(&mut Listed)) {
        let mut loaded = self.loaded.lock().await;
        if let Some((_, snapshot)) = loaded.as_mut()
            && let Some(listed) = Arc::make_mut(snapshot)
                .associations
                .iter_mut()
                .find(|a| a.record.slug == slug)
        {
            change(listed);
        }
    }

    /// Forgets the directory (an admin changed it, or a fresh read is wanted).
    pub async fn clear(&self) {
        *self.loaded.lock().await = None;
    }
}

/// Every association, with its counters for `month` (a consistent read).
#[tracing::instrument(skip_all, fields(month))]
pub async fn read(store: &Store, month: &str) -> Result<Snapshot, StoreError> {
    let items = query_all(
        store
            .client
            .query()
            .table_name(&store.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(Key::directory_partition().into()),
            )
            .expression_attribute_values(":prefix", AttributeValue::S(ASSOCIATION_PREFIX.into()))
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

/// One association's record, or `None` if there is none of that slug.
#[tracing::instrument(skip_all, fields(association = slug))]
pub async fn read_association(
    store: &Store,
    slug: &str,
) -> Result<Option<AssociationRecord>, StoreError> {
    Ok(association_item(store, slug)
        .await?
        .map(serde_dynamo::from_item)
        .transpose()?)
}

/// The association item as stored (its key hash and counters included).
async fn association_item(store: &Store, slug: &str) -> Result<Option<Item>, StoreError> {
    Ok(store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::association(slug).attributes()))
        .send()
        .await?
        .item)
}

fn count(item: &Item, attribute: &str) -> u32 {
    item.get(attribute)
        .and_then(|value| value.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .map_or(0, |n| n.clamp(0, i64::from(u32::MAX)) as u32)
}

fn listed(item: Item, month: &str) -> Result<Listed, StoreError> {
    let counters = Counters {
        routed_this_month: count(&item, &counters::routed_in(month)),
        waiting_mentees: count(&item, counters::WAITING_MENTEES),
        free_mentor_places: count(&item, counters::FREE_MENTOR_PLACES),
    };
    let last_digest_at = item
        .get(counters::LAST_DIGEST_AT)
        .and_then(|value| value.as_s().ok())
        .cloned();
    Ok(Listed {
        record: serde_dynamo::from_item(item)?,
        counters,
        last_digest_at,
    })
}

/// Whether `slug` is a well-formed association id: lower-case words and digits.
pub fn valid_slug(slug: &str) -> bool {
    (2..=64).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// A new association API key (`bnm_<slug>_<256 bits hex>`) and its stored hash.
pub fn new_api_key(slug: &str) -> (String, String) {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let key = format!("bnm_{slug}_{}", hex::encode(secret));
    let hash = key_hash(&key);
    (key, hash)
}

pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Whether `presented` is the key whose hash is `stored`, in constant time.
pub fn key_matches(presented: &str, stored_hash: &str) -> bool {
    key_hash(presented)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// The network admins' key, kept only as its hash.
#[derive(Debug, Clone, Default)]
pub struct AdminKey(Option<[u8; 32]>);

impl AdminKey {
    /// `None`: a function that serves no admin route refuses every request.
    pub fn new(key: Option<&str>) -> Self {
        Self(key.map(|key| Sha256::digest(key.trim().as_bytes()).into()))
    }

    /// Only the network admins pass (hashes compared in constant time).
    pub fn check(&self, request: &Request) -> Result<(), ApiError> {
        let admitted = bearer(request).is_some_and(|presented| {
            let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
            self.0.is_some_and(|hash| presented.ct_eq(&hash).into())
        });
        if admitted {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Clé d'administration manquante ou invalide (en-tête Authorization: Bearer …).",
            ))
        }
    }
}

/// The bearer token of the request.
pub fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Clé d'association manquante ou invalide (en-tête Authorization: Bearer bnm_…).",
    )
}

/// The association whose key the request carries (read afresh: a rotated
/// key stops working at once).
#[tracing::instrument(skip_all)]
pub async fn authenticate(store: &Store, request: &Request) -> Result<AssociationRecord, ApiError> {
    let key = bearer(request).ok_or_else(unauthorized)?;
    let slug = key
        .strip_prefix("bnm_")
        .and_then(|rest| rest.rsplit_once('_'))
        .map(|(slug, _)| slug)
        .filter(|slug| valid_slug(slug))
        .ok_or_else(unauthorized)?;
    let item = association_item(store, slug)
        .await?
        .ok_or_else(unauthorized)?;
    // The key the network made with the association, or one its admins
    // created in their space (read afresh: a revoked key stops at once).
    let original = item
        .get(counters::KEY_HASH)
        .and_then(|h| h.as_s().ok())
        .is_some_and(|hash| key_matches(key, hash));
    if !original && !named_key_of(store, key, slug).await? {
        return Err(unauthorized());
    }
    Ok(serde_dynamo::from_item(item).map_err(StoreError::from)?)
}

/// A key an association's admins created in their space (`API_KEY#<hash>`
/// / `API_KEY`), listed in the association's keys (`KEYS#<slug>`). The key
/// itself is shown once, at creation; only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedKey {
    /// The SHA-256 of the key, hex: its id in pages and routes.
    pub id: String,
    pub association: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Who created it (a staff member's name).
    pub created_by: String,
}

impl NamedKey {
    /// A new key for `slug` named `name`: the key (shown once) and its record.
    pub fn new(slug: &str, name: &str, created_by: &str, now: DateTime<Utc>) -> (String, Self) {
        let (key, hash) = new_api_key(slug);
        let record = Self {
            id: hash,
            association: slug.to_owned(),
            name: name.to_owned(),
            created_at: now,
            created_by: created_by.to_owned(),
        };
        (key, record)
    }

    /// The record as stored, listed with the association's keys.
    pub fn item(&self) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(self)?;
        for (name, value) in Key::api_key(&self.id).attributes() {
            item.insert(name, value);
        }
        item.insert(
            "assoc_pk".into(),
            AttributeValue::S(crate::store::keys::index::association_keys(
                &self.association,
            )),
        );
        item.insert(
            "assoc_sk".into(),
            AttributeValue::S(format!(
                "{}#{}",
                crate::store::timestamp(self.created_at),
                self.id
            )),
        );
        Ok(item)
    }
}

/// Whether `key` is one of the association's named keys.
async fn named_key_of(store: &Store, key: &str, slug: &str) -> Result<bool, StoreError> {
    let item = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::api_key(&key_hash(key)).attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    Ok(item
        .and_then(|item| item.get("association").and_then(|a| a.as_s().ok()).cloned())
        .is_some_and(|association| association == slug))
}

/// The association's named keys, oldest first.
#[tracing::instrument(skip_all, fields(association = slug))]
pub async fn named_keys(store: &Store, slug: &str) -> Result<Vec<NamedKey>, StoreError> {
    let items =
        query_all(store.by_association(crate::store::keys::index::association_keys(slug), None))
            .await?;
    Ok(items
        .into_iter()
        .map(serde_dynamo::from_item)
        .collect::<Result<_, _>>()?)
}

/// Whether the association still has the key the network made with it.
#[tracing::instrument(skip_all, fields(association = slug))]
pub async fn has_original_key(store: &Store, slug: &str) -> Result<bool, StoreError> {
    Ok(association_item(store, slug)
        .await?
        .is_some_and(|item| item.contains_key(counters::KEY_HASH)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_only_themselves() {
        let (key, hash) = new_api_key("article-1");
        assert!(key.starts_with("bnm_article-1_"));
        assert!(key_matches(&key, &hash));
        assert!(!key_matches(&format!("{key}x"), &hash));
        assert!(!key_matches(&new_api_key("article-1").0, &hash));
        assert!(!key.contains(&hash));
    }

    #[test]
    fn slugs_are_lowercase_words() {
        for slug in ["article-1", "chemins-d-avenirs", "ab"] {
            assert!(valid_slug(slug), "{slug}");
        }
        for slug in ["A", "a", "-a", "a-", "a_b", "é-t-é", &"a".repeat(65)] {
            assert!(!valid_slug(slug), "{slug}");
        }
    }

    #[test]
    fn a_counter_change_adds_only_what_moves() {
        let change = CounterChange {
            routed: None,
            waiting_mentees: -1,
            free_mentor_places: 1,
        };
        let update = counters_update("t", "a", &change).build().unwrap();
        assert_eq!(
            update.update_expression(),
            "ADD #waiting :waiting, #places :places"
        );
        let names = update.expression_attribute_names().unwrap();
        assert_eq!(names["#waiting"], counters::WAITING_MENTEES);
        assert_eq!(
            update.expression_attribute_values().unwrap()[":waiting"],
            AttributeValue::N("-1".into())
        );
    }
}
