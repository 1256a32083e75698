//! OTLP/HTTP traces: `POST /v1/traces` in protobuf or JSON, gzip or not, answered as an
//! OpenTelemetry collector answers.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use prost::Message;

use super::arrival::{malformed, now, Arrival, SpanInfo};
use super::http::{Reply, Req};

const RECEIVER: &str = "otlp";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn value(v: &AnyValue) -> serde_json::Value {
    match &v.value {
        Some(Any::StringValue(s)) => s.clone().into(),
        Some(Any::BoolValue(b)) => (*b).into(),
        Some(Any::IntValue(i)) => (*i).into(),
        Some(Any::DoubleValue(d)) => (*d).into(),
        Some(Any::ArrayValue(a)) => a.values.iter().map(value).collect::<Vec<_>>().into(),
        Some(Any::KvlistValue(kv)) => attributes(&kv.values)
            .into_iter()
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Some(Any::BytesValue(b)) => hex(b).into(),
        Some(Any::StringValueStrindex(i)) => format!("(string #{i})").into(),
        None => serde_json::Value::Null,
    }
}

fn attributes(kv: &[KeyValue]) -> BTreeMap<String, serde_json::Value> {
    kv.iter()
        .map(|k| {
            (
                k.key.clone(),
                k.value.as_ref().map_or(serde_json::Value::Null, value),
            )
        })
        .collect()
}

const KINDS: [&str; 6] = [
    "unspecified",
    "internal",
    "server",
    "client",
    "producer",
    "consumer",
];

/// The arrivals of one export request: one per resource (service).
pub fn arrivals(req: &ExportTraceServiceRequest) -> Vec<Arrival> {
    let mut out = Vec::new();
    for rs in &req.resource_spans {
        let res = rs
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let service = res
            .get("service.name")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown_service")
            .to_string();
        let mut spans = Vec::new();
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                let status = s.status.as_ref();
                spans.push(SpanInfo {
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent_span_id: (!s.parent_span_id.is_empty()).then(|| hex(&s.parent_span_id)),
                    name: s.name.clone(),
                    kind: KINDS
                        .get(s.kind as usize)
                        .unwrap_or(&"unspecified")
                        .to_string(),
                    start_unix_nano: s.start_time_unix_nano,
                    duration_ms: s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano) as f64
                        / 1e6,
                    attributes: attributes(&s.attributes),
                    error: status.filter(|st| st.code == 2).map(|st| {
                        if st.message.is_empty() {
                            "error".into()
                        } else {
                            st.message.clone()
                        }
                    }),
                });
            }
        }
        if !spans.is_empty() {
            out.push(Arrival::Trace {
                time: now(),
                service,
                spans,
            });
        }
    }
    out
}

/// Spans one request may carry, and messages of any kind (spans, attributes, events, links,
/// values) before it is decoded: a few kilobytes of gzip can expand to millions of them.
pub const MAX_SPANS: usize = 20_000;
pub const MAX_ITEMS: usize = 200_000;
/// Messages nested deeper than this are refused (values in values in values...): an export
/// from an SDK nests a dozen levels at most, and prost itself stops at 100.
pub const MAX_DEPTH: usize = 64;
/// Spans taken per second, all requests together; past that, 429 (exporters retry later).
pub const SPANS_PER_SECOND: f64 = 500_000.0;

/// Which fields of which OTLP message are messages themselves (field number → message).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Msg {
    Request,
    ResourceSpans,
    Resource,
    ScopeSpans,
    Scope,
    Span,
    Event,
    Link,
    KeyValue,
    AnyValue,
    ArrayValue,
    KvList,
    Opaque,
}

impl Msg {
    fn field(self, number: u64) -> Msg {
        use Msg::*;
        match (self, number) {
            (Request, 1) => ResourceSpans,
            (ResourceSpans, 1) => Resource,
            (ResourceSpans, 2) => ScopeSpans,
            (Resource, 1) | (Scope, 3) | (Span, 9) | (Event, 3) | (Link, 4) | (KvList, 1) => {
                KeyValue
            }
            (ScopeSpans, 1) => Scope,
            (ScopeSpans, 2) => Span,
            (Span, 11) => Event,
            (Span, 13) => Link,
            (KeyValue, 2) | (ArrayValue, 1) => AnyValue,
            (AnyValue, 5) => ArrayValue,
            (AnyValue, 6) => KvList,
            _ => Opaque,
        }
    }
}

#[derive(Default)]
struct Counted {
    spans: usize,
    items: usize,
    /// The deepest message seen.
    depth: usize,
}

impl Counted {
    fn over(&self) -> bool {
        self.items > MAX_ITEMS || self.spans > MAX_SPANS || self.depth > MAX_DEPTH
    }
}

fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Counts the messages of an encoded export request, at every depth, by walking its wire
/// format, allocating nothing; stops as soon as a limit (items, spans or depth) is passed, so
/// the recursion is never deeper than MAX_DEPTH + 1. Malformed input is left to the decoder.
fn count(b: &[u8], msg: Msg, depth: usize, c: &mut Counted) {
    c.depth = c.depth.max(depth);
    let mut at = 0;
    while at < b.len() && !c.over() {
        let Some(key) = varint(b, &mut at) else {
            return;
        };
        let len = match key & 7 {
            0 => {
                if varint(b, &mut at).is_none() {
                    return;
                }
                continue;
            }
            1 => 8,
            5 => 4,
            2 => match varint(b, &mut at) {
                Some(n) => n as usize,
                None => return,
            },
            _ => return,
        };
        let Some(end) = at.checked_add(len).filter(|e| *e <= b.len()) else {
            return;
        };
        if key & 7 == 2 {
            let inner = msg.field(key >> 3);
            if inner != Msg::Opaque {
                c.items += 1;
                if inner == Msg::Span {
                    c.spans += 1;
                }
                count(&b[at..end], inner, depth + 1, c);
            }
        }
        at = end;
    }
}

/// Takes `spans` from the per-second budget; false when it is spent.
fn within_rate(spans: usize) -> bool {
    use std::sync::Mutex;
    use std::time::Instant;
    static BUDGET: Mutex<Option<(Instant, f64)>> = Mutex::new(None);
    let mut b = BUDGET.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    let (last, left) = b.unwrap_or((now, SPANS_PER_SECOND));
    let left =
        (left + now.duration_since(last).as_secs_f64() * SPANS_PER_SECOND).min(SPANS_PER_SECOND);
    let ok = left >= spans as f64;
    *b = Some((now, if ok { left - spans as f64 } else { left }));
    ok
}

fn too_much(why: String) -> Reply {
    Reply::text(413, &why).with(malformed(RECEIVER, why))
}

pub fn handle(r: &Req) -> Reply {
    if r.path != "/v1/traces" {
        return Reply::text(404, "this receiver takes traces at POST /v1/traces");
    }
    if r.method != "POST" {
        return Reply::text(405, "use POST");
    }
    decoded(r, &r.body)
}

/// The answer to an export request whose body is `body` (expanded by the server when it came
/// gzipped).
fn decoded(r: &Req, body: &[u8]) -> Reply {
    let ctype = r
        .header("content-type")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ctype.as_str() {
        "application/x-protobuf" | "application/protobuf" => {
            let mut c = Counted::default();
            count(body, Msg::Request, 0, &mut c);
            if c.over() {
                return too_much(format!(
                    "a request of more than {MAX_SPANS} spans or {MAX_ITEMS} values, or nested deeper than {MAX_DEPTH}: send smaller batches"
                ));
            }
            if !within_rate(c.spans) {
                return Reply::text(429, "over the span rate of this receiver; retry")
                    .with(malformed(RECEIVER, "over the span rate: answered 429"));
            }
            match ExportTraceServiceRequest::decode(body) {
                Ok(req) => {
                    let mut reply = Reply {
                        status: 200,
                        content_type: "application/x-protobuf",
                        body: ExportTraceServiceResponse::default().encode_to_vec(),
                        arrivals: Vec::new(),
                    };
                    reply.arrivals = arrivals(&req);
                    reply
                }
                Err(e) => {
                    let why = format!("not an OTLP protobuf trace export: {e}");
                    Reply::text(400, &why).with(malformed(RECEIVER, why))
                }
            }
        }
        "application/json"
            if {
                let s = super::json::shape(body, usize::MAX);
                s.containers > MAX_ITEMS || s.depth > super::json::MAX_DEPTH
            } =>
        {
            too_much(format!(
                "a JSON request of more than {MAX_ITEMS} objects and arrays, or nested deeper than {}: send smaller batches",
                super::json::MAX_DEPTH
            ))
        }
        "application/json" => match serde_json::from_slice::<ExportTraceServiceRequest>(body) {
            Ok(req) => {
                let mut reply = Reply::json(200, serde_json::json!({}));
                reply.arrivals = arrivals(&req);
                reply
            }
            Err(e) => {
                let why = format!("not an OTLP JSON trace export: {e}");
                Reply::text(400, &why).with(malformed(RECEIVER, why))
            }
        },
        other => {
            let why = format!("unsupported content type `{other}`: send application/x-protobuf or application/json");
            Reply::text(415, &why).with(malformed(RECEIVER, why))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn post(ctype: &str, gzip: bool, body: Vec<u8>) -> Reply {
        let mut headers = hyper::header::HeaderMap::new();
        headers.insert("content-type", ctype.parse().unwrap());
        let body = if gzip {
            headers.insert("content-encoding", "gzip".parse().unwrap());
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&body).unwrap();
            e.finish().unwrap()
        } else {
            body
        };
        let req = Req {
            method: "POST".into(),
            path: "/v1/traces".into(),
            headers,
            body: body.into(),
        };
        match super::super::http::expand(req) {
            Ok(req) => handle(&req),
            Err(refused) => refused,
        }
    }

    fn sample() -> ExportTraceServiceRequest {
        crate::integrations::honeycomb::smoke_request("svc", [0xab; 16], [0xcd; 8], 1_000)
    }

    #[test]
    fn protobuf_json_and_gzip_give_the_same_arrival() {
        let proto = post("application/x-protobuf", false, sample().encode_to_vec());
        let gz = post("application/x-protobuf", true, sample().encode_to_vec());
        let json = post(
            "application/json",
            false,
            serde_json::to_vec(&sample()).unwrap(),
        );
        for r in [&proto, &gz, &json] {
            assert_eq!(r.status, 200);
            match &r.arrivals[0] {
                Arrival::Trace { service, spans, .. } => {
                    assert_eq!(service, "svc");
                    assert_eq!(spans[0].trace_id, "ab".repeat(16));
                    assert_eq!(spans[0].span_id, "cd".repeat(8));
                    assert_eq!(spans[0].duration_ms, 1.0);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(ExportTraceServiceResponse::decode(proto.body.as_slice()).is_ok());
    }

    #[test]
    fn millions_of_empty_spans_are_refused_before_decoding() {
        // One ResourceSpans { ScopeSpans { Span {} × n } }, each empty span two bytes.
        let spans = MAX_SPANS + 1;
        let scope: Vec<u8> = std::iter::repeat_n([0x12u8, 0x00], spans)
            .flatten()
            .collect();
        let wrap = |field: u8, inner: Vec<u8>| {
            let mut out = vec![field];
            let mut n = inner.len();
            while n >= 0x80 {
                out.push((n as u8) | 0x80);
                n >>= 7;
            }
            out.push(n as u8);
            out.extend(inner);
            out
        };
        let body = wrap(0x0a, wrap(0x12, scope));
        let r = post("application/x-protobuf", true, body);
        assert_eq!(r.status, 413);
        assert!(matches!(r.arrivals[0], Arrival::Malformed { .. }));
        let json = format!(
            "{{\"resourceSpans\":[{}]}}",
            vec!["{}"; MAX_ITEMS + 1].join(",")
        );
        assert_eq!(
            post("application/json", true, json.into_bytes()).status,
            413
        );
        // A normal batch still goes through, and is counted right.
        let mut c = Counted::default();
        count(&sample().encode_to_vec(), Msg::Request, 0, &mut c);
        assert_eq!(c.spans, 1);
    }

    #[test]
    fn values_are_counted_at_every_depth_and_depth_is_bounded() {
        fn wrap(field: u8, inner: Vec<u8>) -> Vec<u8> {
            let mut out = vec![(field << 3) | 2];
            let mut n = inner.len();
            while n >= 0x80 {
                out.push((n as u8) | 0x80);
                n >>= 7;
            }
            out.push(n as u8);
            out.extend(inner);
            out
        }
        // MAX_ITEMS + 1 empty values in an array nested `levels` arrays deep, in one attribute.
        let nested = |levels: usize, values: usize| {
            let mut v: Vec<u8> = std::iter::repeat_n([0x0au8, 0x00], values)
                .flatten()
                .collect();
            for _ in 0..levels {
                v = wrap(1, wrap(5, v));
            }
            wrap(1, wrap(1, wrap(1, wrap(2, wrap(5, v)))))
        };
        // Deep, but within the bound: every value is counted.
        let r = post("application/x-protobuf", true, nested(20, MAX_ITEMS + 1));
        assert_eq!(r.status, 413);
        let mut c = Counted::default();
        count(&nested(20, 1000), Msg::Request, 0, &mut c);
        assert_eq!(c.items, 4 + 2 * 20 + 1 + 1000);
        // Past the depth bound: refused, however few the values.
        assert_eq!(
            post("application/x-protobuf", false, nested(40, 1)).status,
            413
        );
        assert_eq!(
            post("application/x-protobuf", false, nested(20, 1)).status,
            200
        );
    }

    #[test]
    fn bad_input_is_a_4xx_and_a_malformed_arrival() {
        assert_eq!(post("text/plain", false, b"x".to_vec()).status, 415);
        let r = post("application/x-protobuf", false, vec![0xff, 0xff, 0xff]);
        assert_eq!(r.status, 400);
        assert!(matches!(r.arrivals[0], Arrival::Malformed { .. }));
        assert_eq!(
            post("application/json", true, b"{\"resourceSpans\": 3}".to_vec()).status,
            400
        );
    }
}
