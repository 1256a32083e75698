//! The X-Ray daemon's two faces: UDP segments (`{"format":"json","version":1}` header line,
//! then the segment document) and the TCP sampling API the SDK polls through the daemon
//! (`POST /GetSamplingRules`, `POST /SamplingTargets`). The rule served samples every
//! request, so local runs are deterministic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::net::UdpSocket;

use super::arrival::{malformed, now, Arrival, Sink, SubsegmentInfo};
use super::http::{Reply, Req};

const RECEIVER: &str = "xray";
/// GetSamplingTargets takes at most 25 statistics documents ("Array Members: Maximum number
/// of 25 items"), and refuses more with InvalidRequestException, HTTP 400
/// (https://docs.aws.amazon.com/xray/latest/api/API_GetSamplingTargets.html).
pub const MAX_STATISTICS: usize = 25;
/// Values a sampling API request may hold: 25 documents of 6 fields, with room to spare.
pub const MAX_VALUES: usize = 1_000;

fn invalid(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"__type": "InvalidRequestException", "message": message}),
    )
}

fn flatten(doc: &Value, depth: usize, out: &mut Vec<SubsegmentInfo>) {
    if let Some(subs) = doc["subsegments"].as_array() {
        for s in subs {
            out.push(SubsegmentInfo {
                name: s["name"].as_str().unwrap_or("").to_string(),
                depth,
                start_time: s["start_time"].as_f64(),
                end_time: s["end_time"].as_f64(),
                metadata: s.get("metadata").cloned(),
            });
            flatten(s, depth + 1, out);
        }
    }
}

/// Parses one datagram into an arrival.
pub fn parse_datagram(data: &[u8]) -> Arrival {
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(_) => return malformed(RECEIVER, "datagram is not UTF-8 text"),
    };
    let Some((header, body)) = text.split_once('\n') else {
        return malformed(RECEIVER, "datagram has no header line (expected {\"format\":\"json\",\"version\":1} then a newline)");
    };
    match serde_json::from_str::<Value>(header) {
        Ok(h) if h["format"] == "json" && h["version"] == 1 => {}
        _ => {
            return malformed(
                RECEIVER,
                "bad header line: expected {\"format\":\"json\",\"version\":1}",
            )
        }
    }
    let doc: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return malformed(RECEIVER, format!("segment is not JSON: {e}")),
    };
    let (Some(name), Some(trace_id), Some(id)) = (
        doc["name"].as_str(),
        doc["trace_id"].as_str(),
        doc["id"].as_str(),
    ) else {
        return malformed(RECEIVER, "segment lacks name, trace_id or id");
    };
    let mut subsegments = Vec::new();
    flatten(&doc, 0, &mut subsegments);
    let req = &doc["http"]["request"];
    Arrival::Xray {
        time: now(),
        name: name.to_string(),
        trace_id: trace_id.to_string(),
        id: id.to_string(),
        method: req["method"].as_str().map(str::to_string),
        url: req["url"].as_str().map(str::to_string),
        status: doc["http"]["response"]["status"].as_u64(),
        start_time: doc["start_time"].as_f64(),
        end_time: doc["end_time"].as_f64(),
        subsegments,
    }
}

pub async fn serve_udp(socket: UdpSocket, sink: Sink) {
    let mut buf = vec![0u8; 65536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, _)) => sink.send(parse_datagram(&buf[..n])),
            // A failing socket must not spin a core.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

/// The sampling API, with one rule that samples everything.
pub struct Sampling {
    started: f64,
    /// How many times an SDK fetched the rules. The SDK samples with its local fallback rule
    /// (one request a second, then 5%) until its first fetch, which its first request starts.
    pub rules_served: Arc<AtomicU64>,
}

impl Default for Sampling {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampling {
    pub fn new() -> Sampling {
        Sampling::counting(Arc::new(AtomicU64::new(0)))
    }

    /// One whose fetches of the rules are counted in `served`.
    pub fn counting(served: Arc<AtomicU64>) -> Sampling {
        Sampling {
            started: epoch(),
            rules_served: served,
        }
    }

    pub fn handle(&self, r: &Req) -> Reply {
        if r.method != "POST" {
            return Reply::json(405, json!({"message": "use POST"}));
        }
        let known = matches!(r.path.as_str(), "/GetSamplingRules" | "/SamplingTargets");
        if let Some(why) = super::json::too_large(&r.body, MAX_VALUES).filter(|_| known) {
            // Refused before it is parsed: the API's own error type, with HTTP's 413.
            return invalid(413, &format!("Request entity too large: {why}"))
                .with(malformed(RECEIVER, format!("{} refused: {why}", r.path)));
        }
        match r.path.as_str() {
            "/GetSamplingRules" => {
                self.rules_served.fetch_add(1, Ordering::Relaxed);
                Reply::json(
                    200,
                    json!({"SamplingRuleRecords": [{
                        "SamplingRule": {
                            "RuleName": "o11y-local-all", "RuleARN": "arn:aws:xray:local:000000000000:sampling-rule/o11y-local-all",
                            "ResourceARN": "*", "Priority": 1, "FixedRate": 1.0, "ReservoirSize": 1000,
                            "ServiceName": "*", "ServiceType": "*", "Host": "*", "HTTPMethod": "*",
                            "URLPath": "*", "Version": 1, "Attributes": {}
                        },
                        "CreatedAt": self.started, "ModifiedAt": self.started
                    }]}),
                )
            }
            "/SamplingTargets" => {
                let req: Value = match serde_json::from_slice(&r.body) {
                    Ok(v) => v,
                    Err(e) => {
                        return invalid(400, "body is not JSON").with(malformed(
                            RECEIVER,
                            format!("sampling targets request is not JSON: {e}"),
                        ))
                    }
                };
                let sent = req["SamplingStatisticsDocuments"].as_array();
                if sent.is_some_and(|d| d.len() > MAX_STATISTICS) {
                    return invalid(
                        400,
                        &format!("SamplingStatisticsDocuments: at most {MAX_STATISTICS} items"),
                    );
                }
                let docs: Vec<Value> = sent
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d["RuleName"].as_str())
                    .map(|name| {
                        json!({"RuleName": name, "FixedRate": 1.0, "ReservoirQuota": 1000,
                               "ReservoirQuotaTTL": epoch() + 3600.0, "Interval": 10})
                    })
                    .collect();
                Reply::json(
                    200,
                    json!({"SamplingTargetDocuments": docs, "LastRuleModification": self.started, "UnprocessedStatistics": []}),
                )
            }
            _ => Reply::json(
                404,
                json!({"message": "the daemon serves /GetSamplingRules and /SamplingTargets"}),
            ),
        }
    }
}

fn epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64().floor())
        .unwrap_or(0.0)
}
