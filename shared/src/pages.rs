//! The small French HTML pages people open from a mail, in the site's
//! layout. One template, escaped by the template engine; each function
//! supplies its own texts.

use askama::Template;
use lambda_http::{Body, Response, http::StatusCode};

#[derive(Debug, Clone, Template)]
#[template(path = "page.html")]
pub struct Page {
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// One button each (accept, decline…).
    pub forms: Vec<FormButton>,
    /// A form of questions, posted with its answers.
    pub questionnaire: Option<Questionnaire>,
    pub link: Option<Link>,
}

/// Questions answered in one form that POSTs to `action`; re-shown with
/// the answers kept and each problem next to its question.
#[derive(Debug, Clone)]
pub struct Questionnaire {
    pub action: String,
    pub questions: Vec<Question>,
    pub submit: String,
}

/// One question: a choice among `options` (value, label), or free text when
/// there are none.
#[derive(Debug, Clone)]
pub struct Question {
    pub name: String,
    pub legend: String,
    pub options: Vec<(String, String)>,
    /// The value answered (kept when the form comes back with a problem).
    pub value: String,
    pub error: Option<String>,
}

/// A button that POSTs to `action`, so that following a link (as mail
/// scanners do) never acts by itself.
#[derive(Debug, Clone)]
pub struct FormButton {
    pub action: String,
    pub label: String,
    pub hidden: Vec<(String, String)>,
    /// Shown as an alternative to the page's main button.
    pub secondary: bool,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub href: String,
    pub label: String,
}

impl Page {
    pub fn new(heading: impl Into<String>, paragraphs: &[&str]) -> Self {
        Self {
            heading: heading.into(),
            paragraphs: paragraphs.iter().map(|p| (*p).to_owned()).collect(),
            forms: Vec::new(),
            questionnaire: None,
            link: None,
        }
    }

    pub fn with_form(mut self, form: FormButton) -> Self {
        self.forms.push(form);
        self
    }

    pub fn with_questionnaire(mut self, questionnaire: Questionnaire) -> Self {
        self.questionnaire = Some(questionnaire);
        self
    }

    pub fn with_link(mut self, href: impl Into<String>, label: impl Into<String>) -> Self {
        self.link = Some(Link {
            href: href.into(),
            label: label.into(),
        });
        self
    }

    /// The one failure page: a dependency failed, nothing was recorded, and
    /// the same link works again later. `heading` says what did not happen.
    pub fn unavailable(heading: &str) -> Response<Body> {
        let mut response = Page::new(
            heading,
            &["Le service est momentanément indisponible. Réessayez dans quelques minutes avec le même lien."],
        )
        .respond(StatusCode::SERVICE_UNAVAILABLE);
        response
            .headers_mut()
            .insert("retry-after", crate::http::RETRY_AFTER_SECONDS.into());
        response
    }

    /// The page as an HTTP response. Pages are reached through links holding
    /// tokens: never cached, never leaked through the Referer header.
    /// Opened from a mail, so by a link that carries a token: never indexed.
    pub fn respond(&self, status: StatusCode) -> Response<Body> {
        crate::site::unindexed(crate::site::html(status, self.render()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_html_escaped() {
        let html = Page::new("<script>alert(1)</script>", &["a < b & \"c\""])
            .with_link("https://exemple.fr/?a=1&b=\"2\"", "Retour")
            .render()
            .unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("\"2\""), "{html}");
    }
}
