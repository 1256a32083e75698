//! How arrivals read on a terminal: a trace once it has gone quiet, as a waterfall (a tree
//! with bars on the trace's time scale); one line per other arrival; the tally at the end.

use std::collections::{HashMap, HashSet};

use crate::listen::{Arrival, SpanInfo};

pub use super::shown;
use super::Printer;

mod tally;
mod traces;

pub use tally::Tally;
pub use traces::{Traces, QUIET};

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
        // An outgoing request outside any incoming one (an SDK's own call, like Rollbar's
        // POST from its worker thread): say where it went, so it does not look like a stray.
        let url = s
            .attributes
            .get("http.url")
            .or_else(|| s.attributes.get("url.full"));
        if let (Some(u), "client") = (url, s.kind.as_str()) {
            label.push_str(&format!(" {}", shown_value(u)));
        }
        if let Some(st) = status {
            label.push_str(&format!("  {}", shown_value(st)));
        }
        label.push_str(&format!("  {:.1} ms", s.duration_ms));
        if s.kind == "client" {
            label.push_str("  (outgoing, outside any request)");
        }
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

/// How wide the drawing may be: the terminal's width, else `$COLUMNS`, else 100.
pub fn width() -> usize {
    console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| cols as usize)
        .or_else(|| std::env::var(crate::env::COLUMNS).ok()?.parse().ok())
        .unwrap_or(100)
        .clamp(60, 240)
}

/// `text` cut to `n` characters, with … where it was cut.
fn cut(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// One row of a waterfall: the name indented by its depth, a bar from where it started to
/// where it ended on the trace's own scale, its duration and what else it says.
struct Row {
    depth: usize,
    name: String,
    /// Start and end as fractions of the whole (0..=1), when known.
    span: Option<(f64, f64)>,
    duration_ms: Option<f64>,
    extra: String,
    error: bool,
}

impl Printer {
    fn rows(&self, rows: &[Row], width: usize) -> Vec<String> {
        let label = (width * 3 / 10).clamp(18, 40);
        let bar = (width.saturating_sub(label + 24) / 2).clamp(10, 50);
        rows.iter()
            .map(|r| {
                let indent = "  ".repeat(1 + r.depth.min(12));
                let name = cut(&format!("{indent}{}", r.name), label);
                let drawn = match r.span {
                    Some((a, b)) => {
                        let from = ((a * bar as f64).floor() as usize).min(bar - 1);
                        let to = ((b * bar as f64).ceil() as usize).clamp(from + 1, bar);
                        let line = format!(
                            "{}{}{}",
                            " ".repeat(from),
                            "█".repeat(to - from),
                            " ".repeat(bar - to)
                        );
                        if r.error {
                            self.red(&line)
                        } else {
                            self.green(&line)
                        }
                    }
                    None => " ".repeat(bar),
                };
                let dur = r
                    .duration_ms
                    .map(|d| {
                        let d = if d < 1.0 {
                            format!("{d:.2}")
                        } else {
                            format!("{d:.1}")
                        };
                        format!("{d:>8} ms")
                    })
                    .unwrap_or_else(|| " ".repeat(11));
                let room = width.saturating_sub(label + bar + 2 + 2 + 11 + 2);
                let extra = if r.extra.is_empty() {
                    String::new()
                } else {
                    format!("  {}", cut(&r.extra, room.max(1)))
                };
                format!("{name:<label$}│{drawn}│{dur}{extra}")
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    /// A trace as a waterfall: a line naming it, then its spans as a tree, each with a bar on
    /// the trace's time scale. Linear in the spans, and safe with any parent links a sender
    /// makes up (shared ids, a span its own parent, cycles): each span is drawn once.
    pub fn trace_lines(
        &self,
        time: &str,
        service: &str,
        spans: &[SpanInfo],
        width: usize,
    ) -> Vec<String> {
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
        for cs in children.values_mut() {
            cs.sort_by_key(|s| s.start_unix_nano);
        }
        roots.sort_by_key(|s| s.start_unix_nano);
        let t0 = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
        let t1 = spans
            .iter()
            .map(|s| s.start_unix_nano + (s.duration_ms * 1e6) as u64)
            .max()
            .unwrap_or(t0);
        let total = (t1.saturating_sub(t0)).max(1) as f64;
        let mut out = Vec::new();
        let mut drawn: HashSet<*const SpanInfo> = HashSet::new();
        // Roots first; then whatever only a cycle reaches, drawn as a root of its own.
        for start in roots.iter().copied().chain(spans.iter()) {
            if drawn.contains(&(start as *const SpanInfo)) {
                continue;
            }
            let service = shown(service);
            // The heading fits the width too: the clock, "trace", the service, then the label.
            let room = width.saturating_sub(8 + 1 + 5 + 2 + service.chars().count() + 2);
            out.push(format!(
                "{} {}  {service}  {}",
                clock(time),
                self.green("trace"),
                cut(&span_label(start, true), room.max(8))
            ));
            let mut rows = Vec::new();
            let mut stack: Vec<(&SpanInfo, usize)> = vec![(start, 0)];
            while let Some((s, depth)) = stack.pop() {
                if !drawn.insert(s as *const SpanInfo) {
                    continue;
                }
                let a = s.start_unix_nano.saturating_sub(t0) as f64 / total;
                let b = a + s.duration_ms * 1e6 / total;
                let mut extra = span_label(s, false);
                extra = extra
                    .strip_prefix(&shown(&s.name))
                    .unwrap_or(&extra)
                    .trim_start()
                    .to_string();
                rows.push(Row {
                    depth,
                    name: shown(&s.name),
                    span: (s.start_unix_nano > 0).then_some((a, b.min(1.0))),
                    duration_ms: Some(s.duration_ms),
                    extra,
                    error: s.error.is_some(),
                });
                if let Some(cs) = children.get(s.span_id.as_str()) {
                    for c in cs.iter().rev() {
                        stack.push((c, depth + 1));
                    }
                }
            }
            out.extend(self.rows(&rows, width));
        }
        out
    }

    /// The lines of one arrival, as printed by `o11y listen`, at the terminal's width.
    pub fn arrival_lines(&self, a: &Arrival) -> Vec<String> {
        self.arrival_lines_at(a, width())
    }

    /// [`Printer::arrival_lines`] at a given width.
    pub fn arrival_lines_at(&self, a: &Arrival, width: usize) -> Vec<String> {
        let mut out = Vec::new();
        match a {
            Arrival::Trace {
                time,
                service,
                spans,
            } => out = self.trace_lines(time, service, spans, width),
            Arrival::Xray {
                time,
                name,
                method,
                url,
                status,
                start_time,
                end_time,
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
                let whole = match (start_time, end_time) {
                    (Some(a), Some(b)) if b > a => Some((*a, b - a)),
                    _ => None,
                };
                if let Some((_, d)) = whole {
                    line.push_str(&format!("  {:.1} ms", d * 1e3));
                }
                out.push(line);
                let rows: Vec<Row> = subsegments
                    .iter()
                    .take(200)
                    .map(|s| {
                        let times = s.start_time.zip(s.end_time);
                        Row {
                            depth: s.depth,
                            name: shown(&s.name),
                            span: whole.zip(times).map(|((t0, total), (a, b))| {
                                (
                                    ((a - t0) / total).clamp(0.0, 1.0),
                                    ((b - t0) / total).clamp(0.0, 1.0),
                                )
                            }),
                            duration_ms: times.map(|(a, b)| (b - a) * 1e3),
                            extra: String::new(),
                            error: false,
                        }
                    })
                    .collect();
                out.extend(self.rows(&rows, width));
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
            } => {
                // The item's own level, coloured by how bad it is: a warning is no error.
                let level = match level.as_str() {
                    "critical" | "error" => self.red(&shown(level)),
                    "warning" => self.yellow(&shown(level)),
                    other => self.dim(&shown(other)),
                };
                out.push(format!(
                    "{} {}  {level}  {}",
                    clock(time),
                    self.bold("rollbar"),
                    shown(title)
                ))
            }
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
            start_unix_nano: 1_000_000_000,
            duration_ms: 12.44,
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            error: None,
        }
    }

    #[test]
    fn a_trace_reads_as_a_waterfall() {
        let mut root = span(
            "r",
            None,
            "GET /api/activities/home",
            &[("http.status_code", 200.into())],
        );
        root.start_unix_nano = 1_000_000_000;
        let mut child = span(
            "c",
            Some("r"),
            "mock-data",
            &[
                ("app.now", "2026-11-24T14:02:11+00:00".into()),
                ("app.result_length", 3.into()),
            ],
        );
        child.start_unix_nano = 1_006_220_000;
        child.duration_ms = 3.11;
        let a = Arrival::Trace {
            time: "2026-11-24T14:02:11Z".into(),
            service: "backend-flask".into(),
            spans: vec![child, root],
        };
        let lines = printer().arrival_lines_at(&a, 100);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].ends_with(" trace  backend-flask  GET /api/activities/home  200  12.4 ms"),
            "{}",
            lines[0]
        );
        // The root's bar spans the whole width; the child's starts half-way and is a quarter long.
        let bar = |l: &str| l.split('│').nth(1).unwrap().to_string();
        let (whole, part) = (bar(&lines[1]), bar(&lines[2]));
        assert!(
            lines[1].starts_with("  GET /api/activities/home"),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("    mock-data "), "{}", lines[2]);
        assert!(whole.chars().all(|c| c == '█'), "{whole}");
        let n = whole.chars().count();
        let lead = part.chars().take_while(|c| *c == ' ').count();
        let fill = part.chars().filter(|c| *c == '█').count();
        assert!((n / 2 - 1..=n / 2 + 1).contains(&lead), "{part}");
        assert!((n / 4..=n / 4 + 2).contains(&fill), "{part}");
        assert!(
            lines[2].contains("3.1 ms  app.now=2026-11-24T14:02:11"),
            "{}",
            lines[2]
        );
        // Never wider than asked.
        for width in [60, 80, 120] {
            for l in printer().arrival_lines_at(&a, width) {
                assert!(l.chars().count() <= width, "{width}: {l}");
            }
        }
    }

    #[test]
    fn batches_of_one_trace_are_drawn_together_once_quiet() {
        let mut t = Traces::default();
        let batch = |id: &str, parent: Option<&str>| Arrival::Trace {
            time: "t".into(),
            service: "s".into(),
            spans: vec![span(id, parent, id, &[])],
        };
        assert!(t.add(batch("child", Some("root"))).0.is_none());
        assert!(t.add(batch("root", None)).0.is_none());
        assert!(t.due().is_empty(), "drawn before the trace went quiet");
        std::thread::sleep(QUIET);
        let due = t.due();
        assert_eq!(due.len(), 1);
        let lines = printer().arrival_lines_at(&due[0], 100);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[2].starts_with("    child"), "{lines:#?}");
        // Other signals pass straight through.
        let log = Arrival::Log {
            time: "t".into(),
            group: "g".into(),
            stream: "s".into(),
            messages: vec!["m".into()],
        };
        assert!(t.add(log).0.is_some());
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
            start_time: Some(10.0),
            end_time: Some(10.004),
            subsegments: vec![SubsegmentInfo {
                name: "mock-data".into(),
                depth: 0,
                start_time: Some(10.001),
                end_time: Some(10.002),
                metadata: None,
            }],
        };
        let lines = p.arrival_lines_at(&x, 100);
        assert!(
            lines[0]
                .ends_with(" xray   backend-flask  GET /api/activities/@andrewbrown  200  4.0 ms"),
            "{lines:#?}"
        );
        assert!(
            lines[1].starts_with("  mock-data ") && lines[1].contains("1.0 ms"),
            "{lines:#?}"
        );
        let r = Arrival::Rollbar {
            time: "2026-11-24T14:02:15Z".into(),
            level: "warning".into(),
            environment: "development".into(),
            title: "Hello World!".into(),
            exception_class: None,
            uuid: "u".into(),
        };
        assert!(p.arrival_lines(&r)[0].ends_with(" rollbar  warning  Hello World!"));
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
        let lines = printer().arrival_lines_at(&a, 100);
        // One row per span, and a heading for each root: first, second, the cycle, the chain.
        let headings = lines.iter().filter(|l| l.contains(" trace  s  ")).count();
        assert_eq!(headings, 4, "{:#?}", &lines[..8]);
        assert_eq!(lines.len(), 4 + 100_004);
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
        assert_eq!(
            shown("a\u{2028}b\u{2029}c\u{61c}d\u{9b}e\u{7f}f\u{2066}g\u{200f}"),
            "a\\u{2028}b\\u{2029}c\\u{61c}d\\x9be\\x7ff\\u{2066}g\\u{200f}"
        );
    }

    #[test]
    fn json_lines_are_exact_once_decoded_and_safe_to_print() {
        let title: String = (0u32..0x250)
            .chain([
                0x61c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202e, 0x2066, 0x2069,
            ])
            .filter_map(char::from_u32)
            .collect();
        let a = Arrival::Rollbar {
            time: "t".into(),
            level: "error".into(),
            environment: "e".into(),
            title: title.clone(),
            exception_class: None,
            uuid: "u".into(),
        };
        let line = crate::ui::json_line(&a);
        assert!(
            line.is_ascii() || line.chars().all(|c| shown(&c.to_string()) == c.to_string()),
            "{line:?}"
        );
        assert!(line.contains("\\u009b") && line.contains("\\u2028") && line.contains("\\u007f"));
        let back: Arrival = serde_json::from_str(&line).unwrap();
        assert_eq!(back, a);
    }
}
