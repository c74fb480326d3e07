//! Checks on a `/metrics` scrape that both planes' suites make: every contract family is
//! described, and the text passes `promtool check metrics` where promtool is installed.

use std::io::Write;
use std::process::{Command, Stdio};

/// Every `(name, kind)` family has `# HELP` and `# TYPE`; then `promtool check metrics`
/// when installed (a note, not a failure, when it is not).
pub fn assert_families_described(text: &str, families: &[(&str, &str)]) {
    for (name, kind) in families {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# HELP {name} "))),
            "no HELP for {name}"
        );
        assert!(
            text.lines().any(|l| l == format!("# TYPE {name} {kind}")),
            "no TYPE {kind} for {name}"
        );
    }
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        println!("note: promtool not installed, `promtool check metrics` skipped");
        return;
    };
    child
        .stdin
        .take()
        .expect("promtool stdin")
        .write_all(text.as_bytes())
        .expect("writing to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
