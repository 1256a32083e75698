//! The local receivers: OTLP/HTTP traces, the X-Ray daemon (UDP segments and its TCP sampling
//! API), a CloudWatch Logs API subset, and Rollbar's item API. Everything they receive becomes
//! an `Arrival`; malformed input becomes one too, and never stops a receiver.

mod http;
pub mod logs;
pub mod otlp;
pub mod rollbar;
pub mod xray;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use thiserror::Error;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Default ports: the OTLP/HTTP and X-Ray daemon standards, and two of o11y's own.
pub const OTLP_PORT: u16 = 4318;
pub const XRAY_PORT: u16 = 2000;
pub const LOGS_PORT: u16 = 4584;
pub const ROLLBAR_PORT: u16 = 4585;
/// Largest request body or datagram accepted (OTLP batches of 512 spans fit easily).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ports {
    pub otlp: u16,
    pub xray: u16,
    pub logs: u16,
    pub rollbar: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            otlp: OTLP_PORT,
            xray: XRAY_PORT,
            logs: LOGS_PORT,
            rollbar: ROLLBAR_PORT,
        }
    }
}

impl Ports {
    /// Ports the system picks, for tests and `demo`.
    pub fn any() -> Ports {
        Ports {
            otlp: 0,
            xray: 0,
            logs: 0,
            rollbar: 0,
        }
    }
}

/// Where the receivers listen and the variables that point an app at them.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoints {
    pub host: String,
    pub ports: Ports,
}

impl Endpoints {
    /// The environment for a backend that talks to these receivers through `host`.
    pub fn env(&self, host: &str) -> Vec<(&'static str, String)> {
        let p = self.ports;
        vec![
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://{host}:{}", p.otlp),
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-honeycomb-team=local".into(),
            ),
            ("AWS_XRAY_DAEMON_ADDRESS", format!("{host}:{}", p.xray)),
            (
                "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
                format!("http://{host}:{}", p.logs),
            ),
            (
                "ROLLBAR_ENDPOINT",
                format!("http://{host}:{}/api/1/", p.rollbar),
            ),
        ]
    }
}

#[derive(Debug, Error)]
pub enum ListenError {
    #[error("port {port} ({what}) on {bind} is taken")]
    PortTaken {
        port: u16,
        what: &'static str,
        bind: IpAddr,
        flag: &'static str,
    },
    #[error("cannot listen on {bind}:{port} ({what}): {reason}")]
    Bind {
        port: u16,
        what: &'static str,
        bind: IpAddr,
        reason: String,
    },
}

impl ListenError {
    pub fn hint(&self) -> String {
        match self {
            ListenError::PortTaken { flag, .. } => format!(
                "another `o11y listen`, a collector or the xray-daemon container may be running: stop it, or choose another port with `{flag} PORT`"
            ),
            ListenError::Bind { .. } => "choose another address with `--bind`, e.g. `--bind 127.0.0.1`".into(),
        }
    }
}

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
    tx: mpsc::Sender<(Arrival, usize)>,
    dropped: Arc<AtomicU64>,
    queued: Arc<AtomicUsize>,
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

/// Running receivers.
pub struct Running {
    pub endpoints: Endpoints,
    arrivals: mpsc::Receiver<(Arrival, usize)>,
    queued: Arc<AtomicUsize>,
    pub dropped: Arc<AtomicU64>,
    /// How many times an X-Ray SDK fetched the sampling rules.
    pub rules_served: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The next arrival; None once every receiver has stopped.
    pub async fn next(&mut self) -> Option<Arrival> {
        let (a, w) = self.arrivals.recv().await?;
        self.queued.fetch_sub(w, Ordering::AcqRel);
        Some(a)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn tcp(
    bind: IpAddr,
    port: u16,
    what: &'static str,
    flag: &'static str,
) -> Result<TcpListener, ListenError> {
    TcpListener::bind(SocketAddr::new(bind, port))
        .await
        .map_err(|e| bind_error(e, bind, port, what, flag))
}

fn bind_error(
    e: std::io::Error,
    bind: IpAddr,
    port: u16,
    what: &'static str,
    flag: &'static str,
) -> ListenError {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        ListenError::PortTaken {
            port,
            what,
            bind,
            flag,
        }
    } else {
        ListenError::Bind {
            port,
            what,
            bind,
            reason: e.to_string(),
        }
    }
}

/// Binds every receiver, then serves until the returned value is dropped.
pub async fn start(bind: IpAddr, ports: Ports) -> Result<Running, ListenError> {
    let otlp = tcp(bind, ports.otlp, "OTLP/HTTP traces", "--otlp-port").await?;
    // The daemon's UDP and TCP share one port; with port 0, take the TCP port for UDP too.
    let (xray_tcp, xray_udp) = {
        let mut tries = 0;
        loop {
            let t = tcp(bind, ports.xray, "X-Ray daemon", "--xray-port").await?;
            let port = t.local_addr().map(|a| a.port()).unwrap_or(ports.xray);
            match UdpSocket::bind(SocketAddr::new(bind, port)).await {
                Ok(u) => break (t, u),
                Err(_) if ports.xray == 0 && tries < 20 => tries += 1,
                Err(e) => {
                    return Err(bind_error(
                        e,
                        bind,
                        port,
                        "X-Ray daemon (UDP)",
                        "--xray-port",
                    ))
                }
            }
        }
    };
    let logs_l = tcp(bind, ports.logs, "CloudWatch Logs", "--logs-port").await?;
    let rollbar_l = tcp(bind, ports.rollbar, "Rollbar", "--rollbar-port").await?;
    let port_of = |l: &TcpListener| l.local_addr().map(|a| a.port()).unwrap_or(0);
    let endpoints = Endpoints {
        host: bind.to_string(),
        ports: Ports {
            otlp: port_of(&otlp),
            xray: port_of(&xray_tcp),
            logs: port_of(&logs_l),
            rollbar: port_of(&rollbar_l),
        },
    };
    let (tx, rx) = mpsc::channel(4096);
    let dropped = Arc::new(AtomicU64::new(0));
    let queued = Arc::new(AtomicUsize::new(0));
    let sink = Sink {
        tx,
        dropped: dropped.clone(),
        queued: queued.clone(),
    };
    let store = Arc::new(Mutex::new(logs::Store::default()));
    let sampling = Arc::new(xray::Sampling::new());
    let rules_served = sampling.rules_served.clone();
    let tasks = vec![
        tokio::spawn(http::serve(otlp, sink.clone(), Arc::new(otlp::handle))),
        tokio::spawn(http::serve(
            xray_tcp,
            sink.clone(),
            Arc::new(move |r: &http::Req| sampling.handle(r)),
        )),
        tokio::spawn(xray::serve_udp(xray_udp, sink.clone())),
        tokio::spawn(http::serve(
            logs_l,
            sink.clone(),
            Arc::new(move |r: &http::Req| logs::handle(&store, r)),
        )),
        tokio::spawn(http::serve(rollbar_l, sink, Arc::new(rollbar::handle))),
    ];
    Ok(Running {
        endpoints,
        arrivals: rx,
        queued,
        dropped,
        rules_served,
        tasks,
    })
}
