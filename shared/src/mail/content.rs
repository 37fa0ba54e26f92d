//! What each mail says. A mail is a variant of [`MailContent`] with its
//! parameters; it renders through two templates (text and HTML, the HTML one
//! escaped by askama) under `shared/templates/mail/`.

use askama::Template;
use serde::{Deserialize, Serialize};

/// SES configuration set a mail goes through: transactional mails and the
/// newsletter have separate reputations and event destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailCategory {
    Transactional,
    Newsletter,
}

/// Every mail binome sends, stored in outbox items as `{template, params}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "template", content = "params", rename_all = "snake_case")]
pub enum MailContent {
    NewsletterConfirmation { confirm_url: String },
    NewsletterWelcome { unsubscribe_url: String },
}

/// A mail ready to be put in an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub category: MailCategory,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// RFC 8058 one-click unsubscribe URL; every newsletter mail has one.
    pub unsubscribe_url: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/newsletter_confirmation.txt")]
struct NewsletterConfirmationText<'a> {
    confirm_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/newsletter_confirmation.html")]
struct NewsletterConfirmationHtml<'a> {
    confirm_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/newsletter_welcome.txt")]
struct NewsletterWelcomeText<'a> {
    unsubscribe_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/newsletter_welcome.html")]
struct NewsletterWelcomeHtml<'a> {
    unsubscribe_url: &'a str,
}

impl MailContent {
    pub fn render(&self) -> Result<RenderedMail, askama::Error> {
        Ok(match self {
            MailContent::NewsletterConfirmation { confirm_url } => RenderedMail {
                category: MailCategory::Transactional,
                subject: "Confirmez votre inscription à la lettre de binome".into(),
                text: NewsletterConfirmationText { confirm_url }.render()?,
                html: NewsletterConfirmationHtml { confirm_url }.render()?,
                unsubscribe_url: None,
            },
            MailContent::NewsletterWelcome { unsubscribe_url } => RenderedMail {
                category: MailCategory::Newsletter,
                subject: "Bienvenue dans la lettre de binome".into(),
                text: NewsletterWelcomeText { unsubscribe_url }.render()?,
                html: NewsletterWelcomeHtml { unsubscribe_url }.render()?,
                unsubscribe_url: Some(unsubscribe_url.clone()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "https://exemple.fr/?t=\"><script>alert(1)</script>";

    #[test]
    fn values_are_escaped_in_html_and_left_alone_in_text() {
        let rendered = MailContent::NewsletterConfirmation {
            confirm_url: HOSTILE.into(),
        }
        .render()
        .unwrap();
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(
            rendered.html.contains("&#60;script&#62;") || rendered.html.contains("&lt;script&gt;")
        );
        assert!(rendered.text.contains(HOSTILE));
    }

    #[test]
    fn newsletter_mails_carry_an_unsubscribe_link_and_transactional_ones_do_not() {
        let welcome = MailContent::NewsletterWelcome {
            unsubscribe_url: "https://api.exemple.fr/v1/newsletter/unsubscribe?token=t".into(),
        }
        .render()
        .unwrap();
        assert_eq!(welcome.category, MailCategory::Newsletter);
        assert_eq!(
            welcome.unsubscribe_url.as_deref(),
            Some("https://api.exemple.fr/v1/newsletter/unsubscribe?token=t")
        );
        assert!(welcome.html.contains("Se désinscrire"));
        assert!(welcome.text.contains("unsubscribe?token=t"));

        let confirmation = MailContent::NewsletterConfirmation {
            confirm_url: "https://api.exemple.fr/c".into(),
        }
        .render()
        .unwrap();
        assert_eq!(confirmation.category, MailCategory::Transactional);
        assert_eq!(confirmation.unsubscribe_url, None);
    }

    #[test]
    fn content_is_stored_as_template_and_params() {
        let content = MailContent::NewsletterConfirmation {
            confirm_url: "u".into(),
        };
        let json = serde_json::to_value(&content).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"template": "newsletter_confirmation", "params": {"confirm_url": "u"}})
        );
    }
}
