//! `polyphemus engine run`: clap arguments and the command that runs one workflow file and
//! returns the process exit code (0 only if the workflow Succeeded).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::render::render_text;
use crate::{Engine, EngineOptions, Phase, RunHandle, TemplateLibrary, Workflow, WorkflowObject};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    Json,
    #[default]
    Text,
}

/// Run an Argo Workflow YAML file on this machine.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineRunArgs {
    /// The Workflow (or WorkflowTemplate) YAML file.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// A workflow parameter, `name=value` (repeatable).
    #[arg(
        short = 'p',
        long = "parameter",
        alias = "param",
        value_name = "NAME=VALUE"
    )]
    pub params: Vec<String>,
    /// A directory of WorkflowTemplate YAML files for `templateRef` / `workflowTemplateRef`.
    #[arg(long = "templates", value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// `json` prints the final Workflow object, `text` a node tree. Set by the caller from its
    /// own `--output` flag (the `polyphemus` binary has a global one).
    #[arg(skip)]
    pub output: OutputFormat,
    /// Show the node tree live while the workflow runs (on a terminal).
    #[arg(short = 'w', long = "watch")]
    pub watch: bool,
    /// Where runs keep node directories and logs (default: /var/tmp/polyphemus-engine).
    #[arg(
        long = "work-dir",
        value_name = "DIR",
        env = "POLYPHEMUS_ENGINE_WORK_DIR"
    )]
    pub work_dir: Option<PathBuf>,
}

fn parse_params(raw: &[String]) -> Result<Vec<(String, String)>, String> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(format!("invalid parameter `{p}`: expected NAME=VALUE")),
        })
        .collect()
}

fn print_final(wf: &WorkflowObject, output: OutputFormat) {
    let mut stdout = std::io::stdout().lock();
    let text = match output {
        OutputFormat::Json => match serde_json::to_string_pretty(wf) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot serialize the workflow status: {e}");
                return;
            }
        },
        OutputFormat::Text => render_text(wf),
    };
    let _ = writeln!(stdout, "{}", text.trim_end());
}

/// Runs the command; returns the process exit code (0 Succeeded, 1 Failed/Error, 2 bad input).
pub async fn run_command(args: EngineRunArgs) -> i32 {
    let handle = match submit(&args) {
        Ok(h) => h,
        Err(msg) => {
            eprintln!("error: {msg}");
            return 2;
        }
    };
    stop_on_ctrl_c(handle.clone());
    let live = args.watch && std::io::stdout().is_terminal() && args.output == OutputFormat::Text;
    if live {
        watch_live(&handle).await;
    } else if args.watch {
        eprintln!(
            "{} submitted (uid {}); --watch needs a terminal, waiting…",
            handle.name(),
            handle.uid()
        );
    }
    let wf = handle.wait().await;
    print_final(&wf, args.output);
    if wf.status.phase == Phase::Succeeded {
        0
    } else {
        1
    }
}

/// Reads the parameters, the workflow file and the template library, and submits; the error
/// to print otherwise (bad input: exit code 2).
fn submit(args: &EngineRunArgs) -> Result<RunHandle, String> {
    let params = parse_params(&args.params)?;
    let file = args.file.display();
    let text =
        std::fs::read_to_string(&args.file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let wf = Workflow::from_yaml(&text).map_err(|e| format!("{file}: {e}"))?;
    let library = match &args.templates {
        Some(dir) => TemplateLibrary::load_dir(dir).map_err(|e| e.to_string())?,
        None => TemplateLibrary::new(),
    };
    let mut opts = EngineOptions::default();
    if let Some(dir) = &args.work_dir {
        opts.work_dir = dir.clone();
    }
    Engine::new(opts)
        .submit(wf, params, &library)
        .map_err(|e| format!("{file}: {e}"))
}

/// Ctrl-C stops the workflow (exit handlers still run); a second one terminates it.
fn stop_on_ctrl_c(handle: RunHandle) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping {} (Ctrl-C again to terminate)…", handle.name());
            handle.stop();
            if tokio::signal::ctrl_c().await.is_ok() {
                handle.terminate();
            }
        }
    });
}

/// Redraws the run's status on the terminal until it finishes.
async fn watch_live(handle: &RunHandle) {
    let mut rx = handle.subscribe();
    while !handle.is_finished() {
        let frame = render_text(&handle.status());
        print!("\x1b[2J\x1b[H{frame}");
        let _ = std::io::stdout().flush();
        tokio::select! {
            _ = rx.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    print!("\x1b[2J\x1b[H");
}

#[cfg(test)]
mod tests {
    #[test]
    fn params_need_equals() {
        assert_eq!(
            super::parse_params(&["a=b=c".into()]).unwrap(),
            vec![("a".to_string(), "b=c".to_string())]
        );
        assert!(super::parse_params(&["nope".into()]).is_err());
    }
}
