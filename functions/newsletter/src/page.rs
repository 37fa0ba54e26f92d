//! `/newsletter`: the subscription form of the site. A plain POST, checked
//! and recorded as `POST /v1/newsletter` is (double opt-in: a mail to
//! confirm); the page re-renders with the address kept and each error
//! next to its field.

use chrono::Utc;
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Deserialize;
use shared::site::{ChoiceField, Field, FormPage, Section, TextField, TextPage, TextSection};

use crate::{
    Newsletter,
    subscribe::{SubscribeBody, record, validate},
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Posted {
    email: String,
    consent: Option<String>,
}

fn form(posted: &Posted) -> FormPage {
    let consent = posted
        .consent
        .as_ref()
        .map(|_| vec!["true".to_owned()])
        .unwrap_or_default();
    let mut agree = ChoiceField::new(
        "consent",
        "Votre accord",
        &[(
            "true",
            "J'accepte de recevoir la lettre de binome, une fois par mois",
        )],
        &consent,
        true,
    )
    .required();
    agree.options[0].hint =
        Some("Vous pourrez vous désinscrire en un clic, depuis chaque lettre.".into());
    FormPage {
        title: "La lettre de binome".into(),
        intro: vec![
            "Chaque mois, des nouvelles du réseau : des binômes qui racontent leur mentorat, des associations qui recrutent des mentors, les rendez-vous à venir.".into(),
        ],
        link: None,
        action: "/newsletter".into(),
        sections: vec![Section {
            id: None,
            legend: "Votre inscription".into(),
            hint: Some("Nous vous enverrons un e-mail pour confirmer l'inscription.".into()),
            fields: vec![
                Field::Text(
                    TextField::new("email", "Adresse e-mail", "email", &posted.email)
                        .required()
                        .hint("Par exemple prenom.nom@exemple.fr")
                        .autocomplete("email")
                        .max_length(254),
                ),
                Field::Choice(agree),
            ],
        }],
        submit: "S'abonner".into(),
        errors: Vec::new(),
    }
}

/// `GET /newsletter`
pub fn page() -> Response<Body> {
    form(&Posted::default()).respond(StatusCode::OK)
}

/// `POST /newsletter`: the same answer whether the address was known or not.
pub async fn posted(app: &Newsletter, request: &Request) -> Response<Body> {
    let posted: Posted = serde_html_form::from_bytes(request.body().as_ref()).unwrap_or_default();
    let body = SubscribeBody {
        email: posted.email.clone(),
        consent: posted.consent.is_some(),
        source: Some("site".into()),
    };
    let subscription = match validate(body) {
        Ok(subscription) => subscription,
        Err(errors) => {
            return form(&posted)
                .with_errors(&errors, |name| {
                    (name == "consent").then_some("Cochez la case pour recevoir la lettre.")
                })
                .respond(StatusCode::BAD_REQUEST);
        }
    };
    match record(app, &subscription, Utc::now()).await {
        Ok(()) => TextPage {
            title: "Vérifiez votre messagerie".into(),
            lead: Some("Nous venons de vous envoyer un e-mail : ouvrez le lien qu'il contient pour confirmer votre inscription.".into()),
            sections: vec![TextSection {
                heading: String::new(),
                paragraphs: vec!["Rien reçu ? Regardez dans les courriers indésirables. Le lien vaut 7 jours.".into()],
            }],
            actions: vec![("/".into(), "Retour à l'accueil".into())],
        }
        .respond(StatusCode::OK),
        Err(error) => error.respond(),
    }
}
