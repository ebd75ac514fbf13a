//! The page shell every page shares (header, breadcrumbs, skip link, main landmark) and the
//! small pieces that give the UI one look: times, durations, state badges, notices.

use crate::session::{Session, CSRF_FIELD};
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

/// The shell of one page.
pub struct Page<'a> {
    pub title: String,
    pub session: Option<&'a Session>,
    /// (href, label) from the project list down to this page.
    pub crumbs: Vec<(String, String)>,
    /// The page refreshes itself (with JavaScript) while something on it is still running.
    pub live: bool,
}

impl Page<'_> {
    pub fn render(self, body: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · Polyphemus" }
                    link rel="stylesheet" href="/assets/ui.css";
                    script src="/assets/ui.js" defer {}
                    @if self.live {
                        // Without JavaScript a live page reloads itself instead.
                        noscript { meta http-equiv="refresh" content="10"; }
                    }
                }
                body {
                    a.skip href="#main" { "Skip to content" }
                    header.top {
                        a.brand href="/" { "Polyphemus" }
                        @if let Some(session) = self.session {
                            div.who {
                                span { "Signed in as " strong { (session.name()) } }
                                a #your-tokens href="/tokens" { "Your API tokens" }
                                form method="post" action="/signout" {
                                    (csrf_field(session))
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                    @if !self.crumbs.is_empty() {
                        nav.crumbs aria-label="Breadcrumb" {
                            ol {
                                @for (href, label) in &self.crumbs {
                                    li { a href=(href) { (label) } }
                                }
                                li aria-current="page" { (self.title) }
                            }
                        }
                    }
                    main #main tabindex="-1" data-live=[self.live.then_some("1")] {
                        (body)
                    }
                }
            }
        }
    }
}

/// The hidden field that proves a form came from this session's page.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

pub fn error_page(status: u16, reason: &str, message: &str) -> Markup {
    Page {
        title: format!("{status} {reason}"),
        session: None,
        crumbs: Vec::new(),
        live: false,
    }
    .render(html! {
        h1 { (status) " " (reason) }
        p.notice.bad role="alert" { (message) }
        p { a href="/" { "Back to your projects" } }
    })
}

/// A time in UTC, machine-readable too.
pub fn time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => html! {
            time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S UTC")) }
        },
        None => html! { span.muted { "—" } },
    }
}

/// `1h 02m`, `3m 05s`, `4.2s`.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(seconds) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return "—".to_owned();
    };
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let whole = seconds.round() as i64;
    let (hours, minutes, secs) = (whole / 3600, (whole % 3600) / 60, whole % 60);
    if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else {
        format!("{minutes}m {secs:02}s")
    }
}

/// A state or phase as a coloured badge that also says it in words.
pub fn badge(state: &str) -> Markup {
    let class = match state.to_ascii_lowercase().as_str() {
        "succeeded" => "ok",
        "failed" | "error" => "bad",
        "running" => "busy",
        "disabled" | "skipped" | "omitted" => "off",
        "paused" => "bad",
        _ => "idle",
    };
    html! { span class={ "badge " (class) } { (state) } }
}

/// A short confirmation after a redirect; only fixed texts, chosen by key.
pub fn notice(key: Option<&str>) -> Markup {
    let text = match key {
        Some("created") => "Config created.",
        Some("saved") => "Saved.",
        Some("unchanged") => "Nothing changed, so no new version was made.",
        Some("secrets") => "Secrets updated.",
        Some("runtime") => "Runtime settings saved.",
        Some("resumed") => "Scheduled runs resumed.",
        Some("channel-added") => "Channel added.",
        Some("channel-removed") => "Channel removed.",
        Some("test-delivered") => "Test alert delivered.",
        Some("retention") => "Retention policy saved.",
        Some("backfill-started") => "Backfill started.",
        Some("backfill-stop") => "Backfill stopped; its active run is left to finish.",
        Some("backfill-resume") => "Backfill resumed.",
        Some("restored") => "Version restored as the latest version.",
        Some("archived") => "Archived: hidden from the dashboard, schedule off, not launched.",
        Some("unarchived") => "Unarchived.",
        _ => return html! {},
    };
    html! { p.notice.good role="status" { (text) } }
}

/// Pretty-printed JSON for people.
pub fn json_block(value: &serde_json::Value, label: &str) -> Markup {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    html! { pre.json tabindex="0" aria-label=(label) { code { (text) } } }
}
