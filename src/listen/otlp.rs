//! OTLP/HTTP traces: `POST /v1/traces` in protobuf or JSON, gzip or not, answered as an
//! OpenTelemetry collector answers.

use std::collections::BTreeMap;
use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use prost::Message;

use super::http::{Reply, Req};
use super::{malformed, now, Arrival, SpanInfo, MAX_BODY};

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

fn gunzip(body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("bad gzip body: {e}"))?;
    if out.len() > MAX_BODY {
        return Err(format!("gzip body expands past {MAX_BODY} bytes"));
    }
    Ok(out)
}

pub fn handle(r: &Req) -> Reply {
    if r.path != "/v1/traces" {
        return Reply::text(404, "this receiver takes traces at POST /v1/traces");
    }
    if r.method != "POST" {
        return Reply::text(405, "use POST");
    }
    let body = if r.header("content-encoding").eq_ignore_ascii_case("gzip") {
        match gunzip(&r.body) {
            Ok(b) => b,
            Err(e) => return Reply::text(400, &e).with(malformed(RECEIVER, e)),
        }
    } else {
        r.body.to_vec()
    };
    let ctype = r
        .header("content-type")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ctype.as_str() {
        "application/x-protobuf" | "application/protobuf" => {
            match ExportTraceServiceRequest::decode(body.as_slice()) {
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
        "application/json" => match serde_json::from_slice::<ExportTraceServiceRequest>(&body) {
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
        handle(&Req {
            method: "POST".into(),
            path: "/v1/traces".into(),
            headers,
            body: body.into(),
        })
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
