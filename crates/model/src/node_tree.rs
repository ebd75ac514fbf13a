//! Reading a run's Argo-shaped nodes: the step that failed, and the tree in start order.

use std::collections::{BTreeMap, HashSet};

use crate::{NodeReport, RunStatusReport};

/// One node of the tree, with how deep it sits under the roots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeNode<'a> {
    pub id: &'a str,
    pub depth: usize,
    pub node: &'a NodeReport,
}

impl RunStatusReport {
    /// Why a failed run failed: the first failed leaf (a pod, or a node with no children) in
    /// start order that has a message, else the first failed leaf, as `step: message`. `None` unless the run failed or errored.
    pub fn failure(&self) -> Option<String> {
        if !self.phase.is_failure() {
            return None;
        }
        let tree = self.tree();
        let mut failed = tree
            .iter()
            .map(|entry| entry.node)
            .filter(|node| node.phase.is_failure() && is_leaf(node));
        let first = failed.clone().next()?;
        // An attempt without a message says less than a later one that has it.
        let leaf = failed
            .find(|node| node.message.as_deref().is_some_and(|m| !m.is_empty()))
            .unwrap_or(first);
        let step = step_name(leaf);
        Some(match leaf.message.as_deref().filter(|m| !m.is_empty()) {
            Some(message) => format!("{step}: {}", reason(message)),
            None => format!("{step}: {}", leaf.phase.as_str()),
        })
    }

    /// The nodes depth first, children under their parent, siblings in start order (as
    /// `argo get` prints them). Nodes no other node lists as a child are roots.
    pub fn tree(&self) -> Vec<TreeNode<'_>> {
        let listed: HashSet<&str> = self
            .nodes
            .values()
            .flat_map(|node| node.children.iter().map(String::as_str))
            .collect();
        let mut roots: Vec<&str> = self
            .nodes
            .keys()
            .map(String::as_str)
            .filter(|id| !listed.contains(id))
            .collect();
        sort_by_start(&self.nodes, &mut roots);
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut seen = HashSet::new();
        let mut stack: Vec<(&str, usize)> = roots.into_iter().rev().map(|id| (id, 0)).collect();
        while let Some((id, depth)) = stack.pop() {
            // A malformed report may list a node twice or in a cycle; show it once.
            let Some(node) = self.nodes.get(id).filter(|_| seen.insert(id)) else {
                continue;
            };
            out.push(TreeNode { id, depth, node });
            let mut children: Vec<&str> = node.children.iter().map(String::as_str).collect();
            sort_by_start(&self.nodes, &mut children);
            stack.extend(children.into_iter().rev().map(|child| (child, depth + 1)));
        }
        out
    }
}

fn is_leaf(node: &NodeReport) -> bool {
    node.node_type == "Pod" || node.children.is_empty()
}

/// The step's display name without the attempt suffix a retry adds (`discover(1)`).
/// The reason in a step's message: the local engine's `Error (exit code 78): <stderr tail>`
/// ends with `run_job`'s line `error: <job> failed: permanent: process: <why>`, of which
/// `<why>` is what a person needs; any other message is kept whole.
fn reason(message: &str) -> &str {
    let Some(tail) = message
        .strip_prefix("Error (exit code ")
        .and_then(|rest| rest.split_once("): "))
        .map(|(_, tail)| tail)
    else {
        return message;
    };
    let Some(line) = tail.lines().rev().find(|line| line.contains(" failed: ")) else {
        return tail.trim();
    };
    let after = line
        .split_once(" failed: ")
        .map_or(line, |(_, after)| after);
    let why = ["permanent: ", "transient, may be retried: "]
        .iter()
        .find_map(|kind| after.strip_prefix(kind))
        .unwrap_or(after);
    ["pre: ", "process: ", "post: "]
        .iter()
        .find_map(|phase| why.strip_prefix(phase))
        .unwrap_or(why)
        .trim()
}

pub fn step_name(node: &NodeReport) -> &str {
    let name = node.display_name.as_deref().unwrap_or(&node.name);
    match name
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once('('))
    {
        Some((step, attempt))
            if !attempt.is_empty() && attempt.bytes().all(|b| b.is_ascii_digit()) =>
        {
            step
        }
        _ => name,
    }
}

fn sort_by_start(nodes: &BTreeMap<String, NodeReport>, ids: &mut [&str]) {
    // Not started yet sorts last; the name keeps the order stable.
    ids.sort_by_key(|id| {
        nodes.get(*id).map(|node| {
            (
                node.started_at.is_none(),
                node.started_at,
                node.name.clone(),
            )
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunPhase;
    use chrono::{TimeZone, Utc};

    fn node(
        name: &str,
        node_type: &str,
        phase: RunPhase,
        at: u32,
        children: &[&str],
    ) -> NodeReport {
        NodeReport {
            name: format!("wf.{name}"),
            display_name: Some(name.to_owned()),
            node_type: node_type.to_owned(),
            phase,
            started_at: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, at).unwrap()),
            finished_at: None,
            message: None,
            retries: None,
            children: children.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    fn report() -> RunStatusReport {
        let mut failed = node("discover(1)", "Pod", RunPhase::Failed, 3, &[]);
        failed.message = Some("config: no password".into());
        let nodes = [
            (
                "wf",
                node("wf", "Steps", RunPhase::Failed, 0, &["retry", "notify"]),
            ),
            ("notify", node("notify", "Pod", RunPhase::Succeeded, 5, &[])),
            (
                "retry",
                node("discover", "Retry", RunPhase::Failed, 1, &["a1", "a0"]),
            ),
            ("a0", node("discover(0)", "Pod", RunPhase::Failed, 1, &[])),
            ("a1", failed),
        ];
        RunStatusReport {
            phase: RunPhase::Failed,
            started_at: None,
            finished_at: None,
            message: Some("child 'wf-1' failed".into()),
            nodes: nodes
                .into_iter()
                .map(|(id, n)| (id.to_owned(), n))
                .collect(),
        }
    }

    #[test]
    fn tree_puts_children_under_parents_in_start_order() {
        let report = report();
        let tree: Vec<(usize, &str)> = report.tree().iter().map(|t| (t.depth, t.id)).collect();
        assert_eq!(
            tree,
            [(0, "wf"), (1, "retry"), (2, "a0"), (2, "a1"), (1, "notify")]
        );
    }

    #[test]
    fn failure_names_the_first_failed_leaf_without_attempt_suffix() {
        let mut report = report();
        assert_eq!(
            report.failure().as_deref(),
            Some("discover: config: no password")
        );
        if let Some(attempt) = report.nodes.get_mut("a1") {
            attempt.message = None;
        }
        assert_eq!(report.failure().as_deref(), Some("discover: Failed"));
        report.phase = RunPhase::Succeeded;
        assert_eq!(report.failure(), None);
    }

    #[test]
    fn the_reason_of_a_local_engine_step_is_its_jobs_own_message() {
        let message =
            "Error (exit code 78): [sftp_discover] listing\nerror: sftp_discover failed: \
                       permanent: process: config: neither the secret private_key nor the secret \
                       password is set";
        assert_eq!(
            reason(message),
            "config: neither the secret private_key nor the secret password is set"
        );
        assert_eq!(reason("Error (exit code 3)"), "Error (exit code 3)");
        assert_eq!(reason("Error (exit code 1): killed"), "killed");
        assert_eq!(reason("child 'x' failed"), "child 'x' failed");
    }
}
