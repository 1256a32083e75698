//! Doctor's runtime checks: the backend answers, `o11y listen` answers. An integration's own
//! runtime checks (the X-Ray daemon's UDP port) are in its module.

use std::sync::Arc;
use std::time::Duration;

use crate::context::{Check, CheckFuture, Ctx};
use crate::report::{Group, Outcome};

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

/// In local mode, whether `o11y listen` answers on each of its ports on this machine.
fn local_receivers(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        if !c.local {
            return Outcome::skip("not in local mode");
        }
        let p = crate::listen::Ports::defaults(&c.enabled);
        let mut silent = Vec::new();
        let mut all = Vec::new();
        for (r, port) in p.0 {
            let what = r.label;
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
