//! The table, defined once. `create` builds it from this definition (local
//! stack, tests); `infra/template.yaml` declares the same, and a test proves
//! the two agree.

use aws_sdk_dynamodb::{
    Client,
    types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
        TimeToLiveSpecification,
    },
};

use super::StoreError;

/// A sparse global secondary index: only items that carry both key attributes appear in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDefinition {
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    /// Every index projects all attributes.
    pub indexes: &'static [Index],
    pub ttl_attribute: &'static str,
    pub stream_view: &'static str,
}

pub const TABLE: TableDefinition = TableDefinition {
    partition_key: "pk",
    sort_key: "sk",
    indexes: &[
        Index {
            name: super::keys::index::BY_ASSOCIATION,
            partition_key: "assoc_pk",
            sort_key: "assoc_sk",
        },
        Index {
            name: super::keys::index::BY_DUE_DATE,
            partition_key: "due_pk",
            sort_key: "due_sk",
        },
        Index {
            name: super::keys::index::BY_LIST,
            partition_key: "list_pk",
            sort_key: "list_sk",
        },
    ],
    ttl_attribute: "ttl",
    stream_view: "NEW_AND_OLD_IMAGES",
};

fn key_schema(partition_key: &str, sort_key: &str) -> Vec<KeySchemaElement> {
    [(partition_key, KeyType::Hash), (sort_key, KeyType::Range)]
        .into_iter()
        .map(|(name, key_type)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .expect("name and key type are set")
        })
        .collect()
}

/// Creates the table (on demand, streams, TTL) unless it exists.
pub async fn create_if_missing(client: &Client, name: &str) -> Result<(), StoreError> {
    match client.describe_table().table_name(name).send().await {
        Ok(_) => return Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) => {}
        Err(error) => return Err(error.into()),
    }
    let mut attributes = vec![TABLE.partition_key, TABLE.sort_key];
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(TABLE.partition_key, TABLE.sort_key)))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(TABLE.stream_view))
                .build()
                .expect("stream flag is set"),
        );
    for index in TABLE.indexes {
        attributes.extend([index.partition_key, index.sort_key]);
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("name, schema and projection are set"),
        );
    }
    for attribute in attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set"),
        );
    }
    request.send().await?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TABLE.ttl_attribute)
                .build()
                .expect("flag and attribute are set"),
        )
        .send()
        .await?;
    Ok(())
}
