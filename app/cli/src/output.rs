//! Printing results: every result is `Serialize` (for `--output json`) and renders itself as
//! plain aligned tables for people.

use serde::Serialize;

/// A command's result.
pub trait Render: Serialize {
    /// The human-readable form.
    fn render(&self) -> String;
}

/// `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables.
    Table,
    /// Pretty-printed JSON.
    Json,
}

/// Prints `r` in `format`.
pub fn print<R: Render>(r: &R, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(r).expect("results serialise"),
        Format::Table => r.render(),
    }
}

/// A table with a header row; numeric-looking cells are right-aligned.
#[derive(Clone, Debug, Default)]
pub struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(head: &[&str]) -> Table {
        Table {
            head: head.iter().map(|s| s.to_string()).collect(),
            rows: vec![],
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

fn numeric(s: &str) -> bool {
    let t = s.trim_start_matches(['-', '+']);
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '%')
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.head.len();
        let mut w: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |f: &mut std::fmt::Formatter<'_>, cells: &[String], head: bool| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate().take(n) {
                if i > 0 {
                    s.push_str("  ");
                }
                let pad = w[i] - c.chars().count();
                if !head && numeric(c) {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    if i + 1 < n {
                        s.push_str(&" ".repeat(pad));
                    }
                }
            }
            writeln!(f, "{}", s.trim_end())
        };
        line(f, &self.head, true)?;
        for r in &self.rows {
            line(f, r, false)?;
        }
        Ok(())
    }
}

/// `key: value` lines, keys aligned.
pub fn kv(pairs: &[(&str, String)]) -> String {
    let w = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:<w$}  {v}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let mut t = Table::new(&["name", "qty"]);
        t.row(vec!["BTC/USD".into(), "-10".into()]);
        t.row(vec!["X".into(), "5".into()]);
        assert_eq!(t.to_string(), "name     qty\nBTC/USD  -10\nX          5\n");
        assert_eq!(
            kv(&[("a", "1".into()), ("bbb", "2".into())]),
            "a    1\nbbb  2\n"
        );
    }
}
