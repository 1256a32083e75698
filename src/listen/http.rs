//! A small HTTP/1 server shared by the receivers: bounded bodies, handlers as plain functions
//! from a request to a reply.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{Arrival, Sink, MAX_BODY};

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

pub async fn serve(listener: TcpListener, sink: Sink, handler: Handler) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        let sink = sink.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let handler = handler.clone();
                let sink = sink.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = match Limited::new(body, MAX_BODY).collect().await {
                        Ok(c) => c.to_bytes(),
                        Err(e) => {
                            let too_big = e
                                .downcast_ref::<http_body_util::LengthLimitError>()
                                .is_some();
                            let reason = if too_big {
                                format!("request body over {} bytes", MAX_BODY)
                            } else {
                                format!("could not read the request body: {e}")
                            };
                            sink.send(super::malformed(parts.uri.path(), reason.clone()));
                            return Ok::<_, Infallible>(response(Reply::text(
                                if too_big { 413 } else { 400 },
                                &reason,
                            )));
                        }
                    };
                    let req = Req {
                        method: parts.method.to_string(),
                        path: parts.uri.path().to_string(),
                        headers: parts.headers,
                        body,
                    };
                    let mut reply = handler(&req);
                    for a in reply.arrivals.drain(..) {
                        sink.send(a);
                    }
                    Ok(response(reply))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
