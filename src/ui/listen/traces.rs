//! Spans held by trace until the trace goes quiet, bounded, then drawn as one waterfall.

use std::collections::HashMap;

use crate::listen::{Arrival, SpanInfo};

/// Spans of one trace come in several batches (each process exports its own, on its own
/// timer): they are held, by trace id, until the trace has been quiet for [`QUIET`], then
/// drawn as one waterfall. What is held is bounded: past MAX_HELD spans the oldest trace goes
/// out at once.
#[derive(Default)]
pub struct Traces {
    open: HashMap<String, OpenTrace>,
    /// Trace ids in the order they opened (ids already drawn are skipped).
    order: std::collections::VecDeque<String>,
    held: usize,
}

struct OpenTrace {
    time: String,
    service: String,
    spans: Vec<SpanInfo>,
    last: std::time::Instant,
}

pub const QUIET: std::time::Duration = std::time::Duration::from_millis(400);
const MAX_HELD: usize = 20_000;

impl Traces {
    /// Takes a trace arrival in (Some(arrival) back for every other kind, to print at once);
    /// returns the traces it pushed out to stay within bounds.
    pub fn add(&mut self, a: Arrival) -> (Option<Arrival>, Vec<Arrival>) {
        let Arrival::Trace {
            time,
            service,
            spans,
        } = a
        else {
            return (Some(a), Vec::new());
        };
        let now = std::time::Instant::now();
        for s in spans {
            self.held += 1;
            let id = s.trace_id.clone();
            let t = self.open.entry(id.clone()).or_insert_with(|| {
                self.order.push_back(id);
                OpenTrace {
                    time: time.clone(),
                    service: service.clone(),
                    spans: Vec::new(),
                    last: now,
                }
            });
            t.last = now;
            t.spans.push(s);
        }
        let mut out = Vec::new();
        while self.held > MAX_HELD {
            let Some(id) = self.order.pop_front() else {
                break;
            };
            out.extend(self.take(&id));
        }
        (None, out)
    }

    fn take(&mut self, id: &str) -> Option<Arrival> {
        let t = self.open.remove(id)?;
        self.held -= t.spans.len();
        Some(Arrival::Trace {
            time: t.time,
            service: t.service,
            spans: t.spans,
        })
    }

    /// The traces quiet for QUIET, in the order they opened.
    pub fn due(&mut self) -> Vec<Arrival> {
        if self.open.values().all(|t| t.last.elapsed() < QUIET) {
            return Vec::new();
        }
        let order = std::mem::take(&mut self.order);
        let mut out = Vec::new();
        for id in order {
            match self.open.get(&id) {
                Some(t) if t.last.elapsed() >= QUIET => out.extend(self.take(&id)),
                Some(_) => self.order.push_back(id),
                None => {}
            }
        }
        out
    }

    /// Every trace still held, in the order they opened.
    pub fn all(&mut self) -> Vec<Arrival> {
        let order = std::mem::take(&mut self.order);
        order.iter().filter_map(|id| self.take(id)).collect()
    }
}
