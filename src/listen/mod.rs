//! The local receivers: OTLP/HTTP traces, the X-Ray daemon (UDP segments and its TCP sampling
//! API), a CloudWatch Logs API subset, and Rollbar's item API. Everything they receive becomes
//! an `Arrival`; malformed input becomes one too, and never stops a receiver.

mod arrival;
mod http;
mod json;
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

use crate::spec::{Integration, ReceiverKind};

pub use arrival::{now, Arrival, Sink, SpanInfo, SubsegmentInfo, MAX_BODY, MAX_QUEUED};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Default ports: the OTLP/HTTP and X-Ray daemon standards, and two of o11y's own.
pub const OTLP_PORT: u16 = 4318;
pub const XRAY_PORT: u16 = 2000;
pub const LOGS_PORT: u16 = 4584;
pub const ROLLBAR_PORT: u16 = 4585;

/// The port of each receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports(pub BTreeMap<ReceiverKind, u16>);

impl Serialize for Ports {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.key(), v)?;
        }
        m.end()
    }
}

/// Every receiver, with its default port, its name and the `listen` flag that moves it.
pub const RECEIVERS: [(ReceiverKind, u16, &str, &str); 4] = [
    (
        ReceiverKind::Otlp,
        OTLP_PORT,
        "OTLP/HTTP traces",
        "--otlp-port",
    ),
    (
        ReceiverKind::XrayDaemon,
        XRAY_PORT,
        "X-Ray daemon",
        "--xray-port",
    ),
    (
        ReceiverKind::Logs,
        LOGS_PORT,
        "CloudWatch Logs",
        "--logs-port",
    ),
    (
        ReceiverKind::Rollbar,
        ROLLBAR_PORT,
        "Rollbar",
        "--rollbar-port",
    ),
];

/// A receiver's short name, for messages (`traces`, `X-Ray`).
pub fn label(kind: ReceiverKind) -> &'static str {
    match kind {
        ReceiverKind::Otlp => "traces",
        ReceiverKind::XrayDaemon => "X-Ray",
        ReceiverKind::Logs => "logs",
        ReceiverKind::Rollbar => "Rollbar",
    }
}

impl Default for Ports {
    fn default() -> Self {
        Ports(RECEIVERS.iter().map(|(k, p, _, _)| (*k, *p)).collect())
    }
}

impl Ports {
    /// Ports the system picks, for tests and `demo`.
    pub fn any() -> Ports {
        Ports(RECEIVERS.iter().map(|(k, _, _, _)| (*k, 0)).collect())
    }

    /// The port of `kind` (its default when unset).
    pub fn get(&self, kind: ReceiverKind) -> u16 {
        self.0.get(&kind).copied().unwrap_or_else(|| {
            RECEIVERS
                .iter()
                .find(|(k, _, _, _)| *k == kind)
                .map_or(0, |(_, p, _, _)| *p)
        })
    }
}

/// Where the receivers listen and the variables that point an app at them.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoints {
    pub host: String,
    pub ports: Ports,
}

impl Endpoints {
    /// The environment for a backend that talks to these receivers through `host`: each
    /// integration's receiver variables, `{host}` and `{port}` filled.
    pub fn env(&self, host: &str, integrations: &[Integration]) -> Vec<(&'static str, String)> {
        integrations
            .iter()
            .flat_map(|i| {
                let r = i.spec().receiver;
                let port = self.ports.get(r.kind).to_string();
                r.env
                    .iter()
                    .map(move |(k, v)| (*k, v.replace("{host}", host).replace("{port}", &port)))
            })
            .collect()
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

impl crate::exit::Hint for ListenError {
    fn hint(&self) -> String {
        match self {
            ListenError::PortTaken { flag, .. } => format!(
                "another `o11y listen`, a collector or the xray-daemon container may be running: stop it, or choose another port with `{flag} PORT`"
            ),
            ListenError::Bind { .. } => "choose another address with `--bind`, e.g. `--bind 127.0.0.1`".into(),
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

/// What the process needs to serve many clients and give memory back, set once:
/// - the soft limit of open files raised to the hard limit, so that a thousand idle
///   connections do not leave the receivers unable to accept one more;
/// - glibc's mmap threshold fixed at 128 KiB. Left to itself glibc raises it to the size of
///   the largest block freed (up to 32 MiB), after which 8 MB bodies come from the heap and
///   stay there when freed; fixed, each large buffer is mapped on its own and unmapped when
///   dropped, and the heap is trimmed past 128 KiB free.
fn prepare_process() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: plain system calls on values of our own.
        unsafe {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
                l.rlim_cur = l.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &l);
            }
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
            }
        }
    });
}

/// Binds every receiver, then serves until the returned value is dropped.
pub async fn start(bind: IpAddr, ports: Ports) -> Result<Running, ListenError> {
    prepare_process();
    let otlp = tcp(
        bind,
        ports.get(ReceiverKind::Otlp),
        "OTLP/HTTP traces",
        "--otlp-port",
    )
    .await?;
    // The daemon's UDP and TCP share one port; with port 0, take the TCP port for UDP too.
    let (xray_tcp, xray_udp) = {
        let mut tries = 0;
        loop {
            let t = tcp(
                bind,
                ports.get(ReceiverKind::XrayDaemon),
                "X-Ray daemon",
                "--xray-port",
            )
            .await?;
            let port = t
                .local_addr()
                .map(|a| a.port())
                .unwrap_or(ports.get(ReceiverKind::XrayDaemon));
            match UdpSocket::bind(SocketAddr::new(bind, port)).await {
                Ok(u) => break (t, u),
                Err(_) if ports.get(ReceiverKind::XrayDaemon) == 0 && tries < 20 => tries += 1,
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
    let logs_l = tcp(
        bind,
        ports.get(ReceiverKind::Logs),
        "CloudWatch Logs",
        "--logs-port",
    )
    .await?;
    let rollbar_l = tcp(
        bind,
        ports.get(ReceiverKind::Rollbar),
        "Rollbar",
        "--rollbar-port",
    )
    .await?;
    let port_of = |l: &TcpListener| l.local_addr().map(|a| a.port()).unwrap_or(0);
    let endpoints = Endpoints {
        host: bind.to_string(),
        ports: Ports(BTreeMap::from([
            (ReceiverKind::Otlp, port_of(&otlp)),
            (ReceiverKind::XrayDaemon, port_of(&xray_tcp)),
            (ReceiverKind::Logs, port_of(&logs_l)),
            (ReceiverKind::Rollbar, port_of(&rollbar_l)),
        ])),
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
