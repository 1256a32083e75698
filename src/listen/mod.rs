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

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use thiserror::Error;

use crate::spec::{Integration, Receiver, ReceiverKind};

pub use arrival::{now, Arrival, Sink, SpanInfo, SubsegmentInfo, MAX_BODY, MAX_QUEUED};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The receivers of the integrations at hand, each with its port (0: the system picks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports(pub Vec<(&'static Receiver, u16)>);

impl Serialize for Ports {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (r, p) in &self.0 {
            m.serialize_entry(r.name, p)?;
        }
        m.end()
    }
}

impl PartialEq for &'static Receiver {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Eq for &'static Receiver {}

impl Ports {
    /// Every receiver of `all` (one per protocol) on its default port.
    pub fn defaults(all: &[Integration]) -> Ports {
        let mut out: Vec<(&'static Receiver, u16)> = Vec::new();
        for i in all {
            let r = &i.spec().receiver;
            if !out.iter().any(|(o, _)| o.kind == r.kind) {
                out.push((r, r.port));
            }
        }
        Ports(out)
    }

    /// Ports the system picks, for tests and `demo`.
    pub fn any(all: &[Integration]) -> Ports {
        let mut p = Ports::defaults(all);
        for (_, port) in &mut p.0 {
            *port = 0;
        }
        p
    }

    /// The port of `kind` (0 when no receiver has that protocol).
    pub fn get(&self, kind: ReceiverKind) -> u16 {
        self.0
            .iter()
            .find(|(r, _)| r.kind == kind)
            .map_or(0, |(_, p)| *p)
    }

    /// Moves the receiver named `name` (`otlp`, `xray`) to `port`; false when there is none.
    pub fn set(&mut self, name: &str, port: u16) -> bool {
        match self.0.iter_mut().find(|(r, _)| r.name == name) {
            Some((_, p)) => {
                *p = port;
                true
            }
            None => false,
        }
    }

    /// The receivers, in registry order.
    pub fn receivers(&self) -> impl Iterator<Item = &'static Receiver> + '_ {
        self.0.iter().map(|(r, _)| *r)
    }

    /// The receiver of `kind`.
    pub fn receiver(&self, kind: ReceiverKind) -> Option<&'static Receiver> {
        self.receivers().find(|r| r.kind == kind)
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

/// Binds every receiver of `ports`, then serves until the returned value is dropped.
pub async fn start(bind: IpAddr, ports: Ports) -> Result<Running, ListenError> {
    prepare_process();
    let (tx, rx) = mpsc::channel(4096);
    let dropped = Arc::new(AtomicU64::new(0));
    let queued = Arc::new(AtomicUsize::new(0));
    let sink = Sink {
        tx,
        dropped: dropped.clone(),
        queued: queued.clone(),
    };
    let rules_served = Arc::new(AtomicU64::new(0));
    let mut bound: Vec<(&'static Receiver, u16)> = Vec::new();
    let mut tasks = Vec::new();
    for (r, port) in &ports.0 {
        let listener = tcp(bind, *port, r.serves, r.flag).await?;
        let actual = listener.local_addr().map(|a| a.port()).unwrap_or(*port);
        match r.kind {
            ReceiverKind::Otlp => {
                tasks.push(tokio::spawn(http::serve(
                    listener,
                    sink.clone(),
                    Arc::new(otlp::handle),
                )));
            }
            ReceiverKind::XrayDaemon => {
                // The daemon's UDP and TCP share one port; with port 0, take the TCP port for
                // UDP too, trying again when that one is taken for UDP.
                let mut listener = listener;
                let mut actual = actual;
                let mut tries = 0;
                let udp = loop {
                    match UdpSocket::bind(SocketAddr::new(bind, actual)).await {
                        Ok(u) => break u,
                        Err(_) if *port == 0 && tries < 20 => {
                            tries += 1;
                            listener = tcp(bind, 0, r.serves, r.flag).await?;
                            actual = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                        }
                        Err(e) => {
                            return Err(bind_error(e, bind, actual, "X-Ray daemon (UDP)", r.flag))
                        }
                    }
                };
                let sampling = Arc::new(xray::Sampling::counting(rules_served.clone()));
                tasks.push(tokio::spawn(http::serve(
                    listener,
                    sink.clone(),
                    Arc::new(move |q: &http::Req| sampling.handle(q)),
                )));
                tasks.push(tokio::spawn(xray::serve_udp(udp, sink.clone())));
                bound.push((r, actual));
                continue;
            }
            ReceiverKind::Logs => {
                let store = Arc::new(Mutex::new(logs::Store::default()));
                tasks.push(tokio::spawn(http::serve(
                    listener,
                    sink.clone(),
                    Arc::new(move |q: &http::Req| logs::handle(&store, q)),
                )));
            }
            ReceiverKind::Rollbar => {
                tasks.push(tokio::spawn(http::serve(
                    listener,
                    sink.clone(),
                    Arc::new(rollbar::handle),
                )));
            }
        }
        bound.push((r, actual));
    }
    Ok(Running {
        endpoints: Endpoints {
            host: bind.to_string(),
            ports: Ports(bound),
        },
        arrivals: rx,
        queued,
        dropped,
        rules_served,
        tasks,
    })
}
