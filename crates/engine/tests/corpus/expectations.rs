//! `tests/argo-examples.expect`: what each example of the corpus must do here. A file not
//! listed must reach Succeeded, the phase Argo's own e2e suite requires of every example.

use std::collections::BTreeMap;

/// What one example must do on the local engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Every workflow of the file ends in this phase.
    Phase(String),
    /// The engine refuses it before running, with a message containing this text.
    Refused(String),
    /// Not run: its outcome is random, it runs for minutes, or it needs what no machine here
    /// has (a Windows node).
    Skip,
    /// Argo's phase is `0` but the engine does not reach it yet: a known gap, with why.
    Gap(String),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub expect: Expect,
    pub why: String,
}

/// Reads the file: `<path> <Succeeded|Failed|Error|refused:TEXT|skip|gap[:PHASE]> [-- why]`.
pub fn load(text: &str) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (head, why) = match line.split_once(" -- ") {
            Some((h, w)) => (h.trim(), w.trim().to_owned()),
            None => (line, String::new()),
        };
        let (path, what) = head
            .split_once(char::is_whitespace)
            .unwrap_or_else(|| panic!("argo-examples.expect line {}: no expectation", n + 1));
        let what = what.trim();
        let expect = if let Some(text) = what.strip_prefix("refused:") {
            Expect::Refused(text.to_owned())
        } else if what == "skip" {
            Expect::Skip
        } else if what == "gap" {
            Expect::Gap("Succeeded".into())
        } else if let Some(phase) = what.strip_prefix("gap:") {
            Expect::Gap(phase.to_owned())
        } else if matches!(what, "Succeeded" | "Failed" | "Error") {
            Expect::Phase(what.to_owned())
        } else {
            panic!(
                "argo-examples.expect line {}: unknown expectation `{what}`",
                n + 1
            )
        };
        let previous = out.insert(path.to_owned(), Entry { expect, why });
        assert!(
            previous.is_none(),
            "argo-examples.expect lists {path} twice"
        );
    }
    out
}
