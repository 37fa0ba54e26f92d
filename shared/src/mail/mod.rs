//! Mail. Nothing sends mail inline: a handler writes an [`OutboxMail`] in the
//! same transaction as the state change, and the `mailer` function renders and
//! sends it through a [`Mailer`].

mod content;
mod mailer;

pub use content::{AnswerLink, IssueMail, MailCategory, MailContent, RenderedMail, RequestSummary};
pub use mailer::{CAMPAIGN_TAG, Mailer, SendError, SesConfigurationSets};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::store::Key;

/// How long the record of a mail is kept (what was sent, when), then expired.
pub const OUTBOX_RETENTION: Duration = Duration::days(365);

/// Where a mail stands. Only `Queued` mails are sent; the mailer moves them on
/// with conditional writes so that no mail is sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    Queued,
    /// Claimed by a mailer until `lease_until`.
    Sending,
    Sent,
    /// The recipient no longer exists (erased, unsubscribed): nothing was sent.
    Dropped,
    /// The recipient's address bounced or complained: nothing was sent.
    Suppressed,
    /// Refused for good by the mail service (bad address, rejected content).
    Failed,
}

/// A mail waiting in the table. The recipient's address is not copied here:
/// the mailer reads it from the recipient's own item at send time, so an
/// erased person is never written to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxMail {
    pub pk: String,
    pub sk: String,
    pub id: String,
    /// The item holding the recipient's `email` attribute.
    pub recipient: Key,
    pub mail: MailContent,
    pub status: OutboxStatus,
    pub created_at: DateTime<Utc>,
    pub ttl: i64,
}

impl OutboxMail {
    pub fn new(recipient: Key, mail: MailContent, now: DateTime<Utc>) -> Self {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let key = Key::outbox_mail(&recipient, &id);
        Self {
            pk: key.pk,
            sk: key.sk,
            id,
            recipient,
            mail,
            status: OutboxStatus::Queued,
            created_at: now,
            ttl: (now + OUTBOX_RETENTION).timestamp(),
        }
    }

    /// The write that queues this mail inside a transaction (never over an existing mail).
    pub fn transact_put(
        &self,
        table: &str,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, crate::store::StoreError> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(table)
            .set_item(Some(serde_dynamo::to_item(self)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(put)
            .build())
    }

    pub fn key(&self) -> Key {
        Key {
            pk: self.pk.clone(),
            sk: self.sk.clone(),
        }
    }
}
