//! The doctor's screen: the verdict first, then each group with one line per check and the
//! fix under every warning and failure.

use crate::report::{Group, Report, Status};

use super::Printer;

impl Printer {
    fn mark(&self, s: Status) -> String {
        match s {
            Status::Ok => self.green("✔"),
            Status::Warn => self.yellow("!"),
            Status::Fail => self.red("✖"),
            Status::Skip => self.dim("-"),
        }
    }

    /// The report as lines of text.
    pub fn doctor_lines(&self, r: &Report) -> Vec<String> {
        let mut out = Vec::new();
        let c = &r.counts;
        let took = format!("{:.1} s", r.duration_ms as f64 / 1000.0);
        out.push(match r.verdict {
            Status::Fail => {
                format!(
                "{} {} problem(s){}: fix them from the top, then run `o11y doctor` again ({took})",
                self.red("✖"),
                c.fail,
                if c.warn > 0 { format!(" and {} warning(s)", c.warn) } else { String::new() }
            )
            }
            Status::Warn => format!(
                "{} healthy, with {} warning(s) worth a look ({took})",
                self.yellow("!"),
                c.warn
            ),
            _ => format!(
                "{} all {} checks passed{} ({took})",
                self.green("✔"),
                c.ok,
                if c.skip > 0 {
                    format!(", {} skipped", c.skip)
                } else {
                    String::new()
                }
            ),
        });
        let width = r
            .checks
            .iter()
            .map(|c| c.title.chars().count())
            .max()
            .unwrap_or(10);
        for g in [
            Group::Tools,
            Group::Project,
            Group::Secrets,
            Group::Services,
            Group::Runtime,
        ] {
            let checks: Vec<_> = r.checks.iter().filter(|c| c.group == g).collect();
            if checks.is_empty() {
                continue;
            }
            out.push(String::new());
            out.push(self.bold(g.title()));
            for ch in checks {
                let pad = width - ch.title.chars().count();
                let reason = if ch.status == Status::Skip {
                    self.dim(&ch.reason)
                } else {
                    ch.reason.clone()
                };
                out.push(format!(
                    "  {} {}{}  {reason}",
                    self.mark(ch.status),
                    ch.title,
                    " ".repeat(pad)
                ));
                if let Some(fix) = &ch.fix {
                    out.push(format!(
                        "    {}{}  {} {fix}",
                        " ".repeat(width),
                        "",
                        self.bold("fix:")
                    ));
                }
            }
        }
        out
    }
}

impl Printer {
    /// `o11y smoke`'s result, one service a line, its link and fix beneath.
    pub fn smoke_lines(&self, results: &[crate::report::SmokeResult]) -> Vec<String> {
        use crate::report::SmokeStatus;
        let mut out = Vec::new();
        for r in results {
            let (mark, word) = match r.status {
                SmokeStatus::Verified => (self.green("✔"), "verified"),
                SmokeStatus::Accepted => (self.green("✔"), "accepted"),
                SmokeStatus::Failed => (self.red("✖"), "failed"),
            };
            out.push(format!(
                "{mark} {:<16} {word} in {:.1} s: {}",
                r.integration.title(),
                r.duration_ms as f64 / 1000.0,
                r.detail
            ));
            if let Some(l) = &r.link {
                out.push(format!("  {:<16} see it: {l}", ""));
            }
            if let Some(f) = &r.fix {
                out.push(format!("  {:<16} {} {f}", "", self.bold("fix:")));
            }
        }
        out
    }
}
