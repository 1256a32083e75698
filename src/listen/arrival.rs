//! What the receivers hand on: one `Arrival` per thing received (malformed input too), and the
//! bounded queue they go through.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::spec::ReceiverKind;

/// Largest request body or datagram accepted (OTLP batches of 512 spans fit easily).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// A span as shown to a person.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SpanInfo {
    pub trace_id: String,
    pub span_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: String,
    /// When it started (Unix epoch, nanoseconds): where its bar begins in the waterfall.
    pub start_unix_nano: u64,
    pub duration_ms: f64,
    pub attributes: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An X-Ray subsegment, flattened in tree order.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SubsegmentInfo {
    pub name: String,
    pub depth: usize,
    /// Start and end (Unix epoch, seconds), as the segment document gives them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// One thing a receiver got. Serialised as one JSON object per line by `listen --json`;
/// the `signal` field says which kind it is.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(tag = "signal", rename_all = "lowercase")]
pub enum Arrival {
    Trace {
        time: String,
        service: String,
        spans: Vec<SpanInfo>,
    },
    Xray {
        time: String,
        name: String,
        trace_id: String,
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        method: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        start_time: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        end_time: Option<f64>,
        subsegments: Vec<SubsegmentInfo>,
    },
    Log {
        time: String,
        group: String,
        stream: String,
        messages: Vec<String>,
    },
    Rollbar {
        time: String,
        level: String,
        environment: String,
        title: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        exception_class: Option<String>,
        uuid: String,
    },
    Malformed {
        time: String,
        receiver: String,
        reason: String,
    },
}

impl Arrival {
    /// Whether it names `what`: a span or subsegment of that name, a log message or an item
    /// title that holds it. The empty string is named by every well-formed arrival.
    pub fn names(&self, what: &str) -> bool {
        match self {
            Arrival::Malformed { .. } => false,
            _ if what.is_empty() => true,
            Arrival::Trace { spans, .. } => spans.iter().any(|s| s.name == what),
            Arrival::Xray { subsegments, .. } => subsegments.iter().any(|s| s.name == what),
            Arrival::Log { messages, .. } => messages.iter().any(|m| m.contains(what)),
            Arrival::Rollbar { title, .. } => title.contains(what),
        }
    }

    /// The receiver it came from (None for malformed input).
    pub fn receiver(&self) -> Option<ReceiverKind> {
        match self {
            Arrival::Trace { .. } => Some(ReceiverKind::Otlp),
            Arrival::Xray { .. } => Some(ReceiverKind::XrayDaemon),
            Arrival::Log { .. } => Some(ReceiverKind::Logs),
            Arrival::Rollbar { .. } => Some(ReceiverKind::Rollbar),
            Arrival::Malformed { .. } => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Arrival::Trace { .. } => "trace",
            Arrival::Xray { .. } => "xray",
            Arrival::Log { .. } => "log",
            Arrival::Rollbar { .. } => "rollbar",
            Arrival::Malformed { .. } => "malformed",
        }
    }
}

pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}

pub(crate) fn malformed(receiver: &str, reason: impl Into<String>) -> Arrival {
    Arrival::Malformed {
        time: now(),
        receiver: receiver.into(),
        reason: reason.into(),
    }
}

/// Arrivals waiting to be printed, at most this many bytes (roughly) all together.
pub const MAX_QUEUED: usize = 8 * 1024 * 1024;

impl Arrival {
    /// Roughly the bytes this arrival holds, to bound what waits in the queue.
    pub fn weight(&self) -> usize {
        fn json(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::String(s) => 32 + s.len(),
                serde_json::Value::Array(a) => 32 + a.iter().map(json).sum::<usize>(),
                serde_json::Value::Object(o) => {
                    32 + o.iter().map(|(k, v)| 48 + k.len() + json(v)).sum::<usize>()
                }
                _ => 32,
            }
        }
        64 + match self {
            Arrival::Trace { service, spans, .. } => {
                service.len()
                    + spans
                        .iter()
                        .map(|s| {
                            200 + s.name.len()
                                + s.attributes
                                    .iter()
                                    .map(|(k, v)| 48 + k.len() + json(v))
                                    .sum::<usize>()
                        })
                        .sum::<usize>()
            }
            Arrival::Xray {
                name, subsegments, ..
            } => {
                name.len()
                    + subsegments
                        .iter()
                        .map(|s| 64 + s.name.len() + s.metadata.as_ref().map_or(0, json))
                        .sum::<usize>()
            }
            Arrival::Log { messages, .. } => messages.iter().map(|m| 32 + m.len()).sum(),
            Arrival::Rollbar { title, .. } => title.len() + 128,
            Arrival::Malformed { reason, .. } => reason.len(),
        }
    }
}

/// Where arrivals go. Bounded by count and by bytes: when nobody keeps up, new arrivals are
/// counted and dropped rather than held in memory.
#[derive(Clone)]
pub struct Sink {
    pub(super) tx: mpsc::Sender<(Arrival, usize)>,
    pub(super) dropped: Arc<AtomicU64>,
    pub(super) queued: Arc<AtomicUsize>,
}

impl Sink {
    pub fn send(&self, a: Arrival) {
        let w = a.weight();
        let before = self.queued.fetch_add(w, Ordering::AcqRel);
        if before + w > MAX_QUEUED || self.tx.try_send((a, w)).is_err() {
            self.queued.fetch_sub(w, Ordering::AcqRel);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}
