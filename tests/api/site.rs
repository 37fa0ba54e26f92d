//! The site in a real browser: `web/tests/run.mjs` (playwright-core driving
//! Debian's Chromium, axe-core on every page) against a local stack started
//! here. Fails, never skips, when Node.js or Chromium is missing: the test
//! command's setup installs them.

use std::process::Command;

use binome_tests::root;

use crate::end_to_end::start_stack_throttled;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_use_the_site_in_a_browser_with_and_without_javascript() {
    let data = tempfile::tempdir().unwrap();
    let stack = start_stack_throttled(data.path(), local::gateway::Throttle::TEMPLATE).await;
    let script = root().join("web/tests/run.mjs");
    let outbox = stack.outbox_dir.clone();
    let base = stack.base_url.clone();
    let admin_key = stack.admin_key.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("BINOME_URL", base)
            .env("BINOME_OUTBOX", outbox)
            .env("BINOME_ADMIN_KEY", admin_key)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs (local/setup.sh installs the site's packages)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(
        output.status.success(),
        "the browser tests failed:\n{report}"
    );
}
