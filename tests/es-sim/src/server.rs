//! The HTTP layer: accept loop, per-request pipeline (size limit, faults, auth, content
//! negotiation, routing), response rendering (`X-elastic-product`, `pretty`, `filter_path`) and
//! the background refresh task.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api;
use crate::error::EsError;
use crate::faults::{Faults, RequestFault, injected_error};
use crate::http::{Body, Params, Req, Resp};
use crate::media::{self, Negotiated};
use crate::router::{self, Routed};
use crate::state::AppState;
use crate::{EsSim, SimConfig};

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

pub async fn start(config: SimConfig) -> std::io::Result<EsSim> {
    let listener = TcpListener::bind((config.host, config.port)).await?;
    let addr = listener.local_addr()?;
    let faults = Faults::default();
    let refresh_interval = config.refresh_interval;
    let state = Arc::new(AppState::new(config, faults.clone()));
    let (tx, rx) = watch::channel(false);

    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(accept_loop(
        listener,
        state.clone(),
        rx.clone(),
    )));
    // Indices with their own `index.refresh_interval` refresh periodically even when the server
    // default is off, so the loop always runs; it ticks often enough for the shortest default.
    let tick = refresh_interval
        .filter(|d| !d.is_zero())
        .map_or(MAX_REFRESH_TICK, |d| {
            d.clamp(MIN_REFRESH_TICK, MAX_REFRESH_TICK)
        });
    tasks.push(tokio::spawn(refresh_loop(state.clone(), tick, rx.clone())));
    tasks.push(tokio::spawn(expiry_loop(state, rx)));
    tracing::info!(%addr, "es-sim listening");
    Ok(EsSim::new(addr, faults, tx, tasks))
}

async fn stopped(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<AppState>, mut rx: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut rx) => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                conns.spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let conn = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection closed");
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

/// Bounds of the period at which the refresh loop checks which indices are due.
const MIN_REFRESH_TICK: Duration = Duration::from_millis(10);
const MAX_REFRESH_TICK: Duration = Duration::from_millis(100);

async fn refresh_loop(state: Arc<AppState>, period: Duration, mut rx: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped(&mut rx) => break,
            _ = tick.tick() => {
                let s = state.clone();
                let _ = tokio::task::spawn_blocking(move || s.refresh_due(period)).await;
            }
        }
    }
}

/// Drops expired scroll and PIT contexts.
async fn expiry_loop(state: Arc<AppState>, mut rx: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = stopped(&mut rx) => break,
            _ = tick.tick() => crate::state::lock(&state.contexts).expire(),
        }
    }
}

fn header_str<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let path = req.uri().path().to_string();
    let is_admin = path == "/_sim" || path.starts_with("/_sim/");
    let max = state.config.max_content_length;

    let declared = header_str(&req, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Ok(too_large());
    }

    if !is_admin {
        match state.faults.take_request_fault() {
            RequestFault::Drop => return Err(DropConnection),
            RequestFault::Fail(status) => {
                let latency = state.faults.latency();
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
                let e = injected_error(status);
                return Ok(render(
                    &state,
                    Resp::from_error(&e),
                    &Negotiated::default(),
                    &Params::default(),
                    req.method() == Method::HEAD,
                ));
            }
            RequestFault::None => {}
        }
        let latency = state.faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, max).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Ok(too_large());
            }
            return Err(DropConnection);
        }
    };
    let params = Params::parse(parts.uri.query());
    let query = parts.uri.query().map(String::from);
    let head = parts.method == Method::HEAD;
    let mut req = Req {
        method: parts.method,
        path,
        query,
        params,
        headers: parts.headers,
        body,
        principal: Default::default(),
    };

    let negotiated = match media::negotiate(
        req.header("accept"),
        req.header("content-type"),
        req.has_body(),
        state.major,
    ) {
        Ok(n) => n,
        Err(e) => {
            return Ok(render(
                &state,
                Resp::from_error(&e),
                &Negotiated::default(),
                &req.params,
                head,
            ));
        }
    };

    if !is_admin {
        match crate::security::authenticate(&state.auth(), &req) {
            Ok(p) => req.principal = p,
            Err(e) => {
                return Ok(render(
                    &state,
                    Resp::from_error(&e),
                    &negotiated,
                    &req.params,
                    head,
                ));
            }
        }
    }

    let segs = router::segments(&req.path);
    let resp = match router::route(&req.method, &segs) {
        Routed::Found(route, captured) => {
            // A bug in a handler answers 500 instead of killing the connection.
            let handled = AssertUnwindSafe(api::dispatch(&state, route, &captured, &req))
                .catch_unwind()
                .await;
            match handled {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => Resp::from_error(&e),
                Err(_) => {
                    tracing::error!(method = %req.method, path = %req.path, "handler panicked");
                    Resp::from_error(&EsError::new(500, "exception", "es-sim internal error"))
                }
            }
        }
        Routed::MethodNotAllowed(allowed) => {
            let e = EsError::simple(
                405,
                format!(
                    "Incorrect HTTP method for uri [{}] and method [{}], allowed: [{}]",
                    uri_for_error(&req),
                    req.method,
                    allowed.join(", ")
                ),
            )
            .with_header("allow", allowed.join(","));
            Resp::from_error(&e)
        }
        Routed::NotFound => {
            let e = EsError::simple(
                400,
                format!(
                    "no handler found for uri [{}] and method [{}]",
                    uri_for_error(&req),
                    req.method
                ),
            );
            Resp::from_error(&e)
        }
    };
    tracing::debug!(method = %req.method, path = %req.path, status = resp.status, "request");
    Ok(render(&state, resp, &negotiated, &req.params, head))
}

fn uri_for_error(req: &Req) -> String {
    match &req.query {
        Some(q) => format!("{}?{q}", req.path),
        None => req.path.clone(),
    }
}

fn too_large() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    r.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    r.headers_mut()
        .insert("connection", HeaderValue::from_static("close"));
    r
}

fn render(
    state: &AppState,
    resp: Resp,
    neg: &Negotiated,
    params: &Params,
    head: bool,
) -> Response<Full<Bytes>> {
    let _ = state;
    let pretty = params.has("pretty") && params.get("pretty") != Some("false");
    // Like Elasticsearch, errors are never filtered.
    let filter = params
        .get("filter_path")
        .filter(|s| !s.is_empty() && resp.status < 300);
    let (bytes, content_type): (Vec<u8>, Option<String>) = match resp.body {
        Body::Json(mut v) => {
            if let Some(f) = filter {
                v = crate::api::filter_path::apply(v, f);
            }
            let b = if pretty {
                serde_json::to_vec_pretty(&v)
            } else {
                serde_json::to_vec(&v)
            };
            (b.unwrap_or_default(), Some(neg.json_content_type()))
        }
        Body::JsonBytes(b) => {
            if filter.is_some() || pretty {
                let mut v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
                if let Some(f) = filter {
                    v = crate::api::filter_path::apply(v, f);
                }
                let b = if pretty {
                    serde_json::to_vec_pretty(&v)
                } else {
                    serde_json::to_vec(&v)
                };
                (b.unwrap_or_default(), Some(neg.json_content_type()))
            } else {
                (b, Some(neg.json_content_type()))
            }
        }
        Body::Text(t) => (
            t.into_bytes(),
            Some("text/plain; charset=UTF-8".to_string()),
        ),
        Body::Empty => (Vec::new(), None),
    };
    let mut r = Response::new(Full::new(if head && bytes.is_empty() {
        Bytes::new()
    } else {
        Bytes::from(bytes)
    }));
    *r.status_mut() =
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    if let Some(ct) = content_type
        && let Ok(v) = HeaderValue::from_str(&ct)
    {
        h.insert("content-type", v);
    }
    for (k, v) in resp.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            h.append(name, value);
        }
    }
    r
}
