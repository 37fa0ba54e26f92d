//! 2,000 sign-ups at concurrency 50 while everything fails a little (the
//! faults of `Settings::under_fire`: DynamoDB throttles, conflicts and 500s,
//! a throttled SES, stream deliveries killed mid-batch, the whole stack
//! killed and restarted halfway), from clients that retry with the same key
//! and addresses that sign up twice.

use binome_tests::spike::{self, Settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_under_faults_keeps_every_accepted_request_once_and_mails_it() {
    let data = tempfile::tempdir().unwrap();
    // Kept for a look afterwards when asked.
    let data = match std::env::var_os("BINOME_SPIKE_DATA") {
        Some(kept) => std::path::PathBuf::from(kept),
        None => data.path().to_path_buf(),
    };
    let settings = Settings::under_fire(2_000, 50);
    let report = spike::run(&settings, &data).await;
    println!("{report:#?}");

    let addresses = settings.addresses();
    assert_eq!(report.accepted, addresses, "every address accepted once");
    assert!(
        report
            .answers
            .keys()
            .all(|status| matches!(status, 202 | 429 | 503)),
        "only acceptances and refusals to retry: {:?}",
        report.answers
    );
    assert_eq!(report.refusals_without_retry_after, 0);
    assert_eq!(
        report.ids_changed, 0,
        "a retry gets the first answer; every profile was answered"
    );
    assert_eq!(report.profiles_not_one, 0, "one profile per address");
    assert_eq!(report.lost_mails, 0, "every queued mail written");
    assert!(
        report.duplicated_mails as u64 <= report.mailer_interruptions,
        "a mail twice only where a mailer died between its send and its record"
    );
    assert_eq!(
        report.counted_requests, addresses as i64,
        "the figures count each request once"
    );
    let (calls, throttled, conflicts, errors) = report.dynamodb_faults;
    assert!(
        calls > 0 && throttled > 0 && conflicts > 0 && errors > 0,
        "faults were injected"
    );
}
