//! The Grafana dashboard and the Prometheus alert rules under deploy/ name only metrics the
//! planes really export: a renamed family would otherwise leave a panel empty and an alert
//! silent without anyone noticing. Every family is registered at start-up, so freshly
//! spawned planes that have served no traffic are enough to check against.

use platform_harness::spawn_platform;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Series Prometheus makes itself for each scrape target, not exported by the services.
const PROMETHEUS_OWN: &[&str] = &["up"];

/// PromQL words that look like identifiers but are operators or modifiers.
const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];

/// Clauses whose parenthesised list names labels, not metrics.
const LABEL_CLAUSES: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn deploy(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every `expr` of the dashboard's panels.
fn dashboard_exprs() -> Vec<String> {
    let dashboard: serde_json::Value =
        serde_json::from_str(&deploy("grafana/dashboards/tenancy.json")).unwrap();
    let mut exprs = Vec::new();
    let mut stack = vec![&dashboard];
    // Walk the whole document: panels may sit inside collapsed rows.
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(e)) = m.get("expr") {
                    exprs.push(e.clone());
                }
                stack.extend(m.values());
            }
            serde_json::Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    exprs
}

/// Every `expr` of the alert rules: a one-line value or a `>-` block of deeper-indented lines.
/// (The file is written in these two forms only; promtool checks it is valid YAML.)
fn rule_exprs() -> Vec<String> {
    let text = deploy("prometheus/alerts.yml");
    let lines: Vec<&str> = text.lines().collect();
    let mut exprs = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(value) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let value = value.trim();
        if !value.starts_with('>') && !value.starts_with('|') {
            exprs.push(value.to_string());
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let block: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .map(|l| l.trim())
            .collect();
        exprs.push(block.join(" "));
    }
    exprs
}

/// The metric names a PromQL expression selects: identifiers outside strings, label
/// matchers, ranges and label lists that are not followed by `(` (functions, aggregations).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_list = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                // Neither nests; a `}` inside a quoted matcher value is not used here.
                while i < chars.len() && chars[i] != close {
                    i += 1;
                }
                i += 1;
            }
            '(' if skip_list => {
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                skip_list = false;
                i += 1;
            }
            '$' => {
                // A Grafana variable such as $__rate_interval or $job.
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let rest: String = chars[i..].iter().collect();
                let rest = rest.trim_start();
                let next_word: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // A call, or an aggregation written `sum by (job) (...)`.
                let applied = rest.starts_with('(') || ["by", "without"].contains(&&*next_word);
                if LABEL_CLAUSES.contains(&word.as_str()) {
                    skip_list = true;
                } else if !applied && !KEYWORDS.contains(&word.to_lowercase().as_str()) {
                    names.insert(word);
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                // A number, including exponents and durations such as 5m (never a name).
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// The families a scrape declares, by `# TYPE` line: name to kind.
fn families(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, k)| (n.to_string(), k.to_string()))
        .collect()
}

/// A histogram's series are `_bucket`, `_sum` and `_count` of its family; a summary's
/// `_sum` and `_count`.
fn exported(name: &str, families: &[(String, String)]) -> bool {
    families.iter().any(|(f, kind)| {
        f == name
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix) == Some(f.as_str())
                    && (kind == "histogram" || (kind == "summary" && *suffix != "_bucket"))
            })
    })
}

#[test]
fn the_expression_scanner_finds_metrics_and_nothing_else() {
    let names = metric_names(
        r#"histogram_quantile(0.95, sum by (job, le) (rate(a_bucket{job=~"$job", x="y)"}[5m])))
           / on (job) group_left sum without (route) (b_total offset 1h) > 0.9 and absent(c) or vector(1e3)"#,
    );
    let want: BTreeSet<String> = ["a_bucket", "b_total", "c"].map(String::from).into();
    assert_eq!(names, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_on_the_dashboard_and_in_the_alerts_is_exported() {
    let dashboard = dashboard_exprs();
    let rules = rule_exprs();
    // The files must not quietly lose their queries (a parse that finds nothing passes).
    assert!(
        dashboard.len() >= 20,
        "dashboard queries found: {}",
        dashboard.len()
    );
    assert!(rules.len() >= 5, "alert expressions found: {}", rules.len());

    let p = spawn_platform().await;
    let mut scraped = families(&p.app().get("/metrics").text().await);
    scraped.extend(families(&p.control().get("/metrics").text().await));

    let mut named = BTreeSet::new();
    for expr in dashboard.iter().chain(&rules) {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "no metric found in {expr}");
        named.extend(names);
    }
    let missing: Vec<&String> = named
        .iter()
        .filter(|n| !PROMETHEUS_OWN.contains(&n.as_str()) && !exported(n, &scraped))
        .collect();
    assert!(missing.is_empty(), "named but not exported: {missing:?}");
    // The dashboard covers both planes: one family each side at least.
    for family in [
        "tenant_resolution_total",
        "job_worker_up",
        "provisioning_queue_depth",
    ] {
        assert!(named.contains(family), "{family} is on no panel or rule");
    }
}
