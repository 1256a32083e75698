//! How arrivals read on a terminal: one line per arrival, spans and subsegments as a tree.

use std::collections::{HashMap, HashSet};

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

/// Text a sender chose, made safe for a terminal: control characters (escape sequences,
/// newlines that would forge a line, clipboard writes) and direction overrides are shown as
/// escapes instead of acted on. `--json` output is left exact.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn shown_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => shown(s),
        other => shown(&other.to_string()),
    }
}

fn span_label(s: &SpanInfo, root: bool) -> String {
    let mut label = shown(&s.name);
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
            label.push_str(&format!("  {}={}", shown(k), shown_value(v)));
        }
        if let Some(st) = status.filter(|_| s.kind == "client") {
            label.push_str(&format!("  {}", shown_value(st)));
        }
    }
    if let Some(e) = &s.error {
        label.push_str(&format!("  error: {}", shown(e)));
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
                // Linear in the spans, and safe with any parent links a sender makes up: shared
                // ids, a span its own parent, cycles. Each span is drawn once.
                let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
                let mut children: HashMap<&str, Vec<&SpanInfo>> = HashMap::new();
                let mut roots = Vec::new();
                for s in spans {
                    match s
                        .parent_span_id
                        .as_deref()
                        .filter(|p| ids.contains(p) && *p != s.span_id)
                    {
                        Some(p) => children.entry(p).or_default().push(s),
                        None => roots.push(s),
                    }
                }
                // Roots first; then whatever only a cycle reaches, drawn as a root of its own.
                let mut drawn: HashSet<*const SpanInfo> = HashSet::new();
                for start in roots.iter().copied().chain(spans.iter()) {
                    if drawn.contains(&(start as *const SpanInfo)) {
                        continue;
                    }
                    let mut stack: Vec<(&SpanInfo, Option<usize>)> = vec![(start, None)];
                    while let Some((s, depth)) = stack.pop() {
                        if !drawn.insert(s as *const SpanInfo) {
                            continue;
                        }
                        match depth {
                            None => out.push(format!(
                                "{} {}  {}  {}",
                                clock(time),
                                self.green("trace"),
                                shown(service),
                                span_label(s, true)
                            )),
                            Some(d) => out.push(format!(
                                "{GAP}{}└─ {}",
                                "   ".repeat(d.min(32)),
                                self.dim(&span_label(s, false))
                            )),
                        }
                        let next = depth.map_or(0, |d| d + 1);
                        if let Some(cs) = children.get(s.span_id.as_str()) {
                            for c in cs.iter().rev() {
                                stack.push((c, Some(next)));
                            }
                        }
                    }
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
                let mut line = format!(
                    "{} {}   {}",
                    clock(time),
                    self.paint_cyan("xray"),
                    shown(name)
                );
                if let (Some(m), Some(u)) = (method, url) {
                    line.push_str(&format!("  {} {}", shown(m), shown(path_of(u))));
                }
                if let Some(s) = status {
                    line.push_str(&format!("  {s}"));
                }
                for s in subsegments.iter().take(200) {
                    line.push_str(&format!(
                        "  {}└─ {}",
                        "  ".repeat(s.depth.min(32)),
                        shown(&s.name)
                    ));
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
                        "{} {}    {}  {}",
                        clock(time),
                        self.bold("log"),
                        shown(group),
                        shown(m.trim_end())
                    ));
                }
            }
            Arrival::Rollbar {
                time, level, title, ..
            } => out.push(format!(
                "{} {}  rollbar  {}  {}",
                clock(time),
                self.red("error"),
                shown(level),
                shown(title)
            )),
            Arrival::Malformed {
                time,
                receiver,
                reason,
            } => out.push(format!(
                "{} {}      {}  malformed: {}",
                clock(time),
                self.yellow("!"),
                shown(receiver),
                shown(reason)
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

    #[test]
    fn shared_ids_and_cycles_are_drawn_once_without_recursing() {
        // Two spans sharing an id, the second naming itself as parent; and a cycle a→b→a.
        let mut spans = vec![
            span("x", None, "first", &[]),
            span("x", Some("x"), "second", &[]),
        ];
        spans.push(span("a", Some("b"), "a", &[]));
        spans.push(span("b", Some("a"), "b", &[]));
        // A chain 100,000 deep: drawn without a deep call stack.
        for n in 0..100_000u32 {
            let parent = (n > 0).then(|| format!("c{}", n - 1));
            spans.push(span(&format!("c{n}"), parent.as_deref(), "deep", &[]));
        }
        let a = Arrival::Trace {
            time: "t".into(),
            service: "s".into(),
            spans,
        };
        let lines = printer().arrival_lines(&a);
        assert_eq!(lines.len(), 4 + 100_000);
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let r = Arrival::Rollbar {
            time: "t".into(),
            level: "error".into(),
            environment: "e".into(),
            title: "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\n12:00:00 trace  forged".into(),
            exception_class: None,
            uuid: "u".into(),
        };
        let lines = printer().arrival_lines(&r);
        assert_eq!(lines.len(), 1);
        assert!(
            !lines[0].contains('\x1b') && !lines[0].contains('\n'),
            "{lines:?}"
        );
        assert!(
            lines[0].contains("\\x1b]52;") && lines[0].contains("\\n12:00:00"),
            "{lines:?}"
        );
        assert_eq!(shown("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(shown("plain text, ünïcode"), "plain text, ünïcode");
    }
}
