//! `docs/task-status-flow.md` is generated from `plans/*.plan`; this test fails when it is out of
//! date, naming the command that regenerates it.
//!
//! Without building the runtime, `PLAN_DOCS_WRITE=1 cargo test -p plan-meta --test docs_drift`
//! rewrites the file the same way.

use std::fs;
use std::path::Path;

#[test]
fn task_status_flow_doc_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let expected = plan_meta::task_status_flow_doc(root).unwrap_or_else(|e| panic!("{e}"));
    let path = root.join(plan_meta::DOCS_FILE);
    if std::env::var_os("PLAN_DOCS_WRITE").is_some() {
        fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = fs::read_to_string(&path)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    assert!(
        actual == expected,
        "{} is out of date with {}/*.plan.\nRegenerate it with:\n    {}\n(or, without building the runtime: PLAN_DOCS_WRITE=1 cargo test -p plan-meta --test docs_drift)",
        plan_meta::DOCS_FILE,
        plan_meta::PLANS_DIR,
        plan_meta::REGENERATE_DOCS,
    );
}

/// In `docs/plan-language.md`, each ```` ```plan ```` example must be valid, unless a
/// ```` ```text ```` block follows it: then that block is the example's errors, exactly.
#[test]
fn plan_language_examples_are_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/plan-language.md");
    let doc = fs::read_to_string(&path).unwrap().replace("\r\n", "\n");
    let lines: Vec<&str> = doc.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut stale = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        out.push(lines[i].to_string());
        if lines[i] != "```plan" {
            i += 1;
            continue;
        }
        let start = i + 1;
        let end = start
            + lines[start..]
                .iter()
                .position(|l| *l == "```")
                .expect("closed ```plan");
        let example = lines[start..end].join("\n") + "\n";
        out.extend(lines[start..=end].iter().map(|l| l.to_string()));
        i = end + 1;
        let mut next = i;
        while next < lines.len() && lines[next].is_empty() {
            next += 1;
        }
        let result = plan_meta::parse_and_validate(&example);
        if lines.get(next) != Some(&"```text") {
            if let Err(errors) = result {
                panic!(
                    "example at line {start} should be valid:\n{}",
                    plan_meta::render_all(&errors, &example, "example.plan")
                );
            }
            continue;
        }
        let errors = result.expect_err("an example followed by errors must have errors");
        let expected = plan_meta::render_all(&errors, &example, "example.plan");
        let close = next
            + 1
            + lines[next + 1..]
                .iter()
                .position(|l| *l == "```")
                .expect("closed ```text");
        let actual = lines[next + 1..close].join("\n") + "\n";
        if actual != expected {
            stale.push(start);
        }
        out.extend(lines[i..=next].iter().map(|l| l.to_string()));
        out.extend(expected.trim_end().lines().map(str::to_string));
        out.push("```".to_string());
        i = close + 1;
    }
    if std::env::var_os("PLAN_DOCS_WRITE").is_some() {
        fs::write(&path, out.join("\n") + "\n").unwrap();
        return;
    }
    assert!(
        stale.is_empty(),
        "docs/plan-language.md: the errors shown after the examples at lines {stale:?} are not what plan-meta reports.\nRewrite them with: PLAN_DOCS_WRITE=1 cargo test -p plan-meta --test docs_drift"
    );
}
