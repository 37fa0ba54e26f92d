//! The monthly newsletter's issues (campaigns): what a draft holds, how its
//! Markdown becomes a safe HTML part and a text part, which commands each
//! status accepts, and the message that carries a batch of recipients
//! through the queue. Pure: the functions that store and send use it.

use chrono::{DateTime, Utc};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

use crate::{http::FieldError, links::Links};

/// Unsubscribe links in mails keep working this long.
pub const UNSUBSCRIBE_LINK_LIFETIME: chrono::Duration = chrono::Duration::days(365);

/// The web version of an issue (the archive's page).
pub fn web_url(links: &Links, slug: &str) -> String {
    links.api(&format!("/v1/newsletter/issues/{slug}"))
}

/// A reader's one-click unsubscribe link; `campaign`: the issue it came with.
pub fn unsubscribe_url(links: &Links, token: &str, campaign: Option<&str>) -> String {
    let campaign = campaign
        .map(|id| format!("&campaign={id}"))
        .unwrap_or_default();
    links.api(&format!(
        "/v1/newsletter/unsubscribe?token={token}{campaign}"
    ))
}

/// Recipients per queue message: small enough for one invocation to send a
/// few messages well within its timeout at SES's slowest rate.
pub const BATCH_SIZE: usize = 100;
/// Attempts at one recipient before the send is recorded as failed.
pub const MAX_ATTEMPTS: u32 = 3;
/// Addresses a test send may go to.
pub const MAX_TEST_RECIPIENTS: usize = 10;
const SUBJECT_MAX: usize = 150;
const PREHEADER_MAX: usize = 200;
/// Longest body, in bytes (its request may be a little longer: [`MAX_REQUEST_BYTES`]).
const BODY_MAX: usize = 60_000;
/// Largest request that creates or edits a draft.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    /// Waiting for its `send_at`.
    Scheduled,
    Sending,
    Paused,
    Cancelled,
    /// Every recipient has an outcome (sent, failed or suppressed).
    Sent,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Scheduled => "scheduled",
            CampaignStatus::Sending => "sending",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Cancelled => "cancelled",
            CampaignStatus::Sent => "sent",
        }
    }

    /// The status in words, for messages to admins.
    pub fn label(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "brouillon",
            CampaignStatus::Scheduled => "programmée",
            CampaignStatus::Sending => "en cours d'envoi",
            CampaignStatus::Paused => "en pause",
            CampaignStatus::Cancelled => "annulée",
            CampaignStatus::Sent => "envoyée",
        }
    }

    /// Whether readers can see it in the archive (its mails carry the link).
    pub fn is_published(self) -> bool {
        matches!(
            self,
            CampaignStatus::Sending | CampaignStatus::Paused | CampaignStatus::Sent
        )
    }
}

/// What an admin asks of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Send { at: Option<DateTime<Utc>> },
    Pause,
    Resume,
    Cancel,
}

/// Why a command does not apply to a campaign in its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

/// The status a command leads to. A command that is already in effect
/// (sending a campaign that is sending, pausing a paused one) gives the same
/// status back, so that a retried request changes nothing.
pub fn apply(
    status: CampaignStatus,
    command: Command,
    now: DateTime<Utc>,
) -> Result<CampaignStatus, Refusal> {
    use CampaignStatus::*;
    let refused = |what: &str| Refusal {
        code: "campaign_status",
        message: format!("Impossible {what} une lettre {}.", status.label()),
    };
    match (command, status) {
        (Command::Send { at: Some(at) }, Draft | Scheduled) if at > now => Ok(Scheduled),
        (Command::Send { .. }, Draft | Scheduled) => Ok(Sending),
        (Command::Send { .. }, Sending | Sent) => Ok(status),
        (Command::Send { .. }, _) => Err(refused("d'envoyer")),
        (Command::Pause, Sending | Paused) => Ok(Paused),
        (Command::Pause, _) => Err(refused("de mettre en pause")),
        (Command::Resume, Paused) => Ok(Sending),
        (Command::Resume, Sending | Sent) => Ok(status),
        (Command::Resume, _) => Err(refused("de reprendre")),
        (Command::Cancel, Draft | Scheduled | Sending | Paused | Cancelled) => Ok(Cancelled),
        (Command::Cancel, Sent) => Err(refused("d'annuler")),
    }
}

/// An issue as an admin writes it (the limits in the schema are those
/// [`validate`] enforces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "Le contenu d'une lettre, à sa création ou à sa modification.",
    as = NewsletterIssueDraft
)]
pub struct Draft {
    /// L'objet de l'e-mail : une ligne de 1 à 150 caractères (espaces autour retirés).
    #[schema(
        pattern = "^\\s*\\S([^\\r\\n]{0,148}\\S)?\\s*$",
        example = "Lettre de décembre : 1 jeune, 1 mentor !"
    )]
    pub subject: String,
    /// Le texte d'aperçu affiché après l'objet par les messageries : une ligne de 200
    /// caractères au plus (espaces autour retirés ; vide, `null` ou absent : pas d'aperçu).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^\\s*(\\S([^\\r\\n]{0,198}\\S)?)?\\s*$")]
    pub preheader: Option<String>,
    /// Le contenu en Markdown (CommonMark, tableaux, texte barré ; le HTML est nettoyé) : non
    /// vide, 60 000 octets au plus (la requête entière : 64 Ko).
    #[schema(
        min_length = 1,
        max_length = 60000,
        pattern = "\\S",
        example = "# Les nouvelles du réseau\n\nUn binôme sur deux continue après six mois."
    )]
    pub body_markdown: String,
}

/// Checks a draft; every problem is named with its field.
pub fn validate(draft: Draft) -> Result<Draft, Vec<FieldError>> {
    let mut problems = Vec::new();
    let subject = draft.subject.trim().to_owned();
    let length = subject.chars().count();
    if length == 0 || length > SUBJECT_MAX || subject.contains(['\r', '\n']) {
        problems.push(FieldError {
            field: "subject".into(),
            message: format!("Indiquez un objet d'une ligne, de 1 à {SUBJECT_MAX} caractères."),
        });
    }
    let preheader = draft
        .preheader
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    if preheader
        .as_ref()
        .is_some_and(|p| p.chars().count() > PREHEADER_MAX || p.contains(['\r', '\n']))
    {
        problems.push(FieldError {
            field: "preheader".into(),
            message: format!(
                "Le texte d'aperçu tient sur une ligne de {PREHEADER_MAX} caractères au plus."
            ),
        });
    }
    if draft.body_markdown.trim().is_empty() || draft.body_markdown.len() > BODY_MAX {
        problems.push(FieldError {
            field: "body_markdown".into(),
            message: format!(
                "Écrivez le contenu de la lettre en Markdown (1 à {BODY_MAX} octets)."
            ),
        });
    }
    if problems.is_empty() {
        Ok(Draft {
            subject,
            preheader,
            body_markdown: draft.body_markdown,
        })
    } else {
        Err(problems)
    }
}

/// The two parts of an issue's body, from the same Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// Sanitised: no script, no event handler, no `javascript:` link.
    pub html: String,
    pub text: String,
}

fn markdown_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Renders the Markdown (CommonMark) and sanitises the HTML with ammonia:
/// only formatting tags, links with safe schemes, opened in a new context.
pub fn render(markdown: &str) -> Body {
    let mut unsafe_html = String::new();
    pulldown_cmark::html::push_html(
        &mut unsafe_html,
        Parser::new_ext(markdown, markdown_options()),
    );
    let html = ammonia::Builder::default()
        .url_schemes(["https", "http", "mailto"].into())
        .link_rel(Some("noopener noreferrer"))
        .clean(&unsafe_html)
        .to_string();
    Body {
        html,
        text: plain_text(markdown),
    }
}

/// The text part: paragraphs and headings as lines, list items with a
/// dash, each link followed by its address (a text reader cannot click).
fn plain_text(markdown: &str) -> String {
    let mut text = String::new();
    let mut links: Vec<String> = Vec::new();
    for event in Parser::new_ext(markdown, markdown_options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak => text.push(' '),
            Event::HardBreak => text.push('\n'),
            Event::Start(Tag::Item) => text.push_str("- "),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop() {
                    text.push_str(&format!(" ({url})"));
                }
            }
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::CodeBlock) => {
                text.push_str("\n\n");
            }
            Event::End(TagEnd::Item | TagEnd::TableRow | TagEnd::TableHead | TagEnd::List(_)) => {
                text.push('\n');
            }
            Event::End(TagEnd::TableCell) => text.push_str(" | "),
            Event::Rule => text.push_str("----\n\n"),
            _ => {}
        }
    }
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let mut out = lines.join("\n");
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    out.trim().to_owned()
}

/// The slug of an issue's web version: its subject in lower-case ASCII
/// words, then its id, which is what the archive looks it up by.
pub fn slug(subject: &str, id: &str) -> String {
    let words = slug::slugify(subject);
    let words: String = words.chars().take(60).collect();
    let words = words.trim_end_matches('-');
    if words.is_empty() {
        id.to_owned()
    } else {
        format!("{words}-{id}")
    }
}

/// The campaign id at the end of a slug.
pub fn id_of_slug(slug: &str) -> &str {
    slug.rsplit('-').next().unwrap_or(slug)
}

/// A date as French readers write it: « 1er décembre 2026 ».
pub fn french_date(at: DateTime<Utc>) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let day = match at.day() {
        1 => "1er".to_owned(),
        day => day.to_string(),
    };
    format!("{day} {} {}", MONTHS[at.month0() as usize], at.year())
}

/// A new campaign id: 12 hex digits, short enough for readable links.
pub fn new_id() -> String {
    let bytes: [u8; 6] = rand::random();
    hex::encode(bytes)
}

/// Whether `id` looks like a campaign id (checked before any read).
pub fn valid_id(id: &str) -> bool {
    id.len() == 12
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// One message of the send queue: recipients of one campaign, for one
/// start of its sending (`generation`: a resume starts a new one, and the
/// batches of an earlier one are dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendBatch {
    pub campaign: String,
    pub generation: u32,
    /// Address ids of confirmed subscribers.
    pub subscribers: Vec<String>,
}

/// The figures of a campaign, as admins read them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Les chiffres d'une lettre envoyée.")]
pub struct Counts {
    /// Abonné·es confirmé·es au début de l'envoi.
    pub recipients: u64,
    /// Destinataires dont l'envoi a commencé.
    pub queued: u64,
    pub sent: u64,
    /// Refusés par le service d'envoi, ou en échec après chaque tentative.
    pub failed: u64,
    /// Non envoyés : adresse bloquée ou désabonnée avant son tour.
    pub suppressed: u64,
    /// Tentatives échouées puis reprises.
    pub retried: u64,
    pub delivered: u64,
    pub bounced: u64,
    pub complained: u64,
    /// Lecteur·rices désabonné·es par le lien de cette lettre.
    pub unsubscribed: u64,
}

impl Counts {
    /// Counters kept per shard; `recipients` is on the campaign itself.
    pub const SHARDED: [&'static str; 9] = [
        "queued",
        "sent",
        "failed",
        "suppressed",
        "retried",
        "delivered",
        "bounced",
        "complained",
        "unsubscribed",
    ];

    /// Recipients with an outcome.
    pub fn settled(&self) -> u64 {
        self.sent + self.failed + self.suppressed
    }

    pub fn add(&mut self, counter: &str, value: u64) {
        let field = match counter {
            "queued" => &mut self.queued,
            "sent" => &mut self.sent,
            "failed" => &mut self.failed,
            "suppressed" => &mut self.suppressed,
            "retried" => &mut self.retried,
            "delivered" => &mut self.delivered,
            "bounced" => &mut self.bounced,
            "complained" => &mut self.complained,
            "unsubscribed" => &mut self.unsubscribed,
            _ => return,
        };
        *field += value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn nothing_executable_reaches_the_html_part() {
        let body = render(
            "# Bonjour\n\n<script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n[clic](javascript:alert(3)) et [site](https://binome.example/a)",
        );
        assert!(!body.html.contains("<script"), "{}", body.html);
        assert!(!body.html.contains("onerror"), "{}", body.html);
        assert!(!body.html.contains("javascript:"), "{}", body.html);
        assert!(body.html.contains("<h1>Bonjour</h1>"), "{}", body.html);
        assert!(
            body.html.contains("href=\"https://binome.example/a\""),
            "{}",
            body.html
        );
    }

    #[test]
    fn the_text_part_keeps_the_words_and_spells_out_links() {
        let body = render(
            "# Les nouvelles\n\nUn **binôme** sur deux\ncontinue.\n\n- premier\n- second\n\nLire [la suite](https://binome.example/suite).",
        );
        assert_eq!(
            body.text,
            "Les nouvelles\n\nUn binôme sur deux continue.\n\n- premier\n- second\n\nLire la suite (https://binome.example/suite)."
        );
    }

    #[test]
    fn commands_follow_the_status_and_a_retry_changes_nothing() {
        let now = Utc::now();
        use CampaignStatus::*;
        assert_eq!(apply(Draft, Command::Send { at: None }, now), Ok(Sending));
        let later = Some(now + Duration::hours(2));
        assert_eq!(
            apply(Draft, Command::Send { at: later }, now),
            Ok(Scheduled)
        );
        assert_eq!(
            apply(
                Draft,
                Command::Send {
                    at: Some(now - Duration::hours(1))
                },
                now
            ),
            Ok(Sending)
        );
        assert_eq!(apply(Sending, Command::Send { at: None }, now), Ok(Sending));
        assert_eq!(apply(Sending, Command::Pause, now), Ok(Paused));
        assert_eq!(apply(Paused, Command::Pause, now), Ok(Paused));
        assert_eq!(apply(Paused, Command::Resume, now), Ok(Sending));
        assert_eq!(apply(Paused, Command::Cancel, now), Ok(Cancelled));
        assert!(apply(Cancelled, Command::Send { at: None }, now).is_err());
        assert!(apply(Draft, Command::Pause, now).is_err());
        assert!(apply(Sent, Command::Cancel, now).is_err());
    }

    #[test]
    fn a_slug_reads_as_the_subject_and_leads_back_to_the_id() {
        let id = "0a1b2c3d4e5f";
        let slug = slug("Lettre de décembre : 1 jeune, 1 mentor !", id);
        assert_eq!(slug, "lettre-de-decembre-1-jeune-1-mentor-0a1b2c3d4e5f");
        assert_eq!(id_of_slug(&slug), id);
        assert!(valid_id(&new_id()));
        assert!(!valid_id("../../etc"));
    }

    #[test]
    fn a_draft_names_each_problem() {
        let problems = validate(Draft {
            subject: "  ".into(),
            preheader: Some("a\nb".into()),
            body_markdown: String::new(),
        })
        .unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["subject", "preheader", "body_markdown"]);
    }
}
