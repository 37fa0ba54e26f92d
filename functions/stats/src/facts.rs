//! What one item of the table counts in the network's figures: pure, from
//! the item's own state (its dates and history), so that the figures kept
//! live from the stream and a recount from the items are the same sum.
//!
//! A stream record changes the figures by `facts(new) − facts(old)`; over
//! an item's life these changes add up to `facts(item as it is now)`.
//! An item that goes (erasure, expiry) keeps what it counted in past
//! months — those facts are also written to the "kept" figures, which the
//! recount adds — and leaves the figures of the present (`now`).
//!
//! No fact names a person: a cell is a month, an association and a
//! département, and the counts in it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use shared::{
    outcome::Outcome,
    pair::{CloseReason, PairStatus},
    people::{ProfileStatus, Role},
    store::keys::sort,
};

/// The association or département of a fact that has none.
pub const NONE: &str = "~";
/// The month of the figures of the present: who waits, places, active pairs.
pub const NOW: &str = "now";
/// The sort keys of the items that count (the stream mapping's filter).
pub const COUNTED_SORT_KEYS: [&str; 4] =
    [sort::PROFILE, sort::PAIR, sort::OUTCOME, sort::SUBSCRIBER];

/// Where a count goes: a UTC month (`YYYY-MM`) or [`NOW`], an association
/// slug and a département code (or [`NONE`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub month: String,
    pub association: String,
    pub departement: String,
}

impl Cell {
    fn new(month: String, association: Option<&str>, departement: Option<&str>) -> Self {
        Self {
            month,
            association: association.unwrap_or(NONE).to_owned(),
            departement: departement.unwrap_or(NONE).to_owned(),
        }
    }

    pub fn is_now(&self) -> bool {
        self.month == NOW
    }
}

/// Counts by cell, then by metric; never zero (a zero is removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures(pub BTreeMap<Cell, BTreeMap<&'static str, i64>>);

impl Figures {
    pub fn add(&mut self, cell: &Cell, metric: &'static str, count: i64) {
        if count == 0 {
            return;
        }
        let counts = self.0.entry(cell.clone()).or_default();
        let value = counts.entry(metric).or_default();
        *value += count;
        if *value == 0 {
            counts.remove(metric);
            if counts.is_empty() {
                self.0.remove(cell);
            }
        }
    }

    pub fn add_all(&mut self, other: &Figures, sign: i64) {
        for (cell, counts) in &other.0 {
            for (metric, count) in counts {
                self.add(cell, metric, sign * count);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The cells of the present only, or of past months only.
    fn split(self) -> (Figures, Figures) {
        let (now, months) = self.0.into_iter().partition(|(cell, _)| cell.is_now());
        (Figures(now), Figures(months))
    }
}

/// Every metric, in the order of the reports' columns.
pub mod metric {
    pub const REQUESTS_CREATED: &str = "requests_created";
    pub const REQUESTS_VERIFIED: &str = "requests_verified";
    pub const REQUESTS_ROUTED: &str = "requests_routed";
    pub const REQUESTS_DECLINED: &str = "requests_declined";
    pub const REQUESTS_SLA_EXPIRED: &str = "requests_sla_expired";
    pub const REQUESTS_ACKNOWLEDGED: &str = "requests_acknowledged";
    /// Acknowledged before the reminder the end of the delay sends.
    pub const ACKNOWLEDGED_WITHIN_SLA: &str = "acknowledged_within_sla";
    /// The time from routing to acknowledgement, in fixed buckets.
    pub const ACKNOWLEDGED_IN: [(&str, i64); 5] = [
        ("acknowledged_within_1d", 1),
        ("acknowledged_within_3d", 3),
        ("acknowledged_within_7d", 7),
        ("acknowledged_within_14d", 14),
        ("acknowledged_later", i64::MAX),
    ];
    pub const MENTORS_SIGNED_UP: &str = "mentors_signed_up";
    pub const MENTORS_VERIFIED: &str = "mentors_verified";
    pub const PAIRS_PROPOSED: &str = "pairs_proposed";
    pub const PAIRS_ACCEPTED: &str = "pairs_accepted";
    pub const PAIRS_DECLINED: &str = "pairs_declined";
    pub const PAIRS_EXPIRED: &str = "pairs_expired";
    /// By the pair's starting month (its cohort), once known.
    pub const PAIRS_LASTED_3_MONTHS: &str = "pairs_lasted_3_months";
    pub const PAIRS_ENDED_BEFORE_3_MONTHS: &str = "pairs_ended_before_3_months";
    pub const PAIRS_LASTED_6_MONTHS: &str = "pairs_lasted_6_months";
    pub const PAIRS_ENDED_BEFORE_6_MONTHS: &str = "pairs_ended_before_6_months";
    pub const PAIRS_CLOSED: [(&str, &str); 5] = [
        ("completed", "pairs_closed_completed"),
        ("no_contact", "pairs_closed_no_contact"),
        ("moved", "pairs_closed_moved"),
        ("other", "pairs_closed_other"),
        ("erased", "pairs_closed_erased"),
    ];
    pub const OUTCOMES_MENTEE: &str = "outcomes_mentee";
    pub const OUTCOMES_MENTOR: &str = "outcomes_mentor";
    /// The sum of the « did it help » marks (1–5): with the count, the mean.
    pub const OUTCOMES_HELPED_TOTAL: &str = "outcomes_helped_total";
    pub const OUTCOMES_RECOMMEND: &str = "outcomes_recommend";
    pub const OUTCOME_SITUATIONS: [(&str, &str); 5] = [
        ("emploi", "outcome_situation_emploi"),
        ("formation", "outcome_situation_formation"),
        ("etudes", "outcome_situation_etudes"),
        ("recherche_emploi", "outcome_situation_recherche_emploi"),
        ("autre", "outcome_situation_autre"),
    ];
    pub const SUBSCRIBERS_CONFIRMED: &str = "subscribers_confirmed";
    pub const SUBSCRIBERS_UNSUBSCRIBED: &str = "subscribers_unsubscribed";
    // The present (month `now`).
    /// Young people an association holds who are not in a pair yet.
    pub const MENTEES_WAITING: &str = "mentees_waiting";
    /// Young people no association can take now.
    pub const MENTEES_UNROUTED: &str = "mentees_unrouted";
    pub const PLACES_OFFERED: &str = "places_offered";
    pub const PLACES_HELD: &str = "places_held";
    pub const PAIRS_ACTIVE: &str = "pairs_active";

    /// Every metric of a month, in column order.
    pub fn monthly() -> Vec<&'static str> {
        let mut all = vec![
            REQUESTS_CREATED,
            REQUESTS_VERIFIED,
            REQUESTS_ROUTED,
            REQUESTS_DECLINED,
            REQUESTS_SLA_EXPIRED,
            REQUESTS_ACKNOWLEDGED,
            ACKNOWLEDGED_WITHIN_SLA,
        ];
        all.extend(ACKNOWLEDGED_IN.map(|(name, _)| name));
        all.extend([
            MENTORS_SIGNED_UP,
            MENTORS_VERIFIED,
            PAIRS_PROPOSED,
            PAIRS_ACCEPTED,
            PAIRS_DECLINED,
            PAIRS_EXPIRED,
        ]);
        all.extend(PAIRS_CLOSED.map(|(_, name)| name));
        all.extend([
            PAIRS_LASTED_3_MONTHS,
            PAIRS_ENDED_BEFORE_3_MONTHS,
            PAIRS_LASTED_6_MONTHS,
            PAIRS_ENDED_BEFORE_6_MONTHS,
            OUTCOMES_MENTEE,
            OUTCOMES_MENTOR,
            OUTCOMES_HELPED_TOTAL,
            OUTCOMES_RECOMMEND,
        ]);
        all.extend(OUTCOME_SITUATIONS.map(|(_, name)| name));
        all.extend([SUBSCRIBERS_CONFIRMED, SUBSCRIBERS_UNSUBSCRIBED]);
        all
    }

    /// Every metric of the present.
    pub const NOW: [&str; 5] = [
        MENTEES_WAITING,
        MENTEES_UNROUTED,
        PLACES_OFFERED,
        PLACES_HELD,
        PAIRS_ACTIVE,
    ];
}

/// How long a pair has to last to count as lasting 3 and 6 months.
const THREE_MONTHS: Duration = Duration::days(91);
const SIX_MONTHS: Duration = Duration::days(182);

fn month(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// The figures a stream record changes: `live` for the counters, `kept`
/// for what a removed item counted in past months.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub live: Figures,
    pub kept: Figures,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.live.is_empty() && self.kept.is_empty()
    }
}

/// The change a record from `old` to `new` makes (either absent: created,
/// removed).
pub fn change(old: Option<&serde_dynamo::Item>, new: Option<&serde_dynamo::Item>) -> Change {
    let before = old.map(facts).unwrap_or_default();
    match new {
        Some(new) => {
            let mut live = facts(new);
            live.add_all(&before, -1);
            Change {
                live,
                kept: Figures::default(),
            }
        }
        None => {
            let (now, months) = before.split();
            let mut live = Figures::default();
            live.add_all(&now, -1);
            Change { live, kept: months }
        }
    }
}

/// What one item counts. Items that count nothing (mails, keys, runs)
/// and items this version cannot read count nothing.
pub fn facts(item: &serde_dynamo::Item) -> Figures {
    let text = |name| shared::stream::text(item, name);
    let mut figures = Figures::default();
    match (text("sk"), text("pk")) {
        (Some(sort::PROFILE), _) => {
            if let Ok(profile) = serde_dynamo::from_item::<_, ProfileView>(item.clone()) {
                profile.count(&mut figures);
            }
        }
        (Some(sort::PAIR), Some(pk)) if pk.starts_with("PAIR#") => {
            if let Ok(pair) = serde_dynamo::from_item::<_, PairView>(item.clone()) {
                pair.count(&mut figures);
            }
        }
        (Some(sort::OUTCOME), _) => {
            if let Ok(outcome) = serde_dynamo::from_item::<_, Outcome>(item.clone()) {
                count_outcome(&outcome, &mut figures);
            }
        }
        (Some(sort::SUBSCRIBER), _) => {
            if let Ok(subscriber) = serde_dynamo::from_item::<_, SubscriberView>(item.clone()) {
                subscriber.count(&mut figures);
            }
        }
        _ => {}
    }
    figures
}

/// The fields of a profile the figures read (no name, no address).
#[derive(Debug, Deserialize)]
struct ProfileView {
    role: Role,
    status: ProfileStatus,
    departement: String,
    created_at: DateTime<Utc>,
    #[serde(default)]
    verified_at: Option<DateTime<Utc>>,
    #[serde(default)]
    capacity: Option<u8>,
    #[serde(default)]
    pairs_held: u8,
    #[serde(default)]
    routing: Option<RoutingView>,
}

#[derive(Debug, Deserialize)]
struct RoutingView {
    #[serde(default)]
    association: Option<String>,
    decided_at: DateTime<Utc>,
    #[serde(default)]
    reminded_at: Option<DateTime<Utc>>,
    #[serde(default)]
    acknowledged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    history: Vec<HandoverView>,
}

/// A past association of the request, and why it left.
#[derive(Debug, Deserialize)]
struct HandoverView {
    association: String,
    routed_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    outcome: String,
    #[serde(default)]
    acknowledged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    reminded_at: Option<DateTime<Utc>>,
}

/// An association's answer to a request routed to it: when it took the
/// request on, in which bucket of time, and whether before its reminder.
fn count_answer(
    figures: &mut Figures,
    cell: &Cell,
    routed_at: DateTime<Utc>,
    acknowledged_at: DateTime<Utc>,
    reminded: bool,
) {
    figures.add(cell, metric::REQUESTS_ACKNOWLEDGED, 1);
    let seconds = (acknowledged_at - routed_at).num_seconds();
    let bucket = metric::ACKNOWLEDGED_IN
        .iter()
        .find(|(_, days)| seconds <= days.saturating_mul(86_400))
        .map_or(metric::ACKNOWLEDGED_IN[4].0, |(name, _)| name);
    figures.add(cell, bucket, 1);
    if !reminded {
        figures.add(cell, metric::ACKNOWLEDGED_WITHIN_SLA, 1);
    }
}

impl ProfileView {
    fn count(&self, figures: &mut Figures) {
        let departement = Some(self.departement.as_str());
        let at = |when: DateTime<Utc>, association: Option<&str>| {
            Cell::new(month(when), association, departement)
        };
        let (created, verified) = match self.role {
            Role::Mentee => (metric::REQUESTS_CREATED, metric::REQUESTS_VERIFIED),
            Role::Mentor => (metric::MENTORS_SIGNED_UP, metric::MENTORS_VERIFIED),
        };
        figures.add(&at(self.created_at, None), created, 1);
        if let Some(verified_at) = self.verified_at {
            figures.add(&at(verified_at, None), verified, 1);
        }
        let routing = self.routing.as_ref();
        let holder = routing.and_then(|r| r.association.as_deref());
        if self.role == Role::Mentee {
            for handover in routing.map_or(&[][..], |r| r.history.as_slice()) {
                let association = Some(handover.association.as_str());
                figures.add(
                    &at(handover.routed_at, association),
                    metric::REQUESTS_ROUTED,
                    1,
                );
                let left = match handover.outcome.as_str() {
                    "declined" => Some(metric::REQUESTS_DECLINED),
                    "sla_expired" => Some(metric::REQUESTS_SLA_EXPIRED),
                    _ => None,
                };
                if let Some(left) = left {
                    figures.add(&at(handover.ended_at, association), left, 1);
                }
                if let Some(acknowledged_at) = handover.acknowledged_at {
                    let cell = at(acknowledged_at, association);
                    let reminded = handover.reminded_at.is_some();
                    count_answer(
                        figures,
                        &cell,
                        handover.routed_at,
                        acknowledged_at,
                        reminded,
                    );
                }
            }
            if let (Some(routing), Some(association)) = (routing, holder) {
                figures.add(
                    &at(routing.decided_at, Some(association)),
                    metric::REQUESTS_ROUTED,
                    1,
                );
                if let Some(acknowledged_at) = routing.acknowledged_at {
                    let cell = at(acknowledged_at, Some(association));
                    let reminded = routing.reminded_at.is_some();
                    count_answer(
                        figures,
                        &cell,
                        routing.decided_at,
                        acknowledged_at,
                        reminded,
                    );
                }
            }
        }
        let now = Cell::new(NOW.into(), holder, departement);
        match (self.role, self.status) {
            (Role::Mentee, ProfileStatus::Routed | ProfileStatus::Acknowledged) => {
                figures.add(&now, metric::MENTEES_WAITING, 1);
            }
            (Role::Mentee, ProfileStatus::Waiting) => {
                figures.add(&now, metric::MENTEES_UNROUTED, 1);
            }
            (Role::Mentor, ProfileStatus::PendingVerification | ProfileStatus::Closed) => {}
            (Role::Mentor, _) => {
                figures.add(
                    &now,
                    metric::PLACES_OFFERED,
                    i64::from(self.capacity.unwrap_or(1)),
                );
                figures.add(&now, metric::PLACES_HELD, i64::from(self.pairs_held));
            }
            (Role::Mentee, _) => {}
        }
    }
}

/// The fields of a pair the figures read.
#[derive(Debug, Deserialize)]
struct PairView {
    association: String,
    #[serde(default)]
    departement: Option<String>,
    status: PairStatus,
    proposed_at: DateTime<Utc>,
    #[serde(default)]
    started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    ended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    close_reason: Option<CloseReason>,
    #[serde(default)]
    check_ins: Vec<CheckInView>,
    #[serde(default)]
    outcome_sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct CheckInView {
    sent_at: DateTime<Utc>,
}

impl PairView {
    fn count(&self, figures: &mut Figures) {
        let at = |when: DateTime<Utc>| {
            Cell::new(
                month(when),
                Some(&self.association),
                self.departement.as_deref(),
            )
        };
        figures.add(&at(self.proposed_at), metric::PAIRS_PROPOSED, 1);
        match (self.status, self.ended_at) {
            (PairStatus::Declined, Some(ended)) => {
                figures.add(&at(ended), metric::PAIRS_DECLINED, 1);
            }
            (PairStatus::Closed, Some(ended))
                if self.close_reason == Some(CloseReason::Expired) =>
            {
                figures.add(&at(ended), metric::PAIRS_EXPIRED, 1);
            }
            (PairStatus::Closed, Some(ended)) => {
                let reason = self.close_reason.map_or("other", CloseReason::as_str);
                if let Some((_, name)) = metric::PAIRS_CLOSED.iter().find(|(r, _)| *r == reason) {
                    figures.add(&at(ended), name, 1);
                }
            }
            (PairStatus::Active, _) => {
                let now = Cell::new(
                    NOW.into(),
                    Some(&self.association),
                    self.departement.as_deref(),
                );
                figures.add(&now, metric::PAIRS_ACTIVE, 1);
            }
            _ => {}
        }
        let Some(started) = self.started_at else {
            return;
        };
        let cohort = at(started);
        figures.add(&cohort, metric::PAIRS_ACCEPTED, 1);
        // How long it is known to have lasted: to its end, or to the last
        // follow-up it was sent while going on.
        let known_until = match self.ended_at {
            Some(ended) => Some(ended),
            None => self
                .check_ins
                .iter()
                .map(|round| round.sent_at)
                .chain(self.outcome_sent_at)
                .max(),
        };
        let lasted = known_until.map_or(Duration::zero(), |until| until - started);
        let ended = self.ended_at.is_some();
        for (length, lasted_name, ended_name) in [
            (
                THREE_MONTHS,
                metric::PAIRS_LASTED_3_MONTHS,
                metric::PAIRS_ENDED_BEFORE_3_MONTHS,
            ),
            (
                SIX_MONTHS,
                metric::PAIRS_LASTED_6_MONTHS,
                metric::PAIRS_ENDED_BEFORE_6_MONTHS,
            ),
        ] {
            if lasted >= length {
                figures.add(&cohort, lasted_name, 1);
            } else if ended {
                figures.add(&cohort, ended_name, 1);
            }
        }
    }
}

fn count_outcome(outcome: &Outcome, figures: &mut Figures) {
    let departement = outcome.departement.as_ref().map(|d| d.as_str());
    let cell = Cell::new(
        outcome.answered_in.clone(),
        Some(&outcome.association),
        departement,
    );
    let answered = match outcome.role {
        Role::Mentee => metric::OUTCOMES_MENTEE,
        Role::Mentor => metric::OUTCOMES_MENTOR,
    };
    figures.add(&cell, answered, 1);
    let answers = &outcome.answers;
    figures.add(
        &cell,
        metric::OUTCOMES_HELPED_TOTAL,
        i64::from(answers.helped),
    );
    if answers.recommend {
        figures.add(&cell, metric::OUTCOMES_RECOMMEND, 1);
    }
    if let Some(situation) = answers.situation_now {
        let wire = situation.as_str();
        if let Some((_, name)) = metric::OUTCOME_SITUATIONS.iter().find(|(s, _)| *s == wire) {
            figures.add(&cell, name, 1);
        }
    }
}

/// The fields of a newsletter subscriber the figures read.
#[derive(Debug, Deserialize)]
struct SubscriberView {
    #[serde(default)]
    confirmed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    unsubscribed_at: Option<DateTime<Utc>>,
}

impl SubscriberView {
    fn count(&self, figures: &mut Figures) {
        let at = |when: DateTime<Utc>| Cell::new(month(when), None, None);
        if let Some(confirmed) = self.confirmed_at {
            figures.add(&at(confirmed), metric::SUBSCRIBERS_CONFIRMED, 1);
            // Unsubscribed since this subscription (not before a new one).
            if let Some(unsubscribed) = self.unsubscribed_at.filter(|u| *u >= confirmed) {
                figures.add(&at(unsubscribed), metric::SUBSCRIBERS_UNSUBSCRIBED, 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn item(value: Value) -> serde_dynamo::Item {
        serde_dynamo::to_item(value).unwrap()
    }

    fn mentee(status: &str, extra: Value) -> serde_dynamo::Item {
        let mut profile = json!({
            "pk": "PERSON#m1", "sk": "PROFILE", "id": "m1", "role": "mentee",
            "first_name": "Inès", "email": "ines@exemple.fr",
            "status": status, "departement": "93", "created_at": "2026-03-30T10:00:00Z",
        });
        profile
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        item(profile)
    }

    fn count(figures: &Figures, month: &str, association: &str, name: &str) -> i64 {
        let cell = Cell {
            month: month.into(),
            association: association.into(),
            departement: "93".into(),
        };
        figures
            .0
            .get(&cell)
            .and_then(|counts| counts.get(name))
            .copied()
            .unwrap_or(0)
    }

    fn routing(extra: Value) -> Value {
        let mut routing = json!({
            "attempt": 1, "association": "tremplin-93", "cause": "verified",
            "decided_at": "2026-04-02T09:00:00Z",
        });
        routing
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        routing
    }

    #[test]
    fn a_request_counts_each_step_once_in_the_month_it_happened() {
        let steps = [
            mentee("pending_verification", json!({})),
            mentee("verified", json!({"verified_at": "2026-04-01T08:00:00Z"})),
            mentee(
                "routed",
                json!({"verified_at": "2026-04-01T08:00:00Z", "routing": routing(json!({}))}),
            ),
            mentee(
                "acknowledged",
                json!({"verified_at": "2026-04-01T08:00:00Z",
                       "routing": routing(json!({"acknowledged_at": "2026-04-04T09:00:00Z"}))}),
            ),
        ];
        let mut live = Figures::default();
        let mut before = None;
        for step in &steps {
            live.add_all(&change(before, Some(step)).live, 1);
            before = Some(step);
        }
        assert_eq!(
            live,
            facts(&steps[3]),
            "the changes add up to the last state"
        );
        assert_eq!(count(&live, "2026-03", NONE, metric::REQUESTS_CREATED), 1);
        assert_eq!(count(&live, "2026-04", NONE, metric::REQUESTS_VERIFIED), 1);
        let routed = count(&live, "2026-04", "tremplin-93", metric::REQUESTS_ROUTED);
        assert_eq!(routed, 1);
        let answered = |name| count(&live, "2026-04", "tremplin-93", name);
        assert_eq!(answered("acknowledged_within_3d"), 1, "three days exactly");
        assert_eq!(answered("acknowledged_within_1d"), 0);
        assert_eq!(
            answered(metric::ACKNOWLEDGED_WITHIN_SLA),
            1,
            "never reminded"
        );
        assert_eq!(count(&live, NOW, "tremplin-93", metric::MENTEES_WAITING), 1);
    }

    #[test]
    fn a_request_handed_over_counts_at_both_associations() {
        let history = json!([{
            "association": "cap-93", "routed_at": "2026-04-01T09:00:00Z",
            "ended_at": "2026-04-05T09:00:00Z", "outcome": "declined", "reason": "Complet",
        }, {
            "association": "elan-93", "routed_at": "2026-04-05T09:00:00Z",
            "ended_at": "2026-04-20T09:00:00Z", "outcome": "sla_expired",
        }]);
        let profile = mentee(
            "routed",
            json!({"routing": routing(json!({"history": history, "decided_at": "2026-04-20T09:00:00Z",
                                             "reminded_at": "2026-04-27T06:00:00Z"}))}),
        );
        let figures = facts(&profile);
        for association in ["cap-93", "elan-93", "tremplin-93"] {
            let routed = count(&figures, "2026-04", association, metric::REQUESTS_ROUTED);
            assert_eq!(routed, 1, "{association}");
        }
        assert_eq!(
            count(&figures, "2026-04", "cap-93", metric::REQUESTS_DECLINED),
            1
        );
        let expired = count(&figures, "2026-04", "elan-93", metric::REQUESTS_SLA_EXPIRED);
        assert_eq!(expired, 1);
        assert_eq!(
            count(&figures, NOW, "tremplin-93", metric::MENTEES_WAITING),
            1
        );
        assert_eq!(count(&figures, NOW, "cap-93", metric::MENTEES_WAITING), 0);
    }

    #[test]
    fn an_answer_stays_counted_after_the_association_lets_the_request_go() {
        let acknowledged = mentee(
            "acknowledged",
            json!({"routing": routing(json!({"acknowledged_at": "2026-04-03T08:00:00Z"}))}),
        );
        let history = json!([{
            "association": "tremplin-93", "routed_at": "2026-04-02T09:00:00Z",
            "ended_at": "2026-04-10T09:00:00Z", "outcome": "declined",
            "acknowledged_at": "2026-04-03T08:00:00Z",
        }]);
        let declined = mentee(
            "routed",
            json!({"routing": routing(json!({"association": "cap-93", "cause": "declined",
                                             "decided_at": "2026-04-10T09:00:00Z", "history": history}))}),
        );
        let change = change(Some(&acknowledged), Some(&declined)).live;
        let answered = |name| count(&change, "2026-04", "tremplin-93", name);
        assert_eq!(answered(metric::REQUESTS_ACKNOWLEDGED), 0, "still counted");
        assert_eq!(answered("acknowledged_within_1d"), 0, "in the same bucket");
        assert_eq!(answered(metric::REQUESTS_DECLINED), 1);
    }

    #[test]
    fn an_erased_request_keeps_its_past_and_leaves_the_present() {
        let profile = mentee(
            "routed",
            json!({"verified_at": "2026-04-01T08:00:00Z", "routing": routing(json!({}))}),
        );
        let erased = change(Some(&profile), None);
        assert_eq!(
            count(&erased.live, NOW, "tremplin-93", metric::MENTEES_WAITING),
            -1
        );
        assert!(
            erased.live.0.keys().all(Cell::is_now),
            "no past month changes"
        );
        assert_eq!(
            count(&erased.kept, "2026-03", NONE, metric::REQUESTS_CREATED),
            1
        );
        assert!(erased.kept.0.keys().all(|cell| !cell.is_now()));
    }

    fn pair(extra: Value) -> serde_dynamo::Item {
        let mut pair = json!({
            "pk": "PAIR#p1", "sk": "PAIR", "id": "p1", "association": "tremplin-93",
            "departement": "93", "mentee_id": "m1", "mentor_id": "t1",
            "status": "active", "proposed_at": "2026-01-05T10:00:00Z",
            "started_at": "2026-01-10T10:00:00Z",
        });
        pair.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        item(pair)
    }

    #[test]
    fn a_pair_counts_as_lasting_once_it_is_known_to_have_lasted() {
        let young = facts(&pair(
            json!({"check_ins": [{"round": 1, "sent_at": "2026-01-31T10:00:00Z"}]}),
        ));
        assert_eq!(
            count(&young, "2026-01", "tremplin-93", metric::PAIRS_ACCEPTED),
            1
        );
        assert_eq!(count(&young, NOW, "tremplin-93", metric::PAIRS_ACTIVE), 1);
        for name in [
            metric::PAIRS_LASTED_3_MONTHS,
            metric::PAIRS_ENDED_BEFORE_3_MONTHS,
        ] {
            assert_eq!(count(&young, "2026-01", "tremplin-93", name), 0, "{name}");
        }
        let closed = facts(&pair(json!({
            "status": "closed", "close_reason": "moved", "ended_at": "2026-05-01T10:00:00Z",
        })));
        let cohort = |name| count(&closed, "2026-01", "tremplin-93", name);
        assert_eq!(cohort(metric::PAIRS_LASTED_3_MONTHS), 1);
        assert_eq!(cohort(metric::PAIRS_ENDED_BEFORE_6_MONTHS), 1);
        assert_eq!(cohort(metric::PAIRS_LASTED_6_MONTHS), 0);
        let moved = count(&closed, "2026-05", "tremplin-93", "pairs_closed_moved");
        assert_eq!(moved, 1);
        assert_eq!(count(&closed, NOW, "tremplin-93", metric::PAIRS_ACTIVE), 0);
    }

    #[test]
    fn mails_and_keys_count_nothing() {
        let mail = item(json!({"pk": "PERSON#m1", "sk": "MAIL#1", "status": "sent"}));
        assert!(facts(&mail).is_empty());
        assert!(change(None, Some(&mail)).is_empty());
    }
}
