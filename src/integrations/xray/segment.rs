//! An X-Ray smoke segment: its trace id, the daemon's UDP datagram, and sending it.

/// An X-Ray trace id: `1-<8 hex digits of epoch seconds>-<24 random hex digits>`.
pub fn trace_id(epoch_secs: u64, random: [u8; 12]) -> String {
    let r: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("1-{epoch_secs:08x}-{r}")
}

/// A complete segment for an o11y smoke test, as the daemon's UDP datagram.
pub fn smoke_datagram(service: &str, trace_id: &str, id: [u8; 8], start: f64) -> String {
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let doc = serde_json::json!({
        "name": service,
        "id": id,
        "trace_id": trace_id,
        "start_time": start,
        "end_time": start + 0.001,
        "annotations": {"o11y_smoke": true},
        "subsegments": [{"name": "o11y-smoke", "id": format!("{:0>16}", &id[..8]), "start_time": start, "end_time": start + 0.0005}]
    });
    format!("{{\"format\": \"json\", \"version\": 1}}\n{doc}")
}

/// A new smoke segment of `service`, starting now: its trace id and its datagram.
pub(super) fn new_smoke(service: &str) -> (String, String) {
    let id = *uuid::Uuid::new_v4().as_bytes();
    let now = crate::net::unix_now();
    let trace = trace_id(now.as_secs(), id[4..].try_into().expect("12 bytes"));
    let datagram = smoke_datagram(
        service,
        &trace,
        id[..8].try_into().expect("8 bytes"),
        now.as_secs_f64(),
    );
    (trace, datagram)
}

/// Sends one smoke segment to a daemon address (`host:port`); returns its trace id.
pub async fn send_smoke(daemon: &str, service: &str) -> Result<String, String> {
    let (trace, datagram) = new_smoke(service);
    let sock = tokio::net::UdpSocket::bind(("0.0.0.0", 0))
        .await
        .map_err(|e| e.to_string())?;
    sock.send_to(datagram.as_bytes(), daemon)
        .await
        .map_err(|e| e.to_string())?;
    Ok(trace)
}
