//! The sign-up forms, checked field by field. Every invalid field is named
//! with a French message saying how to fix it; a valid form becomes a
//! [`MenteeRequest`] or a [`MentorRegistration`], whose values are parsed and
//! normalised (e-mail lowercased, phone in E.164, département derived).

use chrono::NaiveDate;
use serde::Deserialize;
use shared::{
    consent,
    email::EmailAddress,
    http::FieldError,
    people::{
        LANGUAGES, Mode, Need, PriorityGroup, Sector, Situation, StudyLevel, language_index,
        parse_term,
    },
    phone::PhoneNumber,
    place::{Departement, PostalCode},
};
use utoipa::openapi::{
    RefOr,
    schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type},
};

/// Ages the programme serves, on the day of the request.
pub const AGES: std::ops::RangeInclusive<u32> = 11..=30;
/// Below this age a guardian consents too (France: GDPR art. 8, loi Informatique et Libertés art. 45).
pub const GUARDIAN_BELOW_AGE: u32 = 15;

/// The mentee form as sent. Every field is optional here so that all the
/// missing ones are reported at once.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "La demande d'un ou une jeune de 11 à 30 ans qui cherche un mentor. Tous les champs invalides sont signalés ensemble (`invalid_fields`), chacun avec un message en français."
)]
pub struct MenteeForm {
    /// Prénom : 1 à 80 caractères (les espaces répétés sont réduits), lettres de toute langue, espaces, tirets ou apostrophes.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 80,
        examples("Inès")
    )]
    pub first_name: Option<String>,
    /// Nom : 1 à 80 caractères (les espaces répétés sont réduits), lettres de toute langue, espaces, tirets ou apostrophes.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 80,
        examples("Benali")
    )]
    pub last_name: Option<String>,
    /// Adresse e-mail, où arrive le lien de confirmation ; le domaine doit contenir un point. Mise en minuscules.
    #[schema(required = true, nullable = false, format = Email, max_length = 254, examples("ines.benali@exemple.fr"))]
    pub email: Option<String>,
    /// Numéro de téléphone, facultatif (vide : aucun) : un numéro français sous toute forme courante, ou étranger avec son indicatif. Enregistré au format E.164.
    #[schema(examples("06 12 34 56 78"))]
    pub phone: Option<String>,
    /// Date de naissance (AAAA-MM-JJ) : le ou la jeune doit avoir de 11 à 30 ans le jour de la demande ; avant 15 ans, `guardian` est obligatoire.
    #[schema(required = true, nullable = false, format = Date, examples("2008-05-14"))]
    pub birth_date: Option<String>,
    /// Code postal français à 5 chiffres (métropole, Corse ou départements d'outre-mer 971 à 976) : il donne le département.
    #[schema(
        required = true,
        nullable = false,
        pattern = r"^\s*(0[1-9][0-9]{3}|[1-8][0-9]{4}|9[0-5][0-9]{3}|97[1-6][0-9]{2})\s*$",
        examples("75011")
    )]
    pub postal_code: Option<String>,
    /// Situation actuelle.
    #[schema(value_type = Option<shared::people::Situation>, required = true, nullable = false)]
    pub situation: Option<String>,
    /// Niveau d'études, facultatif.
    #[schema(value_type = Option<shared::people::StudyLevel>)]
    pub study_level: Option<String>,
    /// Domaine d'études ou d'intérêt, facultatif : 120 caractères au plus, sans caractère de contrôle (vide : aucun).
    #[schema(max_length = 120, examples("Informatique"))]
    pub field: Option<String>,
    /// Ce pour quoi un mentor est demandé : de 1 à 4 besoins distincts (les doublons ne comptent qu'une fois).
    #[schema(value_type = Option<Vec<shared::people::Need>>, required = true, nullable = false, min_items = 1)]
    pub needs: Option<Vec<String>>,
    /// Mode de rencontre souhaité.
    #[schema(value_type = Option<shared::people::Mode>, required = true, nullable = false)]
    pub mode: Option<String>,
    #[schema(schema_with = languages_schema)]
    pub languages: Option<Vec<String>>,
    /// Publics prioritaires dont le ou la jeune relève, facultatif. `refugie` et `handicap` sont des données sensibles : elles demandent `sensitive_consent: true`.
    #[schema(value_type = Option<Vec<shared::people::PriorityGroup>>)]
    pub priority_groups: Option<Vec<String>>,
    /// Accord pour que les données sensibles (`refugie`, `handicap`) soient transmises à l'association : obligatoire (`true`) quand `priority_groups` en contient.
    pub sensitive_consent: Option<bool>,
    #[schema(schema_with = consent_schema, required = true)]
    pub consent: Option<bool>,
    /// Le parent ou responsable légal : obligatoire avant 15 ans (il ou elle reçoit aussi un e-mail pour donner son accord), ignoré ensuite.
    pub guardian: Option<GuardianForm>,
    /// Code de campagne, facultatif (vide : aucun) : 64 caractères au plus parmi les lettres sans accent, les chiffres, « - » et « _ ».
    #[schema(pattern = r"^\s*[A-Za-z0-9_-]{0,64}\s*$", examples("tv-2026"))]
    pub source: Option<String>,
    /// Réservé : laissez ce champ absent ou vide.
    pub website: Option<String>,
}

/// The guardian of a mentee under 15.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "Le parent ou responsable légal d'un ou une jeune de moins de 15 ans : ses trois champs sont alors obligatoires et vérifiés. À partir de 15 ans, cet objet est ignoré."
)]
pub struct GuardianForm {
    /// Nom du responsable légal : 1 à 80 caractères (les espaces répétés sont réduits), lettres de toute langue, espaces, tirets ou apostrophes.
    #[schema(examples("Nadia Haddad"))]
    pub name: Option<String>,
    /// Adresse e-mail du responsable légal, différente de celle du ou de la jeune : il ou elle y reçoit son propre lien pour confirmer son accord.
    #[schema(examples("nadia.haddad@exemple.fr"))]
    pub email: Option<String>,
    /// Accord du responsable légal pour le mentorat : doit valoir `true` (il ou elle le confirme aussi par e-mail).
    #[schema(examples(true))]
    pub consent: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "L'inscription d'un ou une mentor bénévole. Tous les champs invalides sont signalés ensemble (`invalid_fields`), chacun avec un message en français."
)]
pub struct MentorForm {
    /// Prénom : 1 à 80 caractères (les espaces répétés sont réduits), lettres de toute langue, espaces, tirets ou apostrophes.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 80,
        examples("Claire")
    )]
    pub first_name: Option<String>,
    /// Nom : 1 à 80 caractères (les espaces répétés sont réduits), lettres de toute langue, espaces, tirets ou apostrophes.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 80,
        examples("Martin")
    )]
    pub last_name: Option<String>,
    /// Adresse e-mail, où arrive le lien de confirmation ; le domaine doit contenir un point. Mise en minuscules.
    #[schema(required = true, nullable = false, format = Email, max_length = 254, examples("claire.martin@exemple.fr"))]
    pub email: Option<String>,
    /// Numéro de téléphone, facultatif (vide : aucun) : un numéro français sous toute forme courante, ou étranger avec son indicatif. Enregistré au format E.164.
    #[schema(examples("06 12 34 56 78"))]
    pub phone: Option<String>,
    /// Code postal français à 5 chiffres (métropole, Corse ou départements d'outre-mer 971 à 976) : il donne le département.
    #[schema(
        required = true,
        nullable = false,
        pattern = r"^\s*(0[1-9][0-9]{3}|[1-8][0-9]{4}|9[0-5][0-9]{3}|97[1-6][0-9]{2})\s*$",
        examples("69003")
    )]
    pub postal_code: Option<String>,
    /// Métier : 1 à 120 caractères, sans caractère de contrôle.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 120,
        examples("Développeuse")
    )]
    pub job_title: Option<String>,
    /// Secteur d'activité.
    #[schema(value_type = Option<shared::people::Sector>, required = true, nullable = false)]
    pub sector: Option<String>,
    /// Employeur, facultatif : 120 caractères au plus, sans caractère de contrôle (vide : aucun).
    #[schema(max_length = 120)]
    pub employer: Option<String>,
    /// Années d'expérience professionnelle, de 0 à 60.
    #[schema(
        required = true,
        nullable = false,
        minimum = 0,
        maximum = 60,
        examples(8)
    )]
    pub years_experience: Option<i64>,
    /// Sujets sur lesquels le ou la mentor peut aider : au moins un (les doublons ne comptent qu'une fois).
    #[schema(value_type = Option<Vec<shared::people::Need>>, required = true, nullable = false, min_items = 1)]
    pub expertise: Option<Vec<String>>,
    /// Publics que le ou la mentor souhaite accompagner : au moins un (les doublons ne comptent qu'une fois).
    #[schema(value_type = Option<Vec<shared::people::Situation>>, required = true, nullable = false, min_items = 1)]
    pub audiences: Option<Vec<String>>,
    /// Domaines de compétence, facultatifs : 5 au plus, chacun de 120 caractères au plus sans caractère de contrôle (les vides et les doublons sont retirés).
    #[schema(max_items = 5)]
    pub fields: Option<Vec<String>>,
    /// Nombre de jeunes accompagnés en même temps, de 1 à 3.
    #[schema(
        required = true,
        nullable = false,
        minimum = 1,
        maximum = 3,
        examples(1)
    )]
    pub capacity: Option<i64>,
    /// Mode de rencontre possible.
    #[schema(value_type = Option<shared::people::Mode>, required = true, nullable = false)]
    pub mode: Option<String>,
    #[schema(schema_with = languages_schema)]
    pub languages: Option<Vec<String>>,
    /// Temps donné, de 1 à 20 heures par mois ; 3 si absent.
    #[schema(minimum = 1, maximum = 20, examples(3))]
    pub hours_per_month: Option<i64>,
    /// Identifiant de l'association du réseau préférée, facultatif (vide : aucune) : 2 à 64 caractères parmi les minuscules sans accent, les chiffres et « - ».
    #[schema(pattern = r"^\s*([a-z0-9-]{2,64})?\s*$", examples("article-1"))]
    pub preferred_association: Option<String>,
    #[schema(schema_with = charter_schema, required = true)]
    pub charter_accepted: Option<bool>,
    #[schema(schema_with = consent_schema, required = true)]
    pub consent: Option<bool>,
    /// Code de campagne, facultatif (vide : aucun) : 64 caractères au plus parmi les lettres sans accent, les chiffres, « - » et « _ ».
    #[schema(pattern = r"^\s*[A-Za-z0-9_-]{0,64}\s*$", examples("tv-2026"))]
    pub source: Option<String>,
    /// Réservé : laissez ce champ absent ou vide.
    pub website: Option<String>,
}

/// The most languages a form may give.
const LANGUAGES_MAX: usize = 10;

/// `languages` in the contract: the ISO 639-1 codes of [`LANGUAGES`], 1 to 10.
fn languages_schema() -> RefOr<Schema> {
    ArrayBuilder::new()
        .schema_type(SchemaType::Array(vec![Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(LANGUAGES.split(' '))),
        )
        .min_items(Some(1))
        .max_items(Some(LANGUAGES_MAX))
        .description(Some(
            "Langues parlées : de 1 à 10 codes ISO 639-1 à deux lettres, par exemple `[\"fr\", \"ar\"]`. Absent : le français seul.",
        ))
        .examples([serde_json::json!(["fr", "ar"])])
        .into()
}

/// A consent that must be given: `true` is the only value accepted.
fn consent_schema() -> RefOr<Schema> {
    must_be_true("Accord pour le traitement des données personnelles : doit valoir `true`.")
}

fn charter_schema() -> RefOr<Schema> {
    must_be_true("Acceptation de la charte du mentor : doit valoir `true`.")
}

fn must_be_true(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .description(Some(description))
        .into()
}

/// What both roles give.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub email: EmailAddress,
    pub phone: Option<PhoneNumber>,
    pub postal_code: PostalCode,
    pub departement: Departement,
    pub mode: Mode,
    pub languages: Vec<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MenteeRequest {
    pub contact: Contact,
    pub birth_date: NaiveDate,
    pub situation: Situation,
    pub study_level: Option<StudyLevel>,
    pub field: Option<String>,
    pub needs: Vec<Need>,
    pub priority_groups: Vec<PriorityGroup>,
    pub sensitive_groups: Vec<PriorityGroup>,
    pub guardian: Option<GuardianRequest>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GuardianRequest {
    pub name: String,
    pub email: EmailAddress,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MentorRegistration {
    pub contact: Contact,
    pub job_title: String,
    pub sector: Sector,
    pub employer: Option<String>,
    pub years_experience: u8,
    pub expertise: Vec<Need>,
    pub audiences: Vec<Situation>,
    pub fields: Vec<String>,
    pub capacity: u8,
    pub hours_per_month: u8,
    pub preferred_association: Option<String>,
}

/// A form that passed, or a filled honeypot (a bot: answered as usual, never stored).
#[derive(Debug, Clone, PartialEq)]
pub enum Submission<T> {
    Genuine(T),
    Honeypot,
}

/// Collects the invalid fields of one form.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// `check` of a present value, or a problem when it is absent or refused.
    fn check<R, T>(
        &mut self,
        field: &str,
        raw: Option<R>,
        message: &str,
        check: impl FnOnce(R) -> Option<T>,
    ) -> Option<T> {
        let value = raw.and_then(check);
        if value.is_none() {
            self.add(field, message);
        }
        value
    }

    /// Like `check`, for a field that may be left out.
    fn optional<R, T>(
        &mut self,
        field: &str,
        raw: Option<R>,
        message: &str,
        check: impl FnOnce(R) -> Option<T>,
    ) -> Option<T> {
        let raw = raw?;
        self.check(field, Some(raw), message, check)
    }

    fn require_true(&mut self, field: &str, value: Option<bool>, message: &str) {
        if value != Some(true) {
            self.add(field, message);
        }
    }
}

const NAME_MAX: usize = 80;
const TEXT_MAX: usize = 120;

/// 1–80 characters: letters of any language, spaces, hyphens, apostrophes.
fn name(raw: String) -> Option<String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let allowed = |c: char| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'' || c == '’';
    let length = name.chars().count();
    ((1..=NAME_MAX).contains(&length)
        && name.chars().all(allowed)
        && name.chars().any(char::is_alphabetic))
    .then_some(name)
}

/// Free text of at most 120 characters, without control characters; blank is none.
fn short_text(raw: String) -> Option<Option<String>> {
    let text = raw.trim();
    if text.is_empty() {
        return Some(None);
    }
    (text.chars().count() <= TEXT_MAX && !text.chars().any(char::is_control))
        .then(|| Some(text.to_owned()))
}

fn email(raw: String) -> Option<EmailAddress> {
    EmailAddress::parse(&raw).ok()
}

/// ISO 639-1 codes, French when none is given.
fn languages(raw: Option<Vec<String>>, problems: &mut Problems) -> Vec<String> {
    let Some(raw) = raw else {
        return vec!["fr".to_owned()];
    };
    let codes: Vec<String> = raw.iter().map(|code| code.trim().to_lowercase()).collect();
    let known = |code: &String| language_index(code).is_some();
    if codes.is_empty() || codes.len() > LANGUAGES_MAX || !codes.iter().all(known) {
        problems.add("languages", "Indiquez de 1 à 10 langues par leur code ISO 639-1 à deux lettres, par exemple [\"fr\", \"ar\"].");
        return Vec::new();
    }
    dedup(codes)
}

fn dedup<T: PartialEq>(values: Vec<T>) -> Vec<T> {
    let mut unique = Vec::with_capacity(values.len());
    for value in values {
        if !unique.contains(&value) {
            unique.push(value);
        }
    }
    unique
}

/// Between `min` and `max` distinct values of a closed list.
fn terms<T>(raw: Vec<String>, min: usize, max: usize) -> Option<Vec<T>>
where
    T: for<'de> Deserialize<'de> + PartialEq,
{
    let parsed: Option<Vec<T>> = raw.iter().map(|term| parse_term(term.trim())).collect();
    let parsed = dedup(parsed?);
    (min..=max).contains(&parsed.len()).then_some(parsed)
}

const NEEDS_HINT: &str = "orientation, reussite_etudes, stage_alternance, insertion_pro, creation_entreprise, confiance_reseau";
const SITUATIONS_HINT: &str = "collegien, lyceen, etudiant, demandeur_emploi, jeune_actif, autre";

fn honeypot(website: &Option<String>) -> bool {
    website.as_deref().is_some_and(|w| !w.trim().is_empty())
}

/// The fields of both forms that make a [`Contact`].
struct ContactForm {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    postal_code: Option<String>,
    mode: Option<String>,
    languages: Option<Vec<String>>,
    source: Option<String>,
}

/// Moves the contact fields out of either form.
macro_rules! contact_form {
    ($form:ident) => {
        ContactForm {
            first_name: $form.first_name,
            last_name: $form.last_name,
            email: $form.email,
            phone: $form.phone,
            postal_code: $form.postal_code,
            mode: $form.mode,
            languages: $form.languages,
            source: $form.source,
        }
    };
}

fn contact(problems: &mut Problems, form: ContactForm) -> Option<Contact> {
    let ContactForm {
        first_name,
        last_name,
        email: raw_email,
        phone: raw_phone,
        postal_code,
        mode: raw_mode,
        languages: raw_languages,
        source,
    } = form;
    let first_name = problems.check(
        "first_name",
        first_name,
        "Indiquez votre prénom : 1 à 80 caractères, lettres, espaces, tirets ou apostrophes.",
        name,
    );
    let last_name = problems.check(
        "last_name",
        last_name,
        "Indiquez votre nom : 1 à 80 caractères, lettres, espaces, tirets ou apostrophes.",
        name,
    );
    let email = problems.check(
        "email",
        raw_email,
        "Indiquez une adresse e-mail valide, par exemple prenom.nom@exemple.fr.",
        email,
    );
    let postal_code = problems.check(
        "postal_code",
        postal_code,
        "Indiquez un code postal français à 5 chiffres, par exemple 75011 ou 97400.",
        |raw| PostalCode::parse(&raw),
    );
    let departement = postal_code.as_ref().map(PostalCode::departement);
    let phone = problems.optional(
        "phone",
        raw_phone.filter(|p| !p.trim().is_empty()),
        "Indiquez un numéro de téléphone valide, par exemple 06 12 34 56 78, ou +44 20 7946 0958 pour un numéro étranger.",
        |raw| PhoneNumber::parse(&raw, departement.as_ref()),
    );
    let mode = problems.check(
        "mode",
        raw_mode,
        "Choisissez le mode de rencontre : presentiel, distance ou indifferent.",
        |raw| parse_term::<Mode>(raw.trim()),
    );
    let languages = languages(raw_languages, problems);
    let source = consent::parse_source(source.as_deref()).unwrap_or_else(|message| {
        problems.add("source", message);
        None
    });
    Some(Contact {
        first_name: first_name?,
        last_name: last_name?,
        email: email?,
        phone,
        postal_code: postal_code?,
        departement: departement?,
        mode: mode?,
        languages,
        source,
    })
}

pub fn validate_mentee(
    form: MenteeForm,
    today: NaiveDate,
) -> Result<Submission<MenteeRequest>, Vec<FieldError>> {
    // A filled honeypot is a bot: it gets the answer a valid form gets, and
    // the refusals an invalid one gets, so that nothing tells it apart.
    let bot = honeypot(&form.website);
    let mut problems = Problems::default();
    let contact = contact(&mut problems, contact_form!(form));
    let birth_date = problems.check(
        "birth_date",
        form.birth_date,
        "Indiquez votre date de naissance au format AAAA-MM-JJ, par exemple 2008-05-14.",
        |raw| NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok(),
    );
    let age = birth_date.and_then(|birth| today.years_since(birth));
    if birth_date.is_some() && !age.is_some_and(|age| AGES.contains(&age)) {
        problems.add(
            "birth_date",
            "Le mentorat binome s'adresse aux jeunes de 11 à 30 ans.",
        );
    }
    let situation = problems.check(
        "situation",
        form.situation,
        &format!("Choisissez votre situation parmi : {SITUATIONS_HINT}."),
        |raw| parse_term::<Situation>(raw.trim()),
    );
    let study_level = problems.optional(
        "study_level",
        form.study_level,
        "Choisissez votre niveau d'études parmi : college, lycee, bac, bac+1, bac+2, bac+3, bac+4, bac+5, autre.",
        |raw| parse_term::<StudyLevel>(raw.trim()),
    );
    let field = problems
        .optional(
            "field",
            form.field,
            "Décrivez votre domaine en 120 caractères au plus.",
            short_text,
        )
        .flatten();
    let needs = problems.check(
        "needs",
        form.needs,
        &format!("Choisissez de 1 à 4 besoins parmi : {NEEDS_HINT}."),
        |raw| terms::<Need>(raw, 1, 4),
    );
    let groups = problems
        .optional(
            "priority_groups",
            form.priority_groups,
            "Les publics prioritaires possibles sont : qpv, zrr, boursier, decrochage, refugie, handicap.",
            |raw| terms::<PriorityGroup>(raw, 0, 6),
        )
        .unwrap_or_default();
    let (sensitive_groups, priority_groups): (Vec<_>, Vec<_>) =
        groups.into_iter().partition(|g| g.is_sensitive());
    if !sensitive_groups.is_empty() && form.sensitive_consent != Some(true) {
        problems.add(
            "sensitive_consent",
            "Pour indiquer « refugie » ou « handicap », acceptez que ces informations sensibles soient transmises à l'association qui vous accompagnera (sensitive_consent: true), ou retirez-les.",
        );
    }
    problems.require_true(
        "consent",
        form.consent,
        "Acceptez le traitement de vos données (consent: true) pour envoyer votre demande.",
    );

    let needs_guardian = age.is_some_and(|age| age < GUARDIAN_BELOW_AGE);
    let guardian = match (needs_guardian, form.guardian) {
        (false, _) => None,
        (true, None) => {
            problems.add(
                "guardian",
                "Vous avez moins de 15 ans : indiquez le nom et l'adresse e-mail d'un parent ou responsable légal, qui devra aussi donner son accord.",
            );
            None
        }
        (true, Some(guardian)) => {
            let name = problems.check("guardian.name", guardian.name, "Indiquez le nom du responsable légal : 1 à 80 caractères, lettres, espaces, tirets ou apostrophes.", name);
            let address = problems.check("guardian.email", guardian.email, "Indiquez l'adresse e-mail du responsable légal, par exemple prenom.nom@exemple.fr.", email);
            if address.is_some()
                && address.as_ref().map(EmailAddress::as_str)
                    == contact.as_ref().map(|c| c.email.as_str())
            {
                problems.add("guardian.email", "L'adresse du responsable légal doit être la sienne, différente de la vôtre : il ou elle recevra son propre lien.");
            }
            problems.require_true("guardian.consent", guardian.consent, "Le responsable légal doit accepter le mentorat (guardian.consent: true) ; il ou elle le confirmera aussi par e-mail.");
            name.zip(address)
                .map(|(name, email)| GuardianRequest { name, email })
        }
    };

    let submission = match (contact, birth_date, situation, needs) {
        (Some(contact), Some(birth_date), Some(situation), Some(needs))
            if problems.0.is_empty() =>
        {
            Ok(Submission::Genuine(MenteeRequest {
                contact,
                birth_date,
                situation,
                study_level,
                field,
                needs,
                priority_groups,
                sensitive_groups,
                guardian,
            }))
        }
        _ => Err(problems.0),
    };
    submission.map(|genuine| if bot { Submission::Honeypot } else { genuine })
}

pub fn validate_mentor(
    form: MentorForm,
) -> Result<Submission<MentorRegistration>, Vec<FieldError>> {
    // A filled honeypot is a bot: it gets the answer a valid form gets, and
    // the refusals an invalid one gets, so that nothing tells it apart.
    let bot = honeypot(&form.website);
    let mut problems = Problems::default();
    let contact = contact(&mut problems, contact_form!(form));
    let job_title = problems
        .check(
            "job_title",
            form.job_title,
            "Indiquez votre métier en 120 caractères au plus.",
            short_text,
        )
        .flatten();
    if job_title.is_none() && !problems.0.iter().any(|p| p.field == "job_title") {
        problems.add(
            "job_title",
            "Indiquez votre métier en 120 caractères au plus.",
        );
    }
    let sector = problems.check(
        "sector",
        form.sector,
        "Choisissez votre secteur parmi : agriculture_environnement, associatif, btp_immobilier, commerce_distribution, culture_medias, droit_conseil, education_recherche, finance_assurance, fonction_publique, hotellerie_restauration, industrie, numerique, sante_social, transport_logistique, autre.",
        |raw| parse_term::<Sector>(raw.trim()),
    );
    let employer = problems
        .optional(
            "employer",
            form.employer,
            "Indiquez votre employeur en 120 caractères au plus.",
            short_text,
        )
        .flatten();
    let years_experience = problems.check(
        "years_experience",
        form.years_experience,
        "Indiquez vos années d'expérience, de 0 à 60.",
        |years| u8::try_from(years).ok().filter(|y| *y <= 60),
    );
    let expertise = problems.check(
        "expertise",
        form.expertise,
        &format!("Choisissez de 1 à 6 sujets sur lesquels vous pouvez aider parmi : {NEEDS_HINT}."),
        |raw| terms::<Need>(raw, 1, 6),
    );
    let audiences = problems.check(
        "audiences",
        form.audiences,
        &format!(
            "Choisissez de 1 à 6 publics que vous souhaitez accompagner parmi : {SITUATIONS_HINT}."
        ),
        |raw| terms::<Situation>(raw, 1, 6),
    );
    let fields = problems
        .optional(
            "fields",
            form.fields,
            "Indiquez au plus 5 domaines, de 120 caractères au plus chacun.",
            |raw| {
                if raw.len() > 5 {
                    return None;
                }
                let fields: Option<Vec<Option<String>>> = raw.into_iter().map(short_text).collect();
                fields.map(|f| dedup(f.into_iter().flatten().collect()))
            },
        )
        .unwrap_or_default();
    let capacity = problems.check(
        "capacity",
        form.capacity,
        "Indiquez combien de jeunes vous pouvez accompagner en même temps : de 1 à 3.",
        |c| u8::try_from(c).ok().filter(|c| (1..=3).contains(c)),
    );
    let hours_per_month = problems
        .optional(
            "hours_per_month",
            form.hours_per_month,
            "Indiquez le temps que vous pouvez donner : de 1 à 20 heures par mois.",
            |h| u8::try_from(h).ok().filter(|h| (1..=20).contains(h)),
        )
        .unwrap_or(3);
    let preferred_association = problems
        .optional(
            "preferred_association",
            form.preferred_association.filter(|s| !s.trim().is_empty()),
            "Indiquez l'identifiant de l'association (lettres minuscules, chiffres et tirets), par exemple article-1.",
            |raw| {
                let slug = raw.trim().to_owned();
                let valid = (2..=64).contains(&slug.len()) && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                valid.then_some(slug)
            },
        );
    problems.require_true(
        "charter_accepted",
        form.charter_accepted,
        "Acceptez la charte du mentor (charter_accepted: true) pour vous inscrire.",
    );
    problems.require_true(
        "consent",
        form.consent,
        "Acceptez le traitement de vos données (consent: true) pour vous inscrire.",
    );

    let submission = match (
        contact,
        job_title,
        sector,
        years_experience,
        expertise,
        audiences,
        capacity,
    ) {
        (
            Some(contact),
            Some(job_title),
            Some(sector),
            Some(years_experience),
            Some(expertise),
            Some(audiences),
            Some(capacity),
        ) if problems.0.is_empty() => Ok(Submission::Genuine(MentorRegistration {
            contact,
            job_title,
            sector,
            employer,
            years_experience,
            expertise,
            audiences,
            fields,
            capacity,
            hours_per_month,
            preferred_association,
        })),
        _ => Err(problems.0),
    };
    submission.map(|genuine| if bot { Submission::Honeypot } else { genuine })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn ages_count_full_years() {
        let birth = NaiveDate::from_ymd_opt(2011, 11, 27).unwrap();
        assert_eq!(
            today().years_since(birth),
            Some(14),
            "the birthday is tomorrow"
        );
        assert_eq!(
            NaiveDate::from_ymd_opt(2026, 11, 27)
                .unwrap()
                .years_since(birth),
            Some(15)
        );
        assert_eq!(
            today().years_since(NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()),
            None
        );
    }

    fn mentee_born(birth_date: &str) -> MenteeForm {
        MenteeForm {
            first_name: Some("Inès".into()),
            last_name: Some("Benali".into()),
            email: Some("ines@exemple.fr".into()),
            birth_date: Some(birth_date.into()),
            postal_code: Some("93200".into()),
            situation: Some("collegien".into()),
            needs: Some(vec!["orientation".into()]),
            mode: Some("presentiel".into()),
            consent: Some(true),
            ..MenteeForm::default()
        }
    }

    #[test]
    fn a_filled_honeypot_is_refused_like_anyone_when_the_form_is_wrong() {
        let bot = |birth_date: &str| MenteeForm {
            website: Some("http://spam.example".into()),
            ..mentee_born(birth_date)
        };
        assert_eq!(
            validate_mentee(bot("2008-05-14"), today()),
            Ok(Submission::Honeypot)
        );
        let refused = validate_mentee(bot("0141-06-11"), today()).unwrap_err();
        assert_eq!(refused[0].field, "birth_date");
    }

    #[test]
    fn a_guardian_is_asked_for_until_the_fifteenth_birthday() {
        let refused = validate_mentee(mentee_born("2011-11-27"), today()).unwrap_err();
        assert!(
            refused.iter().any(|problem| problem.field == "guardian"),
            "{refused:?}"
        );
        let birthday = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let accepted = validate_mentee(mentee_born("2011-11-27"), birthday);
        assert!(
            matches!(&accepted, Ok(Submission::Genuine(request)) if request.guardian.is_none()),
            "{accepted:?}"
        );
        let refused = validate_mentee(mentee_born("2030-01-01"), today()).unwrap_err();
        assert!(
            refused.iter().any(|problem| problem.field == "birth_date"),
            "{refused:?}"
        );
    }

    #[test]
    fn the_postal_code_gives_the_departement_and_the_phone_region() {
        let form = MenteeForm {
            postal_code: Some(" 97400 ".into()),
            phone: Some("0692 12 34 56".into()),
            ..mentee_born("2008-05-14")
        };
        let Ok(Submission::Genuine(request)) = validate_mentee(form, today()) else {
            panic!("the form is valid");
        };
        assert_eq!(request.contact.postal_code.as_str(), "97400");
        assert_eq!(request.contact.departement.as_str(), "974");
        assert_eq!(
            request.contact.phone.as_ref().map(PhoneNumber::as_str),
            Some("+262692123456"),
            "a Réunion mobile"
        );

        let form = MenteeForm {
            postal_code: Some("20090".into()),
            phone: Some("06 12 34 56 78".into()),
            ..mentee_born("2008-05-14")
        };
        let Ok(Submission::Genuine(request)) = validate_mentee(form, today()) else {
            panic!("the form is valid");
        };
        assert_eq!(request.contact.departement.as_str(), "2A");
        assert_eq!(
            request.contact.phone.as_ref().map(PhoneNumber::as_str),
            Some("+33612345678")
        );
    }

    #[test]
    fn names_of_any_language_are_accepted() {
        for raw in [
            "Inès",
            "Jean-Baptiste",
            "N'Diaye",
            "O’Connor",
            "Nguyễn Văn",
            "Łukasz",
            "محمد",
            "  Anne   Marie ",
        ] {
            assert!(name(raw.to_owned()).is_some(), "{raw}");
        }
        assert_eq!(
            name("  Anne   Marie ".to_owned()).as_deref(),
            Some("Anne Marie")
        );
        for raw in ["", " ", "R2-D2", "<b>", "Jean_Paul", "--", &"a".repeat(81)] {
            assert!(name(raw.to_owned()).is_none(), "{raw}");
        }
    }

    const FIRST_NAMES: &[&str] = &["Inès", "Lucas", "Aïcha", "Jean-Marc", "N'Golo", "Zoé"];
    const POSTAL_CODES: &[&str] = &[
        "75011", "93200", "13001", "20000", "20200", "97400", "59000", "01000",
    ];
    const PHONES: &[&str] = &["06 12 34 56 78", "+33 7 58 34 56 78", "0033612345678", ""];
    const SITUATIONS: &[&str] = &[
        "collegien",
        "lyceen",
        "etudiant",
        "demandeur_emploi",
        "jeune_actif",
        "autre",
    ];
    const NEEDS: &[&str] = &[
        "orientation",
        "reussite_etudes",
        "stage_alternance",
        "insertion_pro",
        "creation_entreprise",
        "confiance_reseau",
    ];
    const MODES: &[&str] = &["presentiel", "distance", "indifferent"];

    prop_compose! {
        /// Valid mentee forms of people aged 15 to 30.
        fn valid_mentee()(
            first in proptest::sample::select(FIRST_NAMES),
            last in proptest::sample::select(FIRST_NAMES),
            user in "[a-z][a-z0-9]{0,6}(\\.[a-z0-9]{1,6})?",
            domain in "[a-z]{2,10}\\.(fr|com|org)",
            phone in proptest::sample::select(PHONES),
            days_old in (15i64 * 366 + 1)..(30 * 365),
            postal in proptest::sample::select(POSTAL_CODES),
            situation in proptest::sample::select(SITUATIONS),
            needs in proptest::sample::subsequence(NEEDS, 1..=4),
            mode in proptest::sample::select(MODES),
            languages in proptest::sample::subsequence(&["fr", "en", "ar", "es", "wo"][..], 0..=3),
        ) -> MenteeForm {
            MenteeForm {
                first_name: Some(first.to_owned()),
                last_name: Some(last.to_owned()),
                email: Some(format!("{user}@{domain}")),
                phone: Some(phone.to_owned()),
                birth_date: Some((today() - chrono::Duration::days(days_old)).format("%Y-%m-%d").to_string()),
                postal_code: Some(postal.to_owned()),
                situation: Some(situation.to_owned()),
                needs: Some(needs.into_iter().map(str::to_owned).collect()),
                mode: Some(mode.to_owned()),
                languages: (!languages.is_empty()).then(|| languages.into_iter().map(str::to_owned).collect()),
                consent: Some(true),
                ..MenteeForm::default()
            }
        }
    }

    /// One field made invalid, and its name.
    fn corrupt(form: &mut MenteeForm, which: usize, junk: String) -> &'static str {
        match which {
            0 => {
                form.first_name = Some(format!("{junk}1"));
                "first_name"
            }
            1 => {
                form.email = Some(format!("{junk} sans arobase"));
                "email"
            }
            2 => {
                form.postal_code = Some(format!("9{junk}x"));
                "postal_code"
            }
            3 => {
                form.birth_date = Some("1950-01-01".into());
                "birth_date"
            }
            4 => {
                form.situation = Some(format!("{junk}?"));
                "situation"
            }
            5 => {
                form.needs = Some(vec![]);
                "needs"
            }
            6 => {
                form.consent = Some(false);
                "consent"
            }
            7 => {
                form.phone = Some(format!("{junk}123"));
                "phone"
            }
            _ => {
                form.priority_groups = Some(vec!["refugie".into()]);
                "sensitive_consent"
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn valid_forms_are_accepted(form in valid_mentee()) {
            let accepted = validate_mentee(form.clone(), today());
            prop_assert!(matches!(accepted, Ok(Submission::Genuine(_))), "{form:?} → {accepted:?}");
        }

        #[test]
        fn a_corrupted_field_is_named(mut form in valid_mentee(), which in 0usize..9, junk in "[a-z ]{0,6}") {
            let field = corrupt(&mut form, which, junk);
            let refused = validate_mentee(form, today()).unwrap_err();
            prop_assert!(refused.iter().any(|problem| problem.field == field), "{field} not in {refused:?}");
        }

        #[test]
        fn anything_at_all_is_answered_without_panicking(
            fields in proptest::collection::vec(proptest::option::of(".{0,40}"), 8),
            lists in proptest::collection::vec(proptest::option::of(proptest::collection::vec(".{0,12}", 0..6)), 3),
            flags in proptest::collection::vec(proptest::option::of(any::<bool>()), 2),
        ) {
            let form = MenteeForm {
                first_name: fields[0].clone(),
                last_name: fields[1].clone(),
                email: fields[2].clone(),
                phone: fields[3].clone(),
                birth_date: fields[4].clone(),
                postal_code: fields[5].clone(),
                situation: fields[6].clone(),
                mode: fields[7].clone(),
                needs: lists[0].clone(),
                languages: lists[1].clone(),
                priority_groups: lists[2].clone(),
                consent: flags[0],
                sensitive_consent: flags[1],
                ..MenteeForm::default()
            };
            let _ = validate_mentee(form, today());
            let _ = validate_mentor(MentorForm {
                first_name: fields[0].clone(),
                email: fields[2].clone(),
                postal_code: fields[5].clone(),
                sector: fields[6].clone(),
                expertise: lists[0].clone(),
                audiences: lists[2].clone(),
                charter_accepted: flags[0],
                ..MentorForm::default()
            });
        }
    }
}
