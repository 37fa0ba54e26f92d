//! The site's pages on the State's design system (DSFR): one layout
//! (`templates/site/layout.html`), forms that work without JavaScript (a
//! plain POST re-renders the page with the values kept, each error next to
//! its field and in a summary that takes focus), and text pages. Each
//! function builds the pages of its own domain from these pieces.

use askama::Template;
use lambda_http::{Body, Response, http::StatusCode};

use crate::http::FieldError;

/// A page with one form.
#[derive(Debug, Clone, Template)]
#[template(path = "site/form.html")]
pub struct FormPage {
    pub title: String,
    pub intro: Vec<String>,
    /// A page to read before filling in the form (href, label).
    pub link: Option<(String, String)>,
    pub action: String,
    pub sections: Vec<Section>,
    pub submit: String,
    /// The summary at the top, in the order of the fields.
    pub errors: Vec<SummaryError>,
}

/// A group of fields under its heading (a step of the form).
#[derive(Debug, Clone)]
pub struct Section {
    pub id: Option<String>,
    pub legend: String,
    pub hint: Option<String>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone)]
pub enum Field {
    Text(TextField),
    Choice(ChoiceField),
    Select(SelectField),
    /// A field people do not see and bots fill in.
    Trap(String),
}

#[derive(Debug, Clone)]
pub struct TextField {
    pub name: String,
    pub label: String,
    pub hint: Option<String>,
    /// `text`, `email`, `tel`, `date`, `number` or `textarea`.
    pub kind: &'static str,
    pub value: String,
    pub max_length: usize,
    pub autocomplete: Option<&'static str>,
    pub input_mode: Option<&'static str>,
    pub required: bool,
    pub error: Option<String>,
}

impl TextField {
    pub fn new(name: &str, label: &str, kind: &'static str, value: &str) -> Self {
        Self {
            name: name.to_owned(),
            label: label.to_owned(),
            hint: None,
            kind,
            value: value.to_owned(),
            max_length: 120,
            autocomplete: None,
            input_mode: None,
            required: false,
            error: None,
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_owned());
        self
    }

    pub fn autocomplete(mut self, autocomplete: &'static str) -> Self {
        self.autocomplete = Some(autocomplete);
        self
    }

    pub fn input_mode(mut self, mode: &'static str) -> Self {
        self.input_mode = Some(mode);
        self
    }

    pub fn max_length(mut self, max: usize) -> Self {
        self.max_length = max;
        self
    }
}

/// Radio buttons (one answer) or checkboxes (several).
#[derive(Debug, Clone)]
pub struct ChoiceField {
    pub name: String,
    pub legend: String,
    pub hint: Option<String>,
    pub options: Vec<Choice>,
    pub multiple: bool,
    pub inline: bool,
    pub required: bool,
    pub error: Option<String>,
}

impl ChoiceField {
    /// `options` as (value, label); those in `checked` are ticked.
    pub fn new(
        name: &str,
        legend: &str,
        options: &[(&str, &str)],
        checked: &[String],
        multiple: bool,
    ) -> Self {
        Self {
            name: name.to_owned(),
            legend: legend.to_owned(),
            hint: None,
            options: choices(options, checked),
            multiple,
            inline: false,
            required: false,
            error: None,
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_owned());
        self
    }

    pub fn inline(mut self) -> Self {
        self.inline = true;
        self
    }
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub hint: Option<String>,
    pub checked: bool,
}

fn choices(options: &[(&str, &str)], checked: &[String]) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, label)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            hint: None,
            checked: checked.iter().any(|c| c == value),
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct SelectField {
    pub name: String,
    pub label: String,
    pub hint: Option<String>,
    pub options: Vec<Choice>,
    pub value: String,
    pub required: bool,
    pub error: Option<String>,
}

impl SelectField {
    pub fn new(name: &str, label: &str, options: &[(&str, &str)], value: &str) -> Self {
        Self {
            name: name.to_owned(),
            label: label.to_owned(),
            hint: None,
            options: choices(options, &[value.to_owned()]),
            value: value.to_owned(),
            required: false,
            error: None,
        }
    }
}

/// One line of the error summary: a link to the field.
#[derive(Debug, Clone)]
pub struct SummaryError {
    pub anchor: String,
    pub label: String,
    pub message: String,
}

impl Field {
    fn name(&self) -> &str {
        match self {
            Field::Text(f) => &f.name,
            Field::Choice(f) => &f.name,
            Field::Select(f) => &f.name,
            Field::Trap(name) => name,
        }
    }

    fn label(&self) -> &str {
        match self {
            Field::Text(f) => &f.label,
            Field::Choice(f) => &f.legend,
            Field::Select(f) => &f.label,
            Field::Trap(name) => name,
        }
    }

    fn set_error(&mut self, message: String) {
        match self {
            Field::Text(f) => f.error = Some(message),
            Field::Choice(f) => f.error = Some(message),
            Field::Select(f) => f.error = Some(message),
            Field::Trap(_) => {}
        }
    }
}

impl FormPage {
    /// Puts each error next to its field (matched by name: a field of the
    /// API such as `guardian.email` is the page's `guardian_email`) and in
    /// the summary, in the order of the page. `message_for` may replace an
    /// API message (one naming codes) by the page's own words.
    pub fn with_errors(
        mut self,
        errors: &[FieldError],
        message_for: impl Fn(&str) -> Option<&'static str>,
    ) -> Self {
        let mut summary = Vec::new();
        for field in self.sections.iter_mut().flat_map(|s| s.fields.iter_mut()) {
            let name = field.name().to_owned();
            let Some(error) = errors.iter().find(|e| e.field.replace('.', "_") == name) else {
                continue;
            };
            let message = message_for(&name)
                .map(str::to_owned)
                .unwrap_or_else(|| error.message.clone());
            summary.push(SummaryError {
                anchor: name,
                label: field.label().to_owned(),
                message: message.clone(),
            });
            field.set_error(message);
        }
        self.errors = summary;
        self
    }

    pub fn respond(&self, status: StatusCode) -> Response<Body> {
        html(status, self.render())
    }
}

/// A page of text: headed sections of paragraphs, and links as buttons.
#[derive(Debug, Clone, Template)]
#[template(path = "site/text.html")]
pub struct TextPage {
    pub title: String,
    pub lead: Option<String>,
    pub sections: Vec<TextSection>,
    pub actions: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct TextSection {
    pub heading: String,
    pub paragraphs: Vec<String>,
}

impl TextPage {
    pub fn respond(&self, status: StatusCode) -> Response<Body> {
        html(status, self.render())
    }
}

/// The home page (its texts are the template's).
#[derive(Debug, Clone, Template)]
#[template(path = "site/home.html")]
pub struct HomePage;

/// What a page may load: its own origin's assets, nothing inline, nothing
/// from elsewhere; forms post to the same origin; no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page that search engines must not keep (its address carries a token).
pub fn unindexed(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(
        "x-robots-tag",
        lambda_http::http::HeaderValue::from_static("noindex, nofollow"),
    );
    response
}

/// A rendered page as the response, or a plain 500 if rendering failed.
pub fn html(status: StatusCode, rendered: Result<String, askama::Error>) -> Response<Body> {
    match rendered {
        Ok(html) => Response::builder()
            .status(status)
            .header("content-type", "text/html; charset=utf-8")
            .header("cache-control", "no-store")
            .header("referrer-policy", "no-referrer")
            .header("x-content-type-options", "nosniff")
            .header("content-security-policy", CONTENT_SECURITY_POLICY)
            .body(Body::Text(html))
            .expect("static headers are valid"),
        Err(error) => {
            tracing::error!(%error, "page rendering failed");
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .header("content-type", "text/plain; charset=utf-8")
                .body(Body::Text("Erreur interne".into()))
                .expect("static headers are valid")
        }
    }
}

/// The archive of the newsletter: published issues, newest first.
#[derive(Debug, Clone, Template)]
#[template(path = "site/issues.html")]
pub struct IssueList {
    /// (link, subject, date in words)
    pub issues: Vec<(String, String, String)>,
}

impl IssueList {
    pub fn respond(&self, status: StatusCode) -> Response<Body> {
        html(status, self.render())
    }
}

/// The web version of one issue.
#[derive(Debug, Clone, Template)]
#[template(path = "site/issue.html")]
pub struct IssuePage {
    pub subject: String,
    pub date: String,
    /// Sanitised by [`crate::campaign::render`]: the only HTML a page takes as is.
    pub body_html: String,
}

impl IssuePage {
    pub fn respond(&self, status: StatusCode) -> Response<Body> {
        html(status, self.render())
    }
}

/// The staff space's header on each of its pages: who is signed in, for
/// which association, its sections, and the sign-out button.
#[derive(Debug, Clone)]
pub struct SpaceNav {
    pub association_name: String,
    pub staff_name: String,
    pub role: &'static str,
    /// The session's CSRF token, carried by every form of the page.
    pub csrf: String,
    /// The section shown: `demandes`, `appariement`, `binomes`, `equipe`, `reglages`, `cles`
    /// or `journal`.
    pub current: &'static str,
    /// Association admins also see the team's management and the journal.
    pub admin: bool,
}

impl SpaceNav {
    pub fn new(
        signed_in: &crate::staff::SignedIn,
        association_name: &str,
        current: &'static str,
    ) -> Self {
        Self {
            association_name: association_name.to_owned(),
            staff_name: signed_in.account.name.clone(),
            role: signed_in.account.role.label(),
            csrf: signed_in.csrf().to_owned(),
            current,
            admin: signed_in.account.is_admin(),
        }
    }
}

/// The network admins' header on each of their pages.
#[derive(Debug, Clone)]
pub struct NetworkNav {
    pub staff_name: String,
    pub csrf: String,
    /// The section shown: `annuaire`, `attente` or `equipe`.
    pub current: &'static str,
}

impl NetworkNav {
    pub fn new(signed_in: &crate::staff::SignedIn, current: &'static str) -> Self {
        Self {
            staff_name: signed_in.account.name.clone(),
            csrf: signed_in.csrf().to_owned(),
            current,
        }
    }
}

/// A message inside the staff space: an action done, or refused.
#[derive(Debug, Clone, Template)]
#[template(path = "space/notice.html")]
pub struct SpaceNotice {
    pub nav: SpaceNav,
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// Where to go next (href, label).
    pub next: (String, String),
}

impl SpaceNotice {
    pub fn respond(&self, status: StatusCode) -> Response<Body> {
        unindexed(html(status, self.render()))
    }
}

/// A posted form (`application/x-www-form-urlencoded`, at most
/// [`crate::http::MAX_BODY_BYTES`]); `None` when it cannot be read.
pub fn posted<T: serde::de::DeserializeOwned>(request: &lambda_http::Request) -> Option<T> {
    let body = request.body().as_ref();
    if body.len() > crate::http::MAX_BODY_BYTES {
        return None;
    }
    serde_html_form::from_bytes(body).ok()
}

/// An instant as read in France: « 01/12/2026 à 23:05 », Paris time.
pub fn paris_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Paris)
        .format("%d/%m/%Y à %H:%M")
        .to_string()
}

/// A page's answer, or the one failure page when storage failed (its cause
/// logged once here); `heading` says what did not happen.
pub fn or_unavailable(
    answer: Result<Response<Body>, crate::store::StoreError>,
    heading: &str,
) -> Response<Body> {
    answer.unwrap_or_else(|error| {
        tracing::error!(%error, "page failed");
        crate::pages::Page::unavailable(heading)
    })
}

/// `303 See Other` to `location` (after a form's POST, or to sign in).
pub fn see_other(location: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .expect("a location from our own paths is a valid header")
}

/// To the sign-in page, coming back to `path` once signed in.
pub fn sign_in_first(path: &str) -> Response<Body> {
    let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
    see_other(&format!("/connexion?suite={next}"))
}
