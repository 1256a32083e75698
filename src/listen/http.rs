//! A small HTTP/1 server shared by the receivers: handlers as plain functions from a request
//! to a reply, run on the blocking pool a few at a time, so that decoding a large request never
//! holds up the async workers. What one server holds is bounded: bodies by size and, all
//! together, by MAX_IN_FLIGHT bytes, reserved as they arrive (never as a Content-Length or a
//! chunk size promises); slow clients by a header and a body timeout. A gzip body is expanded
//! here, for every receiver, and any other Content-Encoding is refused with 415.

use std::convert::Infallible;
use std::io::Read;
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
use tokio::sync::{Semaphore, SemaphorePermit};

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
/// Room for the first bytes of a body, taken from a pool of FIRST_POOL bytes when they arrive.
/// A body that outgrows it takes room from MAX_IN_FLIGHT in steps, each at most the size of
/// what has arrived, and gives the first room back; a step that finds no room is a 503 at
/// once. No request ever waits for room while holding room in that pool, so requests cannot
/// starve each other into a deadlock; and a request that promised megabytes holds nothing
/// until its first bytes come, at most FIRST_ROOM until 64 KiB of them have, and then about
/// twice what it sent.
const FIRST_ROOM: usize = 64 * 1024;
const FIRST_POOL: usize = 4 * 1024 * 1024;
/// A body that sends nothing for this long is let go (408), and what it held with it.
const STALL: Duration = Duration::from_secs(5);
/// The content codings every receiver takes.
pub const ENCODINGS: &str = "identity or gzip";

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
    if matches!(r.status, 408 | 413 | 415 | 503) {
        // The rest of the body may be unread: the connection cannot carry another request.
        b = b.header("connection", "close");
    }
    b.body(Full::new(Bytes::from(r.body)))
        .expect("status and header are valid")
}

/// What the server's connections share: the byte budget and the decoder slots.
struct Limits {
    first: Semaphore,
    bytes: Semaphore,
    decoders: Semaphore,
}

/// One budget for every receiver of the process: what they hold together is bounded.
fn limits() -> Arc<Limits> {
    static LIMITS: std::sync::OnceLock<Arc<Limits>> = std::sync::OnceLock::new();
    LIMITS
        .get_or_init(|| {
            Arc::new(Limits {
                first: Semaphore::new(FIRST_POOL),
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
    let encoding = parts
        .headers
        .get("content-encoding")
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !matches!(encoding.as_str(), "" | "identity" | "gzip" | "x-gzip") {
        let reason = format!("unsupported Content-Encoding `{encoding}`: send {ENCODINGS}");
        sink.send(super::arrival::malformed(&path, reason.clone()));
        return response(Reply::text(415, &reason));
    }
    let (body, _room) =
        match tokio::time::timeout(BODY_TIMEOUT, read_body(body, declared, limits)).await {
            Ok(Ok(b)) => b,
            Ok(Err(Unread::Busy)) => return busy(sink, &path),
            Ok(Err(Unread::Stalled)) => {
                let reason = format!("the body stalled for {} s", STALL.as_secs());
                sink.send(super::arrival::malformed(&path, reason.clone()));
                return response(Reply::text(408, &reason));
            }
            Ok(Err(e)) => {
                let too_big = matches!(e, Unread::TooBig);
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
    let done = tokio::task::spawn_blocking(move || match expand(req) {
        Ok(req) => handler(&req),
        Err(refused) => refused,
    })
    .await;
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

/// Why a body was not read.
enum Unread {
    TooBig,
    Broken,
    /// No room for the bytes that arrived.
    Busy,
    /// Nothing arrived for STALL.
    Stalled,
}

/// Room a body holds: its first room, or its whole reservation.
struct Room<'a> {
    _first: Option<SemaphorePermit<'a>>,
    _grown: Vec<SemaphorePermit<'a>>,
}

async fn reserve<'a>(pool: &'a Semaphore, n: usize) -> Result<SemaphorePermit<'a>, Unread> {
    let n = u32::try_from(n.max(1)).expect("at most MAX_BODY");
    match tokio::time::timeout(QUEUE_WAIT, pool.acquire_many(n)).await {
        Ok(Ok(p)) => Ok(p),
        _ => Err(Unread::Busy),
    }
}

/// The body, read into one buffer that grows as bytes arrive (see FIRST_ROOM for what is
/// reserved when). The buffer ends at the declared length exactly when the client declared
/// it honestly.
async fn read_body(
    mut body: Incoming,
    declared: Option<usize>,
    limits: &Limits,
) -> Result<(Bytes, Room<'_>), Unread> {
    let mut buf: Vec<u8> = Vec::new();
    let mut first = None;
    // Past FIRST_ROOM, room is taken from the shared budget in steps, each at most as large as
    // what has arrived (doubling): a body that stops coming holds about what it sent, never
    // what it promised. A step that finds no room is answered 503 at once, so no request
    // waits for room while holding some.
    let mut grown: Vec<SemaphorePermit<'_>> = Vec::new();
    let mut held = 0usize;
    loop {
        let frame = match tokio::time::timeout(STALL, body.frame()).await {
            Err(_) => return Err(Unread::Stalled),
            Ok(None) => break,
            Ok(Some(f)) => f.map_err(|_| Unread::Broken)?,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let need = buf.len() + data.len();
        if need > MAX_BODY {
            return Err(Unread::TooBig);
        }
        let total = declared.filter(|d| *d >= need).unwrap_or(MAX_BODY);
        if held == 0 && first.is_none() {
            first = Some(reserve(&limits.first, total.min(FIRST_ROOM)).await?);
        }
        if need > FIRST_ROOM && need > held {
            let want = need.max(held * 2).max(2 * FIRST_ROOM).min(total.max(need));
            let more = u32::try_from(want - held).expect("at most MAX_BODY");
            grown.push(
                limits
                    .bytes
                    .try_acquire_many(more)
                    .map_err(|_| Unread::Busy)?,
            );
            held = want;
            first = None;
        }
        if need > buf.capacity() {
            let limit = if held > 0 { held } else { FIRST_ROOM };
            let cap = need
                .max(buf.capacity() * 2)
                .max(FIRST_ROOM.min(total))
                .min(limit);
            buf.reserve_exact(cap - buf.len());
        }
        buf.extend_from_slice(&data);
    }
    Ok((
        Bytes::from(buf),
        Room {
            _first: first,
            _grown: grown,
        },
    ))
}

/// The request with its body expanded when it came gzipped (at most MAX_BODY bytes), or the
/// answer refusing it.
pub fn expand(mut req: Req) -> Result<Req, Reply> {
    let gzipped = matches!(
        req.header("content-encoding")
            .trim()
            .to_ascii_lowercase()
            .as_str(),
        "gzip" | "x-gzip"
    );
    if !gzipped {
        return Ok(req);
    }
    // A fresh buffer each time, not one kept: past glibc's mmap threshold (fixed at start by
    // `listen::start`) it is mapped on its own and goes back to the system when dropped.
    let mut out = Vec::new();
    let read = flate2::read::GzDecoder::new(&req.body[..])
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut out);
    let refuse = |status: u16, why: String| {
        Reply::text(status, &why).with(super::arrival::malformed(&req.path, why.clone()))
    };
    match read {
        Err(e) => return Err(refuse(400, format!("bad gzip body: {e}"))),
        Ok(_) if out.len() > MAX_BODY => {
            return Err(refuse(
                413,
                format!("gzip body expands past {MAX_BODY} bytes"),
            ))
        }
        Ok(_) => {}
    }
    req.headers.remove("content-encoding");
    req.body = Bytes::from(out);
    Ok(req)
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
