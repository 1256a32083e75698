//! How arrivals read on a terminal: one line per arrival, spans and subsegments as a tree.

use std::collections::BTreeMap;

use crate::listen::{Arrival, SpanInfo};

use super::Printer;

fn clock(time: &str) -> String {
    time.parse::<jiff::Timestamp>()
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| "--:--:--".into())
}

fn path_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    }
}

fn shown_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn span_label(s: &SpanInfo, root: bool) -> String {
    let mut label = s.name.clone();
    let status = s
        .attributes
        .get("http.status_code")
        .or_else(|| s.attributes.get("http.response.status_code"));
    if root {
        if let Some(st) = status {
            label.push_str(&format!("  {}", shown_value(st)));
        }
        label.push_str(&format!("  {:.1} ms", s.duration_ms));
    } else {
        for (k, v) in s.attributes.iter().filter(|(k, _)| k.starts_with("app.")) {
            label.push_str(&format!("  {k}={}", shown_value(v)));
        }
        if let Some(st) = status.filter(|_| s.kind == "client") {
            label.push_str(&format!("  {}", shown_value(st)));
        }
    }
    if let Some(e) = &s.error {
        label.push_str(&format!("  error: {e}"));
    }
    label
}

const GAP: &str = "                ";

impl Printer {
    /// The lines of one arrival, as printed by `o11y listen`.
    pub fn arrival_lines(&self, a: &Arrival) -> Vec<String> {
        let mut out = Vec::new();
        match a {
            Arrival::Trace {
                time,
                service,
                spans,
            } => {
                let ids: Vec<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
                let mut children: BTreeMap<&str, Vec<&SpanInfo>> = BTreeMap::new();
                let mut roots = Vec::new();
                for s in spans {
                    match s.parent_span_id.as_deref().filter(|p| ids.contains(p)) {
                        Some(p) => children.entry(p).or_default().push(s),
                        None => roots.push(s),
                    }
                }
                fn walk(
                    p: &Printer,
                    s: &SpanInfo,
                    depth: usize,
                    children: &BTreeMap<&str, Vec<&SpanInfo>>,
                    out: &mut Vec<String>,
                ) {
                    for c in children.get(s.span_id.as_str()).into_iter().flatten() {
                        out.push(format!(
                            "{GAP}{}└─ {}",
                            "   ".repeat(depth),
                            p.dim(&span_label(c, false))
                        ));
                        walk(p, c, depth + 1, children, out);
                    }
                }
                for r in roots {
                    out.push(format!(
                        "{} {}  {}  {}",
                        clock(time),
                        self.green("trace"),
                        service,
                        span_label(r, true)
                    ));
                    walk(self, r, 0, &children, &mut out);
                }
            }
            Arrival::Xray {
                time,
                name,
                method,
                url,
                status,
                subsegments,
                ..
            } => {
                let mut line = format!("{} {}   {name}", clock(time), self.paint_cyan("xray"));
                if let (Some(m), Some(u)) = (method, url) {
                    line.push_str(&format!("  {m} {}", path_of(u)));
                }
                if let Some(s) = status {
                    line.push_str(&format!("  {s}"));
                }
                for s in subsegments {
                    line.push_str(&format!("  {}└─ {}", "  ".repeat(s.depth), s.name));
                }
                out.push(line);
            }
            Arrival::Log {
                time,
                group,
                messages,
                ..
            } => {
                for m in messages {
                    out.push(format!(
                        "{} {}    {group}  {}",
                        clock(time),
                        self.bold("log"),
                        m.trim_end()
                    ));
                }
            }
            Arrival::Rollbar {
                time, level, title, ..
            } => out.push(format!(
                "{} {}  rollbar  {level}  {title}",
                clock(time),
                self.red("error")
            )),
            Arrival::Malformed {
                time,
                receiver,
                reason,
            } => out.push(format!(
                "{} {}      {receiver}  malformed: {reason}",
                clock(time),
                self.yellow("!")
            )),
        }
        out
    }

    fn paint_cyan(&self, s: &str) -> String {
        self.paint(s, console::Style::new().cyan())
    }
}

/// Counts per signal, for the summary when `listen` stops.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Tally {
    pub traces: usize,
    pub spans: usize,
    pub xray_segments: usize,
    pub log_events: usize,
    pub rollbar_items: usize,
    pub malformed: usize,
}

impl Tally {
    pub fn add(&mut self, a: &Arrival) {
        match a {
            Arrival::Trace { spans, .. } => {
                self.traces += 1;
                self.spans += spans.len();
            }
            Arrival::Xray { .. } => self.xray_segments += 1,
            Arrival::Log { messages, .. } => self.log_events += messages.len(),
            Arrival::Rollbar { .. } => self.rollbar_items += 1,
            Arrival::Malformed { .. } => self.malformed += 1,
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{} trace batch(es) ({} spans), {} X-Ray segment(s), {} log event(s), {} Rollbar item(s), {} malformed",
            self.traces, self.spans, self.xray_segments, self.log_events, self.rollbar_items, self.malformed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listen::SubsegmentInfo;

    fn printer() -> Printer {
        Printer::plain()
    }

    fn span(
        id: &str,
        parent: Option<&str>,
        name: &str,
        attrs: &[(&str, serde_json::Value)],
    ) -> SpanInfo {
        SpanInfo {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(str::to_string),
            name: name.into(),
            kind: if parent.is_none() {
                "server".into()
            } else {
                "internal".into()
            },
            duration_ms: 12.44,
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            error: None,
        }
    }

    #[test]
    fn a_trace_reads_as_a_tree() {
        let a = Arrival::Trace {
            time: "2026-11-24T14:02:11Z".into(),
            service: "backend-flask".into(),
            spans: vec![
                span(
                    "c",
                    Some("r"),
                    "mock-data",
                    &[
                        ("app.now", "2026-11-24T14:02:11+00:00".into()),
                        ("app.result_length", 3.into()),
                    ],
                ),
                span(
                    "r",
                    None,
                    "GET /api/activities/home",
                    &[("http.status_code", 200.into())],
                ),
            ],
        };
        let lines = printer().arrival_lines(&a);
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].ends_with(" trace  backend-flask  GET /api/activities/home  200  12.4 ms"),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            format!("{GAP}└─ mock-data  app.now=2026-11-24T14:02:11+00:00  app.result_length=3")
        );
    }

    #[test]
    fn other_signals_take_one_line_each() {
        let p = printer();
        let x = Arrival::Xray {
            time: "2026-11-24T14:02:11Z".into(),
            name: "backend-flask".into(),
            trace_id: "1-a-b".into(),
            id: "c".into(),
            method: Some("GET".into()),
            url: Some("http://localhost:4567/api/activities/@andrewbrown".into()),
            status: Some(200),
            subsegments: vec![SubsegmentInfo {
                name: "mock-data".into(),
                depth: 0,
                metadata: None,
            }],
        };
        assert!(p.arrival_lines(&x)[0].ends_with(
            " xray   backend-flask  GET /api/activities/@andrewbrown  200  └─ mock-data"
        ));
        let r = Arrival::Rollbar {
            time: "2026-11-24T14:02:15Z".into(),
            level: "warning".into(),
            environment: "development".into(),
            title: "Hello World!".into(),
            exception_class: None,
            uuid: "u".into(),
        };
        assert!(p.arrival_lines(&r)[0].ends_with(" error  rollbar  warning  Hello World!"));
        let l = Arrival::Log {
            time: "x".into(),
            group: "cruddur".into(),
            stream: "s".into(),
            messages: vec!["HomeActivities\n".into()],
        };
        assert_eq!(
            p.arrival_lines(&l),
            vec!["--:--:-- log    cruddur  HomeActivities".to_string()]
        );
    }
}
