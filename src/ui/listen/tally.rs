//! What `listen` counted, per receiver, for its summary line.

use std::collections::BTreeMap;

use crate::listen::Arrival;
use crate::spec::ReceiverKind;

/// Counts per receiver, for the summary when `listen` stops.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Arrivals per receiver: trace batches, segments, log events, items.
    pub counts: BTreeMap<ReceiverKind, usize>,
    pub spans: usize,
    pub malformed: usize,
}

impl Tally {
    pub fn add(&mut self, a: &Arrival) {
        let n = match a {
            Arrival::Trace { spans, .. } => {
                self.spans += spans.len();
                1
            }
            Arrival::Log { messages, .. } => messages.len(),
            Arrival::Malformed { .. } => {
                self.malformed += 1;
                return;
            }
            _ => 1,
        };
        if let Some(kind) = a.receiver() {
            *self.counts.entry(kind).or_default() += n;
        }
    }

    /// Every arrival counted, malformed ones aside.
    pub fn arrivals(&self) -> usize {
        self.counts.values().sum()
    }

    /// The counts of each receiver of `ports`, as the summary says them.
    pub fn line(&self, ports: &crate::listen::Ports) -> String {
        let n = |count: usize, (one, many): (&str, &str)| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        let mut parts = Vec::new();
        for r in ports.receivers() {
            let count = self.counts.get(&r.kind).copied().unwrap_or(0);
            let mut part = n(count, r.unit);
            if r.kind == ReceiverKind::Otlp {
                part.push_str(&format!(" ({})", n(self.spans, ("span", "spans"))));
            }
            parts.push(part);
        }
        parts.push(format!("{} malformed", self.malformed));
        parts.join(", ")
    }
}
