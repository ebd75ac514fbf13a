//! The live state of one run (status nodes; logs are in files) shared between the scheduler and
//! observers; every change bumps a `watch` generation counter so watchers can re-read it.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Utc;
use tokio::sync::watch;

use crate::status::{NodeStatus, NodeType, Phase, WorkflowStatus};

#[derive(Debug, Default)]
pub struct RunState {
    pub status: WorkflowStatus,
}

/// Fields of a node being created.
pub struct NewNode<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub display: &'a str,
    pub node_type: NodeType,
    pub template: Option<&'a str>,
    pub boundary: Option<&'a str>,
    pub phase: Phase,
    pub message: Option<String>,
}

#[derive(Debug)]
pub struct Shared {
    state: Mutex<RunState>,
    tx: watch::Sender<u64>,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        let (tx, _rx) = watch::channel(0);
        Arc::new(Self {
            state: Mutex::new(RunState::default()),
            tx,
        })
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, RunState> {
        // A panic while holding the lock leaves consistent-enough data; keep serving it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the state without notifying.
    pub fn read<T>(&self, f: impl FnOnce(&RunState) -> T) -> T {
        f(&self.lock())
    }

    /// Changes the state and notifies watchers.
    pub fn update<T>(&self, f: impl FnOnce(&mut RunState) -> T) -> T {
        let out = f(&mut self.lock());
        self.tx.send_modify(|g| *g += 1);
        out
    }

    pub fn create_node(&self, n: NewNode<'_>) {
        let now = Utc::now();
        let finished = n.phase.is_done().then_some(now);
        let node = NodeStatus {
            id: n.id.to_string(),
            name: n.name.to_string(),
            display_name: n.display.to_string(),
            node_type: n.node_type,
            // An inline template has no name: Argo names none for its node.
            template_name: n.template.filter(|t| !t.is_empty()).map(str::to_string),
            template_ref: None,
            template_scope: None,
            phase: n.phase,
            boundary_id: n.boundary.map(str::to_string),
            message: n.message,
            started_at: Some(now),
            finished_at: finished,
            progress: None,
            children: Vec::new(),
            outbound_nodes: Vec::new(),
            inputs: None,
            outputs: None,
            daemoned: None,
            image: None,
            synchronization_status: None,
            memoization_status: None,
        };
        self.update(|s| {
            s.status.nodes.insert(node.id.clone(), node);
        });
    }

    pub fn with_node(&self, id: &str, f: impl FnOnce(&mut NodeStatus)) {
        self.update(|s| {
            if let Some(n) = s.status.nodes.get_mut(id) {
                f(n);
            }
        });
    }

    pub fn add_child(&self, parent: &str, child: &str) {
        self.with_node(parent, |n| {
            if !n.children.iter().any(|c| c == child) {
                n.children.push(child.to_string());
            }
        });
    }

    /// Sets a phase (and `finishedAt` for a final one).
    pub fn finish(&self, id: &str, phase: Phase, message: Option<String>) {
        self.with_node(id, |n| {
            n.phase = phase;
            if message.is_some() {
                n.message = message;
            }
            if phase.is_done() {
                n.finished_at = Some(Utc::now());
            }
        });
    }

    /// Marks every unfinished node whose name starts with `prefix` as `phase`.
    pub fn sweep(&self, prefix: &str, phase: Phase, message: &str) {
        let now = Utc::now();
        self.update(|s| {
            for n in s.status.nodes.values_mut() {
                let under = prefix.is_empty()
                    || n.name == prefix
                    || (n.name.starts_with(prefix)
                        && matches!(
                            n.name.as_bytes().get(prefix.len()),
                            Some(b'(' | b'[' | b'.')
                        ));
                if !n.phase.is_done() && under {
                    n.phase = phase;
                    n.message = Some(message.to_string());
                    n.finished_at = Some(now);
                }
            }
        });
    }

    /// A node printed more; its log is in its files (`exec::logs`), not here.
    pub fn logs_grew(&self) {
        self.tx.send_modify(|g| *g += 1);
    }
}
