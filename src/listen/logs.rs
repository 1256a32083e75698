//! A CloudWatch Logs API subset (JSON 1.1, dispatched on `X-Amz-Target`): the calls watchtower
//! and `o11y smoke` make, answered as the service answers, errors included. Memory is bounded:
//! at most MAX_GROUPS groups, MAX_STREAMS streams, MAX_EVENTS events per stream and
//! MAX_STORED bytes in all, every stored byte counted against it: names, messages and what
//! each group, stream and event costs besides (the oldest events go first); names, a batch
//! and an event are held to the service's own limits, a body is measured before it is parsed,
//! and GetLogEvents answers at most 1 MB, as the service does.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::arrival::{malformed, now, Arrival};
use super::http::{Reply, Req};

const RECEIVER: &str = "logs";
const MAX_GROUPS: usize = 1000;
const MAX_STREAMS: usize = 10_000;
const MAX_EVENTS: usize = 10_000;
/// Everything the store holds, names and overheads included.
const MAX_STORED: usize = 16 * 1024 * 1024;
/// What a group or stream costs besides its name (its map entry and fields), and an event
/// besides its message (its slot in the queue, which may be half empty after it grew, and
/// the allocator's share): counted so that empty events and names cannot escape MAX_STORED.
const ENTRY_COST: usize = 128;
const STORED_EVENT_COST: usize = 2 * std::mem::size_of::<Event>() + 16;
/// Log group and stream names: "Log group names can be between 1 and 512 characters long",
/// of `a-z, A-Z, 0-9, '_', '-', '/', '.'` and `#`; "Log stream names can be between 1 and
/// 512 characters long. The ':' (colon) and '*' (asterisk) characters are not allowed."
/// (CloudWatch Logs API reference, CreateLogGroup and CreateLogStream:
/// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html,
/// .../API_CreateLogStream.html). Broken rules are InvalidParameterException, HTTP 400.
const MAX_NAME: usize = 512;
/// "The maximum number of log events in a batch is 10,000" (PutLogEvents).
const MAX_BATCH_EVENTS: usize = 10_000;
/// Values a request may hold before it is parsed: a full batch of events is 50,000.
const MAX_VALUES: usize = 60_000;
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
    /// Bytes held in all: names, messages and the cost of each entry (`cost`).
    bytes: usize,
}

/// What one stored event counts for.
fn cost(e: &Event) -> usize {
    e.message.len() + STORED_EVENT_COST
}

impl Store {
    /// Drops the oldest events, stream by stream, until `incoming` more bytes fit; false when
    /// they cannot (names alone fill the store).
    fn make_room(&mut self, incoming: usize) -> bool {
        if self.bytes + incoming <= MAX_STORED {
            return true;
        }
        for g in self.groups.values_mut() {
            for st in g.streams.values_mut() {
                while self.bytes + incoming > MAX_STORED {
                    match st.events.pop_front() {
                        Some(e) => self.bytes -= cost(&e),
                        None => break,
                    }
                }
                if st.events.is_empty() {
                    st.events.shrink_to_fit();
                }
            }
        }
        self.bytes + incoming <= MAX_STORED
    }
}

/// Why `name` is not a log group name (`stream` false) or a log stream name, as CloudWatch
/// says it; the name itself is not echoed, as it may be megabytes.
fn bad_name(name: &str, field: &str, stream: bool) -> Option<String> {
    let n = name.chars().count();
    let broken = if n < 1 {
        "Member must have length greater than or equal to 1"
    } else if n > MAX_NAME {
        "Member must have length less than or equal to 512"
    } else if stream && name.contains([':', '*']) {
        "Member must satisfy regular expression pattern: [^:*]*"
    } else if !stream
        && !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c))
    {
        "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
    } else {
        return None;
    };
    Some(format!(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: {broken}"
    ))
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
    if let Some(why) = super::json::too_large(&r.body, MAX_VALUES) {
        // Refused before it is parsed; no batch within the limits above comes near it.
        let mut refused = error(
            "InvalidParameterException",
            &format!("Request too large: {why}"),
        )
        .with(malformed(RECEIVER, format!("{op} refused: {why}")));
        refused.status = 413;
        return refused;
    }
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
            if let Some(why) = bad_name(group_name, "logGroupName", false) {
                return error("InvalidParameterException", &why)
                    .with(malformed(RECEIVER, format!("CreateLogGroup: {why}")));
            }
            if s.groups.contains_key(group_name) {
                return error(
                    "ResourceAlreadyExistsException",
                    "The specified log group already exists",
                );
            }
            let room = group_name.len() + ENTRY_COST;
            if s.groups.len() >= MAX_GROUPS || !s.make_room(room) {
                return error("LimitExceededException", "Resource limit exceeded.");
            }
            s.bytes += room;
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
            if let Some(why) = bad_name(stream_name, "logStreamName", true) {
                return error("InvalidParameterException", &why)
                    .with(malformed(RECEIVER, format!("CreateLogStream: {why}")));
            }
            let room = stream_name.len() + ENTRY_COST;
            let full = s.streams >= MAX_STREAMS || !s.make_room(room);
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
            s.bytes += room;
            ok(json!({}))
        }
        "PutLogEvents" => {
            let Some(events) = req["logEvents"].as_array().filter(|e| !e.is_empty()) else {
                return error(
                    "InvalidParameterException",
                    "logEvents must hold at least one event",
                );
            };
            if events.len() > MAX_BATCH_EVENTS {
                return error(
                    "InvalidParameterException",
                    &format!("The maximum number of log events in a batch is {MAX_BATCH_EVENTS}"),
                )
                .with(malformed(
                    RECEIVER,
                    format!("PutLogEvents of {} events", events.len()),
                ));
            }
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
            let incoming: usize = parsed.iter().map(cost).sum();
            // At most MAX_BATCH_BYTES and MAX_BATCH_EVENTS: always room once events are gone.
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
                    freed += st.events.pop_front().map_or(0, |e| cost(&e));
                }
                added += cost(&e);
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

    #[test]
    fn names_are_bounded_and_every_stored_byte_is_counted() {
        let s = Mutex::new(Store::default());
        for (op, body) in [
            ("CreateLogGroup", json!({"logGroupName": "g".repeat(513)})),
            ("CreateLogGroup", json!({"logGroupName": ""})),
            ("CreateLogGroup", json!({"logGroupName": "a b"})),
            (
                "CreateLogStream",
                json!({"logGroupName": "g", "logStreamName": "s".repeat(513)}),
            ),
            (
                "CreateLogStream",
                json!({"logGroupName": "g", "logStreamName": "a:b"}),
            ),
        ] {
            let (status, got) = call(&s, op, body);
            assert_eq!(
                (status, got["__type"].as_str()),
                (400, Some("InvalidParameterException")),
                "{op}: {got}"
            );
        }
        let name = "g".repeat(512);
        assert_eq!(
            call(&s, "CreateLogGroup", json!({"logGroupName": name})).0,
            200
        );
        // Empty events, 10,000 a batch, into streams of long names: what is held is counted,
        // and stays within the one cap.
        let events: Vec<Value> = (0..MAX_BATCH_EVENTS)
            .map(|_| json!({"timestamp": 1, "message": ""}))
            .collect();
        for i in 0..60 {
            let stream = format!("{i}{}", "s".repeat(500));
            call(
                &s,
                "CreateLogStream",
                json!({"logGroupName": name, "logStreamName": stream}),
            );
            let (status, _) = call(
                &s,
                "PutLogEvents",
                json!({"logGroupName": name, "logStreamName": stream, "logEvents": events}),
            );
            assert_eq!(status, 200);
        }
        let st = s.lock().unwrap();
        let held: usize = st
            .groups
            .iter()
            .map(|(n, g)| {
                n.len()
                    + ENTRY_COST
                    + g.streams
                        .iter()
                        .map(|(n, st)| {
                            n.len() + ENTRY_COST + st.events.iter().map(cost).sum::<usize>()
                        })
                        .sum::<usize>()
            })
            .sum();
        assert_eq!(st.bytes, held);
        assert!(held <= MAX_STORED, "{held}");
        drop(st);
        let (status, got) = call(
            &s,
            "PutLogEvents",
            json!({"logGroupName": name, "logStreamName": "x", "logEvents": vec![json!({"timestamp": 1, "message": "m"}); MAX_BATCH_EVENTS + 1]}),
        );
        assert_eq!(
            (status, got["__type"].as_str()),
            (400, Some("InvalidParameterException"))
        );
    }
}
