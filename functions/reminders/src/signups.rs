//! A pending sign-up's reminders: the address not confirmed after 48 hours
//! (a fresh link), the guardian of a mentee under 15 silent after 72 hours
//! (a fresh link to them, a note to the young person). Each once, in one
//! transaction conditioned on the due date as read.

use aws_sdk_dynamodb::types::{AttributeValue, Update};
use chrono::{DateTime, Utc};
use shared::{
    mail::{MailContent, OutboxMail},
    pending::{PendingSignup, SignupReminder},
    people::Guardian,
    store::{Item, Key, StoreError, timestamp, transact_update},
    tokens::Purpose,
};

use crate::{Reminders, follow_up::apply};

fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Does the due sign-up `item`; `false` when there was nothing to do.
#[tracing::instrument(skip_all)]
pub async fn due(app: &Reminders, item: &Item, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let signup: PendingSignup = serde_dynamo::from_item(item.clone())?;
    let Some(was) = signup.due_sk.clone() else {
        return Ok(false);
    };
    // Every write is conditioned on the due date as read.
    let on_time = || {
        Update::builder()
            .table_name(&app.store.table)
            .set_key(Some(Key::person_profile(&signup.id).attributes()))
            .condition_expression("due_sk = :was")
            .expression_attribute_values(":was", text(&was))
    };
    let expires = signup
        .ttl
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0));
    let (next, subject) = match (signup.next_reminder(), &signup.signup_subject, expires) {
        (Some(next), Some(subject), Some(expires)) if expires > now => (next, subject),
        // Verified, reminded, expired or without links: off the index.
        _ => {
            let update = on_time().update_expression("REMOVE due_pk, due_sk");
            return apply(app, vec![transact_update(update)?]).await;
        }
    };
    let (at, reminder) = next;
    if at > now {
        let update = on_time()
            .update_expression("SET due_sk = :next")
            .expression_attribute_values(":next", text(timestamp(at)));
        apply(app, vec![transact_update(update)?]).await?;
        return Ok(false);
    }
    let mut reminded = signup.clone();
    let attribute = match reminder {
        SignupReminder::Verification => {
            reminded.verification_reminded_at = Some(timestamp(now));
            "verification_reminded_at"
        }
        SignupReminder::Guardian => {
            reminded.guardian_reminded_at = Some(timestamp(now));
            "guardian_reminded_at"
        }
    };
    let update = match reminded.next_reminder() {
        Some((next, _)) => on_time()
            .update_expression(format!("SET {attribute} = :now, due_sk = :next"))
            .expression_attribute_values(":next", text(timestamp(next))),
        None => {
            on_time().update_expression(format!("SET {attribute} = :now REMOVE due_pk, due_sk"))
        }
    }
    .expression_attribute_values(":now", text(timestamp(now)));
    // A fresh link, as long as the sign-up lives.
    let lifetime = expires.map_or(chrono::Duration::zero(), |expires| expires - now);
    let table = &app.store.table;
    let mut writes = vec![transact_update(update)?];
    let profile = Key::person_profile(&signup.id);
    match reminder {
        SignupReminder::Verification => {
            let token = app
                .keyring
                .tokens
                .issue(Purpose::SignupVerify, subject, now, lifetime);
            writes.push(
                OutboxMail::new(
                    profile,
                    MailContent::SignupVerificationReminder {
                        role: signup.role,
                        first_name: signup.first_name.clone(),
                        verify_url: app.links.api(&format!("/v1/verify?token={token}")),
                    },
                    now,
                )
                .transact_put(table)?,
            );
        }
        SignupReminder::Guardian => {
            let Some(guardian) = guardian(app, &signup.id).await? else {
                let update = on_time().update_expression("REMOVE due_pk, due_sk");
                return apply(app, vec![transact_update(update)?]).await;
            };
            let token = app
                .keyring
                .tokens
                .issue(Purpose::GuardianConsent, subject, now, lifetime);
            writes.push(
                OutboxMail::new(
                    Key::person_guardian(&signup.id),
                    MailContent::GuardianConsentReminder {
                        guardian_name: guardian.name,
                        mentee_first_name: signup.first_name.clone(),
                        consent_url: app
                            .links
                            .api(&format!("/v1/guardian/consent?token={token}")),
                    },
                    now,
                )
                .transact_put(table)?,
            );
            writes.push(
                OutboxMail::new(
                    profile,
                    MailContent::GuardianReminded {
                        first_name: signup.first_name.clone(),
                    },
                    now,
                )
                .transact_put(table)?,
            );
        }
    }
    let done = apply(app, writes).await?;
    if done {
        tracing::info!(person = signup.id, ?reminder, "sign-up reminded");
    }
    Ok(done)
}

async fn guardian(app: &Reminders, person_id: &str) -> Result<Option<Guardian>, StoreError> {
    let item = app
        .store
        .client
        .get_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::person_guardian(person_id).attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    Ok(item.map(serde_dynamo::from_item).transpose()?)
}
