//! A CloudWatch Logs API subset (JSON 1.1, dispatched on `X-Amz-Target`): the calls watchtower
//! and `o11y smoke` make, answered as the service answers, errors included. Memory is bounded:
//! at most MAX_GROUPS groups, MAX_STREAMS streams, MAX_EVENTS events per stream and
//! MAX_STORED bytes of messages in all (the oldest go); a batch and an event are held to the
//! service's own limits, and GetLogEvents answers at most 1 MB, as the service does.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::arrival::{malformed, now, Arrival};
use super::http::{Reply, Req};

const RECEIVER: &str = "logs";
const MAX_GROUPS: usize = 1000;
const MAX_STREAMS: usize = 10_000;
const MAX_EVENTS: usize = 10_000;
const MAX_STORED: usize = 16 * 1024 * 1024;
/// PutLogEvents' limits (CloudWatch Logs API reference): "The maximum batch size is 1,048,576
/// bytes. This size is calculated as the sum of all event messages in UTF-8, plus 26 bytes
/// for each log event"; an event at most 256 KB. GetLogEvents returns "up to 1 MB".
const EVENT_OVERHEAD: usize = 26;
const MAX_BATCH_BYTES: usize = 1_048_576;
const MAX_EVENT_BYTES: usize = 262_144;
const MAX_READ_BYTES: usize = 1_048_576;

#[derive(Debug, Clone)]
struct Event {
    timestamp: i64,
    message: String,
    ingested: i64,
}

#[derive(Debug, Default)]
struct Group {
    created: i64,
    streams: BTreeMap<String, Stream>,
}

#[derive(Debug, Default)]
struct Stream {
    created: i64,
    events: VecDeque<Event>,
}

#[derive(Debug, Default)]
pub struct Store {
    groups: BTreeMap<String, Group>,
    streams: usize,
    /// Message bytes held in all streams.
    bytes: usize,
}

impl Store {
    /// Drops the oldest events, stream by stream, until `incoming` more bytes fit.
    fn make_room(&mut self, incoming: usize) {
        if self.bytes + incoming <= MAX_STORED {
            return;
        }
        for g in self.groups.values_mut() {
            for st in g.streams.values_mut() {
                while self.bytes + incoming > MAX_STORED {
                    match st.events.pop_front() {
                        Some(e) => self.bytes -= e.message.len(),
                        None => break,
                    }
                }
            }
        }
    }
}

fn millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn error(kind: &str, message: &str) -> Reply {
    let mut r = Reply::json(400, json!({"__type": kind, "message": message}));
    r.content_type = "application/x-amz-json-1.1";
    r
}

fn ok(body: Value) -> Reply {
    let mut r = Reply::json(200, body);
    r.content_type = "application/x-amz-json-1.1";
    r
}

fn arn(group: &str) -> String {
    format!("arn:aws:logs:local:000000000000:log-group:{group}:*")
}

pub fn handle(store: &Mutex<Store>, r: &Req) -> Reply {
    if r.method != "POST" {
        return error(
            "UnknownOperationException",
            "use POST with an X-Amz-Target header",
        );
    }
    let target = r.header("x-amz-target");
    let Some(op) = target.strip_prefix("Logs_20140328.") else {
        return error(
            "UnknownOperationException",
            "missing or unknown X-Amz-Target",
        )
        .with(malformed(
            RECEIVER,
            format!("request without a Logs X-Amz-Target (`{target}`)"),
        ));
    };
    let req: Value = match serde_json::from_slice(&r.body) {
        Ok(v) => v,
        Err(e) => {
            return error("SerializationException", "body is not JSON")
                .with(malformed(RECEIVER, format!("{op}: body is not JSON: {e}")))
        }
    };
    let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
    let group_name = req["logGroupName"].as_str().unwrap_or("");
    let stream_name = req["logStreamName"].as_str().unwrap_or("");
    match op {
        "CreateLogGroup" => {
            if group_name.is_empty() {
                return error("InvalidParameterException", "logGroupName is required");
            }
            if s.groups.contains_key(group_name) {
                return error(
                    "ResourceAlreadyExistsException",
                    "The specified log group already exists",
                );
            }
            if s.groups.len() >= MAX_GROUPS {
                return error("LimitExceededException", "Resource limit exceeded.");
            }
            s.groups.insert(
                group_name.to_string(),
                Group {
                    created: millis(),
                    ..Group::default()
                },
            );
            ok(json!({}))
        }
        "CreateLogStream" => {
            let full = s.streams >= MAX_STREAMS;
            let Some(g) = s.groups.get_mut(group_name) else {
                return error(
                    "ResourceNotFoundException",
                    "The specified log group does not exist.",
                );
            };
            if g.streams.contains_key(stream_name) {
                return error(
                    "ResourceAlreadyExistsException",
                    "The specified log stream already exists",
                );
            }
            if stream_name.is_empty() {
                return error("InvalidParameterException", "logStreamName is required");
            }
            if full {
                return error("LimitExceededException", "Resource limit exceeded.");
            }
            g.streams.insert(
                stream_name.to_string(),
                Stream {
                    created: millis(),
                    ..Stream::default()
                },
            );
            s.streams += 1;
            ok(json!({}))
        }
        "PutLogEvents" => {
            let Some(events) = req["logEvents"].as_array().filter(|e| !e.is_empty()) else {
                return error(
                    "InvalidParameterException",
                    "logEvents must hold at least one event",
                );
            };
            let batch: usize = events
                .iter()
                .map(|e| e["message"].as_str().map_or(0, str::len) + EVENT_OVERHEAD)
                .sum();
            if batch > MAX_BATCH_BYTES {
                return error(
                    "InvalidParameterException",
                    &format!("Upload too large: {batch} bytes exceeds limit of {MAX_BATCH_BYTES}"),
                )
                .with(malformed(
                    RECEIVER,
                    format!("PutLogEvents of {batch} bytes"),
                ));
            }
            if let Some(big) = events
                .iter()
                .map(|e| e["message"].as_str().map_or(0, str::len) + EVENT_OVERHEAD)
                .find(|n| *n > MAX_EVENT_BYTES)
            {
                return error(
                    "InvalidParameterException",
                    &format!("Log event too large: {big} bytes exceeds limit of {MAX_EVENT_BYTES}"),
                )
                .with(malformed(RECEIVER, format!("a log event of {big} bytes")));
            }
            let mut parsed = Vec::with_capacity(events.len());
            for e in events {
                match (e["timestamp"].as_i64(), e["message"].as_str()) {
                    (Some(t), Some(m)) => parsed.push(Event {
                        timestamp: t,
                        message: m.to_string(),
                        ingested: millis(),
                    }),
                    _ => {
                        return error(
                            "InvalidParameterException",
                            "each log event needs a timestamp and a message",
                        )
                        .with(malformed(
                            RECEIVER,
                            "PutLogEvents with an event lacking timestamp or message",
                        ))
                    }
                }
            }
            match s.groups.get(group_name) {
                None => {
                    return error(
                        "ResourceNotFoundException",
                        "The specified log group does not exist.",
                    )
                }
                Some(g) if !g.streams.contains_key(stream_name) => {
                    return error(
                        "ResourceNotFoundException",
                        "The specified log stream does not exist.",
                    )
                }
                Some(_) => {}
            }
            let incoming: usize = parsed.iter().map(|e| e.message.len()).sum();
            s.make_room(incoming);
            let mut added = 0;
            let mut freed = 0;
            let st = s
                .groups
                .get_mut(group_name)
                .and_then(|g| g.streams.get_mut(stream_name))
                .expect("checked above");
            let messages = parsed.iter().map(|e| e.message.clone()).collect();
            for e in parsed {
                if st.events.len() >= MAX_EVENTS {
                    freed += st.events.pop_front().map_or(0, |e| e.message.len());
                }
                added += e.message.len();
                st.events.push_back(e);
            }
            let count = st.events.len();
            s.bytes = s.bytes + added - freed;
            ok(json!({"nextSequenceToken": format!("{count:056}")})).with(Arrival::Log {
                time: now(),
                group: group_name.to_string(),
                stream: stream_name.to_string(),
                messages,
            })
        }
        "DescribeLogGroups" => {
            let prefix = req["logGroupNamePrefix"].as_str().unwrap_or("");
            let groups: Vec<Value> = s
                .groups
                .iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .map(|(n, g)| json!({"logGroupName": n, "arn": arn(n), "creationTime": g.created, "storedBytes": 0}))
                .collect();
            ok(json!({"logGroups": groups}))
        }
        "DescribeLogStreams" => {
            let Some(g) = s.groups.get(group_name) else {
                return error(
                    "ResourceNotFoundException",
                    "The specified log group does not exist.",
                );
            };
            let prefix = req["logStreamNamePrefix"].as_str().unwrap_or("");
            let streams: Vec<Value> = g
                .streams
                .iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .map(|(n, st)| {
                    json!({"logStreamName": n, "creationTime": st.created,
                           "arn": format!("{}:log-stream:{n}", arn(group_name).trim_end_matches(":*")),
                           "lastIngestionTime": st.events.back().map(|e| e.ingested)})
                })
                .collect();
            ok(json!({"logStreams": streams}))
        }
        "GetLogEvents" => {
            let Some(st) = s
                .groups
                .get(group_name)
                .and_then(|g| g.streams.get(stream_name))
            else {
                return error(
                    "ResourceNotFoundException",
                    "The specified log group or stream does not exist.",
                );
            };
            let limit = req["limit"].as_u64().unwrap_or(10_000) as usize;
            let mut size = 0;
            let events: Vec<Value> = st
                .events
                .iter()
                .take(limit)
                .take_while(|e| {
                    size += e.message.len() + EVENT_OVERHEAD;
                    size <= MAX_READ_BYTES
                })
                .map(|e| json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingested}))
                .collect();
            ok(json!({"events": events, "nextForwardToken": "f/0", "nextBackwardToken": "b/0"}))
        }
        "PutRetentionPolicy" | "TagLogGroup" | "TagResource" => ok(json!({})),
        other => error(
            "UnknownOperationException",
            &format!("{other} is not served by o11y listen"),
        )
        .with(malformed(
            RECEIVER,
            format!("unsupported operation {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listen::http::Req;

    fn call(store: &Mutex<Store>, op: &str, body: Value) -> (u16, Value) {
        let mut headers = hyper::header::HeaderMap::new();
        headers.insert(
            "x-amz-target",
            format!("Logs_20140328.{op}").parse().unwrap(),
        );
        let r = handle(
            store,
            &Req {
                method: "POST".into(),
                path: "/".into(),
                headers,
                body: body.to_string().into(),
            },
        );
        (r.status, serde_json::from_slice(&r.body).unwrap())
    }

    #[test]
    fn answers_as_the_service_does() {
        let s = Mutex::new(Store::default());
        let g = json!({"logGroupName": "cruddur"});
        assert_eq!(call(&s, "CreateLogGroup", g.clone()).0, 200);
        let (status, body) = call(&s, "CreateLogGroup", g);
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some("ResourceAlreadyExistsException"))
        );
        let st = json!({"logGroupName": "cruddur", "logStreamName": "a"});
        let put = json!({"logGroupName": "cruddur", "logStreamName": "a", "logEvents": [{"timestamp": 1, "message": "hi"}]});
        assert_eq!(
            call(&s, "PutLogEvents", put.clone()).1["__type"],
            "ResourceNotFoundException"
        );
        assert_eq!(call(&s, "CreateLogStream", st).0, 200);
        assert!(call(&s, "PutLogEvents", put).1["nextSequenceToken"].is_string());
        let (_, got) = call(
            &s,
            "GetLogEvents",
            json!({"logGroupName": "cruddur", "logStreamName": "a"}),
        );
        assert_eq!(got["events"][0]["message"], "hi");
        let (status, body) = call(&s, "DeleteEverything", json!({}));
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some("UnknownOperationException"))
        );
    }

    #[test]
    fn events_per_stream_are_bounded() {
        let s = Mutex::new(Store::default());
        call(&s, "CreateLogGroup", json!({"logGroupName": "g"}));
        call(
            &s,
            "CreateLogStream",
            json!({"logGroupName": "g", "logStreamName": "s"}),
        );
        let events: Vec<Value> = (0..2_000)
            .map(|i| json!({"timestamp": i, "message": "x"}))
            .collect();
        for _ in 0..6 {
            call(
                &s,
                "PutLogEvents",
                json!({"logGroupName": "g", "logStreamName": "s", "logEvents": events}),
            );
        }
        let (_, got) = call(
            &s,
            "GetLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s"}),
        );
        assert_eq!(got["events"].as_array().unwrap().len(), MAX_EVENTS);
    }

    #[test]
    fn bytes_are_bounded_as_the_service_bounds_them() {
        let s = Mutex::new(Store::default());
        call(&s, "CreateLogGroup", json!({"logGroupName": "g"}));
        call(
            &s,
            "CreateLogStream",
            json!({"logGroupName": "g", "logStreamName": "a"}),
        );
        let put = |events: Vec<Value>| {
            call(
                &s,
                "PutLogEvents",
                json!({"logGroupName": "g", "logStreamName": "a", "logEvents": events}),
            )
        };
        let event = |n: usize| json!({"timestamp": 1, "message": "x".repeat(n)});
        let (status, body) = put(vec![event(300_000)]);
        assert_eq!(status, 400);
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("Log event too large"));
        let (status, body) = put((0..5).map(|_| event(250_000)).collect());
        assert_eq!(status, 400);
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("Upload too large"));
        // 40 full batches: the store keeps at most MAX_STORED bytes, the newest.
        for _ in 0..40 {
            assert_eq!(put((0..4).map(|_| event(250_000)).collect()).0, 200);
        }
        assert!(s.lock().unwrap().bytes <= MAX_STORED);
        let (_, got) = call(
            &s,
            "GetLogEvents",
            json!({"logGroupName": "g", "logStreamName": "a"}),
        );
        let read: usize = got["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap().len())
            .sum();
        assert!(read > 0 && read <= MAX_READ_BYTES, "{read}");
    }
}
