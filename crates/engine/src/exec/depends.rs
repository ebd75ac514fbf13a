//! DAG `dependencies` and enhanced `depends` (`A && (B.Failed || C.Skipped)`): which tasks a
//! task waits for, and whether it runs once they are done (Argo's `evaluateDependsLogic`).

use std::collections::HashMap;

use crate::error::EngineError;
use crate::expr::{self, Mode};
use crate::model::{ContinueOn, StepLike};
use crate::status::Phase;

/// A finished dependency as `depends` sees it.
#[derive(Debug, Clone)]
pub struct DepState {
    pub phase: Phase,
    /// Phases of loop children (for `.AnySucceeded` / `.AllFailed`).
    pub children: Vec<Phase>,
    pub continue_on: ContinueOn,
    /// A daemon that is ready (its node `daemoned`).
    pub daemoned: bool,
}

enum Piece {
    Text(String),
    Ref(String, Option<String>),
}

fn scan(src: &str) -> Vec<Piece> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '-' || chars[i] == '_')
            {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            let mut result = None;
            if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_uppercase() {
                let rs = i + 1;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_alphabetic() {
                    i += 1;
                }
                result = Some(chars[rs..i].iter().collect());
            }
            out.push(Piece::Ref(name, result));
        } else {
            out.push(Piece::Text(c.to_string()));
            i += 1;
        }
    }
    out
}

/// The depends expression of a task (`dependencies: [A, B]` becomes `A && B`).
pub fn logic_of(task: &StepLike) -> Option<String> {
    if let Some(d) = &task.depends {
        return Some(d.clone());
    }
    task.dependencies
        .as_ref()
        .filter(|d| !d.is_empty())
        .map(|d| d.join(" && "))
}

/// Names of the tasks `task` depends on.
pub fn dependencies_of(task: &StepLike) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(logic) = logic_of(task) {
        for p in scan(&logic) {
            if let Piece::Ref(n, _) = p {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
    }
    names
}

fn result_of(name: &str, result: Option<&str>, d: &DepState) -> Result<bool, EngineError> {
    let p = d.phase;
    Ok(match result {
        None => {
            p == Phase::Succeeded
                || p == Phase::Skipped
                || (d.continue_on.failed && p == Phase::Failed)
                || (d.continue_on.error && p == Phase::Error)
        }
        Some("Succeeded") => p == Phase::Succeeded,
        Some("Failed") => p == Phase::Failed,
        Some("Errored") => p == Phase::Error,
        Some("Skipped") => p == Phase::Skipped,
        Some("Omitted") => p == Phase::Omitted,
        Some("Completed") => p == Phase::Succeeded || p == Phase::Failed,
        Some("Daemoned") => d.daemoned,
        Some("AnySucceeded") => d.children.contains(&Phase::Succeeded),
        Some("AllFailed") => {
            !d.children.is_empty() && d.children.iter().all(|c| *c == Phase::Failed)
        }
        Some(other) => {
            return Err(EngineError::Invalid(format!(
                "task result '{other}' for task '{name}' is invalid"
            )))
        }
    })
}

/// Evaluates the depends logic; every dependency must be in `done`.
pub fn evaluate(logic: &str, done: &HashMap<String, DepState>) -> Result<bool, EngineError> {
    let mut text = String::new();
    for p in scan(logic) {
        match p {
            Piece::Text(t) => text.push_str(&t),
            Piece::Ref(name, result) => {
                let d = done.get(&name).ok_or_else(|| {
                    EngineError::Internal(format!(
                        "dependency `{name}` evaluated before it finished"
                    ))
                })?;
                text.push_str(if result_of(&name, result.as_deref(), d)? {
                    "true"
                } else {
                    "false"
                });
            }
        }
    }
    expr::eval_bool(&text, &serde_json::Value::Null, Mode::Expr)
        .map_err(|e| EngineError::Invalid(format!("unable to evaluate depends '{logic}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(phase: Phase) -> DepState {
        DepState {
            phase,
            children: Vec::new(),
            continue_on: ContinueOn::default(),
            daemoned: false,
        }
    }

    #[test]
    fn enhanced_depends() {
        let mut done = HashMap::new();
        done.insert("A".to_string(), st(Phase::Succeeded));
        done.insert("flip-coin".to_string(), st(Phase::Failed));
        done.insert("C".to_string(), st(Phase::Skipped));
        assert!(evaluate("A && (flip-coin.Failed || C.Skipped)", &done).unwrap());
        assert!(!evaluate("A && flip-coin", &done).unwrap());
        assert!(evaluate("A && C", &done).unwrap());
        assert!(evaluate("!flip-coin.Succeeded", &done).unwrap());
        assert!(evaluate("A.Bogus", &done).is_err());
    }
}
