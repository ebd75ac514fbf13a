//! Waiting for a run to end (`runs watch`, `launch --watch`): a spinner on a terminal, quiet
//! otherwise; the run is shown at the end and a failed run is an error (exit 1).

use super::runs::{find_metadata, print_run_and_metadata};
use super::Context;
use anyhow::bail;
use polyphemus_model::{ProjectName, RunId, RunMetadata, RunPhase};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub async fn watch_run(
    context: &Context,
    project: &ProjectName,
    run_id: &RunId,
    poll_seconds: i64,
) -> anyhow::Result<()> {
    let poll = Duration::from_secs(poll_seconds.max(1).unsigned_abs());
    let mut spinner = Spinner::new();
    let started = Instant::now();
    let metadata = loop {
        let metadata = find_metadata(context, project, run_id).await?;
        let phase = metadata
            .as_ref()
            .map_or(RunPhase::Pending, |m| m.report.phase);
        if phase.is_final() {
            break metadata;
        }
        spinner.draw(&format!(
            "run {run_id}: {phase} ({}s){}",
            started.elapsed().as_secs(),
            metadata.as_ref().map(running_steps).unwrap_or_default()
        ));
        tokio::time::sleep(poll).await;
    };
    spinner.clear();
    let run = context.client.get_run(project, run_id).await?;
    print_run_and_metadata(context, &run, metadata.as_ref())?;
    match metadata {
        Some(metadata) if metadata.report.phase != RunPhase::Succeeded => {
            let phase = metadata.report.phase.as_str().to_ascii_lowercase();
            match metadata.report.message.as_deref() {
                Some(message) if !message.trim().is_empty() => {
                    bail!("run {run_id} {phase}: {}", message.trim())
                }
                _ => bail!("run {run_id} {phase}"),
            }
        }
        _ => Ok(()),
    }
}

/// The steps running now, for the spinner: `: copy, notify` (the server records them live).
fn running_steps(metadata: &RunMetadata) -> String {
    let running: Vec<&str> = metadata
        .report
        .nodes
        .values()
        .filter(|node| node.node_type == "Pod" && node.phase == RunPhase::Running)
        .map(|node| node.display_name.as_deref().unwrap_or(&node.name))
        .collect();
    if running.is_empty() {
        String::new()
    } else {
        format!(": {}", running.join(", "))
    }
}

/// One self-rewriting line on stderr, drawn only when stdout and stderr are terminals.
struct Spinner {
    enabled: bool,
    frame: usize,
}

impl Spinner {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

    fn new() -> Self {
        Self {
            enabled: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
            frame: 0,
        }
    }

    fn draw(&mut self, text: &str) {
        if !self.enabled {
            return;
        }
        let frame = Self::FRAMES[self.frame % Self::FRAMES.len()];
        self.frame += 1;
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "\r\x1b[2K{frame} {text}");
        let _ = stderr.flush();
    }

    fn clear(&mut self) {
        if self.enabled && self.frame > 0 {
            let mut stderr = std::io::stderr();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
        self.frame = 0;
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use polyphemus_model::RunPhase;

    fn is_final(phase: &str) -> bool {
        RunPhase::parse(phase).is_ok_and(RunPhase::is_final)
    }

    #[test]
    fn only_ended_phases_are_final() {
        for phase in ["Succeeded", "Failed", "Error"] {
            assert!(is_final(phase), "{phase}");
        }
        for phase in ["Pending", "Running", ""] {
            assert!(!is_final(phase), "{phase}");
        }
    }
}
