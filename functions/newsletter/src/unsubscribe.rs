//! `/v1/newsletter/unsubscribe?token=`: `GET` shows a button and changes
//! nothing (mail scanners follow links); `POST` unsubscribes, whether it comes
//! from the button or from a mail client's RFC 8058 one-click request.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{SecondsFormat, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use shared::{
    campaign, campaign_store, http,
    keyring::AddressId,
    pages::{FormButton, Page},
    store::Key,
    tokens::Purpose,
};

use crate::Newsletter;

/// The link's token and the subscriber it names, when the token is valid.
fn verified_subject(app: &Newsletter, request: &Request) -> Option<(String, AddressId)> {
    let token = http::query_parameter(request, "token")?;
    let verified = app
        .keyring
        .tokens
        .verify(&token, Purpose::NewsletterUnsubscribe, Utc::now())
        .ok()?;
    Some((token, AddressId::from_trusted(verified.subject)))
}

fn invalid_link() -> Response<Body> {
    Page::new(
        "Ce lien de désinscription n'est pas valide.",
        &[
            "Il a peut-être expiré ou n'a pas été copié en entier.",
            "Utilisez le lien de désinscription de la dernière lettre reçue : il fonctionne toujours.",
        ],
    )
    .respond(StatusCode::BAD_REQUEST)
}

/// The issue whose link was followed, when there is one (counted on it).
fn campaign_of(request: &Request) -> Option<String> {
    http::query_parameter(request, "campaign").filter(|id| campaign::valid_id(id))
}

#[utoipa::path(
    get,
    path = "/v1/newsletter/unsubscribe",
    tag = "newsletter",
    operation_id = "newsletter_unsubscribe_page",
    summary = "Page de désinscription (lien de chaque lettre)",
    description = "Affiche un bouton « Me désinscrire » et ne change rien : les antivirus de messagerie suivent les liens. Le bouton envoie `POST /v1/newsletter/unsubscribe` avec les mêmes paramètres. Répond une page HTML.",
    params(
        ("token" = String, Query, description = "Le jeton signé du lien de désinscription (valable un an)."),
        ("campaign" = Option<String>, Query, description = "La lettre d'où vient le lien (12 chiffres hexadécimaux), pour compter la désinscription sur elle ; une autre valeur est ignorée.", example = "0a1b2c3d4e5f"),
    ),
    responses(
        (status = 200, description = "La page avec le bouton de désinscription.", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide : jeton absent, altéré, expiré ou d'un autre usage.", content_type = "text/html", body = String),
    )
)]
pub fn page(app: &Newsletter, request: &Request) -> Response<Body> {
    let Some((token, _)) = verified_subject(app, request) else {
        return invalid_link();
    };
    let campaign = campaign_of(request)
        .map(|id| format!("&campaign={id}"))
        .unwrap_or_default();
    Page::new(
        "Se désinscrire de la lettre de binome",
        &["Vous ne recevrez plus la lettre d'information mensuelle. Vous pourrez vous réinscrire quand vous le souhaitez."],
    )
    .with_form(FormButton {
        action: app.links.api(&format!(
            "/v1/newsletter/unsubscribe?token={token}{campaign}"
        )),
        label: "Me désinscrire".into(),
        hidden: vec![("List-Unsubscribe".into(), "One-Click".into())],
        secondary: false,
    })
    .respond(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/v1/newsletter/unsubscribe",
    tag = "newsletter",
    operation_id = "newsletter_unsubscribe",
    summary = "Se désinscrire en un clic",
    description = "Désinscrit l'adresse du lien et l'efface de la liste (il ne reste qu'un identifiant opaque avec les dates de l'accord et de son retrait). Sert le bouton de la page de désinscription comme la désinscription en un clic des messageries (RFC 8058, corps `List-Unsubscribe=One-Click`) : le corps n'est pas lu. Idempotent : un second envoi, ou une adresse déjà effacée, répond la même page. Répond une page HTML.",
    params(
        ("token" = String, Query, description = "Le jeton signé du lien de désinscription (valable un an)."),
        ("campaign" = Option<String>, Query, description = "La lettre d'où vient le lien (12 chiffres hexadécimaux) : la désinscription d'une personne abonnée et confirmée y est comptée une fois ; une autre valeur est ignorée.", example = "0a1b2c3d4e5f"),
    ),
    responses(
        (status = 200, description = "Désinscription faite (ou déjà faite).", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide : jeton absent, altéré, expiré ou d'un autre usage.", content_type = "text/html", body = String),
        (status = 503, description = "Service momentanément indisponible : page HTML, avec l'en-tête `Retry-After` ; rien n'a changé.", content_type = "text/html", body = String),
    )
)]
pub async fn handle(app: &Newsletter, request: &Request) -> Response<Body> {
    let Some((_, subject)) = verified_subject(app, request) else {
        return invalid_link();
    };
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    // The address is removed: an unsubscribed reader is kept only as an opaque
    // id with the dates of the consent and its withdrawal.
    let result = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::newsletter_subscriber(&subject).attributes()))
        .update_expression("SET #status = :unsubscribed, unsubscribed_at = :now REMOVE email, #ttl, confirmation_sent_at, list_pk, list_sk")
        .condition_expression("attribute_exists(pk)")
        .return_values(ReturnValue::AllOld)
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":unsubscribed", AttributeValue::S("unsubscribed".into()))
        .expression_attribute_values(":now", AttributeValue::S(now))
        .send()
        .await;
    match result {
        Ok(output) => {
            tracing::info!(subscriber = subject.as_str(), "newsletter unsubscribed");
            let was_confirmed = output
                .attributes
                .as_ref()
                .and_then(|old| old.get("status"))
                .and_then(|status| status.as_s().ok())
                .is_some_and(|status| status == "confirmed");
            if let (true, Some(campaign)) = (was_confirmed, campaign_of(request)) {
                count_unsubscribe(app, &campaign, subject.as_str()).await;
            }
        }
        // Nothing stored for this id (erased): there is nothing to unsubscribe.
        Err(error) if shared::store::condition_failed(&error) => {}
        Err(error) => {
            let error = shared::store::StoreError::from(error);
            tracing::error!(%error, "newsletter unsubscribe failed");
            return Page::unavailable("Nous n'avons pas pu vous désinscrire.");
        }
    }
    Page::new(
        "Vous êtes désinscrit·e.",
        &["Vous ne recevrez plus la lettre d'information de binome. Votre adresse a été effacée de notre liste."],
    )
    .respond(StatusCode::OK)
}

/// Counts the unsubscription on the issue it came from. Only the change
/// from confirmed counts, so a repeated click counts once.
async fn count_unsubscribe(app: &Newsletter, campaign: &str, subscriber: &str) {
    let shard = campaign_store::shard_of(subscriber);
    let counted = match campaign_store::count(&app.store.table, campaign, shard, "unsubscribed") {
        Ok(update) => app
            .store
            .transact(vec![update])
            .await
            .map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = counted {
        tracing::warn!(%error, campaign, "unsubscription not counted on its issue");
    }
}
