//! `GET /v1/newsletter/confirm?token=`: the second step of the double opt-in.
//! One transaction confirms the pending subscriber and queues the welcome
//! mail; a second click finds it confirmed and shows the same page.

use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use shared::{
    campaign, http,
    keyring::AddressId,
    mail::{MailContent, OutboxMail},
    pages::Page,
    store::{self, Key, keys::index},
    tokens::{Purpose, TokenError},
};

use crate::{Newsletter, subscribe::number};

enum Outcome {
    Confirmed,
    AlreadyConfirmed,
    /// Unknown, expired, or unsubscribed since: the link can no longer confirm.
    NotConfirmable,
}

#[utoipa::path(
    get,
    path = "/v1/newsletter/confirm",
    tag = "newsletter",
    operation_id = "newsletter_confirm",
    summary = "Confirmer l'inscription (lien de l'e-mail)",
    description = "La seconde étape du double opt-in, ouverte depuis l'e-mail de confirmation : l'adresse rejoint la liste des abonné·es et l'e-mail de bienvenue part. Un second clic trouve l'inscription confirmée et affiche la même page, sans rien renvoyer. Répond une page HTML.",
    params(
        ("token" = String, Query, description = "Le jeton signé du lien de confirmation, valable 7 jours."),
    ),
    responses(
        (status = 200, description = "Inscription confirmée (ou déjà confirmée).", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide : jeton absent, altéré ou d'un autre usage.", content_type = "text/html", body = String),
        (status = 410, description = "Lien expiré (plus de 7 jours), ou demande d'inscription expirée ou annulée (désinscription) depuis : la page propose de s'inscrire à nouveau.", content_type = "text/html", body = String),
        (status = 503, description = "Service momentanément indisponible : page HTML, avec l'en-tête `Retry-After`.", content_type = "text/html", body = String),
    )
)]
pub async fn handle(app: &Newsletter, request: &Request) -> Response<Body> {
    let now = Utc::now();
    let token = http::query_parameter(request, "token").unwrap_or_default();
    let subject = match app
        .keyring
        .tokens
        .verify(&token, Purpose::NewsletterConfirm, now)
    {
        Ok(verified) => AddressId::from_trusted(verified.subject),
        Err(TokenError::Expired) => {
            return failure(
                app,
                StatusCode::GONE,
                "Ce lien a expiré : il était valable 7 jours.",
            );
        }
        Err(_) => {
            return failure(
                app,
                StatusCode::BAD_REQUEST,
                "Ce lien n'est pas valide. Vérifiez qu'il a été copié en entier.",
            );
        }
    };
    match confirm(app, &subject, now).await {
        Ok(Outcome::Confirmed | Outcome::AlreadyConfirmed) => Page::new(
            "Votre inscription est confirmée.",
            &[
                "Vous recevrez la lettre d'information de binome une fois par mois.",
                "Chaque lettre contient un lien pour vous désinscrire en un clic, à tout moment.",
            ],
        )
        .respond(StatusCode::OK),
        Ok(Outcome::NotConfirmable) => failure(
            app,
            StatusCode::GONE,
            "Cette demande d'inscription a expiré ou a été annulée.",
        ),
        Err(_) => Page::unavailable("Nous n'avons pas pu confirmer votre inscription."),
    }
}

fn failure(app: &Newsletter, status: StatusCode, reason: &str) -> Response<Body> {
    Page::new(
        "Nous n'avons pas pu confirmer votre inscription.",
        &[
            reason,
            "Vous pouvez vous inscrire à nouveau : un nouveau lien vous sera envoyé.",
        ],
    )
    .with_link(app.links.site("/newsletter"), "M'inscrire à nouveau")
    .respond(status)
}

#[tracing::instrument(skip_all)]
async fn confirm(
    app: &Newsletter,
    subject: &AddressId,
    now: DateTime<Utc>,
) -> Result<Outcome, http::ApiError> {
    let subscriber = Key::newsletter_subscriber(subject);
    let unsubscribe_token = app.keyring.tokens.issue(
        Purpose::NewsletterUnsubscribe,
        subject.as_str(),
        now,
        campaign::UNSUBSCRIBE_LINK_LIFETIME,
    );
    let unsubscribe_url = campaign::unsubscribe_url(&app.links, &unsubscribe_token, None);
    let welcome = OutboxMail::new(
        subscriber.clone(),
        MailContent::NewsletterWelcome { unsubscribe_url },
        now,
    );

    let update = Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(subscriber.attributes()))
        .update_expression(
            "SET #status = :confirmed, confirmed_at = :now_text, list_pk = :list_pk, list_sk = :list_sk \
             REMOVE #ttl, confirmation_sent_at",
        )
        // TTL deletion runs late: an expired pending subscription may still be there.
        .condition_expression("#status = :pending AND #ttl > :now")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
        .expression_attribute_values(":confirmed", AttributeValue::S("confirmed".into()))
        .expression_attribute_values(":now", number(now.timestamp()))
        // On the list of confirmed subscribers that campaigns read.
        .expression_attribute_values(
            ":list_pk",
            AttributeValue::S(index::subscribers_list(subject.as_str())),
        )
        .expression_attribute_values(":list_sk", AttributeValue::S(subject.as_str().into()))
        .expression_attribute_values(
            ":now_text",
            AttributeValue::S(now.to_rfc3339_opts(SecondsFormat::Secs, true)),
        )
        .build()
        .map_err(store::StoreError::from)?;

    let result = app
        .store
        .transact(vec![
            TransactWriteItem::builder().update(update).build(),
            welcome.transact_put(&app.store.table)?,
        ])
        .await;
    match result {
        Ok(_) => {
            tracing::info!(
                subscriber = subject.as_str(),
                mail = welcome.id,
                "newsletter subscription confirmed"
            );
            Ok(Outcome::Confirmed)
        }
        Err(error) => {
            let Some(reason) = store::cancellation_reasons(&error)
                .and_then(<[_]>::first)
                .filter(|reason| store::is_condition_failure(reason))
            else {
                return Err(store::StoreError::from(error).into());
            };
            let status = reason
                .item()
                .and_then(|item| item.get("status"))
                .and_then(|s| s.as_s().ok());
            Ok(if status.is_some_and(|s| s == "confirmed") {
                Outcome::AlreadyConfirmed
            } else {
                tracing::info!(
                    subscriber = subject.as_str(),
                    "newsletter confirmation refused: expired or cancelled"
                );
                Outcome::NotConfirmable
            })
        }
    }
}
