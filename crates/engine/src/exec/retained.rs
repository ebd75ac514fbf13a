//! `argo retry`: what a retried run keeps of the run it retries, as the controller's
//! `FormulateRetryWorkflow` decides it. Succeeded work is kept with its outputs and times;
//! failed execution nodes (a failed attempt counts as its `Retry` node) run again with
//! everything after them; `restartSuccessful` with a `nodeFieldSelector` also reruns the
//! succeeded nodes it selects; the exit handler always runs again. Steps and DAG nodes are
//! evaluated again and meet the kept nodes as already done (`take`), so they reach the same
//! decisions for what succeeded and new ones for what failed.

use std::collections::{HashMap, HashSet};

use super::Outcome;
use crate::error::EngineError;
use crate::state::Shared;
use crate::status::{NodeStatus, NodeType, Phase, WorkflowObject};

/// What `argo retry` asks (Argo's `WorkflowRetryRequest`).
#[derive(Debug, Clone, Default)]
pub struct RetryRequest {
    pub restart_successful: bool,
    /// A Kubernetes field selector over node fields (`displayName=b`, `templateName!=x`).
    pub node_field_selector: Option<String>,
    /// `name=value` overrides of the workflow's arguments.
    pub parameters: Vec<(String, String)>,
}

/// A kept node and the nodes under it that are kept with it (a `Retry` node's attempts, a
/// container set's containers).
#[derive(Debug, Clone)]
struct Kept {
    node: NodeStatus,
    below: Vec<NodeStatus>,
}

/// The nodes of the previous run that a retried run does not run again, by id.
#[derive(Debug, Clone, Default)]
pub struct Retained {
    kept: HashMap<String, Kept>,
}

impl Retained {
    /// What retrying `prior` as `request` asks keeps; refused as Argo refuses it.
    pub fn plan(prior: &WorkflowObject, request: &RetryRequest) -> Result<Self, EngineError> {
        let selector = request
            .node_field_selector
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match prior.status.phase {
            Phase::Failed | Phase::Error => {}
            Phase::Succeeded if request.restart_successful && selector.is_some() => {}
            Phase::Succeeded => {
                return Err(EngineError::Invalid(
                    "To retry a succeeded workflow, set the options restartSuccessful and \
                     nodeFieldSelector"
                        .into(),
                ))
            }
            phase => {
                return Err(EngineError::Invalid(format!(
                    "Cannot retry a workflow in phase {phase}"
                )))
            }
        }
        let selector = match selector.filter(|_| request.restart_successful) {
            Some(text) => Some(FieldSelector::parse(text)?),
            None => None,
        };
        let nodes = &prior.status.nodes;
        let parents = parents(prior);
        let mut rerun: Vec<&str> = Vec::new();
        for node in nodes.values() {
            let selected = selector.as_ref().is_some_and(|s| s.matches(node));
            let failed = matches!(node.phase, Phase::Failed | Phase::Error)
                && matches!(
                    node.node_type,
                    NodeType::Pod | NodeType::Http | NodeType::Container
                );
            if selected || failed {
                // A failed attempt is retried as its whole `Retry` node.
                let retry_parent = parents
                    .get(node.id.as_str())
                    .and_then(|p| nodes.get(*p))
                    .filter(|p| p.node_type == NodeType::Retry);
                rerun.push(retry_parent.map_or(node.id.as_str(), |p| p.id.as_str()));
            }
        }
        let gone = descendants(prior, rerun);
        let on_exit = format!("{}.onExit", prior.name());
        let kept = nodes
            .values()
            .filter(|n| !gone.contains(n.id.as_str()) && !n.name.starts_with(&on_exit))
            .filter_map(|n| keep(prior, n))
            .map(|k| (k.node.id.clone(), k))
            .collect();
        Ok(Self { kept })
    }

    /// How many nodes the retried run starts with.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// When node `id` was kept: puts it (and what is kept under it) back into the run's
    /// status and returns its outcome; the caller then runs nothing for it.
    pub fn take(&self, shared: &Shared, id: &str) -> Option<Outcome> {
        let kept = self.kept.get(id)?;
        shared.update(|s| {
            for n in std::iter::once(&kept.node).chain(&kept.below) {
                s.status.nodes.insert(n.id.clone(), n.clone());
            }
        });
        let node = &kept.node;
        let mut outcome = Outcome::new(id, Phase::Succeeded, None);
        outcome.outputs = node.outputs.clone().unwrap_or_default();
        if !node.outbound_nodes.is_empty() {
            outcome.outbound = node.outbound_nodes.clone();
        }
        Some(outcome)
    }
}

/// `node` as kept, when it is succeeded work the retried run need not do again. Daemons run
/// again: what they served is gone with the run that started them.
fn keep(prior: &WorkflowObject, node: &NodeStatus) -> Option<Kept> {
    let work = matches!(
        node.node_type,
        NodeType::Pod | NodeType::Http | NodeType::Suspend | NodeType::Retry
    );
    if node.phase != Phase::Succeeded || !work || node.daemoned == Some(true) {
        return None;
    }
    let nodes = &prior.status.nodes;
    let children = || node.children.iter().filter_map(|c| nodes.get(c));
    let below: Vec<NodeStatus> = match node.node_type {
        // Attempts are pods; a retried steps or DAG template is evaluated again.
        NodeType::Retry => {
            if !children().all(|c| matches!(c.node_type, NodeType::Pod | NodeType::Http)) {
                return None;
            }
            children()
                .flat_map(|attempt| {
                    let containers = containers_of(prior, attempt);
                    std::iter::once(attempt.clone()).chain(containers)
                })
                .collect()
        }
        _ => containers_of(prior, node),
    };
    let copied: HashSet<&str> = std::iter::once(node.id.as_str())
        .chain(below.iter().map(|n| n.id.as_str()))
        .collect();
    // Links to what follows are made again by the steps or DAG that reach it.
    let prune = |n: &NodeStatus| {
        let mut n = n.clone();
        n.children.retain(|c| copied.contains(c.as_str()));
        n
    };
    let below = below.iter().map(prune).collect();
    Some(Kept {
        node: prune(node),
        below,
    })
}

fn containers_of(prior: &WorkflowObject, pod: &NodeStatus) -> Vec<NodeStatus> {
    pod.children
        .iter()
        .filter_map(|c| prior.status.nodes.get(c))
        .filter(|c| c.node_type == NodeType::Container)
        .cloned()
        .collect()
}

/// Each node's parent (the node listing it among its children).
fn parents(prior: &WorkflowObject) -> HashMap<&str, &str> {
    let mut parents = HashMap::new();
    for node in prior.status.nodes.values() {
        for child in &node.children {
            parents.entry(child.as_str()).or_insert(node.id.as_str());
        }
    }
    parents
}

/// `roots` and every node reachable from them through `children`.
fn descendants<'a>(prior: &'a WorkflowObject, roots: Vec<&'a str>) -> HashSet<&'a str> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut queue = roots;
    while let Some(id) = queue.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(node) = prior.status.nodes.get(id) {
            queue.extend(node.children.iter().map(String::as_str));
        }
    }
    seen
}

/// A Kubernetes field selector (`key=value`, `key==value`, `key!=value`, comma-separated)
/// over the fields Argo gives a node.
#[derive(Debug)]
struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    fn parse(text: &str) -> Result<Self, EngineError> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (key, equal, value) = if let Some((k, v)) = term.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = term.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = term.split_once('=') {
                (k, true, v)
            } else {
                return Err(EngineError::Invalid(format!(
                    "nodeFieldSelector: invalid selector: '{term}'; can't understand it"
                )));
            };
            terms.push((key.trim().to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self(terms))
    }

    fn matches(&self, node: &NodeStatus) -> bool {
        self.0
            .iter()
            .all(|(key, equal, value)| (field(node, key).as_deref() == Some(value)) == *equal)
    }
}

/// A node's field as Argo's `SelectorMatchesNode` names it.
fn field(node: &NodeStatus, key: &str) -> Option<String> {
    let template = node.template_ref.as_ref();
    match key {
        "displayName" => Some(node.display_name.clone()),
        "templateName" => template
            .map(|r| r.template.clone())
            .or_else(|| node.template_name.clone()),
        "phase" => Some(node.phase.as_str().to_owned()),
        "name" => Some(node.name.clone()),
        "id" => Some(node.id.clone()),
        "templateRef.name" => template.map(|r| r.name.clone()),
        "templateRef.template" => template.map(|r| r.template.clone()),
        _ => {
            let name = key
                .strip_prefix("inputs.parameters.")?
                .strip_suffix(".value")?;
            let inputs = node.inputs.as_ref()?;
            let p = inputs.parameters.iter().find(|p| p.name == name)?;
            Some(p.value.clone())
        }
    }
}
