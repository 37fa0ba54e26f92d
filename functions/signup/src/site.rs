//! The site's pages for young people and mentors: the home page, the two
//! sign-up forms (a plain POST re-renders the form with the values kept
//! and each error next to its field, in the person's words, never a code),
//! the charter and the legal pages. The forms are checked by the same code
//! as the API's, and write the same items.

use chrono::Utc;
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Deserialize;
use shared::{
    http::FieldError,
    site::{
        ChoiceField, Field, FormPage, HomePage, Section, SelectField, TextField, TextPage,
        TextSection, html,
    },
};

use crate::{
    Signup,
    form::{GuardianForm, MenteeForm, MentorForm, validate_mentee, validate_mentor},
    register::{from_page, mentee_items, mentor_items},
};

/// The home page: what the network does, the two calls to action, the newsletter.
pub fn home() -> Response<Body> {
    html(StatusCode::OK, askama::Template::render(&HomePage))
}

const SITUATIONS: &[(&str, &str)] = &[
    ("collegien", "Je suis au collège"),
    ("lyceen", "Je suis au lycée"),
    ("etudiant", "Je fais des études après le bac"),
    ("demandeur_emploi", "Je cherche un emploi"),
    ("jeune_actif", "Je travaille"),
    ("autre", "Autre situation"),
];

const STUDY_LEVELS: &[(&str, &str)] = &[
    ("college", "Collège"),
    ("lycee", "Lycée"),
    ("bac", "Bac"),
    ("bac+1", "Bac +1"),
    ("bac+2", "Bac +2"),
    ("bac+3", "Bac +3 (licence)"),
    ("bac+4", "Bac +4"),
    ("bac+5", "Bac +5 ou plus (master)"),
    ("autre", "Autre"),
];

const NEEDS: &[(&str, &str)] = &[
    ("orientation", "Choisir mon orientation"),
    ("reussite_etudes", "Réussir mes études"),
    ("stage_alternance", "Trouver un stage ou une alternance"),
    ("insertion_pro", "Trouver un emploi"),
    ("creation_entreprise", "Créer mon entreprise"),
    ("confiance_reseau", "Prendre confiance, me faire un réseau"),
];

const MODES: &[(&str, &str)] = &[
    ("presentiel", "En personne"),
    ("distance", "À distance (visio, téléphone)"),
    ("indifferent", "Les deux me conviennent"),
];

const LANGUAGES: &[(&str, &str)] = &[
    ("fr", "Français"),
    ("en", "Anglais"),
    ("ar", "Arabe"),
    ("es", "Espagnol"),
    ("pt", "Portugais"),
    ("de", "Allemand"),
    ("it", "Italien"),
    ("ro", "Roumain"),
    ("tr", "Turc"),
    ("uk", "Ukrainien"),
    ("ru", "Russe"),
    ("zh", "Chinois"),
];

const GROUPS: &[(&str, &str)] = &[
    (
        "qpv",
        "J'habite un quartier prioritaire de la politique de la ville",
    ),
    (
        "zrr",
        "J'habite une commune rurale (zone de revitalisation rurale)",
    ),
    ("boursier", "Je suis boursier·ère"),
    (
        "decrochage",
        "J'ai arrêté l'école ou mes études sans diplôme",
    ),
];

const SENSITIVE_GROUPS: &[(&str, &str)] = &[
    ("refugie", "J'ai le statut de réfugié·e"),
    ("handicap", "Je suis en situation de handicap"),
];

const SECTORS: &[(&str, &str)] = &[
    ("agriculture_environnement", "Agriculture, environnement"),
    ("associatif", "Associatif"),
    ("btp_immobilier", "BTP, immobilier"),
    ("commerce_distribution", "Commerce, distribution"),
    ("culture_medias", "Culture, médias"),
    ("droit_conseil", "Droit, conseil"),
    ("education_recherche", "Éducation, recherche"),
    ("finance_assurance", "Finance, assurance"),
    ("fonction_publique", "Fonction publique"),
    ("hotellerie_restauration", "Hôtellerie, restauration"),
    ("industrie", "Industrie"),
    ("numerique", "Numérique"),
    ("sante_social", "Santé, social"),
    ("transport_logistique", "Transport, logistique"),
    ("autre", "Autre secteur"),
];

const AUDIENCES: &[(&str, &str)] = &[
    ("collegien", "Collégien·nes"),
    ("lyceen", "Lycéen·nes"),
    ("etudiant", "Étudiant·es"),
    ("demandeur_emploi", "Jeunes en recherche d'emploi"),
    ("jeune_actif", "Jeunes actif·ves"),
    ("autre", "Autres situations"),
];

const EXPERTISE: &[(&str, &str)] = &[
    ("orientation", "L'orientation"),
    ("reussite_etudes", "La réussite des études"),
    ("stage_alternance", "La recherche de stage ou d'alternance"),
    ("insertion_pro", "La recherche d'emploi"),
    ("creation_entreprise", "La création d'entreprise"),
    ("confiance_reseau", "La confiance en soi et le réseau"),
];

/// The page's words for the choices whose API message names codes.
fn choice_message(name: &str) -> Option<&'static str> {
    Some(match name {
        "situation" => "Choisissez la phrase qui décrit votre situation.",
        "study_level" => "Choisissez votre niveau d'études dans la liste.",
        "needs" => "Cochez de 1 à 3 sujets sur lesquels vous voulez être aidé·e.",
        "mode" => "Choisissez comment vous préférez rencontrer votre mentor.",
        "languages" => "Cochez au moins une langue.",
        "priority_groups" => {
            "Pour indiquer un statut de réfugié·e ou un handicap, cochez aussi la case d'accord juste en dessous."
        }
        "sector" => "Choisissez votre secteur dans la liste.",
        "guardian_consent" => {
            "Cochez la case si votre parent ou responsable légal est d'accord : il ou elle le confirmera par e-mail."
        }
        "expertise" => "Cochez de 1 à 6 sujets sur lesquels vous pouvez aider.",
        "audiences" => "Cochez de 1 à 6 publics que vous souhaitez accompagner.",
        _ => return None,
    })
}

/// What a form posts: every field as text, several values for checkboxes.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Posted {
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    birth_date: String,
    postal_code: String,
    situation: String,
    study_level: String,
    field: String,
    needs: Vec<String>,
    mode: String,
    languages: Vec<String>,
    priority_groups: Vec<String>,
    sensitive_consent: Option<String>,
    guardian_name: String,
    guardian_email: String,
    guardian_consent: Option<String>,
    job_title: String,
    sector: String,
    employer: String,
    years_experience: String,
    expertise: Vec<String>,
    audiences: Vec<String>,
    capacity: String,
    hours_per_month: String,
    charter_accepted: Option<String>,
    consent: Option<String>,
    website: String,
}

fn filled(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn several(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}

/// A number as typed; what is not one is out of every range the checks accept.
fn number(value: &str) -> Option<i64> {
    filled(value).map(|raw| raw.parse().unwrap_or(-1))
}

/// A date typed as people write it (14/05/2007) where the browser has no
/// date field, as the API reads it (2007-05-14).
fn day_first(date: &str) -> String {
    match date.split('/').collect::<Vec<_>>()[..] {
        [day, month, year] if year.len() == 4 => format!("{year}-{month:0>2}-{day:0>2}"),
        _ => date.to_owned(),
    }
}

fn ticked(value: &Option<String>) -> Option<bool> {
    value.as_ref().map(|_| true)
}

impl Posted {
    fn parse(request: &Request) -> Self {
        serde_html_form::from_bytes(request.body().as_ref()).unwrap_or_default()
    }

    fn mentee(&self) -> MenteeForm {
        let guardian_given = [&self.guardian_name, &self.guardian_email]
            .iter()
            .any(|v| !v.trim().is_empty())
            || self.guardian_consent.is_some();
        MenteeForm {
            first_name: filled(&self.first_name),
            last_name: filled(&self.last_name),
            email: filled(&self.email),
            phone: filled(&self.phone),
            birth_date: filled(&self.birth_date).map(|date| day_first(&date)),
            postal_code: filled(&self.postal_code),
            situation: filled(&self.situation),
            study_level: filled(&self.study_level),
            field: filled(&self.field),
            needs: several(&self.needs),
            mode: filled(&self.mode),
            languages: several(&self.languages),
            priority_groups: several(&self.priority_groups),
            sensitive_consent: ticked(&self.sensitive_consent),
            consent: ticked(&self.consent),
            guardian: guardian_given.then(|| GuardianForm {
                name: filled(&self.guardian_name),
                email: filled(&self.guardian_email),
                consent: ticked(&self.guardian_consent),
            }),
            source: Some("site".into()),
            website: filled(&self.website),
        }
    }

    fn mentor(&self) -> MentorForm {
        MentorForm {
            first_name: filled(&self.first_name),
            last_name: filled(&self.last_name),
            email: filled(&self.email),
            phone: filled(&self.phone),
            postal_code: filled(&self.postal_code),
            job_title: filled(&self.job_title),
            sector: filled(&self.sector),
            employer: filled(&self.employer),
            years_experience: number(&self.years_experience),
            expertise: several(&self.expertise),
            audiences: several(&self.audiences),
            fields: None,
            capacity: number(&self.capacity),
            mode: filled(&self.mode),
            languages: several(&self.languages),
            hours_per_month: number(&self.hours_per_month),
            preferred_association: None,
            charter_accepted: ticked(&self.charter_accepted),
            consent: ticked(&self.consent),
            source: Some("site".into()),
            website: filled(&self.website),
        }
    }
}

fn identity(posted: &Posted) -> Vec<Field> {
    vec![
        Field::Text(
            TextField::new("first_name", "Prénom", "text", &posted.first_name)
                .required()
                .autocomplete("given-name")
                .max_length(80),
        ),
        Field::Text(
            TextField::new("last_name", "Nom", "text", &posted.last_name)
                .required()
                .autocomplete("family-name")
                .max_length(80),
        ),
        Field::Text(
            TextField::new("email", "Adresse e-mail", "email", &posted.email)
                .required()
                .hint("Par exemple prenom.nom@exemple.fr. Nous y envoyons un lien pour confirmer.")
                .autocomplete("email")
                .max_length(254),
        ),
        Field::Text(
            TextField::new("phone", "Téléphone", "tel", &posted.phone)
                .hint("Facultatif. Par exemple 06 12 34 56 78.")
                .autocomplete("tel")
                .max_length(30),
        ),
        Field::Text(
            TextField::new("postal_code", "Code postal", "text", &posted.postal_code)
                .required()
                .hint("5 chiffres, par exemple 93200 : l'association la plus proche vous répondra.")
                .autocomplete("postal-code")
                .input_mode("numeric")
                .max_length(5),
        ),
    ]
}

fn meeting(posted: &Posted, whom: &str) -> Vec<Field> {
    let languages = if posted.languages.is_empty() {
        vec!["fr".to_owned()]
    } else {
        posted.languages.clone()
    };
    vec![
        Field::Choice(
            ChoiceField::new(
                "mode",
                &format!("Comment préférez-vous rencontrer {whom} ?"),
                MODES,
                std::slice::from_ref(&posted.mode),
                false,
            )
            .required(),
        ),
        Field::Choice(
            ChoiceField::new(
                "languages",
                "Les langues que vous parlez",
                LANGUAGES,
                &languages,
                true,
            )
            .inline(),
        ),
    ]
}

/// One checkbox under its own legend.
fn consent_box(
    name: &str,
    legend: &str,
    label: &str,
    hint: &str,
    posted: &Option<String>,
) -> Field {
    let checked = posted
        .as_ref()
        .map(|_| vec!["oui".to_owned()])
        .unwrap_or_default();
    let mut field = ChoiceField::new(name, legend, &[("oui", label)], &checked, true);
    field.options[0].hint = Some(hint.to_owned());
    Field::Choice(field)
}

/// A checkbox that must be ticked.
fn required_box(
    name: &str,
    legend: &str,
    label: &str,
    hint: &str,
    posted: &Option<String>,
) -> Field {
    match consent_box(name, legend, label, hint, posted) {
        Field::Choice(choice) => Field::Choice(choice.required()),
        other => other,
    }
}

fn mentee_page(posted: &Posted) -> FormPage {
    let mut groups = posted.priority_groups.clone();
    groups.retain(|g| GROUPS.iter().chain(SENSITIVE_GROUPS).any(|(v, _)| v == g));
    FormPage {
        title: "Je cherche un mentor".into(),
        intro: vec![
            "Gratuit, de 11 à 30 ans. Une association du réseau reçoit votre demande et vous répond. Comptez cinq minutes.".into(),
        ],
        action: "/demande".into(),
        link: None,
        sections: vec![
            Section {
                id: None,
                legend: "1. Qui êtes-vous ?".into(),
                hint: None,
                fields: [
                    identity(posted),
                    vec![Field::Text(
                        TextField::new("birth_date", "Date de naissance", "date", &posted.birth_date)
                            .required()
                            .hint("Par exemple 14/05/2007. Avant 15 ans, un parent donne aussi son accord.")
                            .autocomplete("bday"),
                    )],
                ]
                .concat(),
            },
            Section {
                id: None,
                legend: "2. Ce dont vous avez besoin".into(),
                hint: None,
                fields: vec![
                    Field::Choice(
                        ChoiceField::new(
                            "situation",
                            "Votre situation aujourd'hui",
                            SITUATIONS,
                            std::slice::from_ref(&posted.situation),
                            false,
                        )
                        .required(),
                    ),
                    Field::Select(SelectField::new(
                        "study_level",
                        "Votre niveau d'études",
                        STUDY_LEVELS,
                        &posted.study_level,
                    )),
                    Field::Text(
                        TextField::new("field", "Le domaine qui vous intéresse", "text", &posted.field)
                            .hint("Facultatif. Par exemple : informatique, santé, commerce."),
                    ),
                    Field::Choice(
                        ChoiceField::new("needs", "Sur quoi voulez-vous être aidé·e ?", NEEDS, &posted.needs, true)
                            .required()
                            .hint("De 1 à 3 sujets."),
                    ),
                ],
            },
            Section {
                id: None,
                legend: "3. Comment se rencontrer".into(),
                hint: None,
                fields: meeting(posted, "votre mentor"),
            },
            Section {
                id: None,
                legend: "4. Pour qu'une association vous aide en priorité".into(),
                hint: Some("Facultatif. Ces informations ne servent qu'à choisir l'association et ne sont montrées qu'à elle.".into()),
                fields: vec![
                    Field::Choice(ChoiceField::new(
                        "priority_groups",
                        "Votre situation, si elle vous concerne",
                        &[GROUPS, SENSITIVE_GROUPS].concat(),
                        &groups,
                        true,
                    )),
                    consent_box(
                        "sensitive_consent",
                        "Accord pour ces deux informations",
                        "J'accepte que mon statut de réfugié·e ou mon handicap soit enregistré",
                        "Seulement si vous avez coché l'une de ces deux cases. Vous pouvez l'effacer à tout moment.",
                        &posted.sensitive_consent,
                    ),
                ],
            },
            Section {
                id: Some("tuteur".into()),
                legend: "5. Votre parent ou responsable légal".into(),
                hint: Some("Seulement si vous avez moins de 15 ans : nous lui demandons son accord par e-mail.".into()),
                fields: vec![
                    Field::Text(
                        TextField::new("guardian_name", "Son prénom et son nom", "text", &posted.guardian_name)
                            .max_length(80),
                    ),
                    Field::Text(
                        TextField::new("guardian_email", "Son adresse e-mail", "email", &posted.guardian_email)
                            .max_length(254),
                    ),
                    consent_box(
                        "guardian_consent",
                        "Son accord",
                        "Mon parent ou responsable légal est d'accord pour que je sois accompagné·e par un mentor",
                        "Il ou elle le confirmera avec le lien que nous lui enverrons.",
                        &posted.guardian_consent,
                    ),
                ],
            },
            Section {
                id: None,
                legend: "6. Votre accord".into(),
                hint: None,
                fields: vec![
                    required_box(
                        "consent",
                        "Utilisation de vos informations",
                        "J'accepte que binome et l'association qui recevra ma demande utilisent ces informations pour me trouver un mentor",
                        "Vous pourrez les consulter ou les effacer à tout moment, depuis le lien reçu par e-mail.",
                        &posted.consent,
                    ),
                    Field::Trap("website".into()),
                ],
            },
        ],
        submit: "Envoyer ma demande".into(),
        errors: Vec::new(),
    }
}

fn mentor_page(posted: &Posted) -> FormPage {
    FormPage {
        title: "Je deviens mentor".into(),
        intro: vec![
            "Environ 3 heures par mois, pendant six mois, auprès d'un ou d'une jeune. Une association du réseau vous accompagne.".into(),
        ],
        action: "/mentor".into(),
        link: Some(("/charte".into(), "Lire la charte du mentorat".into())),
        sections: vec![
            Section {
                id: None,
                legend: "1. Qui êtes-vous ?".into(),
                hint: None,
                fields: identity(posted),
            },
            Section {
                id: None,
                legend: "2. Votre parcours".into(),
                hint: None,
                fields: vec![
                    Field::Text(
                        TextField::new("job_title", "Votre métier", "text", &posted.job_title)
                            .required()
                            .autocomplete("organization-title"),
                    ),
                    Field::Select(SelectField {
                        required: true,
                        ..SelectField::new("sector", "Votre secteur", SECTORS, &posted.sector)
                    }),
                    Field::Text(
                        TextField::new("employer", "Votre employeur", "text", &posted.employer)
                            .hint("Facultatif.")
                            .autocomplete("organization"),
                    ),
                    Field::Text(
                        TextField::new("years_experience", "Années d'expérience", "number", &posted.years_experience)
                            .required()
                            .input_mode("numeric")
                            .max_length(2),
                    ),
                ],
            },
            Section {
                id: None,
                legend: "3. Votre mentorat".into(),
                hint: None,
                fields: vec![
                    Field::Choice(
                        ChoiceField::new("expertise", "Sur quoi pouvez-vous aider ?", EXPERTISE, &posted.expertise, true)
                            .required(),
                    ),
                    Field::Choice(
                        ChoiceField::new("audiences", "Quels jeunes souhaitez-vous accompagner ?", AUDIENCES, &posted.audiences, true)
                            .required(),
                    ),
                    Field::Text(
                        TextField::new("capacity", "Combien de jeunes en même temps ?", "number", &posted.capacity)
                            .required()
                            .hint("De 1 à 3.")
                            .input_mode("numeric")
                            .max_length(1),
                    ),
                    Field::Text(
                        TextField::new("hours_per_month", "Heures par mois", "number", &posted.hours_per_month)
                            .hint("Facultatif : 3 heures si vous ne précisez pas.")
                            .input_mode("numeric")
                            .max_length(2),
                    ),
                ],
            },
            Section {
                id: None,
                legend: "4. Comment se rencontrer".into(),
                hint: None,
                fields: meeting(posted, "le ou la jeune"),
            },
            Section {
                id: None,
                legend: "5. Vos engagements".into(),
                hint: None,
                fields: vec![
                    required_box(
                        "charter_accepted",
                        "La charte du mentorat",
                        "J'ai lu la charte du mentorat et je m'engage à la respecter",
                        "Bienveillance, régularité, confidentialité : la charte est en lien en haut de cette page.",
                        &posted.charter_accepted,
                    ),
                    required_box(
                        "consent",
                        "Utilisation de vos informations",
                        "J'accepte que binome et l'association qui recevra mon inscription utilisent ces informations pour me proposer des jeunes à accompagner",
                        "Vous pourrez les consulter ou les effacer à tout moment, depuis le lien reçu par e-mail.",
                        &posted.consent,
                    ),
                    Field::Trap("website".into()),
                ],
            },
        ],
        submit: "M'inscrire comme mentor".into(),
        errors: Vec::new(),
    }
}

/// The API names the guardian as a whole `guardian`: on the page, its name
/// field (`guardian.name` is the page's `guardian_name`).
fn on_page(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut error| {
            if error.field == "guardian" {
                error.field = "guardian_name".into();
            }
            error
        })
        .collect()
}

pub fn mentee_form() -> Response<Body> {
    mentee_page(&Posted::default()).respond(StatusCode::OK)
}

pub fn mentor_form() -> Response<Body> {
    mentor_page(&Posted::default()).respond(StatusCode::OK)
}

fn sent(mentor: bool) -> Response<Body> {
    TextPage {
        title: "Vérifiez votre messagerie".into(),
        lead: Some("Nous venons de vous envoyer un e-mail avec un lien pour confirmer votre adresse.".into()),
        sections: vec![TextSection {
            heading: String::new(),
            paragraphs: vec![
                if mentor {
                    "Cliquez sur le lien dans les 7 jours : votre inscription part alors vers une association du réseau, qui vous contactera.".into()
                } else {
                    "Cliquez sur le lien dans les 7 jours : votre demande part alors vers l'association la plus adaptée, qui vous répondra. Avant 15 ans, votre parent reçoit aussi un e-mail pour donner son accord.".into()
                },
                "Rien reçu ? Regardez dans les courriers indésirables. Si vous aviez déjà fait une demande avec cette adresse, l'e-mail vous le rappelle.".into(),
            ],
        }],
        actions: vec![("/".into(), "Retour à l'accueil".into())],
    }
    .respond(StatusCode::OK)
}

/// `POST /demande`: the mentee form, checked as the API's.
pub async fn mentee_posted(app: &Signup, request: &Request) -> Response<Body> {
    let posted = Posted::parse(request);
    match validate_mentee(posted.mentee(), Utc::now().date_naive()) {
        Err(errors) => mentee_page(&posted)
            .with_errors(&on_page(errors), choice_message)
            .respond(StatusCode::BAD_REQUEST),
        Ok(submission) => match from_page(app, submission, mentee_items).await {
            Ok(()) => sent(false),
            Err(error) => error.respond(),
        },
    }
}

/// `POST /mentor`: the mentor form, checked as the API's.
pub async fn mentor_posted(app: &Signup, request: &Request) -> Response<Body> {
    let posted = Posted::parse(request);
    match validate_mentor(posted.mentor()) {
        Err(errors) => mentor_page(&posted)
            .with_errors(&errors, choice_message)
            .respond(StatusCode::BAD_REQUEST),
        Ok(submission) => match from_page(app, submission, mentor_items).await {
            Ok(()) => sent(true),
            Err(error) => error.respond(),
        },
    }
}

fn text_page(title: &str, lead: &str, sections: &[(&str, &[&str])]) -> Response<Body> {
    TextPage {
        title: title.into(),
        lead: Some(lead.into()),
        sections: sections
            .iter()
            .map(|(heading, paragraphs)| TextSection {
                heading: (*heading).into(),
                paragraphs: paragraphs.iter().map(|p| (*p).into()).collect(),
            })
            .collect(),
        actions: Vec::new(),
    }
    .respond(StatusCode::OK)
}

/// `GET /charte`: what a mentor commits to.
pub fn charter() -> Response<Body> {
    text_page(
        "La charte du mentorat",
        "Chaque mentor s'engage à respecter cette charte, signée à l'inscription.",
        &[
            (
                "Bienveillance",
                &[
                    "Je respecte le ou la jeune, ses choix et son rythme. Je l'écoute sans juger et je l'encourage.",
                ],
            ),
            (
                "Régularité",
                &[
                    "Je donne environ 3 heures par mois, pendant la durée du programme. Si je ne peux plus, je préviens le ou la jeune et l'association.",
                ],
            ),
            (
                "Confidentialité",
                &[
                    "Ce que le ou la jeune me confie reste entre nous, sauf si sa sécurité est en jeu : je préviens alors l'association.",
                ],
            ),
            (
                "Cadre",
                &[
                    "Le mentorat est gratuit et bénévole. Je ne demande ni argent ni service en retour. Avec un ou une mineur·e, nous nous voyons dans un lieu public ou à distance, et l'association en est informée.",
                ],
            ),
            (
                "Accompagnement",
                &[
                    "L'association qui forme le binôme reste disponible pour nous deux. Je réponds aux points d'étape qu'elle m'envoie chaque mois.",
                ],
            ),
        ],
    )
}

pub fn legal_notice() -> Response<Body> {
    text_page(
        "Mentions légales",
        "binome est la plateforme du réseau national de mentorat.",
        &[
            (
                "Éditeur",
                &[
                    "Le réseau national de mentorat, qui réunit une cinquantaine d'associations membres.",
                ],
            ),
            (
                "Hébergement",
                &[
                    "Le service est hébergé par Amazon Web Services EMEA, dans la région de Paris (eu-west-3).",
                ],
            ),
            (
                "Accessibilité",
                &["Voir la déclaration d'accessibilité, page /accessibilite."],
            ),
        ],
    )
}

pub fn personal_data() -> Response<Body> {
    text_page(
        "Données personnelles",
        "Nous gardons le moins de données possible, le moins longtemps possible.",
        &[
            (
                "Ce que nous enregistrons",
                &[
                    "Ce que vous indiquez dans le formulaire : vos coordonnées, votre situation, vos besoins. Un statut de réfugié·e ou un handicap n'est enregistré qu'avec votre accord exprès, à part, et n'est montré qu'à l'association qui reçoit votre demande.",
                ],
            ),
            (
                "Pourquoi",
                &[
                    "Pour vous mettre en relation avec une association du réseau et former un binôme. Rien n'est vendu, rien n'est utilisé pour de la publicité.",
                ],
            ),
            (
                "Qui les voit",
                &[
                    "L'association qui reçoit votre demande, puis votre binôme (votre prénom, votre nom et vos coordonnées, une fois que vous avez tous les deux accepté).",
                ],
            ),
            (
                "Combien de temps",
                &[
                    "Une demande non confirmée est effacée après 7 jours. Un compte sans activité pendant trois ans est effacé, après un e-mail d'avertissement un mois avant.",
                ],
            ),
            (
                "Vos droits",
                &[
                    "Depuis le lien reçu par e-mail, vous pouvez télécharger vos données ou les effacer à tout moment. Vous pouvez aussi saisir la CNIL.",
                ],
            ),
        ],
    )
}

pub fn accessibility() -> Response<Body> {
    text_page(
        "Déclaration d'accessibilité",
        "binome s'engage à rendre son site accessible, conformément à l'article 47 de la loi n° 2005-102 du 11 février 2005.",
        &[
            (
                "État de conformité",
                &[
                    "Le site est partiellement conforme au référentiel général d'amélioration de l'accessibilité (RGAA 4.1) : il n'a pas encore été audité. Les pages sont testées automatiquement (axe-core) à chaque modification.",
                ],
            ),
            (
                "Nous contacter",
                &[
                    "Si vous n'arrivez pas à accéder à un contenu ou à un service, écrivez à l'association qui vous accompagne ou au réseau : nous vous répondrons et trouverons une solution.",
                ],
            ),
            (
                "Voies de recours",
                &["Si vous n'obtenez pas de réponse, vous pouvez écrire au Défenseur des droits."],
            ),
        ],
    )
}

pub fn site_map() -> Response<Body> {
    TextPage {
        title: "Plan du site".into(),
        lead: None,
        sections: Vec::new(),
        actions: vec![
            ("/".into(), "Accueil".into()),
            ("/demande".into(), "Je cherche un mentor".into()),
            ("/mentor".into(), "Je deviens mentor".into()),
            ("/charte".into(), "La charte du mentorat".into()),
            ("/newsletter".into(), "La lettre d'information".into()),
            (
                "/v1/newsletter/issues".into(),
                "Les lettres publiées".into(),
            ),
            (
                "/donnees-personnelles".into(),
                "Données personnelles".into(),
            ),
            ("/mentions-legales".into(), "Mentions légales".into()),
            ("/accessibilite".into(), "Accessibilité".into()),
        ],
    }
    .respond(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_typed_day_first_is_read_as_the_api_reads_it() {
        assert_eq!(day_first("14/05/2007"), "2007-05-14");
        assert_eq!(day_first("4/5/2007"), "2007-05-04");
        assert_eq!(day_first("2007-05-14"), "2007-05-14");
    }
}
