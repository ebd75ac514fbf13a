//! How the Argo double makes up a run's nodes the way Argo reports them: node ids and v2 pod
//! names from an FNV-1a hash of the node name, one Pod node per step, the exit handler's node.

use crate::argo_double::Outcome;
use chrono::{Duration, Utc};
use serde_json::{json, Map, Value};

pub fn time(offset_s: i64) -> String {
    (Utc::now() + Duration::seconds(offset_s))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Argo's node id and v2 pod name of a node.
pub fn node_ids(workflow_name: &str, node_name: &str, template: &str) -> (String, String) {
    let hash = fnv1a(node_name);
    (
        format!("{workflow_name}-{hash}"),
        format!("{workflow_name}-{template}-{hash}"),
    )
}

pub fn pod_node(
    id: &str,
    name: &str,
    display: &str,
    template: &str,
    phase: &str,
    at: i64,
) -> Value {
    let mut node = json!({
        "id": id, "name": name, "displayName": display, "type": "Pod", "templateName": template,
        "phase": phase, "startedAt": time(at),
    });
    if phase != "Running" {
        node["finishedAt"] = json!(time(at + 5));
    }
    if phase == "Failed" {
        node["message"] = json!("Error (exit code 1)");
    }
    node
}

/// Nodes of the entrypoint's steps run to `outcome`, plus the exit handler.
pub fn run_steps(
    workflow: &Value,
    outcome: Outcome,
    logs: &mut Vec<(String, Vec<String>)>,
) -> (&'static str, Option<String>, Map<String, Value>) {
    let name = workflow["metadata"]["name"].as_str().expect("name");
    let spec = &workflow["spec"];
    let templates = spec["templates"].as_array().cloned().unwrap_or_default();
    let entry = templates
        .iter()
        .find(|t| t["name"] == spec["entrypoint"])
        .cloned()
        .unwrap_or_default();
    let mut nodes = Map::new();
    let mut children = Vec::new();
    let mut failed: Option<String> = None;
    let mut at = 1;
    for (i, group) in entry["steps"].as_array().into_iter().flatten().enumerate() {
        if failed.is_some() {
            break;
        }
        for step in group.as_array().into_iter().flatten() {
            let display = step["name"].as_str().expect("step name");
            let template = step["template"].as_str().unwrap_or_default();
            let node_name = format!("{name}[{i}].{display}");
            let (id, pod) = node_ids(name, &node_name, template);
            let phase = match outcome {
                Outcome::FailAt(at_step) if at_step == display => {
                    failed = Some(display.to_owned());
                    "Failed"
                }
                _ => "Succeeded",
            };
            nodes.insert(
                id.clone(),
                pod_node(&id, &node_name, display, template, phase, at),
            );
            logs.push((
                pod,
                vec![format!("{display}: starting"), format!("{display}: done")],
            ));
            children.push(json!(id));
            at += 6;
        }
    }
    let phase = if failed.is_some() {
        "Failed"
    } else {
        "Succeeded"
    };
    let message = failed.map(|step| format!("child '{step}' failed"));
    nodes.insert(
        name.to_owned(),
        json!({"id": name, "name": name, "displayName": name, "type": "Steps",
               "templateName": spec["entrypoint"], "phase": phase, "startedAt": time(0),
               "finishedAt": time(at), "children": children}),
    );
    if let Some(exit) = spec["onExit"].as_str() {
        let node_name = format!("{name}.onExit");
        let (id, pod) = node_ids(name, &node_name, exit);
        nodes.insert(
            id.clone(),
            pod_node(&id, &node_name, &node_name, exit, "Succeeded", at),
        );
        logs.push((pod, vec!["recorded the run's metadata".to_owned()]));
    }
    (phase, message, nodes)
}

pub fn set_completed_label(workflow: &mut Value) {
    let phase = workflow["status"]["phase"].clone();
    let labels = &mut workflow["metadata"]["labels"];
    labels["workflows.argoproj.io/phase"] = phase;
    labels["workflows.argoproj.io/completed"] = json!("true");
}
