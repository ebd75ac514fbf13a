//! `polyphemus configs diff ID V1 V2`: a unified diff of two versions' config values.

use super::output::{colour_enabled, emit, format_json, print_json};
use super::Context;
use polyphemus_model::{ConfigId, ProjectName, VersionNumber};
use serde_json::{json, Value};
use similar::TextDiff;

pub async fn diff_versions(
    context: &Context,
    project: &ProjectName,
    config_id: ConfigId,
    from_version: VersionNumber,
    to_version: VersionNumber,
) -> anyhow::Result<()> {
    let (from, to) = tokio::try_join!(
        context
            .client
            .get_config_version(project, config_id, from_version),
        context
            .client
            .get_config_version(project, config_id, to_version),
    )?;
    let text = render_diff(
        &from.config,
        &to.config,
        &format!("config {config_id} version {from_version}"),
        &format!("config {config_id} version {to_version}"),
    );
    if context.json() {
        return print_json(&json!({
            "config_id": config_id,
            "from_version": from_version,
            "to_version": to_version,
            "changed": !text.is_empty(),
            "diff": text,
        }));
    }
    if text.is_empty() {
        return emit(&format!(
            "versions {from_version} and {to_version} of config {config_id} have the same values"
        ));
    }
    if colour_enabled() {
        emit(&colourize_diff(&text))
    } else {
        emit(&text)
    }
}

/// The unified diff of two JSON values pretty-printed (keys sorted), empty when equal.
pub fn render_diff(from: &Value, to: &Value, from_label: &str, to_label: &str) -> String {
    let from_text = format_json(from) + "\n";
    let to_text = format_json(to) + "\n";
    if from_text == to_text {
        return String::new();
    }
    TextDiff::from_lines(&from_text, &to_text)
        .unified_diff()
        .context_radius(3)
        .header(from_label, to_label)
        .to_string()
}

/// ANSI colours: removed lines red, added green, hunk headers cyan, file headers bold.
fn colourize_diff(text: &str) -> String {
    text.lines()
        .map(|line| {
            let code = if line.starts_with("---") || line.starts_with("+++") {
                "1"
            } else if line.starts_with("@@") {
                "36"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with('+') {
                "32"
            } else {
                return format!("{line}\n");
            };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_shows_the_changed_line() {
        let from = json!({"host": "a.example.org", "port": 22, "root": "/in"});
        let to = json!({"host": "b.example.org", "port": 22, "root": "/in"});
        let text = render_diff(&from, &to, "v1", "v2");
        assert!(text.starts_with("--- v1\n+++ v2\n@@ "), "{text}");
        assert!(
            text.contains("\n-  \"host\": \"a.example.org\",\n"),
            "{text}"
        );
        assert!(
            text.contains("\n+  \"host\": \"b.example.org\",\n"),
            "{text}"
        );
        assert!(text.contains("\n   \"port\": 22,\n"), "{text}");
    }

    #[test]
    fn equal_values_have_no_diff() {
        let value = json!({"a": [1, 2]});
        assert_eq!(render_diff(&value, &value, "v1", "v2"), "");
    }

    #[test]
    fn colours_wrap_whole_lines() {
        let coloured = colourize_diff("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n z\n");
        assert!(coloured.contains("\x1b[31m-x\x1b[0m\n"));
        assert!(coloured.contains("\x1b[32m+y\x1b[0m\n"));
        assert!(coloured.ends_with(" z\n"));
    }
}
