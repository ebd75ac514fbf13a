//! `status.synchronization` in Argo's shape: `mutex.holding[{mutex, holder}]`,
//! `mutex.waiting[{mutex, holder}]` (who holds what it waits for), `semaphore.holding
//! [{semaphore, holders}]`, `semaphore.waiting[{semaphore, holders}]`.

use serde_json::{json, Value};

use super::{Kind, Request};

#[derive(Debug, Default)]
pub(super) struct SyncStatus {
    /// (lock, holder) this run holds.
    mutex_holding: Vec<(String, String)>,
    /// (lock, its current holder) this run waits for.
    mutex_waiting: Vec<(String, String)>,
    semaphore_holding: Vec<(String, Vec<String>)>,
    semaphore_waiting: Vec<(String, Vec<String>)>,
}

impl SyncStatus {
    pub fn waiting(&mut self, key: &str, kind: Kind, holders: &[String]) {
        match kind {
            Kind::Mutex => {
                self.mutex_waiting.retain(|(k, _)| k != key);
                if let Some(first) = holders.first() {
                    self.mutex_waiting.push((key.to_owned(), first.clone()));
                }
            }
            Kind::Semaphore => {
                self.semaphore_waiting.retain(|(k, _)| k != key);
                self.semaphore_waiting
                    .push((key.to_owned(), holders.to_vec()));
            }
        }
    }

    pub fn acquired(&mut self, holder: &str, reqs: &[Request]) {
        for r in reqs {
            match r.kind {
                Kind::Mutex => {
                    self.mutex_waiting.retain(|(k, _)| k != &r.key);
                    self.mutex_holding.retain(|(k, _)| k != &r.key);
                    self.mutex_holding.push((r.key.clone(), holder.to_owned()));
                }
                Kind::Semaphore => {
                    self.semaphore_waiting.retain(|(k, _)| k != &r.key);
                    match self.semaphore_holding.iter_mut().find(|(k, _)| k == &r.key) {
                        Some((_, holders)) => holders.push(holder.to_owned()),
                        None => self
                            .semaphore_holding
                            .push((r.key.clone(), vec![holder.to_owned()])),
                    }
                }
            }
        }
    }

    pub fn released(&mut self, holder: &str, reqs: &[Request]) {
        for r in reqs {
            match r.kind {
                Kind::Mutex => self
                    .mutex_holding
                    .retain(|(k, h)| !(k == &r.key && h == holder)),
                Kind::Semaphore => {
                    for (k, holders) in &mut self.semaphore_holding {
                        if k == &r.key {
                            holders.retain(|h| h != holder);
                        }
                    }
                    self.semaphore_holding.retain(|(_, h)| !h.is_empty());
                }
            }
        }
    }

    /// The JSON of `status.synchronization`; none once nothing is held or waited for.
    pub fn to_value(&self) -> Option<Value> {
        let mut out = serde_json::Map::new();
        let mutex = |list: &[(String, String)]| -> Vec<Value> {
            list.iter()
                .map(|(k, h)| json!({"mutex": k, "holder": h}))
                .collect()
        };
        let semaphore = |list: &[(String, Vec<String>)]| -> Vec<Value> {
            list.iter()
                .map(|(k, h)| json!({"semaphore": k, "holders": h}))
                .collect()
        };
        let section = |holding: Vec<Value>, waiting: Vec<Value>| {
            let mut m = serde_json::Map::new();
            if !holding.is_empty() {
                m.insert("holding".into(), Value::Array(holding));
            }
            if !waiting.is_empty() {
                m.insert("waiting".into(), Value::Array(waiting));
            }
            (!m.is_empty()).then_some(Value::Object(m))
        };
        if let Some(m) = section(mutex(&self.mutex_holding), mutex(&self.mutex_waiting)) {
            out.insert("mutex".into(), m);
        }
        let holding = semaphore(&self.semaphore_holding);
        if let Some(s) = section(holding, semaphore(&self.semaphore_waiting)) {
            out.insert("semaphore".into(), s);
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }
}
