//! `polyphemus engine run`: clap arguments and the command that runs one workflow file and
//! returns the process exit code (0 only if the workflow Succeeded).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::documents::read_workflow_file;
use crate::render::render_text;
use crate::{Engine, EngineOptions, Phase, RunHandle, TemplateLibrary, WorkflowObject};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    Json,
    #[default]
    Text,
}

/// Run an Argo Workflow YAML file on this machine.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineRunArgs {
    /// The workflow file: Workflow, CronWorkflow (its workflowSpec runs) or WorkflowTemplate
    /// documents, one or several (`---`); each Workflow of it runs.
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
    /// A directory of Kubernetes Secret and ConfigMap YAML files that `secretKeyRef`,
    /// `configMapKeyRef`, `envFrom`, secret/configMap volumes and semaphores read.
    #[arg(
        long = "k8s-objects",
        value_name = "DIR",
        env = "POLYPHEMUS_K8S_OBJECTS"
    )]
    pub k8s_objects: Option<PathBuf>,
    /// Where `persistentVolumeClaim`s live, one directory per claim under `local/`
    /// (default: `<work dir>/.volumes`); they survive runs.
    #[arg(
        long = "volumes-dir",
        value_name = "DIR",
        env = "POLYPHEMUS_VOLUMES_DIR"
    )]
    pub volumes_dir: Option<PathBuf>,
}

fn parse_params(raw: &[String]) -> Result<Vec<(String, String)>, String> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(format!("invalid parameter `{p}`: expected NAME=VALUE")),
        })
        .collect()
}

/// The final status of each workflow: JSON (an array when the file had several) or a node
/// tree each.
fn print_final(workflows: &[WorkflowObject], output: OutputFormat) {
    let mut stdout = std::io::stdout().lock();
    let text = match output {
        OutputFormat::Json => {
            let encoded = match workflows {
                [one] => serde_json::to_string_pretty(one),
                several => serde_json::to_string_pretty(several),
            };
            match encoded {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: cannot serialize the workflow status: {e}");
                    return;
                }
            }
        }
        OutputFormat::Text => workflows
            .iter()
            .map(render_text)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    let _ = writeln!(stdout, "{}", text.trim_end());
}

/// Runs the command; returns the process exit code (0 Succeeded, 1 Failed/Error, 2 bad input).
/// A file with several workflows runs them side by side; 0 only if every one succeeded.
pub async fn run_command(args: EngineRunArgs) -> i32 {
    let handles = match submit(&args) {
        Ok(handles) => handles,
        Err(msg) => {
            eprintln!("error: {msg}");
            return 2;
        }
    };
    for handle in &handles {
        stop_on_ctrl_c(handle.clone());
    }
    let live = args.watch && std::io::stdout().is_terminal() && args.output == OutputFormat::Text;
    if live && handles.len() == 1 {
        watch_live(&handles[0]).await;
    } else if args.watch {
        for handle in &handles {
            eprintln!(
                "{} submitted (uid {}); --watch needs a terminal and one workflow, waiting…",
                handle.name(),
                handle.uid()
            );
        }
    }
    let mut finished = Vec::new();
    for handle in &handles {
        finished.push(handle.wait().await);
    }
    print_final(&finished, args.output);
    if finished
        .iter()
        .all(|wf| wf.status.phase == Phase::Succeeded)
    {
        0
    } else {
        1
    }
}

/// Reads the parameters, the workflow file and the template library, and submits each
/// workflow of the file; the error to print otherwise (bad input: exit code 2).
fn submit(args: &EngineRunArgs) -> Result<Vec<RunHandle>, String> {
    let params = parse_params(&args.params)?;
    let file = args.file.display();
    let text =
        std::fs::read_to_string(&args.file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let documents = read_workflow_file(&text).map_err(|e| format!("{file}: {e}"))?;
    let mut library = match &args.templates {
        Some(dir) => TemplateLibrary::load_dir(dir).map_err(|e| e.to_string())?,
        None => TemplateLibrary::new(),
    };
    // The file's own templates, over a directory's of the same name.
    for template in documents.templates {
        library.add(template).map_err(|e| format!("{file}: {e}"))?;
    }
    let mut opts = EngineOptions::default();
    if let Some(dir) = &args.work_dir {
        opts.work_dir = dir.clone();
    }
    if let Some(dir) = &args.k8s_objects {
        opts.objects = crate::K8sObjects::load_dir(dir).map_err(|e| e.to_string())?;
    }
    opts.volumes_root = args.volumes_dir.clone();
    let engine = Engine::new(opts);
    // Every workflow is checked before any starts.
    let mut handles = Vec::new();
    for workflow in documents.runnable {
        let handle = engine
            .submit(workflow, params.clone(), &library)
            .map_err(|e| format!("{file}: {e}"));
        match handle {
            Ok(handle) => handles.push(handle),
            Err(error) => {
                handles.iter().for_each(RunHandle::terminate);
                return Err(error);
            }
        }
    }
    Ok(handles)
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
