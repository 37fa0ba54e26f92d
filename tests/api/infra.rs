//! The template and the code describe the same system: the same table, the
//! same routes, and a sample event for every route.

use std::collections::BTreeSet;

use binome_tests::root;
use serde_yaml_ng::Value;
use shared::store::{keys, table::TABLE};

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn strings(value: &Value) -> Vec<(String, String)> {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|entry| {
            let mapping = entry.as_mapping().unwrap();
            let mut fields = mapping.values().map(|v| v.as_str().unwrap().to_owned());
            (fields.next().unwrap(), fields.next().unwrap())
        })
        .collect()
}

#[test]
fn the_table_in_the_template_is_the_table_in_code() {
    let template = template();
    let table = &template["Resources"]["Table"]["Properties"];
    assert_eq!(
        strings(&table["KeySchema"]),
        [
            (TABLE.partition_key.to_owned(), "HASH".to_owned()),
            (TABLE.sort_key.to_owned(), "RANGE".to_owned())
        ]
    );
    let mut expected_attributes = vec![TABLE.partition_key, TABLE.sort_key];
    let indexes = table["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(indexes.len(), TABLE.indexes.len());
    for (declared, index) in indexes.iter().zip(TABLE.indexes) {
        assert_eq!(declared["IndexName"].as_str(), Some(index.name));
        assert_eq!(
            strings(&declared["KeySchema"]),
            [
                (index.partition_key.to_owned(), "HASH".to_owned()),
                (index.sort_key.to_owned(), "RANGE".to_owned())
            ]
        );
        assert_eq!(
            declared["Projection"]["ProjectionType"].as_str(),
            Some("ALL")
        );
        expected_attributes.extend([index.partition_key, index.sort_key]);
    }
    let declared_attributes: BTreeSet<(String, String)> = strings(&table["AttributeDefinitions"])
        .into_iter()
        .collect();
    let expected_attributes: BTreeSet<(String, String)> = expected_attributes
        .into_iter()
        .map(|a| (a.to_owned(), "S".to_owned()))
        .collect();
    assert_eq!(declared_attributes, expected_attributes);
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(TABLE.ttl_attribute)
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        table["StreamSpecification"]["StreamViewType"].as_str(),
        Some(TABLE.stream_view)
    );
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(table["DeletionProtectionEnabled"].as_bool(), Some(true));
}

/// The route keys the template gives a function (by its binary's name).
fn template_routes(binary: &str) -> BTreeSet<String> {
    let template = template();
    let function = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|resource| resource["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("no function builds {binary}"));
    function["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|event| event["Type"].as_str() == Some("HttpApi"))
        .map(|event| {
            let properties = &event["Properties"];
            format!(
                "{} {}",
                properties["Method"].as_str().unwrap(),
                properties["Path"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn every_route_the_code_serves_is_declared_and_has_a_sample_event() {
    let declared =
        |routes: &[&str]| -> BTreeSet<String> { routes.iter().map(|r| (*r).to_owned()).collect() };
    assert_eq!(template_routes("newsletter"), declared(newsletter::ROUTES));
    assert_eq!(template_routes("signup"), declared(signup::ROUTES));
    assert_eq!(template_routes("routing"), declared(routing::ROUTES));
    assert!(template_routes("mailer").is_empty());
    assert!(template_routes("routing-events").is_empty());
    assert_eq!(template_routes("matching"), declared(matching::ROUTES));
    assert!(template_routes("matching-events").is_empty());
    assert!(template_routes("campaigns").is_empty());
    assert!(template_routes("mail-events").is_empty());
    assert_eq!(template_routes("stats"), declared(stats::ROUTES));
    assert_eq!(template_routes("staff"), declared(staff::ROUTES));
    assert!(template_routes("stats-events").is_empty());
    let routes: BTreeSet<String> = [
        newsletter::ROUTES,
        signup::ROUTES,
        routing::ROUTES,
        matching::ROUTES,
        stats::ROUTES,
        staff::ROUTES,
    ]
    .into_iter()
    .flat_map(declared)
    .collect();

    let sampled: BTreeSet<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let event: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(entry.path()).ok()?).ok()?;
            event["routeKey"].as_str().map(str::to_owned)
        })
        .collect();
    assert!(
        routes.is_subset(&sampled),
        "routes without a sample event: {:?}",
        routes.difference(&sampled).collect::<Vec<_>>()
    );
}

fn stream_filter(function: &str, event: &str) -> serde_json::Value {
    let template = template();
    let pattern = template["Resources"][function]["Properties"]["Events"][event]["Properties"]
        ["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .unwrap()
        .to_owned();
    serde_json::from_str(&pattern).unwrap()
}

#[test]
fn the_routing_stream_filter_matches_what_routing_handles() {
    let pattern = stream_filter("RoutingEventsFunction", "VerifiedRequests");
    assert_eq!(
        pattern["eventName"],
        serde_json::json!(["INSERT", "MODIFY"])
    );
    let image = &pattern["dynamodb"]["NewImage"];
    assert_eq!(image["sk"]["S"], serde_json::json!([keys::sort::PROFILE]));
    assert_eq!(image["status"]["S"], serde_json::json!(["verified"]));

    let sample: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(binome_tests::event("routing-verified-mentee.json")).unwrap();
    assert!(routing::stream::is_verified_request(&sample.records[0]));
    let mut pending = sample.records[0].clone();
    pending.change.new_image = pending.change.old_image.clone();
    assert!(!routing::stream::is_verified_request(&pending));
}

#[test]
fn the_matching_stream_filter_matches_what_matching_handles() {
    let pattern = stream_filter("MatchingEventsFunction", "Runs");
    assert_eq!(pattern["eventName"], serde_json::json!(["INSERT"]));
    assert_eq!(
        pattern["dynamodb"]["NewImage"]["sk"]["S"],
        serde_json::json!([keys::sort::RUN])
    );
    let sample: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(binome_tests::event("matching-run-insert.json")).unwrap();
    assert!(matching::is_new_run(&sample.records[0]));
    let mut modified = sample.records[0].clone();
    modified.event_name = "MODIFY".into();
    assert!(!matching::is_new_run(&modified));
}

#[test]
fn the_routing_schedule_is_the_sample_event_s_shape() {
    let template = template();
    let sweep =
        &template["Resources"]["RoutingEventsFunction"]["Properties"]["Events"]["DailySweep"];
    assert_eq!(sweep["Type"].as_str(), Some("Schedule"));
    let sample = binome_tests::event("routing-daily-sweep.json");
    assert_eq!(sample["detail-type"], "Scheduled Event");
    assert_eq!(sample["source"], "aws.events");
}

#[test]
fn the_mailer_stream_filter_matches_what_the_mailer_handles() {
    let pattern = stream_filter("MailerFunction", "OutboxMails");
    assert_eq!(pattern["eventName"], serde_json::json!(["INSERT"]));
    assert_eq!(
        pattern["dynamodb"]["NewImage"]["sk"]["S"][0]["prefix"].as_str(),
        Some(keys::OUTBOX_PREFIX)
    );
}

#[test]
fn the_campaigns_stream_filter_matches_what_starts_a_campaign() {
    let pattern = stream_filter("CampaignsFunction", "CampaignStarts");
    assert_eq!(pattern["eventName"], serde_json::json!(["MODIFY"]));
    let image = &pattern["dynamodb"]["NewImage"];
    assert_eq!(image["sk"]["S"], serde_json::json!([keys::sort::CAMPAIGN]));
    assert_eq!(
        image["status"]["S"],
        serde_json::json!([shared::campaign::CampaignStatus::Sending.as_str()])
    );
}

#[test]
fn the_stats_stream_filter_lets_through_every_item_that_counts() {
    let pattern = stream_filter("StatsEventsFunction", "CountedItems");
    assert!(
        pattern.get("eventName").is_none(),
        "insertions, changes and removals all count"
    );
    assert_eq!(
        pattern["dynamodb"]["Keys"]["sk"]["S"],
        serde_json::json!(stats::facts::COUNTED_SORT_KEYS)
    );
    let sample: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(binome_tests::event("stats-pair-accepted.json")).unwrap();
    let change = &sample.records[0].change;
    let figures = stats::facts::change(Some(&change.old_image), Some(&change.new_image));
    assert!(!figures.live.is_empty(), "an accepted pair counts");
}

/// A Lambda function never links another: what two functions share lives
/// in `shared/`. Read from the workspace's own metadata.
#[test]
fn no_function_crate_depends_on_another() {
    let output = std::process::Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let functions = root().join("functions");
    let packages = metadata["packages"].as_array().unwrap();
    let is_function = |package: &&serde_json::Value| {
        package["manifest_path"]
            .as_str()
            .unwrap()
            .starts_with(functions.to_str().unwrap())
    };
    let names: BTreeSet<&str> = packages
        .iter()
        .filter(is_function)
        .map(|package| package["name"].as_str().unwrap())
        .collect();
    assert!(names.len() >= 5, "function crates found: {names:?}");
    for package in packages.iter().filter(is_function) {
        for dependency in package["dependencies"].as_array().unwrap() {
            let name = dependency["name"].as_str().unwrap();
            assert!(
                !names.contains(name),
                "{} depends on the function crate {name}",
                package["name"]
            );
        }
    }
}
