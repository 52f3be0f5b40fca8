//! `--format json`: `{ summary, results, unfinished }` plus run metadata. `unfinished` lists
//! the checks an interrupted run (or a checkpoint of a running one) has not finished, so
//! `--resume` can run them. The runner owns the form ([`Report::to_json`]), since its
//! checkpoints and `--resume` write and read it too.

use crate::runner::Report;

pub fn render(report: &Report) -> String {
    report.to_json()
}
