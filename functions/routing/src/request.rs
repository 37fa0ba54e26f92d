//! A request as routing reads and writes it: the profile item of a mentee or
//! a mentor, and the `routing` map routing keeps on it (the decision with
//! its reasons, who declined, what happened before).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::{
    people::{Mode, Need, PriorityGroup, ProfileStatus, Role, Situation},
    place::Departement,
};

use crate::rules::{
    Bits, Decision, MenteeCase, MentorCase, group_index, need_index, situation_index,
};

/// A situation index no association serves (a mentor has none).
const NO_SITUATION: u8 = 127;

/// Why a request is being (re)routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "Pourquoi la demande a été routée : `verified` (adresse confirmée), `declined` (déclinée par l'association précédente), `sla_expired` (sans réponse de l'association précédente dans le double de son délai), `retry` (elle attendait ; nouvel essai quotidien).", as = RoutingCause)]
pub enum Cause {
    /// The person confirmed their address (and the guardian agreed).
    Verified,
    /// The association declined it.
    Declined,
    /// The association did not acknowledge it within twice its delay.
    SlaExpired,
    /// It was waiting; the daily sweep tried again.
    Retry,
}

/// A past association of the request, and why it left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Une association qui a eu la demande avant, et pourquoi elle l'a quittée.")]
pub struct Handover {
    /// Identifiant de l'association.
    pub association: String,
    /// Quand la demande lui a été routée.
    pub routed_at: DateTime<Utc>,
    /// Quand elle l'a quittée.
    pub ended_at: DateTime<Utc>,
    /// Pourquoi : `declined` (elle l'a déclinée) ou `sla_expired` (sans réponse à temps).
    pub outcome: Cause,
    /// Le motif donné en déclinant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    // Whether (and when) it had taken the request on, and been reminded:
    // its figures keep the answer after it let the request go.
    /// Quand elle l'avait prise en charge, si elle l'avait fait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Quand elle avait été relancée, si elle l'avait été.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<DateTime<Utc>>,
}

/// The `routing` map of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Le routage d'une demande : la décision en cours et les passages de main.")]
pub struct RoutingState {
    // Incremented by every routing write, which is conditioned on the
    // previous value: two deliveries of the same change cannot both apply.
    /// Nombre de décisions de routage écrites pour la demande.
    pub attempt: u32,
    /// L'association qui a la demande ; absente tant qu'elle attend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association: Option<String>,
    /// La dernière décision, avec ses candidates et leurs points.
    pub decision: Decision,
    /// Pourquoi elle a été prise.
    pub cause: Cause,
    /// Quand elle a été prise.
    pub decided_at: DateTime<Utc>,
    /// Le mois (`AAAA_MM`) dont la demande occupe le compteur de son association.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_month: Option<String>,
    /// Depuis quand elle attend une association, si elle attend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<DateTime<Utc>>,
    /// Quand l'association a été relancée.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<DateTime<Utc>>,
    /// Quand l'association l'a prise en charge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Les associations qui l'ont déclinée ou laissée sans réponse : plus jamais choisies.
    #[serde(default)]
    pub declined_by: Vec<String>,
    /// Ses associations précédentes, la plus ancienne d'abord.
    #[serde(default)]
    pub history: Vec<Handover>,
}

/// The fields of a profile item routing needs (mentee or mentor).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RequestItem {
    pub id: String,
    pub role: Role,
    pub status: ProfileStatus,
    pub first_name: String,
    pub departement: Departement,
    pub mode: Mode,
    // Mentee
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    #[serde(default)]
    pub situation: Option<Situation>,
    #[serde(default)]
    pub needs: Vec<Need>,
    #[serde(default)]
    pub priority_groups: Vec<PriorityGroup>,
    #[serde(default)]
    pub has_sensitive_data: bool,
    // Mentor
    #[serde(default)]
    pub capacity: Option<u8>,
    /// Proposed and active pairs the mentor holds (matching keeps it).
    #[serde(default)]
    pub pairs_held: u8,
    #[serde(default)]
    pub preferred_association: Option<String>,
    #[serde(default)]
    pub routing: Option<RoutingState>,
    /// Set by the mail events when their address bounced or complained.
    #[serde(default)]
    pub unreachable: Option<serde_json::Value>,
}

impl RequestItem {
    pub fn declined_by(&self) -> &[String] {
        self.routing
            .as_ref()
            .map_or(&[], |routing| routing.declined_by.as_slice())
    }

    /// The places a mentor offers that no pair fills: what their
    /// association counts as free, and gets back if they leave it.
    pub fn free_places(&self) -> u32 {
        u32::from(self.capacity.unwrap_or(1).saturating_sub(self.pairs_held))
    }

    /// Full years on `day`.
    pub fn age_on(&self, day: NaiveDate) -> u32 {
        self.birth_date
            .and_then(|birth| day.years_since(birth))
            .unwrap_or(0)
    }

    /// The mentee as the rules see it; `sensitive_groups` are read apart.
    pub fn mentee_case(
        &self,
        sensitive_groups: &[PriorityGroup],
        today: NaiveDate,
    ) -> MenteeCase<'_> {
        MenteeCase {
            request_id: &self.id,
            departement: self.departement.index(),
            mode: self.mode,
            age: self.age_on(today),
            needs: Bits::of(self.needs.iter().map(|n| need_index(*n))),
            situation: self.situation.map_or(NO_SITUATION, situation_index),
            groups: Bits::of(
                self.priority_groups
                    .iter()
                    .chain(sensitive_groups)
                    .map(|g| group_index(*g)),
            ),
            declined_by: self.declined_by(),
        }
    }

    pub fn mentor_case(&self) -> MentorCase<'_> {
        MentorCase {
            request_id: &self.id,
            departement: self.departement.index(),
            mode: self.mode,
            preferred_association: self.preferred_association.as_deref(),
            declined_by: self.declined_by(),
        }
    }
}
