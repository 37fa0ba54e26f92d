//! A person's retention item, come due: what `shared::retention::step`
//! decides from their profile — look again later, warn them a month ahead
//! with a link to keep the account, or erase it as an erasure by link does.
//! Every write is conditioned on the due date as read: a second run finds
//! it moved and does nothing; an erasure run twice finishes once.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use shared::{
    erasure::{self, ErasureCause},
    mail::{MailContent, OutboxMail},
    people::{ProfileStatus, Role},
    retention::{RetentionItem, Standing, Step, keep_url, step},
    store::{Item, Key, StoreError, timestamp, transact_update},
    subject::SignupSubject,
};

use crate::{Reminders, follow_up::apply};

fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// What retention reads of a profile.
#[derive(Deserialize)]
struct Profile {
    role: Role,
    status: ProfileStatus,
    first_name: String,
    created_at: String,
    #[serde(default)]
    verified_at: Option<String>,
    #[serde(default)]
    last_active_at: Option<String>,
    #[serde(default)]
    pairs_held: u32,
    #[serde(default)]
    signup_subject: Option<String>,
}

impl Profile {
    fn last_active_at(&self) -> DateTime<Utc> {
        [&self.last_active_at, &self.verified_at]
            .into_iter()
            .flatten()
            .chain([&self.created_at])
            .filter_map(|at| at.parse().ok())
            .max()
            .unwrap_or_default()
    }
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    text.parse().ok()
}

/// Does the due retention item `item`; `false` when it only moved.
#[tracing::instrument(skip_all)]
pub async fn due(app: &Reminders, item: &Item, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let held: RetentionItem = serde_dynamo::from_item(item.clone())?;
    let on_time = || {
        Update::builder()
            .table_name(&app.store.table)
            .set_key(Some(Key::person_retention(&held.person_id).attributes()))
            .condition_expression("due_sk = :was")
            .expression_attribute_values(":was", text(&held.due_sk))
    };
    let Some(profile) = profile(app, &held.person_id).await? else {
        // A sign-up that expired unverified leaves its retention item behind.
        let delete = Delete::builder()
            .table_name(&app.store.table)
            .set_key(Some(Key::person_retention(&held.person_id).attributes()))
            .condition_expression("due_sk = :was")
            .expression_attribute_values(":was", text(&held.due_sk))
            .build()?;
        let write = TransactWriteItem::builder().delete(delete).build();
        apply(app, vec![write]).await?;
        return Ok(false);
    };
    let standing = Standing {
        last_active_at: profile.last_active_at(),
        in_use: Standing::in_use(profile.role, profile.status, profile.pairs_held),
        warned_at: held.warned_at.as_deref().and_then(instant),
    };
    match step(&app.retention, &standing, now) {
        Step::LookAt(at) => {
            // A warning still standing stays; activity since clears it.
            let warning_stands = !standing.in_use
                && standing
                    .warned_at
                    .is_some_and(|warned| standing.last_active_at <= warned);
            let expression = if warning_stands {
                "SET due_sk = :next"
            } else {
                "SET due_sk = :next REMOVE warned_at"
            };
            let update = on_time()
                .update_expression(expression)
                .expression_attribute_values(":next", text(timestamp(at)));
            apply(app, vec![transact_update(update)?]).await?;
            Ok(false)
        }
        Step::Warn { erased_on } => {
            let update = on_time()
                .update_expression("SET warned_at = :now, due_sk = :next")
                .expression_attribute_values(":now", text(timestamp(now)))
                .expression_attribute_values(":next", text(timestamp(erased_on)));
            let mail = OutboxMail::new(
                Key::person_profile(&held.person_id),
                MailContent::RetentionWarning {
                    first_name: profile.first_name.clone(),
                    erased_on: erased_on.format("%d/%m/%Y").to_string(),
                    keep_url: keep_url(&app.keyring, &app.links, &held.person_id, now),
                },
                now,
            )
            .transact_put(&app.store.table)?;
            let done = apply(app, vec![transact_update(update)?, mail]).await?;
            if done {
                tracing::info!(person = held.person_id, "idle account warned");
            }
            Ok(done)
        }
        Step::Erase => {
            let Some(subject) = profile
                .signup_subject
                .as_deref()
                .and_then(SignupSubject::decode)
            else {
                // Looked at again tomorrow rather than every run: someone must look.
                tracing::error!(person = held.person_id, "idle account without its subject");
                let update = on_time()
                    .update_expression("SET due_sk = :next")
                    .expression_attribute_values(":next", text(timestamp(now + Duration::days(1))));
                apply(app, vec![transact_update(update)?]).await?;
                return Ok(false);
            };
            // Claimed first, so that a keep clicked since the read wins.
            let claim = on_time()
                .update_expression("SET erasing_at = :now")
                .expression_attribute_values(":now", text(timestamp(now)));
            if !apply(app, vec![transact_update(claim)?]).await? {
                return Ok(false);
            }
            erasure::erase(&app.store, &subject, ErasureCause::Retention, now).await?;
            tracing::info!(person = held.person_id, "idle account erased");
            Ok(true)
        }
    }
}

#[tracing::instrument(skip_all)]
async fn profile(app: &Reminders, person_id: &str) -> Result<Option<Profile>, StoreError> {
    let output = app
        .store
        .client
        .get_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::person_profile(person_id).attributes()))
        .projection_expression(
            "#role, #status, first_name, created_at, verified_at, last_active_at, pairs_held, signup_subject",
        )
        .expression_attribute_names("#role", "role")
        .expression_attribute_names("#status", "status")
        .consistent_read(true)
        .send()
        .await?;
    Ok(match output.item {
        Some(item) => Some(serde_dynamo::from_item(item)?),
        None => None,
    })
}
