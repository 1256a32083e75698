//! How `o11y listen` draws what the example backend really sends: its spans, segments, log
//! events and Rollbar items, recorded once from the patched example (tests/fixtures/traces)
//! and drawn at 80 and 120 columns. The drawing is pinned by snapshots.

use o11y::listen::Arrival;
use o11y::ui::listen::Traces;
use o11y::ui::Printer;

fn recorded() -> Vec<Arrival> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/traces/example-backend.jsonl"),
    )
    .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Everything drawn as `listen` draws it: traces gathered by id, the rest as it comes.
fn drawn(width: usize) -> String {
    let p = Printer::plain();
    let mut traces = Traces::default();
    let mut lines = Vec::new();
    for a in recorded() {
        let (now, pushed) = traces.add(a);
        for a in pushed.iter().chain(now.iter()) {
            lines.extend(p.arrival_lines_at(a, width));
        }
    }
    for a in traces.all() {
        lines.extend(p.arrival_lines_at(&a, width));
    }
    // Clock times are the reader's own time zone.
    let clock = regex::Regex::new(r"^\d\d:\d\d:\d\d ").unwrap();
    lines
        .iter()
        .map(|l| clock.replace(l, "[time] ").to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_example_backend_drawn_at_80_and_120_columns() {
    for width in [80, 120] {
        let text = drawn(width);
        for line in text.lines() {
            assert!(line.chars().count() <= width, "{width}: {line}");
            assert!(!line.contains('\x1b'));
        }
        // The home route's mock-data span sits under its request, with app.now.
        assert!(
            text.lines()
                .any(|l| l.starts_with("    mock-data") && l.contains("app.now=")),
            "{text}"
        );
        insta::assert_snapshot!(format!("example-backend-{width}"), text);
    }
}
