//! Text rendering of a Workflow object the way `argo get` shows it: a header and a node tree.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::Utc;

use crate::status::{fmt_time, NodeStatus, NodeType, Phase, WorkflowObject};

fn icon(p: Phase) -> &'static str {
    match p {
        Phase::Succeeded => "✔",
        Phase::Failed => "✖",
        Phase::Error => "⚠",
        Phase::Skipped | Phase::Omitted => "○",
        Phase::Pending => "◷",
        Phase::Running => "●",
    }
}

fn duration(n: &NodeStatus) -> String {
    let Some(start) = n.started_at else {
        return String::new();
    };
    let end = n.finished_at.unwrap_or_else(Utc::now);
    let secs = (end - start).num_milliseconds().max(0) as f64 / 1000.0;
    if secs < 60.0 {
        format!("{}s", secs.round())
    } else {
        format!("{}m{}s", (secs / 60.0).floor(), (secs % 60.0).round())
    }
}

struct Tree<'a> {
    nodes: &'a std::collections::BTreeMap<String, NodeStatus>,
    by_boundary: HashMap<&'a str, Vec<&'a NodeStatus>>,
}

impl<'a> Tree<'a> {
    fn children(&self, n: &'a NodeStatus) -> Vec<&'a NodeStatus> {
        let by_ids = |ids: &[String]| -> Vec<&'a NodeStatus> {
            ids.iter().filter_map(|c| self.nodes.get(c)).collect()
        };
        let bounded = self
            .by_boundary
            .get(n.id.as_str())
            .cloned()
            .unwrap_or_default();
        let mut out: Vec<&NodeStatus> = match n.node_type {
            NodeType::Steps => bounded
                .into_iter()
                .filter(|c| c.node_type == NodeType::StepGroup)
                .collect(),
            NodeType::Dag => {
                let prefix = format!("{}.", n.name);
                bounded
                    .into_iter()
                    .filter(|c| {
                        c.name
                            .strip_prefix(&prefix)
                            .is_some_and(|rest| !rest.contains('(') && !rest.contains(".onExit"))
                    })
                    .collect()
            }
            NodeType::StepGroup | NodeType::TaskGroup | NodeType::Retry => by_ids(&n.children),
            NodeType::Pod
            | NodeType::Skipped
            | NodeType::Suspend
            | NodeType::Http
            | NodeType::Container => by_ids(&n.children)
                .into_iter()
                .filter(|c| c.name.ends_with(".onExit") || c.node_type == NodeType::Container)
                .collect(),
        };
        let leaf = matches!(
            n.node_type,
            NodeType::Pod | NodeType::Skipped | NodeType::Http | NodeType::Container
        );
        if !leaf {
            // Exit hooks of steps/dags hang off their node too.
            out.extend(
                by_ids(&n.children)
                    .into_iter()
                    .filter(|c| c.name.ends_with(".onExit") && c.name.starts_with(&n.name)),
            );
        }
        out.sort_by(|a, b| (a.started_at, &a.name).cmp(&(b.started_at, &b.name)));
        out.dedup_by(|a, b| a.id == b.id);
        out
    }

    fn walk(
        &self,
        n: &'a NodeStatus,
        prefix: &str,
        last: bool,
        root: bool,
        rows: &mut Vec<[String; 5]>,
    ) {
        let branch = if root {
            ""
        } else if last {
            "└─"
        } else {
            "├─"
        };
        let hidden = n.node_type == NodeType::StepGroup;
        let kids = self.children(n);
        if !hidden {
            let pod = if n.node_type == NodeType::Pod {
                n.id.clone()
            } else {
                String::new()
            };
            rows.push([
                format!("{prefix}{branch}{} {}", icon(n.phase), n.display_name),
                n.template_name.clone().unwrap_or_default(),
                pod,
                duration(n),
                n.message.clone().unwrap_or_default(),
            ]);
        }
        let next_prefix = if root || hidden {
            prefix.to_string()
        } else if last {
            format!("{prefix}  ")
        } else {
            format!("{prefix}│ ")
        };
        let count = kids.len();
        for (i, k) in kids.into_iter().enumerate() {
            let is_last = i + 1 == count;
            if hidden {
                self.walk(k, prefix, is_last && last, false, rows);
            } else {
                self.walk(k, &next_prefix, is_last, false, rows);
            }
        }
    }
}

/// Renders header + node tree.
pub fn render_text(wf: &WorkflowObject) -> String {
    let st = &wf.status;
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: String| {
        let _ = writeln!(out, "{:<20} {v}", format!("{k}:"));
    };
    line(&mut out, "Name", wf.name().to_string());
    line(
        &mut out,
        "Namespace",
        wf.metadata.namespace.clone().unwrap_or_default(),
    );
    line(&mut out, "Status", st.phase.to_string());
    if let Some(m) = &st.message {
        line(&mut out, "Message", m.clone());
    }
    if let Some(t) = &st.started_at {
        line(&mut out, "Started", fmt_time(t));
    }
    if let Some(t) = &st.finished_at {
        line(&mut out, "Finished", fmt_time(t));
    }
    if let (Some(s), f) = (st.started_at, st.finished_at) {
        let secs = (f.unwrap_or_else(Utc::now) - s).num_milliseconds() as f64 / 1000.0;
        line(&mut out, "Duration", format!("{secs:.1} seconds"));
    }
    line(
        &mut out,
        "Progress",
        st.progress.clone().unwrap_or_else(|| st.compute_progress()),
    );
    for p in st.outputs.iter().flat_map(|o| o.parameters.iter()) {
        line(&mut out, "Output", format!("{} = {}", p.name, p.value));
    }
    let mut by_boundary: HashMap<&str, Vec<&NodeStatus>> = HashMap::new();
    for n in st.nodes.values() {
        if let Some(b) = &n.boundary_id {
            by_boundary.entry(b.as_str()).or_default().push(n);
        }
    }
    let tree = Tree {
        nodes: &st.nodes,
        by_boundary,
    };
    let mut rows = vec![["STEP", "TEMPLATE", "PODNAME", "DURATION", "MESSAGE"].map(String::from)];
    let name = wf.name();
    let roots = [name.to_string(), format!("{name}.onExit")];
    for r in &roots {
        if let Some(n) = st.node_by_name(r) {
            tree.walk(n, " ", true, true, &mut rows);
        }
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    out.push('\n');
    for r in &rows {
        let mut l = String::new();
        for (c, w) in widths.iter().enumerate() {
            let pad = w - r[c].chars().count();
            let _ = write!(l, "{}{}  ", r[c], " ".repeat(pad));
        }
        l.push_str(&r[4]);
        let _ = writeln!(out, "{}", l.trim_end());
    }
    out
}
