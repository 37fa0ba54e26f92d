//! The envelope and the transport. Both transports send the same RFC 5322
//! message built here: SES v2 as raw content, the file outbox as one `.eml`
//! per mail, so what a developer reads locally is what recipients get.

use std::path::PathBuf;

use aws_sdk_sesv2::{
    error::{DisplayErrorContext, SdkError},
    operation::send_email::SendEmailError,
    primitives::Blob,
    types::{Destination, EmailContent, MessageTag, RawMessage},
};
use lettre::message::{
    Mailbox, Message, MultiPart,
    header::{HeaderName, HeaderValue},
};

use super::{MailCategory, RenderedMail};
use crate::email::EmailAddress;

/// The SES message tag naming a newsletter issue; its events carry it back.
pub const CAMPAIGN_TAG: &str = "campaign";

/// SES configuration set per mail category.
#[derive(Debug, Clone)]
pub struct SesConfigurationSets {
    pub transactional: String,
    pub newsletter: String,
}

#[derive(Debug, Clone)]
enum Transport {
    Ses {
        client: aws_sdk_sesv2::Client,
        sets: SesConfigurationSets,
    },
    Files {
        dir: PathBuf,
        /// Print each mail's subject and links on standard output (local stack).
        announce: bool,
        /// Share of sends that fail as a throttled service would (fault injection).
        fault_rate: f64,
    },
}

#[derive(Debug, Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

/// Why a mail was not sent. Transient failures are retried (the stream
/// redelivers the record); permanent ones are recorded and never retried.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("transient send failure: {0}")]
    Transient(String),
    #[error("permanent send failure: {0}")]
    Permanent(String),
}

#[derive(Debug, thiserror::Error)]
#[error("MAIL_FROM is not a valid mailbox: {0}")]
pub struct InvalidSender(String);

impl Mailer {
    pub fn ses(
        client: aws_sdk_sesv2::Client,
        from: &str,
        sets: SesConfigurationSets,
    ) -> Result<Self, InvalidSender> {
        Ok(Self {
            from: parse_sender(from)?,
            transport: Transport::Ses { client, sets },
        })
    }

    pub fn files(
        dir: impl Into<PathBuf>,
        from: &str,
        announce: bool,
    ) -> Result<Self, InvalidSender> {
        Ok(Self {
            from: parse_sender(from)?,
            transport: Transport::Files {
                dir: dir.into(),
                announce,
                fault_rate: 0.0,
            },
        })
    }

    /// The file outbox failing `rate` of its sends with a transient error, as
    /// SES does when throttling: shows that callers retry and lose nothing.
    pub fn with_faults(mut self, rate: f64) -> Self {
        if let Transport::Files { fault_rate, .. } = &mut self.transport {
            *fault_rate = rate;
        }
        self
    }

    /// The RFC 5322 message: multipart/alternative text and HTML, and for the
    /// newsletter its `List-Id` and the RFC 8058 one-click unsubscribe headers.
    pub fn compose(
        &self,
        mail_id: &str,
        to: &EmailAddress,
        mail: &RenderedMail,
    ) -> Result<Vec<u8>, SendError> {
        let to: Mailbox = to
            .as_str()
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient is not a mailbox: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.as_str())
            .message_id(Some(format!("<{mail_id}@{}>", self.from.email.domain())))
            .date_now();
        if mail.category == MailCategory::Newsletter {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Id"),
                format!("La lettre de binome <lettre.{}>", self.from.email.domain()),
            ));
        }
        if let Some(url) = &mail.unsubscribe_url {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("message could not be built: {e}")))?;
        Ok(message.formatted())
    }

    /// Sends one mail; returns the transport's message id.
    #[tracing::instrument(skip_all)]
    pub async fn send(
        &self,
        mail_id: &str,
        to: &EmailAddress,
        mail: &RenderedMail,
    ) -> Result<String, SendError> {
        let raw = self.compose(mail_id, to, mail)?;
        match &self.transport {
            Transport::Ses { client, sets } => {
                let set = match mail.category {
                    MailCategory::Transactional => &sets.transactional,
                    MailCategory::Newsletter => &sets.newsletter,
                };
                let sent = client
                    .send_email()
                    .from_email_address(self.from.to_string())
                    .destination(Destination::builder().to_addresses(to.as_str()).build())
                    .content(
                        EmailContent::builder()
                            .raw(
                                RawMessage::builder()
                                    .data(Blob::new(raw))
                                    .build()
                                    .expect("data is set"),
                            )
                            .build(),
                    )
                    .configuration_set_name(set)
                    .set_email_tags(mail.campaign.as_ref().map(|campaign| {
                        vec![
                            MessageTag::builder()
                                .name(CAMPAIGN_TAG)
                                .value(campaign)
                                .build()
                                .expect("name and value are set"),
                        ]
                    }))
                    .send()
                    .await
                    .map_err(classify_ses_error)?;
                Ok(sent.message_id().unwrap_or_default().to_owned())
            }
            Transport::Files {
                dir,
                announce,
                fault_rate,
            } => {
                if *fault_rate > 0.0 && rand::random::<f64>() < *fault_rate {
                    return Err(SendError::Transient("injected fault: throttled".into()));
                }
                write_eml(dir, mail_id, &raw).await?;
                if *announce {
                    announce_mail(mail);
                }
                Ok(mail_id.to_owned())
            }
        }
    }
}

fn parse_sender(from: &str) -> Result<Mailbox, InvalidSender> {
    from.parse()
        .map_err(|e: lettre::address::AddressError| InvalidSender(e.to_string()))
}

/// Throttling and service faults are worth another try; a rejected message is not.
fn classify_ses_error(error: SdkError<SendEmailError>) -> SendError {
    let description = DisplayErrorContext(&error).to_string();
    match error.as_service_error() {
        Some(
            SendEmailError::MessageRejected(_)
            | SendEmailError::BadRequestException(_)
            | SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::NotFoundException(_),
        ) => SendError::Permanent(description),
        _ => SendError::Transient(description),
    }
}

/// Writes atomically so that a reader never sees half a mail. A second send
/// of the same mail gets its own file, as a recipient would get a second
/// message: nothing hides a duplicate.
async fn write_eml(dir: &std::path::Path, mail_id: &str, raw: &[u8]) -> Result<(), SendError> {
    let io = |e: std::io::Error| SendError::Transient(format!("writing to the outbox folder: {e}"));
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let partial = dir.join(format!(
        ".{mail_id}.{}.eml.partial",
        uuid::Uuid::new_v4().simple()
    ));
    tokio::fs::write(&partial, raw).await.map_err(io)?;
    // A hard link never replaces an existing file: two copies cannot race
    // into one name.
    let mut copy = 1;
    loop {
        let name = match copy {
            1 => format!("{mail_id}.eml"),
            n => format!("{mail_id}.{n}.eml"),
        };
        match tokio::fs::hard_link(&partial, dir.join(name)).await {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => copy += 1,
            Err(e) => return Err(io(e)),
        }
    }
    tokio::fs::remove_file(&partial).await.map_err(io)
}

/// Local only: the subject and the links, so a developer can click through.
/// The recipient is not printed.
fn announce_mail(mail: &RenderedMail) {
    println!("✉  {}", mail.subject);
    for link in mail
        .text
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("http"))
    {
        println!("   {link}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::MailContent;

    fn welcome() -> RenderedMail {
        MailContent::NewsletterWelcome {
            unsubscribe_url: "http://127.0.0.1:3000/v1/newsletter/unsubscribe?token=abc".into(),
        }
        .render()
        .unwrap()
    }

    #[test]
    fn newsletter_mails_have_one_click_unsubscribe_headers() {
        let mailer =
            Mailer::files("/unused", "binome <ne-pas-repondre@binome.example>", false).unwrap();
        let to = EmailAddress::parse("lecteur@exemple.fr").unwrap();
        let raw = String::from_utf8(mailer.compose("m1", &to, &welcome()).unwrap()).unwrap();
        assert!(
            raw.contains(
                "List-Unsubscribe: <http://127.0.0.1:3000/v1/newsletter/unsubscribe?token=abc>\r\n"
            ),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            "{raw}"
        );
        assert!(raw.contains("Message-ID: <m1@binome.example>"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("To: lecteur@exemple.fr"), "{raw}");
    }

    #[test]
    fn an_invalid_sender_is_refused_at_start() {
        assert!(Mailer::files("/unused", "not a mailbox", false).is_err());
    }
}
