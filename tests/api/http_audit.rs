//! The official GraphQL-over-HTTP audit (npm `graphql-http`, pinned in tests/graphql-http)
//! against the running server: no error, no warning, no notice.

use std::path::Path;

use crate::helpers::{node_modules_in, spawn_app};

#[tokio::test]
async fn graphql_over_http_audit_passes_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphql-http");
    node_modules_in(&dir);
    let app = spawn_app().await;
    let url = app.url("/graphql");
    let output = tokio::process::Command::new("node")
        .arg("audit.mjs")
        .arg(&url)
        .current_dir(&dir)
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "audit failed:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(report.lines().last().unwrap_or("{}")).unwrap();
    assert_eq!(summary["error"], 0, "{report}");
    assert_eq!(summary["warn"], 0, "{report}");
    assert_eq!(summary["notice"], 0, "{report}");
    assert!(summary["ok"].as_u64().unwrap() >= 61, "{report}");
}
