//! A run's node logs as its steps print them: the logs so far, or a follow that hands out what
//! each node printed since the last look until the workflow ends.

use super::sync::report_from_workflow;
use super::Services;
use crate::orchestrators::{Asked, NodeLog, Orchestrator, OrchestratorError};
use crate::{Access, CoreError};
use futures::stream::{self, BoxStream, StreamExt};
use polyphemus_model::{NodeReport, Role, RunId, RunPhase};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// How often a follow looks for more.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// The most of each node's log read per look: more printed between two looks is left out with
/// a note, so a follow never holds more than this per node.
const FOLLOW_TAIL_BYTES: u64 = 256 * 1024;

/// Marks an HTTP answer whose body goes on long after its handler returned (a followed log):
/// the server counts its request as being handled until the body ends, so the idle timeout
/// does not cut a follow while its run is quiet. Set by the API and the UI alike.
#[derive(Debug, Clone, Copy)]
pub struct Streaming;

/// Which run's logs a follow reads, and how far it got in each node's log.
struct Follow {
    orchestrator: Arc<dyn Orchestrator>,
    name: String,
    namespace: String,
    node: Option<String>,
    sent: HashMap<String, u64>,
    last_node: Option<String>,
    ended: bool,
    /// The most of each node's log read per look.
    tail_bytes: u64,
}

impl Services {
    /// The run's node logs so far under a header per node (`node`: one node, by name or
    /// display name). A run the orchestrator no longer knows answers its stored output.
    pub async fn run_logs(
        &self,
        access: &Access,
        run_id: &RunId,
        node: Option<String>,
    ) -> Result<String, CoreError> {
        self.run_logs_ending(access, run_id, node, FOLLOW_TAIL_BYTES)
            .await
    }

    /// [`Services::run_logs`] keeping at most the last `tail_bytes` of each node's log.
    pub async fn run_logs_ending(
        &self,
        access: &Access,
        run_id: &RunId,
        node: Option<String>,
        tail_bytes: u64,
    ) -> Result<String, CoreError> {
        let run = self.find_run(access, run_id, Role::Viewer).await?.run;
        let Some(orchestrator) = self.orchestrator.clone() else {
            return Ok(run.output);
        };
        let namespace = orchestrator.namespace().to_owned();
        let mut follow = Follow::new(orchestrator, run.name, namespace, node);
        follow.tail_bytes = tail_bytes;
        match follow.look().await {
            Ok(text) => Ok(text),
            Err(OrchestratorError::NotFound(_)) => Ok(run.output),
            Err(error) => Err(error.into_core(follow.orchestrator.kind(), Asked::Read)),
        }
    }

    /// What the run's nodes print from now on (after what they printed so far), in pieces,
    /// ending when the workflow has ended and its last lines are out.
    pub async fn follow_run_logs(
        &self,
        access: &Access,
        run_id: &RunId,
        node: Option<String>,
    ) -> Result<BoxStream<'static, Result<String, CoreError>>, CoreError> {
        let run = self.find_run(access, run_id, Role::Viewer).await?.run;
        let orchestrator = self.require_orchestrator()?.clone();
        let namespace = orchestrator.namespace().to_owned();
        let follow = Follow::new(orchestrator, run.name, namespace, node);
        Ok(
            stream::unfold((follow, true), |(mut follow, first)| async move {
                loop {
                    if follow.ended {
                        return None;
                    }
                    if !first {
                        tokio::time::sleep(FOLLOW_EVERY).await;
                    }
                    match follow.look().await {
                        Ok(text) if text.is_empty() && !first => continue,
                        Ok(text) => return Some((Ok(text), (follow, false))),
                        Err(error) => {
                            follow.ended = true;
                            let kind = follow.orchestrator.kind();
                            return Some((
                                Err(error.into_core(kind, Asked::Read)),
                                (follow, false),
                            ));
                        }
                    }
                }
            })
            .boxed(),
        )
    }
}

impl Follow {
    fn new(
        orchestrator: Arc<dyn Orchestrator>,
        name: String,
        namespace: String,
        node: Option<String>,
    ) -> Self {
        Self {
            orchestrator,
            name,
            namespace,
            node: node.filter(|n| !n.is_empty()),
            sent: HashMap::new(),
            last_node: None,
            ended: false,
            tail_bytes: FOLLOW_TAIL_BYTES,
        }
    }

    /// What the nodes printed since the last look. The workflow's status is read before its
    /// logs, so the look that sees it ended also has its last lines.
    async fn look(&mut self) -> Result<String, OrchestratorError> {
        let workflow = self
            .orchestrator
            .workflow(&self.namespace, &self.name)
            .await?;
        let ended = workflow["status"]["phase"]
            .as_str()
            .and_then(|phase| RunPhase::parse(phase).ok())
            .is_some_and(RunPhase::is_final);
        let report = report_from_workflow(&workflow)
            .map_err(|error| OrchestratorError::Unavailable(error.to_string()))?;
        let logs = self
            .orchestrator
            .logs(&self.namespace, &self.name, self.tail_bytes)
            .await?;
        let mut text = String::new();
        for (id, node) in ordered_nodes(&report.nodes, &logs) {
            if self
                .node
                .as_deref()
                .is_some_and(|wanted| !node_named(node, wanted))
            {
                continue;
            }
            self.push_new(&mut text, id, node, &logs[id]);
        }
        self.ended = ended;
        Ok(text)
    }

    /// Appends what node `id` printed since the last look, under its header when another
    /// node's lines came last.
    fn push_new(&mut self, text: &mut String, id: &str, node: &NodeReport, log: &NodeLog) {
        let sent = self.sent.get(id).copied().unwrap_or(0);
        if log.total_bytes <= sent {
            return;
        }
        if self.last_node.as_deref() != Some(id) {
            let label = node.display_name.as_deref().unwrap_or(&node.name);
            text.push_str(&format!("=== {label} ===\n"));
            self.last_node = Some(id.to_owned());
        }
        let new = log.total_bytes - sent;
        let piece = match usize::try_from(new).ok().filter(|n| *n <= log.text.len()) {
            Some(new) => from_char_boundary(&log.text, log.text.len() - new),
            None => {
                let skipped = new - log.text.len() as u64;
                text.push_str(&format!(
                    "[Polyphemus: {skipped} bytes of this step's log are left out]\n"
                ));
                log.text.as_str()
            }
        };
        text.push_str(&polyphemus_model::text::scrub(piece));
        self.sent.insert(id.to_owned(), log.total_bytes);
    }
}

/// Nodes that printed, in the order they started.
fn ordered_nodes<'a>(
    nodes: &'a BTreeMap<String, NodeReport>,
    logs: &BTreeMap<String, NodeLog>,
) -> Vec<(&'a str, &'a NodeReport)> {
    let mut ordered: Vec<(&str, &NodeReport)> = nodes
        .iter()
        .filter(|(id, _)| logs.contains_key(*id))
        .map(|(id, node)| (id.as_str(), node))
        .collect();
    ordered.sort_by_key(|(id, node)| (node.started_at, *id));
    ordered
}

fn node_named(node: &NodeReport, wanted: &str) -> bool {
    node.name == wanted || node.display_name.as_deref() == Some(wanted)
}

/// `text` from byte `start`, moved on to the next character when `start` falls inside one.
fn from_char_boundary(text: &str, mut start: usize) -> &str {
    while start < text.len() && !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
