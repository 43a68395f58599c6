//! Progress of a copy, export or import on stderr: an indicatif bar per table (rows, rate, ETA)
//! when stderr is a terminal, one plain line per finished table otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use keygate_store::transfer::{Progress, TableReport};

pub struct Reporter {
    tty: bool,
    bar: Option<ProgressBar>,
}

impl Reporter {
    pub fn new() -> Reporter {
        Reporter {
            tty: std::io::stderr().is_terminal(),
            bar: None,
        }
    }
}

impl Default for Reporter {
    fn default() -> Self {
        Reporter::new()
    }
}

impl Progress for Reporter {
    fn table_started(&mut self, table: &str, total: u64) {
        if !self.tty {
            return;
        }
        let style =
            ProgressStyle::with_template("{prefix:>22} [{bar:30}] {human_pos}/{human_len} rows  {per_sec}  ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let bar = ProgressBar::new(total).with_style(style).with_prefix(table.to_owned());
        self.bar = Some(bar);
    }

    fn rows_done(&mut self, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(rows);
        }
    }

    fn table_finished(&mut self, report: &TableReport) {
        match self.bar.take() {
            Some(bar) => bar.finish(),
            None => eprintln!(
                "{}: {} rows in {:.1} s",
                report.table,
                report.rows,
                report.millis as f64 / 1000.0
            ),
        }
    }
}

/// The per-table lines a transfer command prints on stdout (people) or as JSON (scripts).
pub fn print_reports(
    json: bool,
    reports: &[TableReport],
    seconds: f64,
    extra: serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let rows: u64 = reports.iter().map(|r| r.rows).sum();
    if json {
        let mut body = extra;
        body.insert("tables".into(), serde_json::to_value(reports)?);
        body.insert("rows".into(), rows.into());
        body.insert("seconds".into(), seconds.into());
        println!("{}", serde_json::Value::Object(body));
    } else {
        let lines: Vec<Vec<String>> = reports
            .iter()
            .map(|r| vec![r.table.to_owned(), r.rows.to_string(), r.checksum[..16].to_owned()])
            .collect();
        print!("{}", crate::output::table(&["TABLE", "ROWS", "CHECKSUM"], &lines));
        let rate = if seconds > 0.0 { rows as f64 / seconds } else { 0.0 };
        println!("{rows} rows in {seconds:.1} s ({rate:.0} rows/s)");
    }
    Ok(())
}
