//! « Où en est ma demande ? » (`/ma-demande`): the person gives their
//! address and receives a link (the personal-data link, valid 24 hours);
//! the link opens a page that says in words where the request stands, who
//! the association is and how to reach it, with buttons to download or
//! erase the data and to leave the newsletter. Nothing here tells whether
//! an address is known.

use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Deserialize;
use serde_json::Value;
use shared::{
    directory::read_association,
    email::EmailAddress,
    erasure,
    http::{self, FieldError},
    people::{ProfileStatus, Role},
    site::{Field, FormPage, Section, TextField, TextPage, TextSection},
    store::{Key, StoreError, keys::sort::PROFILE},
    subject::SignupSubject,
    tokens::Purpose,
};

use crate::{Signup, personal_data::send_links};

/// The newsletter's unsubscribe link from this page works this long.
const UNSUBSCRIBE_LINK_LIFETIME: Duration = Duration::days(1);

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Posted {
    email: String,
}

fn ask(email: &str) -> FormPage {
    FormPage {
        title: "Où en est ma demande ?".into(),
        intro: vec![
            "Indiquez l'adresse e-mail de votre demande ou de votre inscription comme mentor : nous vous y envoyons un lien pour la suivre, valable 24 heures.".into(),
        ],
        link: None,
        action: "/ma-demande".into(),
        sections: vec![Section {
            id: None,
            legend: "Votre adresse".into(),
            hint: None,
            fields: vec![Field::Text(
                TextField::new("email", "Adresse e-mail", "email", email)
                    .required()
                    .hint("Par exemple prenom.nom@exemple.fr")
                    .autocomplete("email")
                    .max_length(254),
            )],
        }],
        submit: "Recevoir le lien".into(),
        errors: Vec::new(),
    }
}

/// `GET /ma-demande`: the form; `GET /ma-demande?token=`: the request.
pub async fn page(app: &Signup, request: &Request) -> Response<Body> {
    match http::query_parameter(request, "token") {
        None => ask("").respond(StatusCode::OK),
        Some(token) => status(app, &token).await,
    }
}

/// `POST /ma-demande {email}`: the same answer whether the address is known.
pub async fn posted(app: &Signup, request: &Request) -> Response<Body> {
    let started = tokio::time::Instant::now();
    let posted: Posted = serde_html_form::from_bytes(request.body().as_ref()).unwrap_or_default();
    let Ok(email) = EmailAddress::parse(&posted.email) else {
        let problem = FieldError {
            field: "email".into(),
            message: "Indiquez une adresse e-mail valide, par exemple prenom.nom@exemple.fr."
                .into(),
        };
        return ask(&posted.email)
            .with_errors(&[problem], |_| None)
            .respond(StatusCode::BAD_REQUEST);
    };
    let sent = send_links(app, &email).await;
    // A known address takes no longer to answer than an unknown one.
    tokio::time::sleep_until(started + app.response_floor).await;
    match sent {
        Ok(()) => TextPage {
            title: "Vérifiez votre messagerie".into(),
            lead: Some("Si une demande ou une inscription existe avec cette adresse, un e-mail vient d'y être envoyé avec un lien pour la suivre.".into()),
            sections: vec![TextSection {
                heading: String::new(),
                paragraphs: vec!["Le lien vaut 24 heures. Rien reçu ? Regardez dans les courriers indésirables, ou vérifiez l'adresse.".into()],
            }],
            actions: vec![("/".into(), "Retour à l'accueil".into())],
        }
        .respond(StatusCode::OK),
        Err(error) => error.respond(),
    }
}

fn date(value: Option<&Value>) -> Option<String> {
    let at: DateTime<Utc> = value?.as_str()?.parse().ok()?;
    Some(at.format("%d/%m/%Y").to_string())
}

/// Where a request stands, in words.
fn standing(
    role: Role,
    status: ProfileStatus,
    profile: &Value,
    association: Option<&str>,
) -> String {
    let who = association.unwrap_or("une association du réseau");
    let since = date(profile.pointer("/routing/decided_at"))
        .map(|d| format!(" le {d}"))
        .unwrap_or_default();
    let (request, confirm) = match role {
        Role::Mentee => ("Votre demande", "confirmée"),
        Role::Mentor => ("Votre inscription", "confirmée"),
    };
    match status {
        ProfileStatus::PendingVerification => {
            let guardian = profile["guardian_required"].as_bool() == Some(true)
                && profile.get("guardian_consent_at").is_none();
            let confirmed = profile.get("email_verified_at").is_some();
            if profile.get("guardian_refused_at").is_some() {
                format!(
                    "{request} ne sera pas transmise : votre parent ou responsable légal n'a pas donné son accord. Ses informations seront effacées d'ici 7 jours."
                )
            } else if guardian && confirmed {
                format!(
                    "{request} attend l'accord de votre parent ou responsable légal, à qui nous avons écrit. Votre adresse est bien confirmée."
                )
            } else if guardian {
                format!(
                    "{request} est à confirmer : ouvrez le lien reçu par e-mail ; votre parent ou responsable légal doit aussi donner son accord, nous lui avons écrit."
                )
            } else {
                format!("{request} est à confirmer : ouvrez le lien reçu par e-mail.")
            }
        }
        ProfileStatus::Verified => {
            format!(
                "{request} est {confirm} : elle part vers l'association du réseau la plus adaptée."
            )
        }
        ProfileStatus::Routed => {
            format!("{request} a été transmise à {who}{since}. L'association vous contactera.")
        }
        ProfileStatus::Acknowledged if role == Role::Mentor => format!(
            "{request} est prise en charge par {who}, qui vous proposera un ou une jeune à accompagner."
        ),
        ProfileStatus::Acknowledged => format!(
            "{request} est prise en charge par {who}, qui cherche le ou la mentor qui vous correspond."
        ),
        ProfileStatus::Waiting => format!(
            "{request} est en attente d'une place : aucune association ne peut la prendre pour l'instant. Nous réessayons chaque jour et vous écrirons dès qu'une place se libère."
        ),
        ProfileStatus::Proposed => {
            "Une proposition de binôme vous a été envoyée par e-mail : ouvrez-la pour répondre."
                .into()
        }
        ProfileStatus::Paired => "Votre binôme est actif. Bon mentorat !".into(),
        ProfileStatus::Closed => "Votre mentorat est terminé. Merci d'y avoir participé !".into(),
    }
}

fn gone() -> Response<Body> {
    TextPage {
        title: "Nous ne trouvons pas de demande".into(),
        lead: Some(
            "Ce lien n'est pas valide, a expiré (il vaut 24 heures), ou la demande a été effacée."
                .into(),
        ),
        sections: Vec::new(),
        actions: vec![
            ("/ma-demande".into(), "Recevoir un nouveau lien".into()),
            ("/demande".into(), "Faire une demande".into()),
        ],
    }
    .respond(StatusCode::NOT_FOUND)
}

async fn status(app: &Signup, token: &str) -> Response<Body> {
    let Some(subject) = app
        .keyring
        .tokens
        .verify(token, Purpose::PersonalData, Utc::now())
        .ok()
        .and_then(|verified| SignupSubject::decode(&verified.subject))
    else {
        return gone();
    };
    match standing_page(app, token, &subject).await {
        Ok(Some(page)) => shared::site::unindexed(page.respond(StatusCode::OK)),
        Ok(None) => gone(),
        Err(error) => {
            tracing::error!(%error, "request status failed");
            shared::pages::Page::unavailable("Nous n'avons pas pu ouvrir votre demande.")
        }
    }
}

#[tracing::instrument(skip_all)]
async fn standing_page(
    app: &Signup,
    token: &str,
    subject: &SignupSubject,
) -> Result<Option<TextPage>, StoreError> {
    let items = erasure::partition(&app.store, &subject.person_id).await?;
    let Some(profile) = items.into_iter().find(|item| {
        item.get("sk")
            .and_then(|sk| sk.as_s().ok())
            .map(String::as_str)
            == Some(PROFILE)
    }) else {
        return Ok(None);
    };
    let profile: Value = serde_dynamo::from_item(profile)?;
    let Ok(status) = serde_json::from_value::<ProfileStatus>(profile["status"].clone()) else {
        return Ok(None);
    };
    let association = match profile
        .pointer("/routing/association")
        .and_then(Value::as_str)
    {
        Some(slug) => read_association(&app.store, slug).await?,
        None => None,
    };
    let mut sections = vec![TextSection {
        heading: match subject.role {
            Role::Mentee => "Votre demande".into(),
            Role::Mentor => "Votre inscription".into(),
        },
        paragraphs: vec![standing(
            subject.role,
            status,
            &profile,
            association.as_ref().map(|a| a.name.as_str()),
        )],
    }];
    let mut actions = Vec::new();
    if let Some(association) = &association {
        sections.push(TextSection {
            heading: "Votre association".into(),
            paragraphs: vec![format!(
                "{} : écrivez-lui à {} pour toute question sur votre accompagnement.",
                association.name, association.contact_email
            )],
        });
        actions.push((
            format!("mailto:{}", association.contact_email),
            format!("Écrire à {}", association.name),
        ));
    }
    sections.push(TextSection {
        heading: "Vos données".into(),
        paragraphs: vec!["Vous pouvez télécharger tout ce que nous conservons sur vous, ou l'effacer : l'effacement est définitif et arrête la demande.".into()],
    });
    actions.push((
        app.links.api(&format!("/v1/me?token={token}")),
        "Télécharger mes données".into(),
    ));
    actions.push((
        app.links.api(&format!("/v1/me/erase?token={token}")),
        "Effacer mes données".into(),
    ));
    if subscribed(app, subject).await? {
        let unsubscribe = app.keyring.tokens.issue(
            Purpose::NewsletterUnsubscribe,
            subject.address.as_str(),
            Utc::now(),
            UNSUBSCRIBE_LINK_LIFETIME,
        );
        actions.push((
            app.links
                .api(&format!("/v1/newsletter/unsubscribe?token={unsubscribe}")),
            "Me désinscrire de la lettre".into(),
        ));
    }
    let first_name = profile["first_name"].as_str().unwrap_or_default();
    Ok(Some(TextPage {
        title: "Où en est ma demande ?".into(),
        lead: Some(format!("Bonjour {first_name},")),
        sections,
        actions,
    }))
}

/// Whether the person's address receives the newsletter.
async fn subscribed(app: &Signup, subject: &SignupSubject) -> Result<bool, StoreError> {
    let item = app
        .store
        .client
        .get_item()
        .table_name(&app.store.table)
        .set_key(Some(
            Key::newsletter_subscriber(&subject.address).attributes(),
        ))
        .projection_expression("#status")
        .expression_attribute_names("#status", "status")
        .send()
        .await?
        .item;
    Ok(item
        .and_then(|item| item.get("status").and_then(|s| s.as_s().ok()).cloned())
        .is_some_and(|status| status == "confirmed"))
}
