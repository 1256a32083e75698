//! The doctor's screen: the verdict first, then each group with one line per check and the
//! fix under every warning and failure.

use crate::report::{Group, Report, Status};

use super::{shown, Printer};

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
            // Nothing ran (all skipped): no success to report.
            _ if c.ok == 0 => format!(
                "{} no check ran: all {} were skipped (see why below) ({took})",
                self.yellow("-"),
                c.skip
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
            .map(|c| shown(c.title).chars().count())
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
                // Reasons and fixes may quote what a `.env` or a service holds: escaped, so
                // that no control character reaches the terminal.
                let title = shown(ch.title);
                let pad = width - title.chars().count();
                let reason = if ch.status == Status::Skip {
                    self.dim(&shown(&ch.reason))
                } else {
                    shown(&ch.reason)
                };
                out.push(format!(
                    "  {} {}{}  {reason}",
                    self.mark(ch.status),
                    title,
                    " ".repeat(pad)
                ));
                if let Some(fix) = &ch.fix {
                    let fix = shown(fix);
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
                shown(&r.detail)
            ));
            if let Some(l) = &r.link {
                out.push(format!("  {:<16} see it: {}", "", shown(l)));
            }
            if let Some(f) = &r.fix {
                out.push(format!("  {:<16} {} {}", "", self.bold("fix:"), shown(f)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CheckResult, Counts};

    #[test]
    fn what_a_check_quotes_is_escaped() {
        let r = Report {
            schema: 1,
            verdict: Status::Fail,
            counts: Counts {
                fail: 1,
                ..Counts::default()
            },
            checks: vec![CheckResult {
                id: "aws.region",
                group: Group::Secrets,
                title: "AWS region",
                status: Status::Fail,
                reason: "AWS_DEFAULT_REGION=\"us-east-1\x1b]52;c;eA==\x07\u{9b}2J\u{202e}\u{2028}\" is not a region".into(),
                fix: Some("set it in .env\r\x1b[1A".into()),
                duration_ms: 1,
            }],
            duration_ms: 1,
        };
        let lines = Printer::plain().doctor_lines(&r);
        let all = lines.join("\n");
        assert!(
            !all.chars()
                .any(|c| (c.is_control() && c != '\n') || matches!(c, '\u{202e}' | '\u{2028}')),
            "{all:?}"
        );
        assert!(
            all.contains("us-east-1\\x1b]52;c;eA==\\x07\\x9b2J\\u{202e}\\u{2028}"),
            "{all:?}"
        );
        assert!(all.contains("set it in .env\\r\\x1b[1A"), "{all:?}");
    }
}
