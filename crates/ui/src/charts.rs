//! Server-rendered SVG pictures of runs, without any script: a config's run durations as bars
//! and a dashboard row's last outcomes as a strip. Every mark links to its run and names it.

use crate::layout::duration;
use maud::{html, Markup};
use polyphemus_model::{ProjectName, RunPhase, RunSummary};

/// How many runs the config page's bars show.
pub const BAR_RUNS: usize = 50;
/// How many outcomes a dashboard strip shows.
pub const STRIP_RUNS: usize = 10;

/// How a run stands, as the pictures colour and mark it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    Error,
    Running,
    Other,
}

impl Outcome {
    pub fn of(phase: RunPhase) -> Self {
        match phase {
            RunPhase::Succeeded => Self::Succeeded,
            RunPhase::Failed => Self::Failed,
            RunPhase::Error => Self::Error,
            RunPhase::Running => Self::Running,
            _ => Self::Other,
        }
    }

    /// The CSS class; ui.css gives each the colour of the matching badge.
    pub fn class(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Error => "error",
            Self::Running => "running",
            Self::Other => "other",
        }
    }

    /// A shape cue, so the outcome does not rest on colour alone.
    fn glyph(self) -> &'static str {
        match self {
            Self::Succeeded => "✓",
            Self::Failed => "✗",
            Self::Error => "!",
            Self::Running => "●",
            Self::Other => "…",
        }
    }
}

/// Succeeded runs among the ended ones; runs still going do not count either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuccessRate {
    pub succeeded: usize,
    pub ended: usize,
}

impl SuccessRate {
    pub fn of(runs: &[RunSummary]) -> Self {
        let ended = runs.iter().filter(|r| r.phase.is_final());
        Self {
            succeeded: ended
                .clone()
                .filter(|r| r.phase == RunPhase::Succeeded)
                .count(),
            ended: ended.count(),
        }
    }

    /// Whole percent, halves rounded up; none before any run has ended.
    pub fn percent(self) -> Option<usize> {
        (self.ended > 0).then(|| (self.succeeded * 200 + self.ended) / (self.ended * 2))
    }

    pub fn sentence(self) -> String {
        match self.percent() {
            Some(percent) => format!(
                "{} of {} succeeded ({percent}%)",
                self.succeeded, self.ended
            ),
            None => "No run has ended yet".to_owned(),
        }
    }
}

fn run_href(project: &ProjectName, run: &RunSummary) -> String {
    format!("/projects/{project}/runs/{}", run.run_id)
}

/// What a mark's tooltip and accessible name say of its run.
fn describe(run: &RunSummary) -> String {
    let started = run.started_at.unwrap_or(run.created_at);
    format!(
        "{}: {}, {}, started {}",
        run.name,
        run.phase.as_str(),
        duration(run.duration_s),
        started.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

/// The oldest first of the newest `limit` runs of a newest-first list.
fn oldest_first(runs: &[RunSummary], limit: usize) -> Vec<&RunSummary> {
    let mut chosen: Vec<&RunSummary> = runs.iter().take(limit).collect();
    chosen.reverse();
    chosen
}

/// Bar-chart geometry in viewBox units: a wide, low picture whose slots share the width.
const CHART_WIDTH: f64 = 500.0;
/// The fewest slots: a few runs do not make fat bars.
const MIN_SLOTS: usize = 20;
/// The share of a slot its bar fills.
const BAR_SHARE: f64 = 0.7;
const PLOT_TOP: f64 = 2.0;
const PLOT_HEIGHT: f64 = 80.0;
const CHART_HEIGHT: f64 = 96.0;
/// A bar with no duration yet (still going, or never reported) is short and hatched.
const NO_DURATION_HEIGHT: f64 = 8.0;
/// The shortest run stays visible.
const MIN_HEIGHT: f64 = 1.5;

/// A bar's height: its duration over the longest one; `None` for a run without a duration.
pub fn bar_height(seconds: Option<f64>, longest: f64) -> Option<f64> {
    let seconds = seconds.filter(|s| s.is_finite() && *s >= 0.0)?;
    if longest <= 0.0 {
        return Some(MIN_HEIGHT);
    }
    Some((PLOT_HEIGHT * seconds / longest).clamp(MIN_HEIGHT, PLOT_HEIGHT))
}

fn longest(runs: &[&RunSummary]) -> f64 {
    runs.iter()
        .filter_map(|r| r.duration_s.filter(|s| s.is_finite()))
        .fold(0.0, f64::max)
}

/// The config page's picture: the last [`BAR_RUNS`] runs' durations, oldest on the left, with
/// the success rate over those that ended. `runs` come newest first.
pub fn duration_bars(project: &ProjectName, runs: &[RunSummary]) -> Markup {
    let shown = oldest_first(runs, BAR_RUNS);
    if shown.is_empty() {
        return html! { p.muted { "No runs to chart yet." } };
    }
    let rate = SuccessRate::of(runs.get(..shown.len()).unwrap_or(runs));
    let longest = longest(&shown);
    let slot = CHART_WIDTH / shown.len().max(MIN_SLOTS) as f64;
    let width = CHART_WIDTH;
    let last = last_runs(shown.len());
    let label = format!("Durations of {last}, oldest first; {}", rate.sentence());
    html! {
        figure.chart {
            figcaption {
                strong.rate { (rate.sentence()) }
                " · durations of " (last) ", oldest on the left, longest "
                (duration(Some(longest)))
            }
            // A group, not an image: an image's children are hidden from assistive technology,
            // and each bar is a link.
            svg.bars role="group" aria-label=(label) viewBox={ "0 0 " (width) " " (CHART_HEIGHT) }
                width="100%" preserveAspectRatio="xMinYMax meet" {
                defs {
                    pattern #bars-hatch width="4" height="4" patternUnits="userSpaceOnUse"
                        patternTransform="rotate(45)" {
                        rect.hatch-bg width="4" height="4" {}
                        line.hatch-line x1="0" y1="0" x2="0" y2="4" {}
                    }
                }
                line.axis x1="0" y1=(PLOT_TOP + PLOT_HEIGHT) x2=(width) y2=(PLOT_TOP + PLOT_HEIGHT) {}
                @for (i, run) in shown.iter().enumerate() {
                    (bar(project, run, (i as f64 * slot, slot), longest))
                }
            }
            (legend())
        }
    }
}

fn last_runs(count: usize) -> String {
    match count {
        1 => "the last run".to_owned(),
        n => format!("the last {n} runs"),
    }
}

/// One run's bar in the slot at `x` of width `slot`.
fn bar(project: &ProjectName, run: &RunSummary, (x, slot): (f64, f64), longest: f64) -> Markup {
    let outcome = Outcome::of(run.phase);
    let height = bar_height(run.duration_s, longest);
    let drawn = height.unwrap_or(NO_DURATION_HEIGHT);
    let base = PLOT_TOP + PLOT_HEIGHT;
    let class = format!(
        "bar {}{}",
        outcome.class(),
        if height.is_none() { " nodur" } else { "" }
    );
    html! {
        a href=(run_href(project, run)) data-run=(run.run_id) {
            title { (describe(run)) }
            // The whole column takes the tap, not only the bar.
            rect.hit x=(x) y="0" width=(slot) height=(CHART_HEIGHT) {}
            rect class=(class) x=(x + slot * (1.0 - BAR_SHARE) / 2.0) y=(base - drawn)
                width=(slot * BAR_SHARE) height=(drawn) {}
            text.glyph x=(x + slot / 2.0) y=(CHART_HEIGHT - 2.0) aria-hidden="true" {
                (outcome.glyph())
            }
        }
    }
}

fn legend() -> Markup {
    let keys = [
        (Outcome::Succeeded, "Succeeded"),
        (Outcome::Failed, "Failed"),
        (Outcome::Error, "Error"),
        (Outcome::Running, "Running"),
        (Outcome::Other, "Pending or other"),
    ];
    html! {
        ul.legend aria-label="Legend" {
            @for (outcome, text) in keys {
                li { span class={ "key " (outcome.class()) } aria-hidden="true" { (outcome.glyph()) } " " (text) }
            }
            li { span.key.nodur aria-hidden="true" {} " No duration yet" }
        }
    }
}

/// Strip geometry in viewBox units.
const SQUARE: f64 = 10.0;
const SQUARE_STEP: f64 = 12.0;

/// A dashboard row's picture: the last [`STRIP_RUNS`] outcomes as squares, oldest on the left
/// and the newest always at the right end, empty slots first when there were fewer runs.
pub fn outcome_strip(project: &ProjectName, runs: &[RunSummary]) -> Markup {
    let shown = oldest_first(runs, STRIP_RUNS);
    let empty = STRIP_RUNS - shown.len();
    let phases: Vec<&str> = shown.iter().map(|r| r.phase.as_str()).collect();
    let label = if shown.is_empty() {
        "No runs yet".to_owned()
    } else {
        format!(
            "Last {} outcomes, oldest first: {}",
            shown.len(),
            phases.join(", ")
        )
    };
    let width = STRIP_RUNS as f64 * SQUARE_STEP;
    html! {
        svg.strip role="group" aria-label=(label) viewBox={ "0 0 " (width) " " (SQUARE_STEP) }
            width="100%" preserveAspectRatio="xMinYMid meet" {
            @for i in 0..empty {
                rect.sq.empty x=(i as f64 * SQUARE_STEP + 1.0) y="1" width=(SQUARE) height=(SQUARE) {}
            }
            @for (i, run) in shown.iter().enumerate() {
                @let x = (empty + i) as f64 * SQUARE_STEP + 1.0;
                @let outcome = Outcome::of(run.phase);
                a href=(run_href(project, run)) data-run=(run.run_id) {
                    title { (describe(run)) }
                    rect class={ "sq " (outcome.class()) } x=(x) y="1" width=(SQUARE) height=(SQUARE) {}
                    text.glyph x=(x + SQUARE / 2.0) y=(SQUARE - 0.5) aria-hidden="true" { (outcome.glyph()) }
                }
            }
        }
    }
}
