//! Doctor's runtime checks: the backend answers, `o11y listen` answers, the daemon's UDP port.

use std::sync::Arc;
use std::time::Duration;

use crate::context::{Check, CheckFuture, Ctx};
use crate::report::{Group, Outcome};
use crate::spec::{Integration, ReceiverKind};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "runtime.backend",
            group: Group::Runtime,
            title: "backend on 4567",
            integration: None,
            run: backend_up,
        },
        Check {
            id: "runtime.listen",
            group: Group::Runtime,
            title: "local receivers",
            integration: None,
            run: local_receivers,
        },
        Check {
            id: "runtime.xray_udp",
            group: Group::Runtime,
            title: "X-Ray daemon on 2000/udp",
            integration: None,
            run: xray_udp,
        },
    ]
}

fn backend_up(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        let url = format!(
            "{}/api/activities/home",
            c.endpoints.backend.trim_end_matches('/')
        );
        match crate::net::send(c.http.get(&url).timeout(Duration::from_secs(3)), &[]).await {
            Ok(_) => Outcome::ok(format!("{url} answers 200")),
            Err(crate::net::Fault::Refused) => Outcome::skip(format!(
                "the stack is not running (`{} up` starts it)",
                crate::project::compose_command()
            )),
            Err(f) => Outcome::fail(
                f.line("the backend", &crate::net::host_of(&url)),
                format!(
                    "look at the backend's log: `{} logs {}`",
                    crate::project::compose_command(),
                    c.service()
                ),
            ),
        }
    })
}

/// Whether some socket listens on UDP `port` (from /proc/net/udp and udp6).
pub fn udp_listening(port: u16) -> bool {
    let hex = format!(":{port:04X}");
    ["/proc/net/udp", "/proc/net/udp6"].iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|local| local.ends_with(&hex))
            })
    })
}

/// In local mode, whether `o11y listen` answers on each of its ports on this machine.
fn local_receivers(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        if !c.local {
            return Outcome::skip("not in local mode");
        }
        let p = crate::listen::Ports::default();
        let mut silent = Vec::new();
        let mut all = Vec::new();
        for (kind, _, _, _) in crate::listen::RECEIVERS {
            let (what, port) = (crate::listen::label(kind), p.get(kind));
            all.push(port.to_string());
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                silent.push(format!("{what} on {port}"));
            }
        }
        if silent.is_empty() {
            let last = all.pop().unwrap_or_default();
            Outcome::ok(format!(
                "`o11y listen` answers on {} and {last}",
                all.join(", ")
            ))
        } else {
            Outcome::fail(
                format!("local mode, but nothing answers for {}", silent.join(", ")),
                "start the receivers in another terminal: `o11y listen --bind 0.0.0.0` (or leave local mode: `o11y apply --cloud`)",
            )
        }
    })
}

fn xray_udp(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        let daemon = |i: &Integration| i.spec().receiver.kind == ReceiverKind::XrayDaemon;
        if !c.enabled.iter().any(daemon) {
            return Outcome::skip("X-Ray is switched off");
        }
        let backend_up =
            tokio::net::TcpStream::connect(c.endpoints.backend.trim_start_matches("http://"))
                .await
                .is_ok();
        if udp_listening(2000) {
            Outcome::ok("something listens on 2000/udp")
        } else if backend_up {
            Outcome::fail(
                "the backend runs but nothing listens on 2000/udp: segments are lost",
                format!(
                    "start the daemon: `{} up -d xray-daemon` (its ports need \"2000:2000/udp\")",
                    crate::project::compose_command()
                ),
            )
        } else {
            Outcome::skip("the stack is not running")
        }
    })
}
