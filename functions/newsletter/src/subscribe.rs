//! `POST /v1/newsletter`: one transaction writes the subscriber (with the
//! consent record) and the confirmation mail. The answer never says whether
//! the address was known.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    consent::{self, Consent},
    email::EmailAddress,
    http::{self, ApiError, FieldError},
    mail::{MailContent, OutboxMail},
    store::{self, Key},
    tokens::Purpose,
};

use crate::Newsletter;

/// The version of the consent text shown next to the form; recorded with each consent.
pub const CONSENT_TEXT_VERSION: &str = "newsletter-2026-11";
/// A subscription not confirmed within this time is dropped.
pub const CONFIRMATION_WINDOW: Duration = Duration::days(7);
/// A new confirmation mail for the same address is sent at most this often:
/// a retried request sends nothing twice, and nobody can flood an inbox.
pub const RESEND_AFTER: Duration = Duration::minutes(10);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
/// Une inscription à la lettre d'information.
#[schema(as = NewsletterSubscription)]
pub(crate) struct SubscribeBody {
    /// L'adresse à inscrire (les espaces autour sont retirés, les majuscules ignorées).
    #[schema(format = Email, max_length = 254, example = "prenom.nom@exemple.fr")]
    pub email: String,
    #[schema(schema_with = consent_schema)]
    pub consent: bool,
    /// Code de la campagne qui a amené l'inscription, enregistré avec le consentement : lettres
    /// sans accent, chiffres, « - » et « _ », 64 caractères au plus (espaces autour retirés ;
    /// vide ou absent : aucun).
    #[serde(default)]
    #[schema(pattern = "^\\s*[A-Za-z0-9_-]{0,64}\\s*$", example = "tv-2026")]
    pub source: Option<String>,
}

/// `consent` only takes `true`: anything else is refused.
fn consent_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Boolean)
        .enum_values(Some([true]))
        .description(Some(
            "L'accord pour recevoir la lettre d'information, une fois par mois : seul `true` inscrit. La date et la version du texte d'accord sont enregistrées.",
        ))
        .build()
}

/// The same answer for a new, pending, confirmed or unsubscribed address.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "La même réponse pour une adresse nouvelle, en attente, confirmée ou désinscrite.", as = NewsletterSubscriptionAccepted)]
struct Accepted {
    /// Toujours `pending_confirmation`, que l'adresse soit nouvelle ou déjà connue.
    #[schema(example = "pending_confirmation")]
    status: &'static str,
    /// Ce qu'il reste à faire, en français.
    message: &'static str,
}

const ACCEPTED: Accepted = Accepted {
    status: "pending_confirmation",
    message: "Merci ! Un e-mail de confirmation va être envoyé à cette adresse : ouvrez le lien qu'il contient pour confirmer votre inscription.",
};

pub(crate) struct Subscription {
    email: EmailAddress,
    source: Option<String>,
}

pub(crate) fn validate(body: SubscribeBody) -> Result<Subscription, Vec<FieldError>> {
    let mut invalid = Vec::new();
    let email = EmailAddress::parse(&body.email);
    if email.is_err() {
        invalid.push(FieldError {
            field: "email".into(),
            message: "Indiquez une adresse e-mail valide, par exemple prenom.nom@exemple.fr."
                .into(),
        });
    }
    if !body.consent {
        invalid.push(FieldError {
            field: "consent".into(),
            message: "Acceptez de recevoir la lettre d'information (\"consent\": true) pour vous inscrire.".into(),
        });
    }
    let source = consent::parse_source(body.source.as_deref()).unwrap_or_else(|message| {
        invalid.push(FieldError {
            field: "source".into(),
            message: message.into(),
        });
        None
    });
    match email {
        Ok(email) if invalid.is_empty() => Ok(Subscription { email, source }),
        _ => Err(invalid),
    }
}

#[utoipa::path(
    post,
    path = "/v1/newsletter",
    tag = "newsletter",
    operation_id = "newsletter_subscribe",
    summary = "S'inscrire à la lettre d'information",
    description = "Enregistre l'accord et envoie un e-mail de confirmation (double opt-in) : l'inscription ne compte qu'une fois le lien de cet e-mail ouvert, dans les 7 jours. La réponse est la même que l'adresse soit nouvelle, en attente, déjà confirmée ou désinscrite ; pour une même adresse, un nouvel e-mail part au plus toutes les 10 minutes, et jamais pour une adresse déjà confirmée.",
    request_body(content = SubscribeBody, content_type = "application/json"),
    responses(
        (status = 202, description = "Demande prise en compte : un e-mail de confirmation va partir si l'adresse n'est pas déjà inscrite.", body = Accepted),
        (status = 400, description = "Champs invalides (`invalid_fields` : `email`, `consent` différent de `true`, `source`, chacun nommé dans `fields`), ou corps illisible (`malformed_json`, `unknown_field`, `missing_field`, `invalid_type`).", body = shared::http::ApiError),
    )
)]
pub async fn handle(app: &Newsletter, request: &Request) -> Response<Body> {
    let subscription = match http::parse_json::<SubscribeBody>(request)
        .and_then(|body| validate(body).map_err(ApiError::invalid_fields))
    {
        Ok(subscription) => subscription,
        Err(error) => return error.respond(),
    };
    match record(app, &subscription, Utc::now()).await {
        Ok(()) => http::json(StatusCode::ACCEPTED, &ACCEPTED),
        Err(error) => error.respond(),
    }
}

#[tracing::instrument(skip_all)]
pub(crate) async fn record(
    app: &Newsletter,
    subscription: &Subscription,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let id = app.keyring.addresses.id_of(&subscription.email);
    let subscriber = Key::newsletter_subscriber(&id);
    let token = app.keyring.tokens.issue(
        Purpose::NewsletterConfirm,
        id.as_str(),
        now,
        CONFIRMATION_WINDOW,
    );
    let confirm_url = app
        .links
        .api(&format!("/v1/newsletter/confirm?token={token}"));
    let outbox = OutboxMail::new(
        subscriber.clone(),
        MailContent::NewsletterConfirmation { confirm_url },
        now,
    );
    let consent = Consent::given(now, CONSENT_TEXT_VERSION, subscription.source.as_deref());

    let update = Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(subscriber.attributes()))
        .update_expression(
            "SET email = :email, #status = :pending, consent = :consent, confirmation_sent_at = :now, \
             #ttl = :expires, updated_at = :now_text, created_at = if_not_exists(created_at, :now_text)",
        )
        // New, unsubscribed or expired-pending addresses start (again); a confirmed
        // one is left alone, and a pending one only once the resend delay is over.
        .condition_expression(
            "attribute_not_exists(pk) OR (#status <> :confirmed AND \
             (attribute_not_exists(confirmation_sent_at) OR confirmation_sent_at < :resend_before))",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":email", AttributeValue::S(subscription.email.as_str().to_owned()))
        .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
        .expression_attribute_values(":confirmed", AttributeValue::S("confirmed".into()))
        .expression_attribute_values(":consent", serde_dynamo::to_attribute_value(&consent).map_err(store::StoreError::from)?)
        .expression_attribute_values(":now", number(now.timestamp()))
        .expression_attribute_values(":now_text", AttributeValue::S(consent.given_at.clone()))
        .expression_attribute_values(":expires", number((now + CONFIRMATION_WINDOW).timestamp()))
        .expression_attribute_values(":resend_before", number((now - RESEND_AFTER).timestamp()))
        .build()
        .map_err(store::StoreError::from)?;

    let result = app
        .store
        .transact(vec![
            TransactWriteItem::builder().update(update).build(),
            outbox.transact_put(&app.store.table)?,
        ])
        .await;
    match result {
        Ok(_) => {
            tracing::info!(
                subscriber = id.as_str(),
                mail = outbox.id,
                "newsletter confirmation queued"
            );
            Ok(())
        }
        // Already confirmed, or a confirmation mail went out moments ago: nothing to do.
        Err(error)
            if store::cancellation_reasons(&error)
                .is_some_and(|r| r.first().is_some_and(store::is_condition_failure)) =>
        {
            tracing::info!(
                subscriber = id.as_str(),
                "newsletter subscription unchanged"
            );
            Ok(())
        }
        Err(error) => Err(store::StoreError::from(error).into()),
    }
}

pub(crate) fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(email: &str, consent: bool, source: Option<&str>) -> SubscribeBody {
        SubscribeBody {
            email: email.into(),
            consent,
            source: source.map(str::to_owned),
        }
    }

    fn invalid_fields(body: SubscribeBody) -> Vec<String> {
        validate(body)
            .err()
            .unwrap()
            .into_iter()
            .map(|f| f.field)
            .collect()
    }

    #[test]
    fn a_valid_subscription_is_normalised() {
        let subscription = validate(body(" Lea@Exemple.FR ", true, Some(" tv-2026 ")))
            .ok()
            .unwrap();
        assert_eq!(subscription.email.as_str(), "lea@exemple.fr");
        assert_eq!(subscription.source.as_deref(), Some("tv-2026"));
    }

    #[test]
    fn every_invalid_field_is_named() {
        assert_eq!(
            invalid_fields(body("lea", false, Some("<script>"))),
            ["email", "consent", "source"]
        );
        assert_eq!(
            invalid_fields(body("lea@exemple.fr", false, None)),
            ["consent"]
        );
        assert_eq!(
            invalid_fields(body("lea@exemple.fr", true, Some(&"a".repeat(65)))),
            ["source"]
        );
    }
}
