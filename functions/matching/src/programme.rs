//! The end of a pair's programme. Two weeks before it, the reminders ask
//! both people whether they go on; here they answer (the mailed link opens
//! a page, its button records the answer on the pair), and the association
//! either closes the pair or sets a longer programme — which asks again
//! before the new end.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    directory::authenticate,
    http::{self, ApiError, FieldError},
    pages::{FormButton, Page},
    pair::{GoingOn, GoingOnAnswered, Pair, PairStatus, next_follow_up},
    people::{Role, parse_term},
    store::{Key, StoreError, condition_failed, timestamp},
    tokens::Purpose,
};

use crate::{Matching, pairs};

fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn number(value: u32) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// One side's answer, as its link names it.
#[derive(Debug, Clone)]
pub struct ProgrammeAnswer {
    pub pair_id: String,
    pub side: Role,
    /// The programme length the question was asked for.
    pub months: u32,
    pub answer: GoingOn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgrammeRecorded {
    Recorded,
    /// This side had answered already: the first answer stays.
    AlreadyAnswered,
    /// The pair ended, or its programme changed since the question.
    Over,
}

/// Records an answer on the pair's programme-end question.
#[tracing::instrument(skip_all, fields(pair = answer.pair_id))]
pub async fn record(
    app: &Matching,
    answer: &ProgrammeAnswer,
    now: DateTime<Utc>,
) -> Result<ProgrammeRecorded, StoreError> {
    let Some(pair) = pairs::read(&app.store, &answer.pair_id).await? else {
        return Ok(ProgrammeRecorded::Over);
    };
    let Some(question) = pair.programme_end.as_ref().filter(|q| {
        pair.status == PairStatus::Active
            && q.months == answer.months
            && pair.programme_months == answer.months
    }) else {
        return Ok(ProgrammeRecorded::Over);
    };
    let slot = match answer.side {
        Role::Mentee => &question.mentee,
        Role::Mentor => &question.mentor,
    };
    if slot.is_some() {
        return Ok(ProgrammeRecorded::AlreadyAnswered);
    }
    let path = format!("programme_end.{}", answer.side.as_str());
    let answered = GoingOnAnswered {
        answer: answer.answer,
        at: now,
    };
    let update = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::pair(&pair.id).attributes()))
        .update_expression(format!("SET {path} = :answer"))
        .condition_expression(format!(
            "#status = :active AND programme_end.months = :months AND (programme_months = :months OR attribute_not_exists(programme_months)) AND attribute_not_exists({path})"
        ))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":active", text(PairStatus::Active.as_str()))
        .expression_attribute_values(":months", number(answer.months))
        .expression_attribute_values(":answer", serde_dynamo::to_attribute_value(answered)?);
    match update.send().await {
        Ok(_) => {
            tracing::info!(
                pair = pair.id,
                answer = answer.answer.as_str(),
                "programme end answered"
            );
            Ok(ProgrammeRecorded::Recorded)
        }
        Err(error) if condition_failed(&error) => Ok(ProgrammeRecorded::AlreadyAnswered),
        Err(error) => Err(error.into()),
    }
}

/// The pair, side, programme length and answer a valid link names.
fn programme_link(app: &Matching, request: &Request) -> Option<(String, ProgrammeAnswer)> {
    let token = http::query_parameter(request, "token")?;
    let verified = app
        .keyring
        .tokens
        .verify(&token, Purpose::PairProgrammeEnd, Utc::now())
        .ok()?;
    let mut parts = verified.subject.split(':');
    let (pair_id, side, months) = (parts.next()?, parts.next()?, parts.next()?);
    let answer = http::query_parameter(request, "answer").and_then(|raw| parse_term(&raw))?;
    Some((
        token,
        ProgrammeAnswer {
            pair_id: pair_id.to_owned(),
            side: parse_term(side)?,
            months: months.parse().ok()?,
            answer,
        },
    ))
}

const LINK_EXPIRED: &str = "Ce lien de réponse n'est plus valable. Écrivez directement à votre association pour lui dire si vous souhaitez continuer.";

#[utoipa::path(
    get,
    path = "/v1/pairs/programme",
    tag = "reponses",
    operation_id = "matching_programme_page",
    summary = "Page de réponse à la fin du programme",
    description = "Deux semaines avant la fin du programme, le jeune et le mentor reçoivent un e-mail : « continuez-vous ? », chaque réponse étant un lien. Le lien ouvre une page qui reprend la réponse choisie, à confirmer d'un bouton (ou à changer) ; ouvrir le lien n'enregistre rien.",
    params(
        ("token" = String, Query, description = "Jeton signé du lien reçu par e-mail (fin de programme d'un binôme, pour un des deux côtés)."),
        ("answer" = GoingOn, Query, description = "La réponse choisie dans l'e-mail."),
    ),
    responses(
        (status = 200, description = "La page, la réponse choisie d'abord.", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide ou incomplet : jeton absent, abîmé ou fait pour un autre usage, ou `answer` manquant ou inconnu ; page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 410, description = "Lien expiré : page HTML qui le dit.", content_type = "text/html", body = String),
    )
)]
/// `GET /v1/pairs/programme?token=&answer=`: the answer chosen in the
/// mail, to confirm with a button; opening the link records nothing.
pub fn page(app: &Matching, request: &Request) -> Response<Body> {
    let Some((token, chosen)) = programme_link(app, request) else {
        return crate::link_refused(app, request, Purpose::PairProgrammeEnd, LINK_EXPIRED);
    };
    let mut page = Page::new(
        "La fin de votre programme de mentorat",
        &[&format!(
            "Vous avez choisi : « {} ». Confirmez-la, ou choisissez l'autre réponse.",
            chosen.answer.label()
        )],
    );
    let answers = std::iter::once(chosen.answer)
        .chain(GoingOn::ALL.into_iter().filter(|a| *a != chosen.answer));
    for answer in answers {
        page = page.with_form(FormButton {
            action: app.links.api(&format!(
                "/v1/pairs/programme?token={token}&answer={}",
                answer.as_str()
            )),
            label: answer.label().into(),
            hidden: Vec::new(),
            secondary: answer != chosen.answer,
        });
    }
    page.respond(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/v1/pairs/programme",
    tag = "reponses",
    operation_id = "matching_programme_answer",
    summary = "Répondre à la fin du programme",
    description = "Le bouton de la page de fin de programme : la réponse est enregistrée sur le binôme pour l'association, qui clôt le binôme ou prolonge son programme (la première réponse d'un côté reste). Pas de corps.",
    params(
        ("token" = String, Query, description = "Jeton signé du lien reçu par e-mail (fin de programme d'un binôme, pour un des deux côtés)."),
        ("answer" = GoingOn, Query, description = "La réponse confirmée."),
    ),
    responses(
        (status = 200, description = "Réponse enregistrée (ou déjà donnée, ou binôme clos ou programme changé entre-temps) : page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide ou incomplet : jeton absent, abîmé ou fait pour un autre usage, ou `answer` manquant ou inconnu ; page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 410, description = "Lien expiré : page HTML qui le dit.", content_type = "text/html", body = String),
    )
)]
/// `POST /v1/pairs/programme?token=&answer=`: records the answer.
pub async fn answer(app: &Matching, request: &Request) -> Response<Body> {
    let Some((_, answer)) = programme_link(app, request) else {
        return crate::link_refused(app, request, Purpose::PairProgrammeEnd, LINK_EXPIRED);
    };
    let page = match record(app, &answer, Utc::now()).await {
        Ok(ProgrammeRecorded::Recorded | ProgrammeRecorded::AlreadyAnswered) => {
            match answer.answer {
                GoingOn::Continue => Page::new(
                    "Merci, c'est noté !",
                    &[
                        "L'association est prévenue que vous souhaitez continuer : elle vous dira si le binôme est prolongé.",
                    ],
                ),
                GoingOn::Stop => Page::new(
                    "Merci, c'est noté",
                    &[
                        "L'association est prévenue : elle clôturera le binôme à la fin du programme. Merci pour ces mois de mentorat !",
                    ],
                ),
            }
        }
        Ok(ProgrammeRecorded::Over) => Page::new(
            "Votre réponse n'est plus nécessaire",
            &["Le binôme a été clos ou son programme prolongé entre-temps."],
        ),
        Err(error) => {
            tracing::error!(%error, "programme end answer failed");
            return Page::unavailable("Votre réponse n'a pas été enregistrée.");
        }
    };
    page.respond(StatusCode::OK)
}

/// La nouvelle durée du programme d'un binôme.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ProgrammeLengthBody {
    /// Durée totale du programme, en mois depuis le début du binôme (de 1 à 36) ; elle doit
    /// finir après aujourd'hui.
    #[schema(
        required = true,
        nullable = false,
        minimum = 1,
        maximum = 36,
        example = 12
    )]
    months: Option<u32>,
}

/// La durée du programme, telle qu'enregistrée.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProgrammeLengthSet {
    /// Identifiant du binôme.
    id: String,
    /// Durée totale du programme, en mois depuis le début du binôme.
    programme_months: u32,
    /// Date de fin du programme.
    ends_on: NaiveDate,
}

/// The longest programme an association can set.
const LONGEST_PROGRAMME_MONTHS: u32 = 36;

fn length_problem(message: &str) -> ApiError {
    ApiError::invalid_fields(vec![FieldError {
        field: "months".into(),
        message: message.into(),
    }])
}

#[utoipa::path(
    post,
    path = "/v1/association/pairs/{id}/programme",
    tag = "binomes",
    operation_id = "matching_set_programme_length",
    summary = "Changer la durée du programme d'un binôme",
    description = "Fixe la durée totale du programme d'un binôme en cours, en mois depuis son début ; une nouvelle tentative avec la même durée ne change rien. Un programme prolongé repose la question « continuez-vous ? » deux semaines avant sa nouvelle fin.",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant du binôme.", max_length = 80, pattern = "^[A-Za-z0-9-]+$"),
    ),
    request_body(content = ProgrammeLengthBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Durée enregistrée.", body = ProgrammeLengthSet),
        (status = 400, description = "Corps invalide : JSON mal formé (`malformed_json`, ou corps qui n'est pas un objet), champ inconnu (`unknown_field`), champ du mauvais type (`invalid_type`), ou durée manquante, hors de 1 à 36 mois, ou qui finirait aujourd'hui ou avant (`invalid_fields`, sur `months`).", body = shared::http::ApiError),
        (status = 404, description = "Binôme inconnu ou d'une autre association (`not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Le binôme n'est pas en cours (`pair_not_active`), ou a changé entre-temps (`pair_changed`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/pairs/{id}/programme {"months"}`: the pair's
/// programme lasts `months` from its start (a retry sets the same length).
/// A longer programme asks both again two weeks before its new end.
pub async fn set_length(
    app: &Matching,
    request: &Request,
    pair_id: &str,
) -> Result<Response<Body>, ApiError> {
    let association = authenticate(&app.store, request).await?;
    if !crate::plausible_id(pair_id) {
        return Err(ApiError::not_found());
    }
    let form: ProgrammeLengthBody = http::parse_json(request)?;
    let months = form
        .months
        .filter(|m| (1..=LONGEST_PROGRAMME_MONTHS).contains(m))
        .ok_or_else(|| {
            length_problem(
                "Indiquez la durée totale du programme, de 1 à 36 mois depuis le début du binôme.",
            )
        })?;
    let pair = match pairs::read(&app.store, pair_id).await? {
        Some(pair) if pair.association == association.slug => pair,
        _ => return Err(ApiError::not_found()),
    };
    if pair.status != PairStatus::Active {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "pair_not_active",
            "Seul un binôme en cours peut être prolongé.",
        ));
    }
    let now = Utc::now();
    let lengthened = Pair {
        programme_months: months,
        ..pair.clone()
    };
    let ends = lengthened.programme_ends_at().unwrap_or(now);
    if ends <= now {
        return Err(length_problem(
            "Ce programme serait déjà terminé : indiquez une durée qui finit après aujourd'hui.",
        ));
    }
    if months != pair.programme_months {
        // The next follow-up may now come sooner than the one the index holds.
        let next = next_follow_up(&lengthened.progress(chrono::Duration::zero()))
            .map(|(at, _)| timestamp(at))
            .unwrap_or_else(|| timestamp(now));
        let due = match &pair.due_sk {
            Some(held) if held < &next => held.clone(),
            _ => next,
        };
        let update = app
            .store
            .client
            .update_item()
            .table_name(&app.store.table)
            .set_key(Some(Key::pair(&pair.id).attributes()))
            .update_expression("SET programme_months = :months, due_sk = :due")
            // Pairs from before programme lengths were kept have the default one.
            .condition_expression(
                "#status = :active AND (programme_months = :was OR attribute_not_exists(programme_months))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", text(PairStatus::Active.as_str()))
            .expression_attribute_values(":months", number(months))
            .expression_attribute_values(":was", number(pair.programme_months))
            .expression_attribute_values(":due", text(due));
        match update.send().await {
            Ok(_) => tracing::info!(pair = pair.id, months, "programme length set"),
            Err(error) if condition_failed(&error) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "pair_changed",
                    "Le binôme a changé entre-temps : rechargez-le avant de le prolonger.",
                ));
            }
            Err(error) => return Err(StoreError::from(error).into()),
        }
    }
    Ok(http::json(
        StatusCode::OK,
        &ProgrammeLengthSet {
            id: pair.id,
            programme_months: months,
            ends_on: ends.date_naive(),
        },
    ))
}
