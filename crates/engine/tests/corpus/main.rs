//! Argo's whole `examples/` directory (tests/argo-examples, Apache-2.0, see its LICENSE) run
//! on the local engine, as Argo's e2e suite runs it on a cluster: every WorkflowTemplate of
//! the corpus is loaded first, then every Workflow of every file runs and must reach the
//! phase `tests/argo-examples.expect` gives it (Succeeded when not listed). Image-only
//! commands (`argosay`, `cowsay`) come from stand-ins in tests/argo-examples-bin. The test
//! prints how many examples reach Argo's phase; known gaps are listed with why, and one that
//! starts passing must be taken off the list.

#[path = "../common/mod.rs"]
mod common;

mod checks;
mod expectations;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use expectations::Expect;
use polyphemus_engine::k8s_objects::K8sObjects;
use polyphemus_engine::{
    read_workflow_file, Engine, EngineOptions, Phase, RunHandle, TemplateLibrary, WorkflowObject,
};
use serde::Deserialize;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/argo-examples");
const STAND_INS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/argo-examples-bin");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const EXPECT: &str = include_str!("../argo-examples.expect");
/// The ConfigMaps and Secrets examples expect to exist, beside those they bring.
const OBJECTS: &str = include_str!("../argo-examples-objects.yaml");
/// The longest an example may run; none needs half of it.
const LIMIT: Duration = Duration::from_secs(120);

/// One example file: its path in the corpus and its Workflow / CronWorkflow documents.
struct Example {
    path: String,
    workflows: String,
}

/// What running an example's workflows gave.
enum Got {
    /// The phases of its workflows, and the final objects.
    Ran(Vec<WorkflowObject>),
    Refused(String),
    TimedOut,
}

impl Got {
    /// The file's phase: the first workflow's that did not succeed, else Succeeded.
    fn phase(&self) -> Option<String> {
        let Got::Ran(wfs) = self else { return None };
        let phase = wfs
            .iter()
            .map(|w| w.status.phase)
            .find(|p| *p != Phase::Succeeded)
            .unwrap_or(Phase::Succeeded);
        Some(phase.to_string())
    }

    fn describe(&self) -> String {
        match self {
            Got::Ran(wfs) => {
                let why = wfs
                    .iter()
                    .find(|w| w.status.phase != Phase::Succeeded)
                    .and_then(|w| w.status.message.clone())
                    .unwrap_or_default();
                format!("{} {why}", self.phase().unwrap_or_default())
            }
            Got::Refused(why) => format!("refused: {why}"),
            Got::TimedOut => format!("still running after {}s", LIMIT.as_secs()),
        }
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(path);
        }
    }
}

/// Splits the corpus: templates go to `templates` (one file each), ConfigMaps and Secrets to
/// `objects`, and each file's Workflow / CronWorkflow documents make an example.
fn read_corpus(templates: &Path, objects: &Path) -> Vec<Example> {
    let mut files = Vec::new();
    yaml_files(Path::new(CORPUS), &mut files);
    files.sort();
    let mut examples = Vec::new();
    for (n, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).expect("readable example");
        let path = file
            .strip_prefix(CORPUS)
            .expect("under the corpus")
            .to_string_lossy()
            .trim_start_matches('/')
            .to_owned();
        let mut workflows = String::new();
        for (d, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let Ok(value) = serde_yaml::Value::deserialize(doc) else {
                // Not YAML the engine reads: the whole file runs, to show how it is refused.
                workflows = text.clone();
                break;
            };
            let kind = value
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or_default();
            let doc_text = serde_yaml::to_string(&value).expect("YAML re-serialises");
            let dir = match kind {
                "Workflow" | "CronWorkflow" => {
                    workflows.push_str("---\n");
                    workflows.push_str(&doc_text);
                    continue;
                }
                "WorkflowTemplate" | "ClusterWorkflowTemplate" => templates,
                "ConfigMap" | "Secret" => objects,
                // PersistentVolumeClaims, ResourceQuotas, WorkflowEventBindings: cluster objects
                // the examples bring along, which Argo's e2e suite applies or ignores.
                _ => continue,
            };
            std::fs::write(dir.join(format!("{n}-{d}.yaml")), doc_text).expect("write document");
        }
        if !workflows.is_empty() {
            examples.push(Example { path, workflows });
        }
    }
    examples
}

/// The engine the corpus runs on, with the corpus's ConfigMaps and Secrets.
fn corpus_engine(objects: &Path) -> Engine {
    let path = std::env::var("PATH").unwrap_or_default();
    let work_dir = common::work_dir().join("corpus");
    let engine = Engine::new(EngineOptions {
        objects: K8sObjects::load_dir(objects).expect("the corpus's objects load"),
        // Claims start empty on every test run, as on a fresh cluster.
        volumes_root: Some(fresh_dir(&work_dir.join("volumes"))),
        work_dir,
        env: vec![
            ("PATH".into(), format!("{STAND_INS}:{path}")),
            ("PYTHONPATH".into(), FIXTURES.into()),
        ],
        keep_visible: vec![PathBuf::from(FIXTURES), PathBuf::from(STAND_INS)],
        // Examples back off for up to minutes between attempts: the attempts are what count.
        max_backoff: Some(Duration::from_millis(200)),
        ..Default::default()
    });
    if engine.private_tmp() {
        return engine;
    }
    // Examples such as parameter-aggregation run parallel pods that all write /tmp/num; where
    // nodes share /tmp they would race (as in one shared pod), so pods run one at a time.
    println!("note: no private /tmp here; running the examples one pod at a time");
    let mut opts = engine.options().clone();
    opts.max_pods = Some(1);
    Engine::new(opts)
}

fn fresh_dir(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create a fresh dir");
    dir.to_path_buf()
}

/// Waits for the run's end, resuming it whenever it is suspended, as a person clicking
/// Resume (or `argo resume`) would; supplied outputs take their defaults.
async fn resumed_until_done(handle: &RunHandle) -> WorkflowObject {
    let mut changes = handle.subscribe();
    loop {
        if handle.is_suspended() {
            let _ = handle.resume();
        }
        tokio::select! {
            wf = handle.wait() => return wf,
            changed = changes.changed() => {
                if changed.is_err() {
                    return handle.wait().await;
                }
            }
        }
    }
}

async fn run_example(engine: &Engine, lib: &TemplateLibrary, example: &Example) -> Got {
    let file = match read_workflow_file(&example.workflows) {
        Ok(f) => f,
        Err(e) => return Got::Refused(e.to_string()),
    };
    let mut done = Vec::new();
    for wf in file.runnable {
        let handle = match engine.submit(wf, Vec::new(), lib) {
            Ok(h) => h,
            Err(e) => return Got::Refused(e.to_string()),
        };
        match tokio::time::timeout(LIMIT, resumed_until_done(&handle)).await {
            Ok(wf) => done.push(wf),
            Err(_) => {
                handle.stop();
                handle.wait().await;
                return Got::TimedOut;
            }
        }
    }
    Got::Ran(done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argo_examples_reach_argos_phase() {
    common::init_tracing();
    let scratch = tempfile::tempdir().expect("temp dir");
    let (templates, objects) = (
        scratch.path().join("templates"),
        scratch.path().join("objects"),
    );
    std::fs::create_dir_all(&templates).expect("templates dir");
    std::fs::create_dir_all(&objects).expect("objects dir");
    let examples = read_corpus(&templates, &objects);
    std::fs::write(objects.join("given.yaml"), OBJECTS).expect("write the given objects");
    let expected = expectations::load(EXPECT);
    for path in expected.keys() {
        assert!(
            examples.iter().any(|e| &e.path == path),
            "argo-examples.expect names {path}, which has no Workflow in the corpus"
        );
    }
    let lib = Arc::new(TemplateLibrary::load_dir(&templates).expect("templates load"));
    let engine = Arc::new(corpus_engine(&objects));
    let at_once = if engine.private_tmp() { 6 } else { 1 };
    let permits = Arc::new(tokio::sync::Semaphore::new(at_once));
    let mut runs = Vec::new();
    for example in examples {
        let (expect, why) = expected
            .get(&example.path)
            .map_or((Expect::Phase("Succeeded".into()), String::new()), |e| {
                (e.expect.clone(), e.why.clone())
            });
        if expect == Expect::Skip {
            runs.push((example.path, expect, why, None));
            continue;
        }
        let (engine, lib, permits) = (engine.clone(), lib.clone(), permits.clone());
        let path = example.path.clone();
        let task = tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            run_example(&engine, &lib, &example).await
        });
        runs.push((path, expect, why, Some(task)));
    }
    let mut report = Report {
        sandboxed: engine.private_tmp(),
        ..Report::default()
    };
    for (path, expect, why, task) in runs {
        let got = match task {
            Some(t) => Some(t.await.expect("example task")),
            None => None,
        };
        report.add(&path, (&expect, &why), got.as_ref());
    }
    report.print();
    assert!(
        report.wrong.is_empty(),
        "examples not as argo-examples.expect says:\n{}",
        report.wrong.join("\n")
    );
}

#[derive(Default)]
struct Report {
    /// Whether nodes get the sandbox; without it, volumes are refused and daemons wait for
    /// the one pod slot, so those examples count as not run.
    sandboxed: bool,
    reached: usize,
    refused: usize,
    skipped: usize,
    gaps: Vec<String>,
    wrong: Vec<String>,
}

impl Report {
    /// Counts one example: what it must do (and why, for a gap) and what it did.
    fn add(&mut self, path: &str, (expect, why): (&Expect, &str), got: Option<&Got>) {
        let Some(got) = got else {
            self.skipped += 1;
            return;
        };
        let needs_sandbox = match got {
            Got::Refused(why) => why.contains("needs the step sandbox"),
            Got::TimedOut => true,
            Got::Ran(_) => false,
        };
        if !self.sandboxed && needs_sandbox {
            println!("note: {path} needs the sandbox: {}", got.describe());
            self.skipped += 1;
            return;
        }
        match expect {
            Expect::Phase(phase) if got.phase().as_ref() == Some(phase) => {
                if let Got::Ran(wfs) = got {
                    for wf in wfs {
                        checks::check(path, wf);
                    }
                }
                self.reached += 1;
            }
            Expect::Refused(text) if matches!(got, Got::Refused(why) if why.contains(text)) => {
                self.refused += 1
            }
            // Without a sandbox a step writes the host itself (e.g. /output): not a fix.
            Expect::Gap(phase) if got.phase().as_ref() == Some(phase) && !self.sandboxed => {
                println!("note: {path} reaches {phase} only because nothing is sandboxed");
                self.skipped += 1;
            }
            Expect::Gap(phase) if got.phase().as_ref() == Some(phase) => self.wrong.push(format!(
                "{path}: now reaches {phase}: take it off the known gaps"
            )),
            Expect::Gap(_) => self
                .gaps
                .push(format!("{path} [{why}]: {}", got.describe())),
            Expect::Phase(want) => self
                .wrong
                .push(format!("{path}: expected {want}, got {}", got.describe())),
            Expect::Refused(text) => self.wrong.push(format!(
                "{path}: expected a refusal saying `{text}`, got {}",
                got.describe()
            )),
            Expect::Skip => {}
        }
    }

    /// Prints the summary, and writes it to `<target>/tmp/argo-examples-report.txt` for
    /// `scripts/test` to show (cargo hides a passing test's output).
    fn print(&self) {
        let text = self.summary();
        print!("{text}");
        let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("argo-examples-report.txt");
        std::fs::write(&file, &text).expect("write the report");
    }

    fn summary(&self) -> String {
        use std::fmt::Write;
        let runnable = self.reached + self.gaps.len() + self.wrong.len();
        let percent = (self.reached * 100).checked_div(runnable).unwrap_or(0);
        let mut text = format!(
            "argo examples: {} of {runnable} that need no Kubernetes API reach Argo's phase \
             ({percent}%); {} refused as needing a cluster; {} not run (random outcome, \
             minutes long or Windows); {} known gaps:\n",
            self.reached,
            self.refused,
            self.skipped,
            self.gaps.len()
        );
        for gap in &self.gaps {
            let _ = writeln!(text, "  gap {gap}");
        }
        text
    }
}
