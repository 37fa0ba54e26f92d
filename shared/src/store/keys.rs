//! Every key format of the table. Nothing else in the code base formats a key.
//!
//! Keys never hold personal data: a person is known by the `AddressId` (an
//! HMAC of the normalised address), records by random ids.
//!
//! | access pattern                          | operation          | key / index                                   |
//! |-----------------------------------------|--------------------|-----------------------------------------------|
//! | newsletter subscriber by address        | Get / Update       | `NEWSLETTER#<address id>` / `SUBSCRIBER`       |
//! | outbox mail (mailer claims it)          | Put / Update       | recipient's partition / `MAIL#<mail id>`       |
//! | new outbox mails, in order              | table stream       | INSERT records whose `sk` starts with `MAIL#`  |
//! | mails sent to someone (export, erasure) | Query              | recipient's partition, `sk` begins `MAIL#`     |
//! | a person's data: profile, sensitive data, guardian, mails | Get / Query | `PERSON#<person id>` / `PROFILE`, `SENSITIVE`, `GUARDIAN`, `MAIL#…` |
//! | a person's retention look (warning, erasure) | Put / Update / Delete | `PERSON#<person id>` / `RETENTION`        |
//! | one sign-up per address and role        | conditional Put    | `EMAIL#<address id>` / `MENTEE` or `MENTOR`    |
//! | replayed sign-up (Idempotency-Key)      | conditional Put    | `IDEMPOTENCY#<hash of route and key>` / `RESPONSE` |
//! | erasure audit (no personal data)        | Put                | `AUDIT#<person id>` / `ERASURE`                |
//! | a survey's answers (no person: statistics) | Put             | `OUTCOME#<random id>` / `OUTCOME`              |
//! | the association directory (≤ ~50 items) | Query / Put / Update | `DIRECTORY` / `ASSOCIATION#<slug>`          |
//! | the network admins' contact (digests)   | Update             | `DIRECTORY` / `ADMINS`                        |
//! | an association's requests and pool      | Query `by_association` | `assoc_pk` = `ASSOCIATION#<slug>`, `assoc_sk` = `<status>#<since>#<person id>` |
//! | routing work due by a date (SLA, retry) | Query `by_due_date`    | `due_pk` = `ROUTING#<shard>`, `due_sk` = due instant |
//! | pairs whose next follow-up is due (answer reminder, expiry, check-in, survey, programme end, deletion) | Query `by_due_date` | `due_pk` = `FOLLOW_UP#<shard>`, `due_sk` = due instant |
//! | accounts whose retention look is due    | Query `by_due_date`    | `due_pk` = `RETENTION#<shard>`, `due_sk` = due instant |
//! | sign-ups whose reminder is due (address, guardian) | Query `by_due_date` | `due_pk` = `SIGNUP#<shard>`, `due_sk` = due instant |
//! | mails whose delivery died holding them  | Query `by_due_date`    | `due_pk` = `MAIL_LEASE#<shard>`, `due_sk` = lease end (epoch seconds, 10 digits) |
//! | a pair of mentee and mentor             | Get / Update       | `PAIR#<pair id>` / `PAIR`                     |
//! | the pairs of a person (export, erasure) | Query / stream REMOVE | `PERSON#<person id>` / `PAIR#<pair id>`     |
//! | an association's pairs (exclusions too) | Query `by_association` | `assoc_pk` = `PAIRS#<slug>`, `assoc_sk` = `<mentee id>#<mentor id>` |
//! | a matching run (its stream INSERT runs it) | Put / Get / Update | `RUN#<run id>` / `RUN`                      |
//! | an association's runs, newest first     | Query `by_association` | `assoc_pk` = `RUNS#<slug>`, `assoc_sk` = `<requested at>#<run id>` |
//! | an association's named API key, by its hash | Get / Put / Delete | `API_KEY#<SHA-256 of the key>` / `API_KEY` |
//! | an association's named API keys          | Query `by_association` | `assoc_pk` = `KEYS#<slug>`, `assoc_sk` = `<created at>#<hash>` |
//! | a run's pairs awaiting review (drafts)  | Put / Query / Update | `RUN#<run id>` / `DRAFT#<mentee id>`        |
//! | the drafts of a person (erasure)        | Put / stream REMOVE | `PERSON#<person id>` / `DRAFTED#<run id>`   |
//! | the association's run going or in review (one at a time) | conditional Put / Get / Delete | `REVIEW_SLOT#<slug>` / `REVIEW_SLOT` |
//! | a pair rejected in review (never again) | Put, in the pairs' index | `REJECTED#<mentee id>#<mentor id>` / `REJECTED`, `assoc_pk` = `PAIRS#<slug>` |
//! | a newsletter issue (its stream MODIFY to `sending` starts it) | Put / Get / Update | `CAMPAIGN#<campaign id>` / `CAMPAIGN` |
//! | an issue's counters, sharded            | Update ADD / BatchGet | `CAMPAIGN_COUNTS#<campaign id>#<shard>` / `COUNTS` |
//! | one issue's send to one reader (exactly once) | conditional Put / Update | `NEWSLETTER#<address id>` / `ISSUE#<campaign id>` |
//! | a test send's recipient (a day)         | Put                | `CAMPAIGN_TEST#<campaign id>#<version>#<address id>` / `RECIPIENT` |
//! | confirmed subscribers, sharded (no Scan) | Query `by_list`   | `list_pk` = `SUBSCRIBERS#<shard>`, `list_sk` = address id |
//! | published issues, newest first (archive) | Query `by_list`   | `list_pk` = `ISSUES`, `list_sk` = `<started at>#<campaign id>` |
//! | scheduled issues due to start           | Query `by_due_date` | `due_pk` = `CAMPAIGNS`, `due_sk` = send instant |
//! | a mail event counted once (SNS redelivers) | conditional Put | `MAIL_EVENT#<hash of message, type, address>` / `MAIL_EVENT` |
//! | an address's deliverability (soft bounces, suppression) | Update / Get | `ADDRESS#<address id>` / `DELIVERABILITY` |
//! | the figures of a month (or `now`), sharded | Update ADD / Query | `STATS#<month>#<shard>` / `<association>#<département>` |
//! | one association's figures of a month    | Query, `sk` begins | `STATS#<month>#<shard>` / `<association>#`       |
//! | what removed items counted (recounts)   | Update ADD / Scan (backfill) | `STATS_KEPT#<month>#<shard>` / `<association>#<département>` |
//! | a stream record counted once in the figures | conditional Put (TTL) | `STATS_RECORD#<event id>` / `STATS_RECORD` |
//! | a staff member's account              | Get / Put / Update / Delete | `STAFF#<address id>` / `ACCOUNT`      |
//! | an association's team                   | Query `by_association` | `assoc_pk` = `TEAM#<slug>`, `assoc_sk` = address id |
//! | the network admins                       | Query `by_association` | `assoc_pk` = `NETWORK_TEAM`, `assoc_sk` = address id |
//! | a session (its id only hashed)          | Get / Put / Update / Delete | `SESSION#<SHA-256 of the id>` / `SESSION` |
//! | a sign-in link, usable once             | Put / conditional Delete | `SIGN_IN#<SHA-256 of its subject>` / `SIGN_IN` |
//! | a rate limit's count in a time slot     | conditional Update ADD (TTL) | `QUOTA#<scope>#<opaque id>#<slot>` / `QUOTA` |
//! | an association's journal, newest first  | Put / Query        | `JOURNAL#<slug>` / `<instant>#<random id>`    |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::{keyring::AddressId, people::Role};

/// Prefix of every outbox mail's sort key; the mailer's stream filter uses it.
pub const OUTBOX_PREFIX: &str = "MAIL#";
/// Prefix of a run's drafts in its partition.
pub const DRAFT_PREFIX: &str = "DRAFT#";
/// Prefix of a person's pair references; matching's stream filter uses it.
pub const PAIR_REFERENCE_PREFIX: &str = "PAIR#";
/// Prefix of a person's references to the runs that drafted them;
/// matching's stream filter uses it.
pub const DRAFT_REFERENCE_PREFIX: &str = "DRAFTED#";
const NEWSLETTER_PREFIX: &str = "NEWSLETTER#";
const EMAIL_PREFIX: &str = "EMAIL#";
/// Prefix of the partition of a person.
const PERSON_PREFIX: &str = "PERSON#";
/// The one partition of the association directory.
const DIRECTORY: &str = "DIRECTORY";
/// Prefix of an association's sort key in the directory.
pub const ASSOCIATION_PREFIX: &str = "ASSOCIATION#";

/// Prefix of the partitions of the live figures.
pub const STATS_PREFIX: &str = "STATS#";
/// Prefix of the partitions of the figures removed items keep.
pub const STATS_KEPT_PREFIX: &str = "STATS_KEPT#";

/// Prefix of the markers of stream records counted in the figures.
const STATS_RECORD_PREFIX: &str = "STATS_RECORD#";

/// The partition of one shard of a month's figures.
pub fn stats_partition(month: &str, shard: u32) -> String {
    format!("{STATS_PREFIX}{month}#{shard}")
}

/// The sort key prefix of one association's cells in a figures partition.
pub fn stats_association_prefix(association: &str) -> String {
    format!("{association}#")
}

/// Sort keys of the items of a person's partition (and of a run), so that
/// code reading the stream or a partition can tell items apart.
pub mod sort {
    pub const PROFILE: &str = "PROFILE";
    pub const SENSITIVE: &str = "SENSITIVE";
    pub const GUARDIAN: &str = "GUARDIAN";
    pub const RUN: &str = "RUN";
    pub const PAIR: &str = "PAIR";
    pub const SUBSCRIBER: &str = "SUBSCRIBER";
    pub const RETENTION: &str = "RETENTION";
    pub const CAMPAIGN: &str = "CAMPAIGN";
    pub const OUTCOME: &str = "OUTCOME";
    pub const STATS_RECORD: &str = "STATS_RECORD";
    pub const ACCOUNT: &str = "ACCOUNT";
    pub const SESSION: &str = "SESSION";
}

/// Attributes of an association item that count its requests and places.
pub mod counters {
    /// Mentees routed to it in a month (`YYYY_MM`, UTC): what `monthly_capacity` bounds.
    pub fn routed_in(month: &str) -> String {
        format!("routed_{month}")
    }
    /// Its mentees waiting in its pool (routed or acknowledged, not in a pair).
    pub const WAITING_MENTEES: &str = "waiting_mentees";
    /// The places its mentors offer and that no pair fills yet.
    pub const FREE_MENTOR_PLACES: &str = "free_mentor_places";
    /// Until when its requests were listed in a daily digest.
    pub const LAST_DIGEST_AT: &str = "last_digest_at";
    /// The hash of its API key.
    pub const KEY_HASH: &str = "key_hash";
}

/// The sort key of a role's e-mail guard.
pub fn role_sort(role: Role) -> &'static str {
    match role {
        Role::Mentee => "MENTEE",
        Role::Mentor => "MENTOR",
    }
}

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn newsletter_subscriber(id: &AddressId) -> Self {
        Self {
            pk: format!("{NEWSLETTER_PREFIX}{}", id.as_str()),
            sk: sort::SUBSCRIBER.into(),
        }
    }

    /// The address id whose newsletter partition `pk` is.
    pub fn newsletter_subscriber_of(pk: &str) -> Option<&str> {
        pk.strip_prefix(NEWSLETTER_PREFIX)
    }

    /// A key no item uses: a cheap first call that opens the connection.
    pub fn warm_up() -> Self {
        Self {
            pk: "WARMUP".into(),
            sk: "WARMUP".into(),
        }
    }

    /// The partition holding everything about one person.
    pub fn person_partition(person_id: &str) -> String {
        format!("{PERSON_PREFIX}{person_id}")
    }

    /// The person whose partition `pk` is.
    pub fn person_of(pk: &str) -> Option<&str> {
        pk.strip_prefix(PERSON_PREFIX)
    }

    /// The partition of the association directory.
    pub fn directory_partition() -> &'static str {
        DIRECTORY
    }

    pub fn person_profile(person_id: &str) -> Self {
        Self {
            pk: Self::person_partition(person_id),
            sk: sort::PROFILE.into(),
        }
    }

    pub fn person_sensitive_data(person_id: &str) -> Self {
        Self {
            pk: Self::person_partition(person_id),
            sk: sort::SENSITIVE.into(),
        }
    }

    pub fn person_guardian(person_id: &str) -> Self {
        Self {
            pk: Self::person_partition(person_id),
            sk: sort::GUARDIAN.into(),
        }
    }

    /// Holds the id of the one sign-up an address has in a role.
    pub fn email_guard(address: &AddressId, role: Role) -> Self {
        Self {
            pk: format!("{EMAIL_PREFIX}{}", address.as_str()),
            sk: role_sort(role).into(),
        }
    }

    /// The address id whose e-mail guard partition `pk` is.
    pub fn email_guard_of(pk: &str) -> Option<&str> {
        pk.strip_prefix(EMAIL_PREFIX)
    }

    /// `request_hash`: a hash of the route and the client's Idempotency-Key.
    pub fn idempotent_response(request_hash: &str) -> Self {
        Self {
            pk: format!("IDEMPOTENCY#{request_hash}"),
            sk: "RESPONSE".into(),
        }
    }

    /// One association of the directory; the directory is one partition, read whole.
    pub fn association(slug: &str) -> Self {
        Self {
            pk: DIRECTORY.into(),
            sk: format!("{ASSOCIATION_PREFIX}{slug}"),
        }
    }

    /// Where the network admins receive the daily list of waiting requests.
    pub fn network_admins() -> Self {
        Self {
            pk: DIRECTORY.into(),
            sk: "ADMINS".into(),
        }
    }

    pub fn pair(pair_id: &str) -> Self {
        Self {
            pk: format!("PAIR#{pair_id}"),
            sk: sort::PAIR.into(),
        }
    }

    /// A person's reference to a pair they are in: exported with their data;
    /// its deletion at erasure tells matching to take them out of the pair.
    pub fn person_pair(person_id: &str, pair_id: &str) -> Self {
        Self {
            pk: Self::person_partition(person_id),
            sk: format!("{PAIR_REFERENCE_PREFIX}{pair_id}"),
        }
    }

    /// A named API key of an association, by the SHA-256 of the key.
    pub fn api_key(key_hash: &str) -> Self {
        Self {
            pk: format!("API_KEY#{key_hash}"),
            sk: "API_KEY".into(),
        }
    }

    /// A pair a run found, awaiting review.
    pub fn run_draft(run_id: &str, mentee_id: &str) -> Self {
        Self {
            pk: format!("RUN#{run_id}"),
            sk: format!("{DRAFT_PREFIX}{mentee_id}"),
        }
    }

    /// A person's reference to a run that drafted them: deleted with
    /// their data, it takes them out of the run's drafts.
    pub fn person_draft(person_id: &str, run_id: &str) -> Self {
        Self {
            pk: Self::person_partition(person_id),
            sk: format!("{DRAFT_REFERENCE_PREFIX}{run_id}"),
        }
    }

    /// The association's one run slot: the run going or in review.
    pub fn run_review(slug: &str) -> Self {
        Self {
            pk: format!("REVIEW_SLOT#{slug}"),
            sk: "REVIEW_SLOT".into(),
        }
    }

    /// A pair staff rejected in review: listed with the association's
    /// pairs, so that no run proposes it again.
    pub fn rejected_pair(mentee_id: &str, mentor_id: &str) -> Self {
        Self {
            pk: format!("REJECTED#{mentee_id}#{mentor_id}"),
            sk: "REJECTED".into(),
        }
    }

    pub fn matching_run(run_id: &str) -> Self {
        Self {
            pk: format!("RUN#{run_id}"),
            sk: sort::RUN.into(),
        }
    }

    /// A survey's answers, kept without any person (random id).
    pub fn outcome(outcome_id: &str) -> Self {
        Self {
            pk: format!("OUTCOME#{outcome_id}"),
            sk: sort::OUTCOME.into(),
        }
    }

    /// When a person's account is next looked at for retention.
    pub fn person_retention(person_id: &str) -> Self {
        Self {
            pk: Self::person_partition(person_id),
            sk: sort::RETENTION.into(),
        }
    }

    pub fn erasure_audit(person_id: &str) -> Self {
        Self {
            pk: format!("AUDIT#{person_id}"),
            sk: "ERASURE".into(),
        }
    }

    /// A mail lives in its recipient's partition, so that what was sent to
    /// someone is found (and erased) with the rest of their data.
    pub fn outbox_mail(recipient: &Key, mail_id: &str) -> Self {
        Self {
            pk: recipient.pk.clone(),
            sk: format!("{OUTBOX_PREFIX}{mail_id}"),
        }
    }

    pub fn campaign(campaign_id: &str) -> Self {
        Self {
            pk: format!("CAMPAIGN#{campaign_id}"),
            sk: sort::CAMPAIGN.into(),
        }
    }

    /// One shard of an issue's counters: each its own partition, so that a
    /// campaign at full speed writes to none of them too often.
    pub fn campaign_counts(campaign_id: &str, shard: u32) -> Self {
        Self {
            pk: format!("CAMPAIGN_COUNTS#{campaign_id}#{shard}"),
            sk: "COUNTS".into(),
        }
    }

    /// The record of one issue sent to one reader, in the reader's partition.
    pub fn campaign_send(subscriber: &str, campaign_id: &str) -> Self {
        Self {
            pk: format!("{NEWSLETTER_PREFIX}{subscriber}"),
            sk: format!("ISSUE#{campaign_id}"),
        }
    }

    /// The item holding the address of a test send's recipient; `version`
    /// names the draft's version and the address id, so that one version
    /// goes to one address once.
    pub fn campaign_test_recipient(campaign_id: &str, version: &str) -> Self {
        Self {
            pk: format!("CAMPAIGN_TEST#{campaign_id}#{version}"),
            sk: "RECIPIENT".into(),
        }
    }

    /// `event_hash`: a hash of the mail service's message id, the event type
    /// and the address id.
    pub fn mail_event(event_hash: &str) -> Self {
        Self {
            pk: format!("MAIL_EVENT#{event_hash}"),
            sk: "MAIL_EVENT".into(),
        }
    }

    pub fn deliverability(address: &AddressId) -> Self {
        Self {
            pk: format!("ADDRESS#{}", address.as_str()),
            sk: "DELIVERABILITY".into(),
        }
    }

    /// One shard of the network's figures of a month (`YYYY-MM`, or `now`
    /// for the present) for one association and département: each shard
    /// its own partition, so that a spike in one département spreads over
    /// several items.
    pub fn stats_cell(month: &str, shard: u32, association: &str, departement: &str) -> Self {
        Self {
            pk: stats_partition(month, shard),
            sk: format!("{association}#{departement}"),
        }
    }

    /// What removed items (erased, expired) counted in past months, which
    /// a recount from the items adds back.
    pub fn stats_kept_cell(month: &str, shard: u32, association: &str, departement: &str) -> Self {
        Self {
            pk: format!("{STATS_KEPT_PREFIX}{month}#{shard}"),
            sk: format!("{association}#{departement}"),
        }
    }

    /// A stream record counted in the figures: `record_id` is its event id.
    pub fn stats_record(record_id: &str) -> Self {
        Self {
            pk: format!("{STATS_RECORD_PREFIX}{record_id}"),
            sk: sort::STATS_RECORD.into(),
        }
    }

    /// The record id whose marker partition `pk` is.
    pub fn stats_record_of(pk: &str) -> Option<&str> {
        pk.strip_prefix(STATS_RECORD_PREFIX)
    }

    /// A staff member's account, by the opaque id of their address.
    pub fn staff_account(staff_id: &str) -> Self {
        Self {
            pk: format!("STAFF#{staff_id}"),
            sk: sort::ACCOUNT.into(),
        }
    }

    /// A staff session, by the hash of its id (the id itself is only in the cookie).
    pub fn staff_session(session_hash: &str) -> Self {
        Self {
            pk: format!("SESSION#{session_hash}"),
            sk: sort::SESSION.into(),
        }
    }

    /// A sign-in link not used yet.
    pub fn staff_sign_in(link_hash: &str) -> Self {
        Self {
            pk: format!("SIGN_IN#{link_hash}"),
            sk: "SIGN_IN".into(),
        }
    }

    /// The uses of `scope` by `subject` (an opaque id) in time slot `slot`.
    pub fn quota(scope: &str, subject: &str, slot: i64) -> Self {
        Self {
            pk: format!("QUOTA#{scope}#{subject}#{slot}"),
            sk: "QUOTA".into(),
        }
    }

    pub fn journal_partition(slug: &str) -> String {
        format!("JOURNAL#{slug}")
    }

    /// An entry of an association's journal, in time order.
    pub fn journal_entry(slug: &str, at: chrono::DateTime<chrono::Utc>, entry_id: &str) -> Self {
        Self {
            pk: Self::journal_partition(slug),
            sk: format!(
                "{}#{entry_id}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
        }
    }

    /// The key as the `Key` argument of a DynamoDB call.
    pub fn attributes(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(self.pk.clone())),
            ("sk".to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }
}

/// Values of the index keys (sparse: an item is in an index while it carries them).
pub mod index {
    /// The index of an association's requests, pool and pairs.
    pub const BY_ASSOCIATION: &str = "by_association";
    /// The index of work due by a date.
    pub const BY_DUE_DATE: &str = "by_due_date";
    /// The index of lists read whole: confirmed subscribers, published issues.
    pub const BY_LIST: &str = "by_list";

    /// Confirmed subscribers are spread over this many `list_pk`, which a
    /// campaign reads in parallel.
    pub const SUBSCRIBER_SHARDS: u32 = 16;

    /// `list_pk` of a confirmed subscriber.
    pub fn subscribers_list(address_id: &str) -> String {
        let shard = address_id.bytes().map(u32::from).sum::<u32>() % SUBSCRIBER_SHARDS;
        format!("SUBSCRIBERS#{shard}")
    }

    /// Every `list_pk` of confirmed subscribers.
    pub fn subscribers_list_partitions() -> impl Iterator<Item = String> {
        (0..SUBSCRIBER_SHARDS).map(|shard| format!("SUBSCRIBERS#{shard}"))
    }

    /// `list_pk` of the published issues.
    pub const ISSUES_LIST: &str = "ISSUES";

    /// `list_sk` of a published issue: by the time its sending started.
    pub fn issue_list_sort(started_at: &str, campaign_id: &str) -> String {
        format!("{started_at}#{campaign_id}")
    }

    /// `due_pk` of scheduled issues (a few a month: one partition).
    pub const CAMPAIGNS_DUE: &str = "CAMPAIGNS";

    /// Spreads the items due on the same day over several index partitions,
    /// so that a burst of sign-ups does not write to one hot partition.
    pub const DUE_SHARDS: u32 = 8;

    /// `assoc_pk` of the requests routed to an association.
    pub fn association_requests(slug: &str) -> String {
        format!("ASSOCIATION#{slug}")
    }

    /// `assoc_sk`: listed by status, then oldest first.
    pub fn association_request_sort(status: &str, since: &str, person_id: &str) -> String {
        format!("{status}#{since}#{person_id}")
    }

    /// The `assoc_sk` prefix of an association's requests in one status.
    pub fn association_request_status(status: &str) -> String {
        format!("{status}#")
    }

    /// `assoc_pk` of an association's named API keys.
    pub fn association_keys(slug: &str) -> String {
        format!("KEYS#{slug}")
    }

    /// `assoc_pk` of an association's matching runs.
    pub fn association_runs(slug: &str) -> String {
        format!("RUNS#{slug}")
    }

    /// `assoc_sk` of a run: in the order they were asked for.
    pub fn association_run_sort(requested_at: &str, run_id: &str) -> String {
        format!("{requested_at}#{run_id}")
    }

    /// `assoc_pk` of the network admins' accounts.
    pub const NETWORK_TEAM: &str = "NETWORK_TEAM";

    /// `assoc_pk` of an association's staff accounts.
    pub fn team(slug: &str) -> String {
        format!("TEAM#{slug}")
    }

    /// `assoc_pk` of the pairs an association proposed.
    pub fn association_pairs(slug: &str) -> String {
        format!("PAIRS#{slug}")
    }

    /// `assoc_sk` of a pair: by mentee, then mentor.
    pub fn association_pair_sort(mentee_id: &str, mentor_id: &str) -> String {
        format!("{mentee_id}#{mentor_id}")
    }

    /// `assoc_sk` of a pair one of whose people was erased: no id left in it.
    pub fn erased_pair_sort(pair_id: &str) -> String {
        format!("erased#{pair_id}")
    }

    fn shard(id: &str) -> u32 {
        id.bytes().map(u32::from).sum::<u32>() % DUE_SHARDS
    }

    /// `due_pk` of a request's next routing deadline.
    pub fn routing_due(person_id: &str) -> String {
        format!("ROUTING#{}", shard(person_id))
    }

    /// Every `due_pk` of routing deadlines.
    pub fn routing_due_partitions() -> impl Iterator<Item = String> {
        (0..DUE_SHARDS).map(|shard| format!("ROUTING#{shard}"))
    }

    /// `due_pk` of an outbox mail claimed by a delivery, due when its lease ends.
    pub fn mail_lease_due(mail_id: &str) -> String {
        format!("MAIL_LEASE#{}", shard(mail_id))
    }

    /// Every `due_pk` of mail leases.
    pub fn mail_lease_due_partitions() -> impl Iterator<Item = String> {
        (0..DUE_SHARDS).map(|shard| format!("MAIL_LEASE#{shard}"))
    }

    /// `due_pk` of a pair's next follow-up (reminder, expiry, check-in, survey).
    pub fn follow_up_due(pair_id: &str) -> String {
        format!("FOLLOW_UP#{}", shard(pair_id))
    }

    /// `due_pk` of a pending sign-up's next reminder (verification, guardian).
    pub fn signup_due(person_id: &str) -> String {
        format!("SIGNUP#{}", shard(person_id))
    }

    /// Every `due_pk` of sign-up reminders.
    pub fn signup_due_partitions() -> impl Iterator<Item = String> {
        (0..DUE_SHARDS).map(|shard| format!("SIGNUP#{shard}"))
    }

    /// Every `due_pk` of follow-ups.
    pub fn follow_up_due_partitions() -> impl Iterator<Item = String> {
        (0..DUE_SHARDS).map(|shard| format!("FOLLOW_UP#{shard}"))
    }

    /// `due_pk` of a person's next retention look (warning, erasure).
    pub fn retention_due(person_id: &str) -> String {
        format!("RETENTION#{}", shard(person_id))
    }

    /// Every `due_pk` of retention looks.
    pub fn retention_due_partitions() -> impl Iterator<Item = String> {
        (0..DUE_SHARDS).map(|shard| format!("RETENTION#{shard}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_ids_not_addresses() {
        let id = AddressId::from_trusted("0123456789abcdef0123456789abcdef".into());
        assert_eq!(
            Key::newsletter_subscriber(&id).pk,
            "NEWSLETTER#0123456789abcdef0123456789abcdef"
        );
        let mail = Key::outbox_mail(&Key::newsletter_subscriber(&id), "m1");
        assert_eq!(mail.pk, Key::newsletter_subscriber(&id).pk);
        assert!(mail.sk.starts_with(OUTBOX_PREFIX));
    }

    #[test]
    fn due_dates_spread_over_every_shard() {
        let partitions: std::collections::HashSet<String> = (0..200)
            .map(|n| index::routing_due(&format!("{n:032x}")))
            .collect();
        assert_eq!(
            partitions,
            index::routing_due_partitions().collect::<std::collections::HashSet<_>>()
        );
    }
}
