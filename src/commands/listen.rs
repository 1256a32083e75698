//! `o11y listen`: the local receivers in the foreground, printing what arrives.

use std::time::Duration;

use crate::cli::{Global, ListenArgs};
use crate::error::Failure;
use crate::exit::ExitStatus;
use crate::listen::{self, Ports};
use crate::ui::listen::Tally;
use crate::ui::Printer;

pub fn run(_g: &Global, a: &ListenArgs, out: &Printer) -> Result<ExitStatus, Failure> {
    let rt = super::shared::runtime()?;
    rt.block_on(async {
        let mut ports = Ports::defaults(crate::integrations::all());
        for (name, port) in &a.ports {
            if !ports.set(name, *port) {
                let names: Vec<&str> = ports.receivers().map(|r| r.name).collect();
                return Err(Failure::new(
                    format!("there is no receiver `{name}`"),
                    format!("name one of {} (`--port {}=PORT`)", names.join(", "), names[0]),
                ));
            }
        }
        let mut running = listen::start(a.bind, ports)
            .await
            ?;
        let e = &running.endpoints;
        out.say(&format!("o11y listen: receiving on {}", e.host));
        for (what, var) in crate::integrations::host_env(e) {
            out.say(&format!("  export {what}={var}"));
        }
        if a.bind.is_loopback() {
            out.say("A backend on this machine (`flask run`, `python app.py`) sends all four signals here with the lines above run in its shell (dummy keys: nothing leaves this machine).");
            out.say("For the backend in docker compose: `o11y apply --local`, and run `o11y listen --bind 0.0.0.0` instead: containers reach this machine through host.docker.internal, which 127.0.0.1 does not answer.");
        } else {
            out.say("Point the backend in docker compose here with `o11y apply --local` (it goes through host.docker.internal), or export the lines above for one on this machine.");
        }
        out.say(&format!(
            "Then use the app. {}",
            match (a.timeout, a.exit_after) {
                (Some(t), _) => format!("Stopping after {t} s."),
                (None, Some(n)) => format!("Stopping after {n} arrival(s)."),
                _ => "Ctrl-C stops.".into(),
            }
        ));
        let mut tally = Tally::default();
        // Terminal mode draws each trace once, as a waterfall, when it has gone quiet.
        let mut traces = crate::ui::listen::Traces::default();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let draw = |arrivals: Vec<listen::Arrival>| {
            for a in arrivals {
                for line in out.arrival_lines(&a) {
                    out.data(&line);
                }
            }
        };
        let deadline = a.timeout.map(|t| tokio::time::Instant::now() + Duration::from_secs_f64(t));
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                got = running.next() => {
                    let Some(arrival) = got else { break };
                    tally.add(&arrival);
                    if a.json {
                        out.json(&arrival);
                    } else {
                        let (now, pushed) = traces.add(arrival);
                        draw(pushed);
                        draw(now.into_iter().collect());
                    }
                    let counted = tally.arrivals();
                    if a.exit_after.is_some_and(|n| counted >= n) {
                        break;
                    }
                }
                _ = tick.tick() => draw(traces.due()),
                _ = sleep => break,
                _ = &mut ctrl_c => break,
            }
        }
        draw(traces.all());
        let dropped = running.dropped.load(std::sync::atomic::Ordering::Relaxed);
        out.say(&format!(
            "Received: {}{}",
            tally.line(&running.endpoints.ports),
            if dropped > 0 { format!(" ({dropped} dropped: output could not keep up)") } else { String::new() }
        ));
        Ok(ExitStatus::Ok)
    })
}
