//! Tables sorted by a column from `?sort=COLUMN&dir=asc|desc`, on the server so it works
//! without JavaScript: each header is a link that sorts by it (the other way when it already
//! does), and the sorted header carries `aria-sort`.

use maud::{html, Markup};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Asc,
    Desc,
}

impl Dir {
    pub fn key(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }

    pub fn aria(self) -> &'static str {
        match self {
            Self::Asc => "ascending",
            Self::Desc => "descending",
        }
    }
}

/// The sortable columns of one table.
pub trait Column: Copy + PartialEq + 'static {
    const ALL: &'static [Self];
    /// The `?sort=` value.
    fn key(self) -> &'static str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<C> {
    pub column: C,
    pub dir: Dir,
}

impl<C: Column> Sort<C> {
    /// An unknown column is no sort (the table keeps its own order), not an error; any
    /// direction but `desc` is ascending.
    pub fn parse(sort: Option<&str>, dir: Option<&str>) -> Option<Self> {
        let column = C::ALL.iter().copied().find(|c| Some(c.key()) == sort)?;
        let dir = if dir == Some("desc") {
            Dir::Desc
        } else {
            Dir::Asc
        };
        Some(Self { column, dir })
    }

    /// Sorts `rows` stably, so equal rows keep the table's own order either way.
    pub fn apply<T>(self, rows: &mut [T], compare: impl Fn(C, &T, &T) -> Ordering) {
        rows.sort_by(|a, b| match self.dir {
            Dir::Asc => compare(self.column, a, b),
            Dir::Desc => compare(self.column, b, a),
        });
    }

    /// `sort=…&dir=…`, to carry the order along to other links (the next page).
    pub fn query(self) -> String {
        format!("sort={}&dir={}", self.column.key(), self.dir.key())
    }
}

/// What header links need: the current order and the other query parameters to keep
/// (already encoded, each followed by `&`).
#[derive(Debug, Clone)]
pub struct Links<C> {
    pub current: Option<Sort<C>>,
    pub keep: String,
}

/// A column header: a plain `th`, or with `links` one that sorts by `column`.
pub fn th<C: Column>(label: &str, column: C, links: Option<&Links<C>>) -> Markup {
    let Some(links) = links else {
        return html! { th scope="col" { (label) } };
    };
    let current = links.current.filter(|s| s.column == column);
    let next = match current {
        Some(Sort { dir: Dir::Asc, .. }) => Dir::Desc,
        _ => Dir::Asc,
    };
    let href = format!("?{}sort={}&dir={}", links.keep, column.key(), next.key());
    let arrow = match current.map(|s| s.dir) {
        Some(Dir::Asc) => " ▲",
        Some(Dir::Desc) => " ▼",
        None => "",
    };
    html! {
        th scope="col" aria-sort=[current.map(|s| s.dir.aria())] {
            a.sort href=(href) data-sort=(column.key()) {
                (label) span aria-hidden="true" { (arrow) }
                span.visually-hidden { ", sort " (next.aria()) }
            }
        }
    }
}

/// `name=value&` with the value form-encoded, for [`Links::keep`].
pub fn keep_param(name: &str, value: &str) -> String {
    // Encoding a pair of strings cannot fail.
    let encoded = serde_urlencoded::to_string([(name, value)]).unwrap_or_default();
    format!("{encoded}&")
}
