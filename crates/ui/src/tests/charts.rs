//! The SVG pictures as markup: one mark per run, classes by outcome, the success rate, scaling
//! to the longest run, and names escaped.

use crate::charts::{
    bar_height, duration_bars, outcome_strip, Outcome, SuccessRate, BAR_RUNS, STRIP_RUNS,
};
use chrono::{TimeZone, Utc};
use polyphemus_model::{
    ConfigId, ProjectName, RunId, RunPhase, RunSummary, VersionNumber, WorkflowType,
};

fn run(n: usize, phase: RunPhase, duration_s: Option<f64>) -> RunSummary {
    let started = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).single();
    RunSummary {
        run_id: RunId::parse(format!("uid-{n}")).expect("run id"),
        name: format!("wf-{n}"),
        config_id: ConfigId::new(1),
        version_number: VersionNumber::new(1),
        workflow_type: WorkflowType::parse("sftp-to-storage").expect("type"),
        phase,
        started_at: started,
        finished_at: None,
        duration_s,
        created_at: started.expect("time"),
    }
}

fn project() -> ProjectName {
    ProjectName::parse("labors").expect("project")
}

/// Newest first, as the store lists them.
fn newest_first(phases: &[(RunPhase, Option<f64>)]) -> Vec<RunSummary> {
    let mut runs: Vec<_> = phases
        .iter()
        .enumerate()
        .map(|(n, (phase, d))| run(n, *phase, *d))
        .collect();
    runs.reverse();
    runs
}

fn count(markup: &str, needle: &str) -> usize {
    markup.matches(needle).count()
}

#[test]
fn success_rate_counts_ended_runs_only_and_rounds_halves_up() {
    let runs = newest_first(&[
        (RunPhase::Succeeded, Some(1.0)),
        (RunPhase::Failed, Some(1.0)),
        (RunPhase::Succeeded, Some(1.0)),
        (RunPhase::Running, None),
    ]);
    let rate = SuccessRate::of(&runs);
    assert_eq!(
        rate,
        SuccessRate {
            succeeded: 2,
            ended: 3
        }
    );
    assert_eq!(rate.sentence(), "2 of 3 succeeded (67%)");
    let half = SuccessRate {
        succeeded: 1,
        ended: 8,
    };
    assert_eq!(half.percent(), Some(13), "12.5% rounds up");
    assert_eq!(
        SuccessRate {
            succeeded: 0,
            ended: 4
        }
        .percent(),
        Some(0)
    );
    assert_eq!(
        SuccessRate {
            succeeded: 4,
            ended: 4
        }
        .percent(),
        Some(100)
    );
}

#[test]
fn success_rate_of_no_ended_runs_says_so() {
    let none = SuccessRate::of(&[]);
    assert_eq!(none.percent(), None);
    assert_eq!(none.sentence(), "No run has ended yet");
    let running = SuccessRate::of(&newest_first(&[(RunPhase::Running, None)]));
    assert_eq!(running.sentence(), "No run has ended yet");
}

#[test]
fn duration_bars_draw_one_linked_bar_per_run_oldest_on_the_left() {
    let runs = newest_first(&[
        (RunPhase::Succeeded, Some(30.0)),
        (RunPhase::Failed, Some(60.0)),
        (RunPhase::Error, Some(15.0)),
        (RunPhase::Running, None),
        (RunPhase::Pending, None),
    ]);
    let svg = duration_bars(&project(), &runs).into_string();
    assert_eq!(count(&svg, "<rect class=\"bar "), 5, "{svg}");
    assert_eq!(count(&svg, "<a href=\"/projects/labors/runs/uid-"), 5);
    for class in [
        "succeeded",
        "failed",
        "error",
        "running nodur",
        "other nodur",
    ] {
        assert_eq!(count(&svg, &format!("class=\"bar {class}\"")), 1, "{class}");
    }
    let oldest = svg.find("uid-0").expect("oldest");
    let newest = svg.find("uid-4").expect("newest");
    assert!(oldest < newest, "oldest first");
    assert!(svg.contains("1 of 3 succeeded (33%)"), "{svg}");
    assert!(svg.contains("<title>wf-1: Failed, 1m 00s, started 2026-12-01 10:00:00 UTC</title>"));
    assert!(svg.contains("role=\"group\"") && svg.contains("aria-label=\"Durations of the last 5"));
    assert!(svg.contains("viewBox=\"0 0 500 96\"") && svg.contains("preserveAspectRatio"));
    // HTML has no self-closing SVG: an unclosed rect would swallow what follows it.
    assert_eq!(count(&svg, "<rect"), count(&svg, "</rect>"));
    assert_eq!(count(&svg, "<line"), count(&svg, "</line>"));
}

#[test]
fn duration_bars_show_at_most_the_last_fifty_runs() {
    let phases = vec![(RunPhase::Succeeded, Some(2.0)); BAR_RUNS + 7];
    let runs = newest_first(&phases);
    let svg = duration_bars(&project(), &runs).into_string();
    assert_eq!(count(&svg, "<rect class=\"bar "), BAR_RUNS);
    assert!(!svg.contains("uid-0\""), "the oldest runs are left out");
    assert!(svg.contains(&format!("{BAR_RUNS} of {BAR_RUNS} succeeded (100%)")));
}

#[test]
fn bars_scale_to_the_longest_run_and_keep_short_ones_visible() {
    assert_eq!(bar_height(Some(60.0), 60.0), Some(80.0));
    assert_eq!(bar_height(Some(30.0), 60.0), Some(40.0));
    assert_eq!(bar_height(Some(0.0), 60.0), Some(1.5), "never invisible");
    assert_eq!(bar_height(Some(0.0), 0.0), Some(1.5));
    assert_eq!(bar_height(None, 60.0), None);
    assert_eq!(bar_height(Some(f64::NAN), 60.0), None);
}

#[test]
fn no_runs_draw_no_chart() {
    let markup = duration_bars(&project(), &[]).into_string();
    assert!(!markup.contains("<svg"));
    assert!(markup.contains("No runs to chart yet"));
    let strip = outcome_strip(&project(), &[]).into_string();
    assert_eq!(count(&strip, "sq empty"), STRIP_RUNS);
    assert!(strip.contains("aria-label=\"No runs yet\""));
}

#[test]
fn outcome_strip_fills_empty_slots_first_and_links_each_run() {
    let runs = newest_first(&[
        (RunPhase::Failed, Some(1.0)),
        (RunPhase::Succeeded, Some(1.0)),
        (RunPhase::Running, None),
    ]);
    let strip = outcome_strip(&project(), &runs).into_string();
    assert_eq!(count(&strip, "class=\"sq empty\""), STRIP_RUNS - 3);
    assert_eq!(count(&strip, "<a href=\"/projects/labors/runs/uid-"), 3);
    for class in ["failed", "succeeded", "running"] {
        assert_eq!(
            count(&strip, &format!("class=\"sq {class}\"")),
            1,
            "{class}"
        );
    }
    let last_empty = strip.rfind("sq empty").expect("empty");
    assert!(
        last_empty < strip.find("<a ").expect("a run"),
        "empties first"
    );
    assert!(strip.contains("Last 3 outcomes, oldest first: Failed, Succeeded, Running"));
    assert_eq!(count(&strip, "<rect"), count(&strip, "</rect>"));
}

#[test]
fn outcome_strip_shows_only_the_last_ten() {
    let runs = newest_first(&vec![(RunPhase::Error, Some(1.0)); STRIP_RUNS + 3]);
    let strip = outcome_strip(&project(), &runs).into_string();
    assert_eq!(count(&strip, "class=\"sq error\""), STRIP_RUNS);
    assert!(!strip.contains("sq empty"));
}

#[test]
fn run_names_are_escaped_in_titles() {
    let mut hostile = run(1, RunPhase::Failed, Some(3.0));
    hostile.name = "<script>alert(1)</script>&".to_owned();
    for markup in [
        duration_bars(&project(), std::slice::from_ref(&hostile)).into_string(),
        outcome_strip(&project(), std::slice::from_ref(&hostile)).into_string(),
    ] {
        assert!(!markup.contains("<script>"), "{markup}");
        assert!(markup.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;"));
    }
    let one = duration_bars(&project(), std::slice::from_ref(&hostile)).into_string();
    assert!(one.contains("durations of the last run,"), "{one}");
}

#[test]
fn outcomes_follow_the_phase() {
    assert_eq!(Outcome::of(RunPhase::Succeeded).class(), "succeeded");
    assert_eq!(Outcome::of(RunPhase::Error).class(), "error");
    assert_eq!(Outcome::of(RunPhase::Pending).class(), "other");
    assert_eq!(Outcome::of(RunPhase::Skipped), Outcome::Other);
}
