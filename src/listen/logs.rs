//! A CloudWatch Logs API subset (JSON 1.1, dispatched on `X-Amz-Target`): the calls watchtower
//! and `o11y smoke` make, answered as the service answers, errors included. Memory is bounded:
//! at most MAX_GROUPS groups, MAX_STREAMS streams, MAX_EVENTS events per stream (oldest go).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::http::{Reply, Req};
use super::{malformed, now, Arrival};

const RECEIVER: &str = "logs";
const MAX_GROUPS: usize = 1000;
const MAX_STREAMS: usize = 10_000;
const MAX_EVENTS: usize = 10_000;

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
            let Some(g) = s.groups.get_mut(group_name) else {
                return error(
                    "ResourceNotFoundException",
                    "The specified log group does not exist.",
                );
            };
            let Some(st) = g.streams.get_mut(stream_name) else {
                return error(
                    "ResourceNotFoundException",
                    "The specified log stream does not exist.",
                );
            };
            let messages = parsed.iter().map(|e| e.message.clone()).collect();
            for e in parsed {
                if st.events.len() >= MAX_EVENTS {
                    st.events.pop_front();
                }
                st.events.push_back(e);
            }
            ok(json!({"nextSequenceToken": format!("{:056}", st.events.len())})).with(
                Arrival::Log {
                    time: now(),
                    group: group_name.to_string(),
                    stream: stream_name.to_string(),
                    messages,
                },
            )
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
            let events: Vec<Value> = st
                .events
                .iter()
                .take(limit)
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
}
