//! Synchronization across the runs of one engine (one server): mutexes and semaphores taken
//! by workflows and templates in the order they asked, released when their holder ends or
//! is stopped (dropping [`Held`]), and shown as Argo shows them (`status.synchronization`,
//! a waiting node's `synchronizationStatus.waiting`, "Waiting for <lock> lock. Lock status:
//! <free>/<size>").

pub(crate) mod decl;
mod hold;
mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::state::Shared;
pub(crate) use decl::{Kind, Request};
pub(crate) use hold::{hold_template, hold_workflow};
use status::SyncStatus;

/// The locks of one engine; clones share them (`EngineOptions::locks`).
#[derive(Clone, Default)]
pub struct LockManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LockManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockManager").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    locks: Mutex<HashMap<String, LockState>>,
    /// Woken whenever a lock is released or a waiter gives up.
    changed: Notify,
}

#[derive(Default)]
struct LockState {
    holders: Vec<String>,
    /// Waiters, first come first served.
    queue: Vec<String>,
}

/// Why a holder waits: the first lock it cannot take.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Waiting {
    key: String,
    message: String,
    holders: Vec<String>,
}

impl LockManager {
    fn locks(&self) -> MutexGuard<'_, HashMap<String, LockState>> {
        self.inner.locks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes every lock of `reqs` for `holder` at once, or queues it for each and says why not.
    fn try_take(&self, holder: &str, reqs: &[Request]) -> Option<Waiting> {
        let mut locks = self.locks();
        for r in reqs {
            let st = locks.entry(r.key.clone()).or_default();
            if !st.queue.iter().any(|h| h == holder) && !st.holders.iter().any(|h| h == holder) {
                st.queue.push(holder.to_owned());
            }
        }
        for r in reqs {
            let Some(st) = locks.get(&r.key) else {
                continue;
            };
            if st.holders.iter().any(|h| h == holder) {
                continue;
            }
            let free = r.limit.saturating_sub(st.holders.len());
            let place = st.queue.iter().position(|h| h == holder).unwrap_or(0);
            if place >= free {
                return Some(Waiting {
                    key: r.key.clone(),
                    message: format!(
                        "Waiting for {} lock. Lock status: {free}/{}",
                        r.key, r.limit
                    ),
                    holders: st.holders.clone(),
                });
            }
        }
        for r in reqs {
            if let Some(st) = locks.get_mut(&r.key) {
                st.queue.retain(|h| h != holder);
                if !st.holders.iter().any(|h| h == holder) {
                    st.holders.push(holder.to_owned());
                }
            }
        }
        None
    }

    fn release(&self, holder: &str, keys: &[String]) {
        {
            let mut locks = self.locks();
            for key in keys {
                if let Some(st) = locks.get_mut(key) {
                    st.holders.retain(|h| h != holder);
                    st.queue.retain(|h| h != holder);
                    if st.holders.is_empty() && st.queue.is_empty() {
                        locks.remove(key);
                    }
                }
            }
        }
        self.inner.changed.notify_waiters();
    }

    /// Waits until `holder` has every lock of `reqs`; `on_wait` hears each new reason to wait.
    /// Dropping the future (a stopped run) leaves the queues; dropping the result releases.
    async fn acquire(
        &self,
        holder: String,
        reqs: &[Request],
        mut on_wait: impl FnMut(&Waiting),
    ) -> Held {
        let held = Held {
            manager: self.clone(),
            keys: reqs.iter().map(|r| r.key.clone()).collect(),
            holder,
        };
        let mut last: Option<Waiting> = None;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_take(&held.holder, reqs) {
                None => return held,
                Some(w) => {
                    if last.as_ref() != Some(&w) {
                        on_wait(&w);
                        last = Some(w);
                    }
                    notified.await;
                }
            }
        }
    }
}

/// Locks held (or waited for) by one holder; released when dropped.
pub(crate) struct Held {
    manager: LockManager,
    holder: String,
    keys: Vec<String>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.manager.release(&self.holder, &self.keys);
    }
}

/// The locks of one run, reported in its status.
#[derive(Clone)]
pub(crate) struct RunLocks {
    manager: LockManager,
    pub namespace: String,
    wf_name: String,
    shared: Arc<Shared>,
    status: Arc<Mutex<SyncStatus>>,
}

/// What a run holds: its locks, and the status entries to clear when they go.
pub(crate) struct RunHeld {
    _held: Held,
    run: RunLocks,
    holder: String,
    reqs: Vec<Request>,
}

impl Drop for RunHeld {
    fn drop(&mut self) {
        self.run.record(|s| s.released(&self.holder, &self.reqs));
    }
}

impl RunLocks {
    pub fn new(manager: LockManager, namespace: &str, wf_name: &str, shared: Arc<Shared>) -> Self {
        Self {
            manager,
            namespace: namespace.to_owned(),
            wf_name: wf_name.to_owned(),
            shared,
            status: Arc::default(),
        }
    }

    fn record(&self, change: impl FnOnce(&mut SyncStatus)) {
        let value = {
            let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
            change(&mut s);
            s.to_value()
        };
        self.shared.update(|st| st.status.synchronization = value);
    }

    /// Argo's holder key: `<ns>/<workflow>` for the workflow, `<ns>/<workflow>/<node id>`.
    pub fn holder_key(&self, node_id: Option<&str>) -> String {
        match node_id {
            Some(id) => format!("{}/{}/{id}", self.namespace, self.wf_name),
            None => format!("{}/{}", self.namespace, self.wf_name),
        }
    }

    /// Takes `reqs` for `holder`; `on_wait(lock, message)` each time the reason to wait
    /// changes, `on_taken` once they are held.
    pub async fn hold(
        &self,
        holder: String,
        reqs: Vec<Request>,
        mut on_wait: impl FnMut(&str, &str),
    ) -> RunHeld {
        let held = self
            .manager
            .acquire(holder.clone(), &reqs, |w| {
                self.record(|s| s.waiting(&w.key, kind_of(&reqs, &w.key), &w.holders));
                on_wait(&w.key, &w.message);
            })
            .await;
        self.record(|s| s.acquired(&holder, &reqs));
        RunHeld {
            _held: held,
            run: self.clone(),
            holder,
            reqs,
        }
    }
}

fn kind_of(reqs: &[Request], key: &str) -> Kind {
    reqs.iter()
        .find(|r| r.key == key)
        .map_or(Kind::Mutex, |r| r.kind)
}
