//! Mentees and mentors as stored: the profile items written at sign-up and
//! read by routing and matching, and the closed vocabularies of their fields.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{
    consent::Consent,
    phone::PhoneNumber,
    place::{Departement, PostalCode},
};

/// Parses one value of a closed vocabulary from its wire name.
pub fn parse_term<T: for<'de> Deserialize<'de>>(raw: &str) -> Option<T> {
    use serde::de::{IntoDeserializer, value::Error};
    T::deserialize(IntoDeserializer::<Error>::into_deserializer(raw)).ok()
}

/// The ISO 639-1 codes people may give as their languages, in a fixed order.
pub const LANGUAGES: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy \
da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io \
is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na \
nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss \
st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

/// The place of an ISO 639-1 code in [`LANGUAGES`] (stable: the list only grows at its end).
pub fn language_index(code: &str) -> Option<u8> {
    if code.len() != 2 {
        return None;
    }
    LANGUAGES
        .split(' ')
        .position(|known| known == code)
        .map(|index| index as u8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Mentee,
    Mentor,
}

impl Role {
    /// The role's wire name (`mentee`, `mentor`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mentee => "mentee",
            Role::Mentor => "mentor",
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Situation {
    Collegien,
    Lyceen,
    Etudiant,
    DemandeurEmploi,
    JeuneActif,
    Autre,
}

impl Situation {
    /// Every value, in the order forms list them.
    pub const ALL: [Self; 6] = [
        Situation::Collegien,
        Situation::Lyceen,
        Situation::Etudiant,
        Situation::DemandeurEmploi,
        Situation::JeuneActif,
        Situation::Autre,
    ];

    /// How people are described in mails (French).
    pub fn label(self) -> &'static str {
        match self {
            Situation::Collegien => "collégien·ne",
            Situation::Lyceen => "lycéen·ne",
            Situation::Etudiant => "étudiant·e",
            Situation::DemandeurEmploi => "en recherche d'emploi",
            Situation::JeuneActif => "jeune actif·ve",
            Situation::Autre => "autre situation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum StudyLevel {
    #[serde(rename = "college")]
    College,
    #[serde(rename = "lycee")]
    Lycee,
    #[serde(rename = "bac")]
    Bac,
    #[serde(rename = "bac+1")]
    Bac1,
    #[serde(rename = "bac+2")]
    Bac2,
    #[serde(rename = "bac+3")]
    Bac3,
    #[serde(rename = "bac+4")]
    Bac4,
    #[serde(rename = "bac+5")]
    Bac5,
    #[serde(rename = "autre")]
    Autre,
}

impl StudyLevel {
    pub fn label(self) -> &'static str {
        match self {
            StudyLevel::College => "collège",
            StudyLevel::Lycee => "lycée",
            StudyLevel::Bac => "bac",
            StudyLevel::Bac1 => "bac +1",
            StudyLevel::Bac2 => "bac +2",
            StudyLevel::Bac3 => "bac +3",
            StudyLevel::Bac4 => "bac +4",
            StudyLevel::Bac5 => "bac +5 ou plus",
            StudyLevel::Autre => "autre",
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    Orientation,
    ReussiteEtudes,
    StageAlternance,
    InsertionPro,
    CreationEntreprise,
    ConfianceReseau,
}

impl Need {
    /// Every value, in the order forms list them.
    pub const ALL: [Self; 6] = [
        Need::Orientation,
        Need::ReussiteEtudes,
        Need::StageAlternance,
        Need::InsertionPro,
        Need::CreationEntreprise,
        Need::ConfianceReseau,
    ];

    /// How needs are named in mails (French).
    pub fn label(self) -> &'static str {
        match self {
            Need::Orientation => "orientation",
            Need::ReussiteEtudes => "réussite des études",
            Need::StageAlternance => "stage ou alternance",
            Need::InsertionPro => "insertion professionnelle",
            Need::CreationEntreprise => "création d'entreprise",
            Need::ConfianceReseau => "confiance et réseau",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Presentiel,
    Distance,
    Indifferent,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Presentiel => "en personne",
            Mode::Distance => "à distance",
            Mode::Indifferent => "en personne ou à distance",
        }
    }
}

/// Groups the public policies give priority to. `Refugie` and `Handicap` are
/// special-category data (GDPR art. 9): stored apart, with their own consent.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Publics prioritaires des politiques publiques ; `refugie` et `handicap` sont des données sensibles (RGPD art. 9), enregistrées à part avec leur propre consentement."
)]
pub enum PriorityGroup {
    Qpv,
    Zrr,
    Boursier,
    Decrochage,
    Refugie,
    Handicap,
}

impl PriorityGroup {
    /// Every value, in the order forms list them.
    pub const ALL: [Self; 6] = [
        PriorityGroup::Qpv,
        PriorityGroup::Zrr,
        PriorityGroup::Boursier,
        PriorityGroup::Decrochage,
        PriorityGroup::Refugie,
        PriorityGroup::Handicap,
    ];

    /// As association staff read it.
    pub fn label(self) -> &'static str {
        match self {
            PriorityGroup::Qpv => "habite un quartier prioritaire (QPV)",
            PriorityGroup::Zrr => "habite une zone rurale (ZRR)",
            PriorityGroup::Boursier => "boursier·ère",
            PriorityGroup::Decrochage => "en décrochage scolaire",
            PriorityGroup::Refugie => "réfugié·e",
            PriorityGroup::Handicap => "en situation de handicap",
        }
    }

    pub fn is_sensitive(self) -> bool {
        matches!(self, PriorityGroup::Refugie | PriorityGroup::Handicap)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    AgricultureEnvironnement,
    Associatif,
    BtpImmobilier,
    CommerceDistribution,
    CultureMedias,
    DroitConseil,
    EducationRecherche,
    FinanceAssurance,
    FonctionPublique,
    HotellerieRestauration,
    Industrie,
    Numerique,
    SanteSocial,
    TransportLogistique,
    Autre,
}

impl Sector {
    pub fn label(self) -> &'static str {
        match self {
            Sector::AgricultureEnvironnement => "agriculture, environnement",
            Sector::Associatif => "associatif",
            Sector::BtpImmobilier => "BTP, immobilier",
            Sector::CommerceDistribution => "commerce, distribution",
            Sector::CultureMedias => "culture, médias",
            Sector::DroitConseil => "droit, conseil",
            Sector::EducationRecherche => "éducation, recherche",
            Sector::FinanceAssurance => "finance, assurance",
            Sector::FonctionPublique => "fonction publique",
            Sector::HotellerieRestauration => "hôtellerie, restauration",
            Sector::Industrie => "industrie",
            Sector::Numerique => "numérique",
            Sector::SanteSocial => "santé, social",
            Sector::TransportLogistique => "transport, logistique",
            Sector::Autre => "autre secteur",
        }
    }
}

/// A mentee under this age is proposed only mentors whose honorability
/// their association has checked.
pub const ADULT_AGE: u32 = 18;

/// Whether someone born on `birth_date` is a minor on `day`.
pub fn minor_on(birth_date: NaiveDate, day: NaiveDate) -> bool {
    day.years_since(birth_date)
        .is_none_or(|age| age < ADULT_AGE)
}

/// The association's record that it checked a mentor's honorability (the
/// bulletin n° 3 of the criminal record and the FIJAIS, as the law asks of
/// volunteers with minors): the date and who recorded it; no document is
/// stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "La vérification d'honorabilité d'un mentor enregistrée par l'association (aucun document n'est conservé) : nécessaire pour qu'il soit proposé à un jeune de moins de 18 ans."
)]
pub struct Honorability {
    /// L'association qui l'a vérifiée : une autre association qui reçoit ce mentor vérifie à son tour.
    pub association: String,
    /// Date de la vérification.
    pub checked_on: NaiveDate,
    /// Qui l'a enregistrée : identifiant du compte, ou `api_key`.
    pub by: String,
    /// Son nom.
    pub by_name: String,
}

/// Where a request stands. Routing picks up profiles that become `Verified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Où en est une demande : `pending_verification` (adresse à confirmer), `verified`, `routed` (transmise à une association, sans réponse encore), `acknowledged` (prise en charge), `waiting` (aucune association ne peut la prendre pour l'instant ; nouvel essai chaque jour), `proposed` (binôme proposé), `paired` (binôme actif), `closed` (mentorat terminé)."
)]
pub enum ProfileStatus {
    PendingVerification,
    Verified,
    /// Sent to an association, which has not answered yet.
    Routed,
    /// The association took the request on.
    Acknowledged,
    /// No association can take it now; retried every day.
    Waiting,
    /// A mentee with a pair proposed, waiting for both answers.
    Proposed,
    /// A mentee in an active pair.
    Paired,
    /// A mentee whose mentoring ended.
    Closed,
}

impl ProfileStatus {
    /// As association staff read it.
    pub fn label(self) -> &'static str {
        match self {
            ProfileStatus::PendingVerification => "Adresse à confirmer",
            ProfileStatus::Verified => "Confirmée",
            ProfileStatus::Routed => "À traiter",
            ProfileStatus::Acknowledged => "Prise en charge",
            ProfileStatus::Waiting => "En attente",
            ProfileStatus::Proposed => "Binôme proposé",
            ProfileStatus::Paired => "En binôme",
            ProfileStatus::Closed => "Terminée",
        }
    }

    /// The wire name, as stored and as used in key segments.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileStatus::PendingVerification => "pending_verification",
            ProfileStatus::Verified => "verified",
            ProfileStatus::Routed => "routed",
            ProfileStatus::Acknowledged => "acknowledged",
            ProfileStatus::Waiting => "waiting",
            ProfileStatus::Proposed => "proposed",
            ProfileStatus::Paired => "paired",
            ProfileStatus::Closed => "closed",
        }
    }
}

/// What both roles share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub role: Role,
    pub status: ProfileStatus,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    pub postal_code: PostalCode,
    pub departement: Departement,
    pub mode: Mode,
    pub languages: Vec<String>,
    pub consent: Consent,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenteeDetails {
    pub birth_date: NaiveDate,
    pub situation: Situation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study_level: Option<StudyLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub needs: Vec<Need>,
    /// The non-sensitive groups; the sensitive ones are in [`SensitiveData`].
    pub priority_groups: Vec<PriorityGroup>,
    /// Under 15: the guardian's consent is needed too.
    pub guardian_required: bool,
    /// Whether a [`SensitiveData`] item exists: routing reads it only then.
    #[serde(default)]
    pub has_sensitive_data: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentorDetails {
    pub job_title: String,
    pub sector: Sector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    pub years_experience: u8,
    pub expertise: Vec<Need>,
    pub audiences: Vec<Situation>,
    pub fields: Vec<String>,
    pub capacity: u8,
    pub hours_per_month: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_association: Option<String>,
    pub charter_accepted_at: String,
}

/// The profile item (`PERSON#<id>` / `PROFILE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile<D> {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub person: Person,
    #[serde(flatten)]
    pub details: D,
    /// Expiry while unverified (epoch seconds); removed once verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// What the reminders of a pending sign-up need: the subject of its
    /// links, and its next reminder on the `by_due_date` index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_sk: Option<String>,
}

pub type MenteeProfile = Profile<MenteeDetails>;
pub type MentorProfile = Profile<MentorDetails>;

/// Special-category data, apart from the profile (`PERSON#<id>` / `SENSITIVE`),
/// readable only by the association the request goes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitiveData {
    pub pk: String,
    pub sk: String,
    pub priority_groups: Vec<PriorityGroup>,
    pub consent: Consent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

/// The legal guardian of a mentee under 15 (`PERSON#<id>` / `GUARDIAN`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guardian {
    pub pk: String,
    pub sk: String,
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_parse_and_unknown_ones_do_not() {
        assert_eq!(parse_term::<StudyLevel>("bac+3"), Some(StudyLevel::Bac3));
        assert_eq!(
            parse_term::<Need>("stage_alternance"),
            Some(Need::StageAlternance)
        );
        assert_eq!(
            parse_term::<Situation>("demandeur_emploi"),
            Some(Situation::DemandeurEmploi)
        );
        assert_eq!(parse_term::<Mode>("Distance"), None);
        assert_eq!(parse_term::<PriorityGroup>(""), None);
    }
}
