//! Keeps the documentation in step with the code: the README's configuration table,
//! `.env.example` and the environment variables the services read name the same set, and no
//! document points at a file outside the repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn is_variable(name: &str) -> bool {
    name.len() > 1
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Variables in the first column of the table under `## Configuration`, each in backticks
/// (`` `LOG_FORMAT` `` and `` `LOG_FORMAT=json` `` both name `LOG_FORMAT`).
fn readme_variables(readme: &str) -> BTreeSet<String> {
    let section = readme
        .split_once("\n## Configuration")
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .unwrap_or_default();
    let mut names = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let first_cell = row.split('|').nth(1).unwrap_or_default();
        for quoted in first_cell.split('`').skip(1).step_by(2) {
            let name = quoted.split('=').next().unwrap_or_default();
            if is_variable(name) {
                names.insert(name.to_string());
            }
        }
    }
    names
}

/// Variables `.env.example` sets, including the ones left commented out (`# NAME=...`).
fn env_example_variables(example: &str) -> BTreeSet<String> {
    example
        .lines()
        .map(|l| l.trim_start_matches('#').trim_start())
        .filter_map(|l| l.split_once('=').map(|(name, _)| name))
        .filter(|name| is_variable(name))
        .map(str::to_string)
        .collect()
}

/// Environment variable names the code reads: string literals shaped like a variable
/// (`A_B`, with an underscore) right after an environment read: `env.get(`,
/// `config::optional(env, `, `var: ` (in a configuration error), `std::env::var(`.
fn code_variables(source: &str) -> BTreeSet<String> {
    const READS: [&str; 4] = ["env,", "get(", "var(", "var:"];
    let mut names = BTreeSet::new();
    let mut offset = 0;
    while let Some(open) = source[offset..].find('"') {
        let start = offset + open + 1;
        let Some(len) = source[start..].find('"') else {
            break;
        };
        let literal = &source[start..start + len];
        let before = source[..start - 1].trim_end();
        if is_variable(literal)
            && literal.contains('_')
            && READS.iter().any(|r| before.ends_with(r))
        {
            names.insert(literal.to_string());
        }
        offset = start + len + 1;
    }
    names
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn missing(from: &BTreeSet<String>, to: &BTreeSet<String>) -> Vec<String> {
    from.difference(to).cloned().collect()
}

#[test]
fn readme_configuration_table_and_env_example_name_the_same_variables() {
    let readme = readme_variables(&read(&root().join("README.md")));
    let example = env_example_variables(&read(&root().join(".env.example")));
    // Guards against a parser that finds nothing and so agrees with everything.
    for known in ["CONTROL_DATABASE_URL", "MASTER_KEY", "POOL_MAX_TOTAL"] {
        assert!(readme.contains(known), "README table parse lost {known}");
        assert!(example.contains(known), ".env.example parse lost {known}");
    }
    assert_eq!(
        missing(&example, &readme),
        Vec::<String>::new(),
        "in .env.example but not in the README's configuration table"
    );
    assert_eq!(
        missing(&readme, &example),
        Vec::<String>::new(),
        "in the README's configuration table but not in .env.example"
    );
}

#[test]
fn every_variable_the_services_read_is_in_env_example() {
    let example = env_example_variables(&read(&root().join(".env.example")));
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let src = krate.expect("crate dir").path().join("src");
        if src.is_dir() {
            rust_sources(&src, &mut files);
        }
    }
    let mut read_by_code = BTreeSet::new();
    for file in &files {
        read_by_code.extend(code_variables(&read(file)));
    }
    assert!(
        read_by_code.contains("MASTER_KEY") && read_by_code.contains("POOL_MAX_TOTAL"),
        "the source scan found too little: {read_by_code:?}"
    );
    assert_eq!(
        missing(&read_by_code, &example),
        Vec::<String>::new(),
        "read by the code but not documented in .env.example"
    );
}

#[test]
fn a_variable_missing_from_either_side_is_reported() {
    let readme = "# X\n\n## Configuration\n\n| variable | meaning |\n|---|---|\n\
                  | `ONLY_README`, `BOTH=1` | x |\n\n## Next\n| `NOT_IN_TABLE` | y |\n";
    let example = "BOTH=2\n# ONLY_EXAMPLE=\n# a comment = not a variable\n";
    let (r, e) = (readme_variables(readme), env_example_variables(example));
    assert_eq!(missing(&r, &e), ["ONLY_README"]);
    assert_eq!(missing(&e, &r), ["ONLY_EXAMPLE"]);
    let code = r#"config::optional(env, "READ_HERE", 1); let s = "NOT_A_READ_X";"#;
    assert_eq!(
        code_variables(code).into_iter().collect::<Vec<_>>(),
        ["READ_HERE"]
    );
}

#[test]
fn no_document_points_outside_the_repository() {
    let mut docs = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
        let path = entry.expect("docs entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    for doc in docs {
        let text = read(&doc);
        // Spelt in two halves so a repository-wide grep for these finds only real citations.
        for outside in [concat!("SPEC", ".md"), concat!("..", "/shared")] {
            assert!(
                !text.contains(outside),
                "{} cites {outside}, which is not in the repository",
                doc.display()
            );
        }
    }
}

/// docs/API.md's feature table lists exactly the catalogue, with each plan's default as the
/// code has it (columns: feature, free, pro, enterprise, what it does).
#[test]
fn the_feature_table_in_the_api_document_is_the_catalogue() {
    use tenancy_core::domain::{Feature, Plan};
    let api = read(&root().join("docs/API.md"));
    let section = api
        .split_once("\n## Plans and features")
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .expect("docs/API.md has a `Plans and features` section");
    let mut documented = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`');
        let feature = Feature::parse(name)
            .unwrap_or_else(|e| panic!("docs/API.md documents a feature the code lacks: {e}"));
        for (column, plan) in [(2, Plan::Free), (3, Plan::Pro), (4, Plan::Enterprise)] {
            let want = if feature.default_for(plan) {
                "on"
            } else {
                "off"
            };
            assert_eq!(cells[column], want, "`{name}` on {plan}");
        }
        documented.insert(name.to_string());
    }
    let catalogue: BTreeSet<String> = Feature::TEXTS.iter().map(|s| s.to_string()).collect();
    assert_eq!(documented, catalogue, "features in docs/API.md");
}
