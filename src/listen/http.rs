//! A small HTTP/1 server shared by the receivers: handlers as plain functions from a request
//! to a reply, run on the blocking pool a few at a time, so that decoding a large request never
//! holds up the async workers. What one server holds is bounded: bodies by size and, all
//! together, by MAX_IN_FLIGHT bytes; slow clients by a header and a body timeout.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::arrival::{Arrival, Sink, MAX_BODY};

/// Request bytes held at once by all receivers, bodies being read and decoded together.
pub const MAX_IN_FLIGHT: usize = 8 * 1024 * 1024;
/// Handlers decoding at once, all receivers together (each may expand a body to MAX_BODY and
/// decode it).
const DECODERS: usize = 1;
/// What hyper buffers of one connection before the handler reads the body.
const CONNECTION_BUFFER: usize = 16 * 1024;
/// A client has this long to send its request headers, and this long for its body.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request waits for room before it is answered 503.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// A request as the handlers see it.
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A handler's answer, and what it received.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub arrivals: Vec<Arrival>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: body.to_string().into_bytes(),
            arrivals: Vec::new(),
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
            arrivals: Vec::new(),
        }
    }

    pub fn with(mut self, a: Arrival) -> Reply {
        self.arrivals.push(a);
        self
    }
}

pub type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

fn response(r: Reply) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(r.status)
        .header("content-type", r.content_type);
    if r.status == 413 {
        // The rest of the body was not read: the connection cannot carry another request.
        b = b.header("connection", "close");
    }
    b.body(Full::new(Bytes::from(r.body)))
        .expect("status and header are valid")
}

/// What the server's connections share: the byte budget and the decoder slots.
struct Limits {
    bytes: Semaphore,
    decoders: Semaphore,
}

/// One budget for every receiver of the process: what they hold together is bounded.
fn limits() -> Arc<Limits> {
    static LIMITS: std::sync::OnceLock<Arc<Limits>> = std::sync::OnceLock::new();
    LIMITS
        .get_or_init(|| {
            Arc::new(Limits {
                bytes: Semaphore::new(MAX_IN_FLIGHT),
                decoders: Semaphore::new(DECODERS),
            })
        })
        .clone()
}

pub async fn serve(listener: TcpListener, sink: Sink, handler: Handler) {
    let limits = limits();
    let mut pause = Duration::from_millis(10);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                pause = Duration::from_millis(10);
                stream
            }
            Err(_) => {
                // Out of file descriptors, or the like: wait instead of spinning.
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let handler = handler.clone();
        let sink = sink.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let handler = handler.clone();
                let sink = sink.clone();
                let limits = limits.clone();
                async move { Ok::<_, Infallible>(answer(req, &handler, &sink, &limits).await) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(CONNECTION_BUFFER)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn answer(
    req: Request<Incoming>,
    handler: &Handler,
    sink: &Sink,
    limits: &Limits,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > MAX_BODY) {
        let reason = format!("request body over {MAX_BODY} bytes");
        sink.send(super::arrival::malformed(&path, reason.clone()));
        // Read and dropped (never held), so that the client is there to read the answer;
        // past a few times the limit the connection is simply closed after it.
        if n <= 4 * MAX_BODY {
            let mut body = body;
            let _ = tokio::time::timeout(BODY_TIMEOUT, async {
                while let Some(Ok(_)) = body.frame().await {}
            })
            .await;
        }
        return response(Reply::text(413, &reason));
    }
    // Room for the body before it is read; an unknown length may grow to MAX_BODY.
    let want = declared.unwrap_or(MAX_BODY).max(1) as u32;
    let Ok(Ok(_room)) = tokio::time::timeout(QUEUE_WAIT, limits.bytes.acquire_many(want)).await
    else {
        return busy(sink, &path);
    };
    let body = match tokio::time::timeout(BODY_TIMEOUT, read_body(body, declared)).await {
        Ok(Ok(b)) => b,
        Ok(Err(too_big)) => {
            let reason = if too_big {
                format!("request body over {MAX_BODY} bytes")
            } else {
                "could not read the request body".to_string()
            };
            sink.send(super::arrival::malformed(&path, reason.clone()));
            return response(Reply::text(if too_big { 413 } else { 400 }, &reason));
        }
        Err(_) => {
            let reason = format!("the body took longer than {} s", BODY_TIMEOUT.as_secs());
            sink.send(super::arrival::malformed(&path, reason.clone()));
            return response(Reply::text(408, &reason));
        }
    };
    let Ok(Ok(slot)) = tokio::time::timeout(QUEUE_WAIT, limits.decoders.acquire()).await else {
        return busy(sink, &path);
    };
    let req = Req {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts.headers,
        body,
    };
    let handler = handler.clone();
    let done = tokio::task::spawn_blocking(move || handler(&req)).await;
    drop(slot);
    let mut reply = match done {
        Ok(r) => r,
        Err(_) => {
            let reason = "the receiver failed on this request".to_string();
            sink.send(super::arrival::malformed(&path, reason.clone()));
            return response(Reply::text(500, &reason));
        }
    };
    for a in reply.arrivals.drain(..) {
        sink.send(a);
    }
    response(reply)
}

/// The body, read into one buffer of the declared size (no second copy); Err(true) past
/// MAX_BODY, Err(false) when the client broke off.
async fn read_body(mut body: Incoming, declared: Option<usize>) -> Result<Bytes, bool> {
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(MAX_BODY));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| false)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > MAX_BODY {
                return Err(true);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// Too much at once: a 503 the exporters retry, and a note of it.
fn busy(sink: &Sink, path: &str) -> Response<Full<Bytes>> {
    sink.send(super::arrival::malformed(
        path,
        "too many requests at once: answered 503",
    ));
    let mut r = response(Reply::text(503, "busy: too many requests at once; retry"));
    r.headers_mut()
        .insert("retry-after", hyper::header::HeaderValue::from_static("1"));
    r
}
