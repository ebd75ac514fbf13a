//! A step's logs go to files as it prints, not into memory: a loud step leaves its whole log on
//! disk, `outputs.result` keeps Argo's 256 KiB, and a failed step's message is read from the
//! end of its log.

mod common;

use common::{node, result};
use polyphemus_engine::status::Phase;
use polyphemus_engine::{read_tail, TemplateLibrary, Workflow};

const EIGHT_MIB: u64 = 8 * 1024 * 1024;

#[tokio::test]
async fn a_loud_step_keeps_its_whole_log_on_disk_and_a_capped_result() {
    common::init_tracing();
    let wf = Workflow::from_yaml(&format!(
        r#"
kind: Workflow
metadata: {{name: loud-step}}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {{image: busybox, command: [sh, -c, "echo warn >&2; yes abc | head -c {EIGHT_MIB}"]}}
"#
    ))
    .expect("workflow");
    let handle = common::engine()
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .expect("starts");
    let done = handle.wait().await;
    assert_eq!(done.status.phase, Phase::Succeeded);
    let step = node(&done, "");

    let result = result(step).expect("result");
    assert!(
        (256 * 1024 - 1..=256 * 1024).contains(&result.len()),
        "result is stdout's first 256 KiB: {} bytes",
        result.len()
    );
    assert!(result.starts_with("abc\nabc\n"));

    let (tail, whole) = read_tail(&handle.log_file(&step.id), 8)
        .expect("readable")
        .expect("a log");
    assert_eq!(
        whole,
        EIGHT_MIB + "warn\n".len() as u64,
        "both streams, whole"
    );
    assert_eq!(tail, "abc\nabc\n");
    let logs = handle.run_dir().join("logs");
    let stdout = std::fs::metadata(logs.join(format!("{}.stdout.log", step.id))).expect("stdout");
    assert_eq!(stdout.len(), EIGHT_MIB);
    let stderr =
        std::fs::read_to_string(logs.join(format!("{}.stderr.log", step.id))).expect("stderr");
    assert_eq!(stderr, "warn\n");
}

#[tokio::test]
async fn a_failed_steps_message_is_the_end_of_its_long_log() {
    let done = common::run(&format!(
        r#"
kind: Workflow
metadata: {{name: loud-failure}}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: busybox
      command: [sh, -c, "yes progress | head -c {EIGHT_MIB}; echo 'disk full' >&2; exit 3"]
      terminationMessagePolicy: FallbackToLogsOnError
"#
    ))
    .await;
    assert_eq!(done.status.phase, Phase::Failed);
    let message = node(&done, "").message.clone().expect("message");
    assert!(message.starts_with("Error (exit code 3): "), "{message}");
    assert!(message.ends_with("disk full"), "{message}");
    assert!(message.len() < 2100, "{} bytes", message.len());
}
