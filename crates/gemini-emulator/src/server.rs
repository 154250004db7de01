//! The HTTP side: accept loop, routing, response writing and fault execution.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::catalogue::{self, ModelInfo};
use crate::continuation::{self, Cuts, Position};
use crate::fault::{DropPoint, Fault, FaultSpec, Framing};
use crate::generate::{self, Directives};
use crate::json::{self, api_error, canned_error};
use crate::limits::{MAX_BATCH_REQUESTS, MAX_STOP_SEQUENCES};
use crate::replay::{self, Replay};
use crate::shape::{ByteFaults, Msg, Producer, Step};
use crate::{EmulatorConfig, Pace, RecordedRequest, Stats};
use gemini_proto::error::{ApiError, ErrorDetail, ErrorInfo};
use gemini_proto::types::{
    BatchEmbedContentsRequest, BatchEmbedContentsResponse, ContentEmbedding, CountTokensRequest,
    CountTokensResponse, EmbedContentRequest, EmbedContentResponse, GenerateContentRequest,
    GenerateContentResponse, Part, PartData,
};

/// Header selecting faults for one request.
pub(crate) const FAULT_HEADER: &str = "x-emulator-fault";
/// Header naming the scenario that `fail-first` counts attempts for.
pub(crate) const SCENARIO_HEADER: &str = "x-emulator-scenario";
/// Header selecting a recorded body to replay.
pub(crate) const REPLAY_HEADER: &str = "x-emulator-replay";

const UNREGISTERED: &str = "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.";
const KEY_INVALID: &str = "API key not valid. Please pass a valid API key.";

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: EmulatorConfig,
    pub fault: RwLock<FaultSpec>,
    pub requests: Mutex<Vec<RecordedRequest>>,
    pub attempts: Mutex<HashMap<u64, u32>>,
    replay: Option<Replay>,
    pub tls: Option<crate::tls::Tls>,
    /// Stored interactions (the Interactions API).
    pub(crate) interactions: crate::interactions::Store,
    n_requests: AtomicU64,
    active_streams: AtomicUsize,
    peak_streams: AtomicUsize,
    pub(crate) events: AtomicU64,
}

impl Shared {
    pub fn new(config: EmulatorConfig) -> io::Result<Shared> {
        let tls = match config.tls {
            true => Some(crate::tls::Tls::generate(config.ip)?),
            false => None,
        };
        let replay = match &config.replay_dir {
            Some(dir) => Some(Replay::load(dir)?),
            None => None,
        };
        Ok(Shared {
            fault: RwLock::new(config.fault.clone()),
            config,
            requests: Mutex::new(Vec::new()),
            attempts: Mutex::new(HashMap::new()),
            replay,
            tls,
            interactions: crate::interactions::Store::default(),
            n_requests: AtomicU64::new(0),
            active_streams: AtomicUsize::new(0),
            peak_streams: AtomicUsize::new(0),
            events: AtomicU64::new(0),
        })
    }

    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.n_requests.load(Ordering::Relaxed),
            active_streams: self.active_streams.load(Ordering::Relaxed),
            peak_streams: self.peak_streams.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
        }
    }
}

/// Binds with a deep accept backlog (bursts of a thousand connections are expected).
pub(crate) fn bind(ip: IpAddr, port: u16) -> io::Result<TcpListener> {
    let addr = SocketAddr::new(ip, port);
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, Arc::clone(&shared), shutdown.clone()));
                }
                // Out of file descriptors or similar: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            _ = shutdown.changed() => break,
        }
    }
}

async fn connection(stream: TcpStream, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let ctrl = Arc::new(ConnCtrl::default());
    let tls = Arc::clone(&shared);
    let io = CtrlIo {
        stream,
        ctrl: Arc::clone(&ctrl),
    };
    let service = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        let ctrl = Arc::clone(&ctrl);
        async move { Ok::<_, Infallible>(handle(req, shared, ctrl).await) }
    });
    let conn = async move {
        match &tls.tls {
            Some(tls) => tls.serve(io, service).await,
            None => {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(io), service)
                    .await;
            }
        }
    };
    tokio::select! {
        _ = conn => {}
        _ = shutdown.changed() => {}
    }
}

/// Per-connection switches the response side flips for byte-level faults.
#[derive(Debug, Default)]
pub(crate) struct ConnCtrl {
    byte_writes: AtomicBool,
    pub(crate) reset: AtomicBool,
}

/// The TCP stream as hyper sees it: honours one-byte writes and resets on close.
struct CtrlIo {
    stream: TcpStream,
    ctrl: Arc<ConnCtrl>,
}

impl Drop for CtrlIo {
    fn drop(&mut self) {
        if self.ctrl.reset.load(Ordering::Relaxed) {
            // SO_LINGER 0: closing sends RST instead of FIN.
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for CtrlIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CtrlIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let buf = if this.ctrl.byte_writes.load(Ordering::Relaxed) {
            &buf[..buf.len().min(1)]
        } else {
            buf
        };
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.ctrl.byte_writes.load(Ordering::Relaxed) {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &b[..1]);
            return Pin::new(&mut this.stream).poll_write(cx, first);
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Response body: whole, or fed by a producer task one write at a time.
pub(crate) enum EmuBody {
    Full(Option<Bytes>),
    Stream {
        rx: mpsc::Receiver<Msg>,
        yielded: bool,
    },
}

impl Body for EmuBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            EmuBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            EmuBody::Stream { rx, yielded } => {
                if *yielded {
                    // Return Pending once after every frame so hyper flushes it on its own: one
                    // write per event instead of coalesced frames.
                    *yielded = false;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                match rx.poll_recv(cx) {
                    Poll::Ready(Some(Msg::Data(d))) => {
                        *yielded = true;
                        Poll::Ready(Some(Ok(Frame::data(d))))
                    }
                    Poll::Ready(Some(Msg::Abort)) => Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "emulator fault",
                    )))),
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, EmuBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            EmuBody::Full(Some(d)) => SizeHint::with_exact(d.len() as u64),
            EmuBody::Full(None) => SizeHint::with_exact(0),
            EmuBody::Stream { .. } => SizeHint::default(),
        }
    }
}

/// The kind of body being produced, for headers and error placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unary,
    Sse,
    JsonArray,
}

impl Mode {
    fn content_type(self) -> &'static str {
        match self {
            Mode::Sse => "text/event-stream",
            Mode::Unary | Mode::JsonArray => "application/json; charset=UTF-8",
        }
    }
}

fn google_headers(
    builder: http::response::Builder,
    mode: Mode,
    ttfb: Duration,
) -> http::response::Builder {
    let mut b = builder.header(header::CONTENT_TYPE, mode.content_type());
    if mode == Mode::Sse {
        b = b.header(header::CONTENT_DISPOSITION, "attachment");
    }
    b.header(header::VARY, "Origin")
        .header(header::VARY, "X-Origin")
        .header(header::VARY, "Referer")
        .header(header::SERVER, "scaffolding on HTTPServer2")
        .header(
            "server-timing",
            format!("gfet4t7; dur={}", ttfb.as_millis().max(1)),
        )
        .header("x-xss-protection", "0")
        .header("x-frame-options", "SAMEORIGIN")
        .header("x-content-type-options", "nosniff")
}

fn error_response(err: &ApiError, mode: Mode) -> Response<EmuBody> {
    // A failed stream request is labelled text/event-stream but carries the plain JSON body.
    let mut resp = google_headers(Response::builder(), mode, Duration::from_millis(20))
        .status(
            StatusCode::from_u16(json::http_status(err))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
        .body(EmuBody::Full(Some(Bytes::from(json::error_body(err)))))
        .expect("static headers are valid");
    if mode == Mode::Sse {
        resp.headers_mut().remove(header::CONTENT_DISPOSITION);
    }
    resp
}

/// The largest request body accepted, as Google's limit: 20 MiB.
pub(crate) const MAX_REQUEST_BYTES: usize = 20 * 1024 * 1024;

fn payload_too_large() -> ApiError {
    bad_request(format!(
        "Request payload size exceeds the limit: {MAX_REQUEST_BYTES} bytes."
    ))
}

fn bad_request(message: String) -> ApiError {
    let detail = json::bad_request_detail(&message);
    api_error(400, message).with_detail(detail)
}

fn not_found_model(id: &str, version: &str, method: &str) -> ApiError {
    api_error(
        404,
        format!(
            "models/{id} is not found for API version {version}, or is not supported for {method}. Call ListModels to see the list of available models and their supported methods."
        ),
    )
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(&v.replace('+', " ")))
        })
        .collect()
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| invalid_json(&e))
}

fn invalid_json(e: &serde_json::Error) -> ApiError {
    bad_request(format!("Invalid JSON payload received. {e}."))
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    ctrl: Arc<ConnCtrl>,
) -> Response<EmuBody> {
    shared.n_requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    // Google refuses request bodies over 20 MiB; a body cut short is an error, never an empty body.
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (body, body_error) = if declared.is_some_and(|n| n > MAX_REQUEST_BYTES as u64) {
        (Bytes::new(), Some(payload_too_large()))
    } else {
        match http_body_util::Limited::new(body, MAX_REQUEST_BYTES)
            .collect()
            .await
        {
            Ok(b) => (b.to_bytes(), None),
            Err(err) if err.is::<http_body_util::LengthLimitError>() => {
                (Bytes::new(), Some(payload_too_large()))
            }
            Err(err) => (
                Bytes::new(),
                Some(bad_request(format!(
                    "The request body could not be read completely: {err}."
                ))),
            ),
        }
    };
    let path = percent_decode(parts.uri.path());
    let query = parts.uri.query().map(str::to_owned);
    let pairs = query_pairs(query.as_deref());
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if shared.config.record {
        let recorded = RecordedRequest {
            method: parts.method.to_string(),
            path: path.clone(),
            query: query.clone(),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.to_vec(),
            json: serde_json::from_slice(&body).ok(),
        };
        shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(recorded);
    }

    // Route: /{version}/models[/{model}[:{method}]]
    let trimmed = path.trim_start_matches('/');
    let (version, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let alt_sse = pairs
        .iter()
        .any(|(k, v)| (k == "alt" || k == "$alt") && v.starts_with("sse"));
    let (target, method) = match rest.strip_prefix("models/") {
        Some(m) => match m.rsplit_once(':') {
            Some((model, method)) => (Some(model.to_owned()), Some(method.to_owned())),
            None => (Some(m.to_owned()), None),
        },
        None => (None, None),
    };
    let mode = match method.as_deref() {
        Some("streamGenerateContent") if alt_sse => Mode::Sse,
        Some("streamGenerateContent") => Mode::JsonArray,
        _ => Mode::Unary,
    };
    if let Some(err) = body_error {
        return error_response(&err, mode);
    }
    let interactions = rest == "interactions" || rest.starts_with("interactions/");
    if !matches!(version, "v1" | "v1beta" | "v1alpha")
        || !(interactions || rest == "models" || rest.starts_with("models/"))
    {
        return error_response(&api_error(404, format!("Method not found: {path}")), mode);
    }

    // Authentication, as Google orders it: no key → 403, refused key → 400.
    let key = header("x-goog-api-key")
        .or_else(|| {
            pairs
                .iter()
                .find(|(k, _)| k == "key")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default();
    if key.is_empty() {
        return error_response(&api_error(403, UNREGISTERED), mode);
    }
    if !shared.config.keys.accepts(&key) {
        let mut info = ErrorInfo::new("API_KEY_INVALID", "googleapis.com");
        info.metadata.insert(
            "service".to_owned(),
            "generativelanguage.googleapis.com".to_owned(),
        );
        let err = api_error(400, KEY_INVALID)
            .with_detail(ErrorDetail::ErrorInfo(info))
            // google.rpc.LocalizedMessage has no variant of its own.
            .with_detail(ErrorDetail::Other(serde_json::json!({
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": KEY_INVALID
            })));
        return error_response(&err, mode);
    }

    // Faults: global, then header, then model suffix.
    let mut spec = shared
        .fault
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if let Some(text) = header(FAULT_HEADER) {
        match text.parse::<FaultSpec>() {
            Ok(s) => spec.extend(&s),
            Err(e) => {
                return error_response(
                    &bad_request(format!("Invalid {FAULT_HEADER} header: {e}")),
                    mode,
                );
            }
        }
    }
    if interactions {
        let request = crate::interactions::Request {
            method: &parts.method,
            version,
            rest,
            path: &path,
            query: &pairs,
            body: &body,
            scenario: header(SCENARIO_HEADER),
        };
        return crate::interactions::handle(&shared, &ctrl, request, spec);
    }
    let (model_id, suffix) = match &target {
        Some(t) => match t.split_once('@') {
            Some((id, s)) => (Some(id.to_owned()), Some(s.to_owned())),
            None => (Some(t.clone()), None),
        },
        None => (None, None),
    };
    if let Some(text) = suffix {
        match text.parse::<FaultSpec>() {
            Ok(s) => spec.extend(&s),
            Err(e) => {
                return error_response(
                    &bad_request(format!("Invalid fault in model name: {e}")),
                    mode,
                );
            }
        }
    }

    // Whatever the spec came from (a header, the model name, the configuration, code), nothing past
    // the limits runs.
    if let Err(e) = spec.check_limits() {
        return error_response(&bad_request(format!("Invalid fault: {e}")), mode);
    }

    // Failures before any body.
    if let Some(resp) = early_faults(
        &shared,
        &spec,
        &parts.method,
        &path,
        &body,
        header(SCENARIO_HEADER),
        mode,
        model_id.as_deref(),
    ) {
        return resp;
    }
    if spec.faults().contains(&Fault::ByteWrites) {
        ctrl.byte_writes.store(true, Ordering::Relaxed);
    }

    // Replay, by header or by `models/replay=NAME`.
    let replay_name = header(REPLAY_HEADER).or_else(|| {
        model_id
            .as_deref()
            .and_then(|m| m.strip_prefix("replay="))
            .map(str::to_owned)
    });
    if let Some(name) = replay_name {
        return serve_replay(&shared, &ctrl, &name, &spec, mode);
    }

    let Some(model_id) = model_id else {
        return if parts.method == Method::GET {
            list_models(&pairs, mode)
        } else {
            method_not_allowed(mode)
        };
    };
    let Some(method) = method else {
        return if parts.method == Method::GET {
            match catalogue::find(&model_id) {
                Some(m) => json_ok(m, Mode::Unary),
                None => error_response(&not_found_model(&model_id, version, "get"), mode),
            }
        } else {
            method_not_allowed(mode)
        };
    };
    if parts.method != Method::POST {
        return method_not_allowed(mode);
    }
    let model = match catalogue::find(&model_id) {
        Some(m) if m.supports(&method) => m,
        _ => return error_response(&not_found_model(&model_id, version, &method), mode),
    };
    match method.as_str() {
        "generateContent" | "streamGenerateContent" => {
            let call = CallKey {
                path: &path,
                scenario: header(SCENARIO_HEADER),
            };
            generate_content(&shared, &ctrl, model, &body, &spec, mode, &call)
        }
        "countTokens" => count_tokens(&body),
        "embedContent" => match parse_body::<EmbedContentRequest>(&body) {
            Ok(r) => match embed(model, &r) {
                Ok(embedding) => {
                    let mut resp = EmbedContentResponse::default();
                    resp.embedding = Some(embedding);
                    json_ok(&resp, Mode::Unary)
                }
                Err(e) => error_response(&e, mode),
            },
            Err(e) => error_response(&e, mode),
        },
        "batchEmbedContents" => match parse_body::<BatchEmbedContentsRequest>(&body) {
            Ok(r) if r.requests.len() > MAX_BATCH_REQUESTS => error_response(
                &bad_request(format!(
                    "* BatchEmbedContentsRequest.requests: at most {MAX_BATCH_REQUESTS} requests can be in one batch, got {}\n",
                    r.requests.len()
                )),
                mode,
            ),
            Ok(r) => match r
                .requests
                .iter()
                .map(|r| embed(model, r))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(embeddings) => {
                    let mut resp = BatchEmbedContentsResponse::default();
                    resp.embeddings = embeddings;
                    json_ok(&resp, Mode::Unary)
                }
                Err(e) => error_response(&e, mode),
            },
            Err(e) => error_response(&e, mode),
        },
        other => error_response(&not_found_model(&model_id, version, other), mode),
    }
}

fn method_not_allowed(mode: Mode) -> Response<EmuBody> {
    let mut resp = error_response(&api_error(404, "Method not found."), mode);
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp
}

#[allow(clippy::too_many_arguments)]
fn early_faults(
    shared: &Shared,
    spec: &FaultSpec,
    method: &Method,
    path: &str,
    body: &[u8],
    scenario: Option<String>,
    mode: Mode,
    model: Option<&str>,
) -> Option<Response<EmuBody>> {
    let model = model
        .unwrap_or("gemini-2.5-flash")
        .split('@')
        .next()
        .unwrap_or_default();
    for fault in spec.faults() {
        match fault {
            Fault::Http {
                status,
                retry_after,
            } => return Some(http_fault(*status, *retry_after, mode, model)),
            Fault::FailFirst { attempts, status } => {
                let key = match &scenario {
                    Some(s) => generate::fnv1a(s.as_bytes()),
                    None => {
                        let mut k = format!("{method} {path} {spec}\n").into_bytes();
                        k.extend_from_slice(body);
                        generate::fnv1a(&k)
                    }
                };
                let mut map = shared.attempts.lock().unwrap_or_else(|e| e.into_inner());
                let n = map.entry(key).or_insert(0);
                *n += 1;
                if *n <= *attempts {
                    return Some(http_fault(*status, None, mode, model));
                }
            }
            _ => {}
        }
    }
    None
}

fn http_fault(
    status: u16,
    retry_after: Option<Duration>,
    mode: Mode,
    model: &str,
) -> Response<EmuBody> {
    let delay = retry_after.map_or(30.0, |d| d.as_secs_f64());
    let mut resp = error_response(&canned_error(status, model, delay), mode);
    if status == 429 {
        let secs = delay.ceil() as u64;
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

fn json_ok<T: Serialize + ?Sized>(value: &T, mode: Mode) -> Response<EmuBody> {
    let mut body = json::to_pretty(value);
    body.push(b'\n');
    google_headers(Response::builder(), mode, Duration::from_millis(20))
        .status(StatusCode::OK)
        .body(EmuBody::Full(Some(Bytes::from(body))))
        .expect("static headers are valid")
}

fn list_models(pairs: &[(String, String)], mode: Mode) -> Response<EmuBody> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let page_size = get("pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(50)
        .min(1000);
    let start = match get("pageToken").filter(|t| !t.is_empty()) {
        Some(token) => match base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.strip_prefix("offset:")
                    .and_then(|n| n.parse::<usize>().ok())
            }) {
            Some(n) => n,
            None => return error_response(&bad_request("Invalid page token.".into()), mode),
        },
        None => 0,
    };
    let models = &catalogue::MODELS[start.min(catalogue::MODELS.len())..];
    let page: Vec<_> = models.iter().take(page_size).collect();
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ListModels<'a> {
        models: Vec<&'a ModelInfo>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_page_token: Option<String>,
    }
    let next = start + page.len();
    let next_page_token = (next < catalogue::MODELS.len())
        .then(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{next}")));
    json_ok(
        &ListModels {
            models: page,
            next_page_token,
        },
        Mode::Unary,
    )
}

fn count_tokens(body: &[u8]) -> Response<EmuBody> {
    let req: CountTokensRequest = match parse_body(body) {
        Ok(r) => r,
        Err(e) => return error_response(&e, Mode::Unary),
    };
    let (total, details) = match &req.generate_content_request {
        Some(g) => {
            let raw: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let tools = raw
                .pointer("/generateContentRequest/tools")
                .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()));
            generate::prompt_tokens(&g.contents, g.system_instruction.as_ref(), tools)
        }
        None => generate::prompt_tokens(&req.contents, None, None),
    };
    let mut resp = CountTokensResponse::default();
    resp.total_tokens = Some(total);
    resp.prompt_tokens_details = details;
    json_ok(&resp, Mode::Unary)
}

fn embed(model: &ModelInfo, req: &EmbedContentRequest) -> Result<ContentEmbedding, ApiError> {
    let text: String = req
        .content
        .iter()
        .flat_map(|c| &c.parts)
        .filter_map(Part::as_text)
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        return Err(bad_request(
            "* EmbedContentRequest.content: contents must not be empty".into(),
        ));
    }
    let dims = req
        .output_dimensionality
        .unwrap_or(model.embedding_dimensions);
    if dims == 0 || dims > model.embedding_dimensions {
        return Err(bad_request(format!(
            "* EmbedContentRequest.output_dimensionality: must be between 1 and {}",
            model.embedding_dimensions
        )));
    }
    let _ = (&req.model, &req.task_type);
    let mut embedding = ContentEmbedding::default();
    embedding.values = generate::embedding(model, &text, dims);
    Ok(embedding)
}

/// What identifies one call across its requests (retries, continuation hops, resumes), for the
/// faults that count attempts.
struct CallKey<'a> {
    path: &'a str,
    scenario: Option<String>,
}

impl CallKey<'_> {
    /// The attempt number (from 1) of `what` for this call, the answer `seed` names.
    fn count(&self, shared: &Shared, what: &str, seed: u64) -> u32 {
        let text = match &self.scenario {
            Some(s) => format!("{what}|scenario|{s}"),
            None => format!("{what}|{}|{seed}", self.path),
        };
        let key = generate::fnv1a(text.as_bytes());
        let mut map = shared.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }
}

fn generate_content(
    shared: &Arc<Shared>,
    ctrl: &Arc<ConnCtrl>,
    model: &'static ModelInfo,
    body: &[u8],
    spec: &FaultSpec,
    mode: Mode,
    call: &CallKey<'_>,
) -> Response<EmuBody> {
    let req: GenerateContentRequest = match parse_body(body) {
        Ok(r) => r,
        Err(e) => return error_response(&e, mode),
    };
    let cfg = req.generation_config.clone().unwrap_or_default();
    if let Some(t) = cfg.temperature.filter(|t| !(0.0..=2.0).contains(t)) {
        return error_response(
            &bad_request(format!(
                "* GenerateContentRequest.generation_config.temperature: must be in the range [0.0, 2.0], got {t}\n"
            )),
            mode,
        );
    }
    let _ = cfg.seed;
    if cfg.stop_sequences.len() > MAX_STOP_SEQUENCES {
        return error_response(
            &bad_request(format!(
                "* GenerateContentRequest.generation_config.stop_sequences: at most {MAX_STOP_SEQUENCES} stop sequences are allowed, got {}\n",
                cfg.stop_sequences.len()
            )),
            mode,
        );
    }
    if req.contents.is_empty() {
        return error_response(
            &bad_request("* GenerateContentRequest.contents: contents is not specified\n".into()),
            mode,
        );
    }
    let raw: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let directives = Directives {
        tokens: spec.find(|f| {
            if let Fault::Tokens(n) = f {
                Some(*n)
            } else {
                None
            }
        }),
        block_reason: spec.find(|f| {
            if let Fault::BlockPrompt { reason } = f {
                Some(reason.clone())
            } else {
                None
            }
        }),
    };
    let plan = match generate::plan(model, &req, &raw, &directives) {
        Ok(plan) => plan,
        Err(message) => return error_response(&bad_request(message), mode),
    };
    let safety_after = spec.find(|f| {
        if let Fault::SafetyAfter { events } = f {
            Some(*events)
        } else {
            None
        }
    });
    let pace = shared.config.pace;

    let cuts = Cuts {
        hop_tokens: spec
            .find(|f| match f {
                Fault::HopTokens(n) => Some(*n),
                _ => None,
            })
            .or(shared.config.hop_tokens),
        checkpoint_every: spec
            .find(|f| match f {
                Fault::CheckpointEvery(n) => Some(*n),
                _ => None,
            })
            .or(shared.config.checkpoint_every),
    };
    let from = match &req.continuation_token {
        None => Position::START,
        Some(token) => match continuation::position(plan.seed, token, plan.steps()) {
            Some(position) => position,
            None => {
                return error_response(
                    &bad_request(
                        "* GenerateContentRequest.continuation_token: invalid continuation token\n"
                            .into(),
                    ),
                    mode,
                );
            }
        },
    };
    if req.continuation_token.is_some()
        && let Some((status, times)) = spec.find(|f| match f {
            Fault::ResumeError { status, times } => Some((*status, *times)),
            _ => None,
        })
        && call.count(shared, "resume-error", plan.seed) <= times
    {
        return http_fault(status, None, mode, model.id());
    }
    if cuts.active() || from != Position::START {
        return continued(
            shared,
            ctrl,
            &plan,
            spec,
            mode,
            pace,
            call,
            from,
            cuts,
            safety_after,
        );
    }

    if mode == Mode::Unary {
        let resp = plan.unary(safety_after.is_some());
        let mut body = json::to_pretty(&resp);
        body.push(b'\n');
        let mut steps = vec![
            Step::Sleep(pace.first_chunk()),
            Step::Write(Bytes::from(body), false),
        ];
        let total_tokens = resp
            .usage_metadata
            .as_ref()
            .and_then(|u| u.candidates_token_count)
            .unwrap_or(0);
        steps.insert(1, Step::Sleep(pace.delay_for_tokens(total_tokens)));
        if let Some(d) = spec.find(|f| {
            if let Fault::StallAfter { duration, .. } = f {
                Some(*duration)
            } else {
                None
            }
        }) {
            steps.insert(0, Step::Sleep(d));
        }
        return stream_response(shared, ctrl, steps, ByteFaults::of(spec), mode, pace, false);
    }

    let events = plan.events(safety_after);
    let steps = event_steps(&events, spec, mode, pace);
    stream_response(shared, ctrl, steps, ByteFaults::of(spec), mode, pace, true)
}

/// A request of an answer cut into hops, with checkpoints, or resumed from a token.
#[allow(clippy::too_many_arguments)]
fn continued(
    shared: &Arc<Shared>,
    ctrl: &Arc<ConnCtrl>,
    plan: &generate::Plan,
    spec: &FaultSpec,
    mode: Mode,
    pace: Pace,
    call: &CallKey<'_>,
    from: Position,
    cuts: Cuts,
    safety_after: Option<usize>,
) -> Response<EmuBody> {
    let drop_at = spec.find(|f| match f {
        Fault::Drop { at, hop, times } if *hop == from.hop => Some((*at, *times)),
        _ => None,
    });
    let drop_now = drop_at.filter(|(_, times)| {
        call.count(shared, &format!("drop@{}", from.hop), plan.seed) <= *times
    });
    let mut spec = spec.clone();
    if mode == Mode::Unary {
        let resp = plan.hop_unary(from, cuts);
        let mut body = json::to_pretty(&resp);
        body.push(b'\n');
        let tokens = resp
            .usage_metadata
            .as_ref()
            .and_then(|u| u.candidates_token_count)
            .unwrap_or(0);
        let steps = vec![
            Step::Sleep(pace.first_chunk()),
            Step::Sleep(pace.delay_for_tokens(tokens)),
            Step::Write(Bytes::from(body), false),
        ];
        if drop_now.is_some() {
            // A unary answer breaks before its body, wherever the drop was asked for.
            spec = spec.with(Fault::CloseAfterBytes {
                bytes: 0,
                reset: false,
            });
        }
        return stream_response(
            shared,
            ctrl,
            steps,
            ByteFaults::of(&spec),
            mode,
            pace,
            false,
        );
    }
    let events = plan.hop_events(from, cuts, safety_after);
    if let Some((at, _)) = drop_now {
        let checkpoints: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.checkpoint)
            .map(|(i, _)| i)
            .collect();
        // Every event that carries a token: the checkpoints, and a `CONTINUATION` end.
        let mut tokens = checkpoints.clone();
        if events.last().is_some_and(|e| {
            e.response
                .candidates
                .iter()
                .any(|c| c.continuation_token.is_some())
        }) {
            tokens.push(events.len() - 1);
        }
        let close_after = match at {
            DropPoint::Prefill => Some(0),
            DropPoint::BeforeCheckpoint => match checkpoints.first() {
                Some(0) => Some(0),
                _ => Some(1.min(events.len())),
            },
            DropPoint::AfterCheckpoint => checkpoints.first().map(|c| c + 1),
            // One event after the first checkpoint, that event carrying no token itself.
            DropPoint::BetweenCheckpoints => checkpoints
                .first()
                .map(|c| c + 2)
                .filter(|after| *after <= events.len())
                .filter(|after| tokens.get(1).is_none_or(|next| after <= next)),
        };
        if let Some(events) = close_after {
            spec = spec.with(Fault::CloseAfterEvents {
                events,
                reset: false,
            });
        }
    }
    let events: Vec<(GenerateContentResponse, u32)> =
        events.into_iter().map(|e| (e.response, e.tokens)).collect();
    let steps = event_steps(&events, &spec, mode, pace);
    stream_response(shared, ctrl, steps, ByteFaults::of(&spec), mode, pace, true)
}

fn separator(spec: &FaultSpec) -> &'static [u8] {
    match spec.find(|f| {
        if let Fault::Framing(fr) = f {
            Some(*fr)
        } else {
            None
        }
    }) {
        Some(Framing::Lf) => b"\n\n",
        Some(Framing::Cr) => b"\r\r",
        _ => b"\r\n\r\n",
    }
}

/// Marks where an oversized event's padding goes (control characters, written `\u0001…` in the
/// JSON, so that generated text cannot contain it).
const PAD_MARKER: &str = "\u{1}\u{2}pad\u{2}\u{1}";

/// The steps that write one event: one write, or for an oversized event (`oversize` bytes in
/// all) the event up to its first text, the padding (written lazily) and the rest.
fn encode_event(
    resp: &GenerateContentResponse,
    mode: Mode,
    index: usize,
    sep: &[u8],
    oversize: Option<usize>,
    steps: &mut Vec<Step>,
) {
    let encode = |resp: &GenerateContentResponse| match mode {
        Mode::Sse => {
            let line = json::to_line(resp);
            let mut out = Vec::with_capacity(line.len() + 10);
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&line);
            out.extend_from_slice(sep);
            out
        }
        _ => {
            let pretty = json::to_pretty(resp);
            let mut out = Vec::with_capacity(pretty.len() + 4);
            out.extend_from_slice(if index == 0 { b"[" } else { b"\n,\r\n" });
            out.extend_from_slice(&pretty);
            out
        }
    };
    let Some(size) = oversize else {
        steps.push(Step::Write(Bytes::from(encode(resp)), true));
        return;
    };
    let mut padded = resp.clone();
    let Some(parts) = padded
        .candidates
        .first_mut()
        .and_then(|c| c.content.as_mut())
        .map(|c| &mut c.parts)
    else {
        steps.push(Step::Write(Bytes::from(encode(resp)), true));
        return;
    };
    match parts.iter_mut().find_map(|p| match &mut p.data {
        PartData::Text(text) => Some(text),
        _ => None,
    }) {
        Some(text) => text.push_str(PAD_MARKER),
        None => parts.push(Part::text(PAD_MARKER)),
    }
    let bytes = Bytes::from(encode(&padded));
    let escaped = br"\u0001\u0002pad\u0002\u0001";
    let Some(at) = bytes.windows(escaped.len()).position(|w| w == escaped) else {
        steps.push(Step::Write(bytes, true));
        return;
    };
    // The size counts the event's JSON: without `data: ` and the separator, or the array's `,`.
    let framing = match mode {
        Mode::Sse => 6 + sep.len(),
        _ if index == 0 => 1,
        _ => 4,
    };
    let rest = bytes.len() - escaped.len() - framing;
    steps.push(Step::Write(bytes.slice(..at), false));
    steps.push(Step::Pad(size.saturating_sub(rest)));
    steps.push(Step::Write(bytes.slice(at + escaped.len()..), true));
}

/// Turns response events into a scripted body, applying pace and event-level faults.
fn event_steps(
    events: &[(GenerateContentResponse, u32)],
    spec: &FaultSpec,
    mode: Mode,
    pace: Pace,
) -> Vec<Step> {
    let sep = separator(spec);
    let model = events
        .first()
        .and_then(|(e, _)| e.model_version.as_deref())
        .unwrap_or("gemini");
    let mut steps = Vec::with_capacity(events.len() * 2 + 2);
    let mut ended = false;
    for i in 0..=events.len() {
        for fault in spec.faults() {
            match *fault {
                Fault::StallAfter {
                    events: n,
                    duration,
                } if n == i => steps.push(Step::Sleep(duration)),
                Fault::JsonErrorAfter { events: n, status } if n == i => {
                    let mut body = json::error_body(&canned_error(status, model, 30.0));
                    if mode == Mode::JsonArray {
                        body.splice(
                            0..0,
                            if i == 0 {
                                b"[".to_vec()
                            } else {
                                b"\n,\r\n".to_vec()
                            },
                        );
                        body.extend_from_slice(b"]");
                    }
                    steps.push(Step::Write(Bytes::from(body), true));
                    ended = true;
                }
                Fault::SseErrorAfter { events: n, status } if n == i => {
                    let err = canned_error(status, model, 30.0);
                    let mut out = b"data: ".to_vec();
                    out.extend_from_slice(&json::to_line(&json::Envelope { error: &err }));
                    out.extend_from_slice(sep);
                    steps.push(Step::Write(Bytes::from(out), true));
                    ended = true;
                }
                Fault::CloseAfterEvents { events: n, reset } if n == i => {
                    steps.push(Step::Close { reset });
                    ended = true;
                }
                Fault::MalformedAfter { events: n } if n == i && i < events.len() => {
                    let bytes: &[u8] = match mode {
                        Mode::Sse => b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"trunc",
                        _ => b"\n,\r\n{\n  \"candidates\": [\n    {\n      \"content\": {\n        \"parts\": [\n          {\n            \"text\": \"trunc",
                    };
                    let mut out = bytes.to_vec();
                    if mode == Mode::Sse {
                        out.extend_from_slice(sep);
                    }
                    steps.push(Step::Write(Bytes::from(out), true));
                }
                _ => {}
            }
            if ended {
                break;
            }
        }
        if ended {
            return steps;
        }
        let Some((event, tokens)) = events.get(i) else {
            break;
        };
        let delay = if i == 0 {
            pace.first_chunk()
        } else {
            pace.delay_for_tokens(*tokens)
        };
        if !delay.is_zero() {
            steps.push(Step::Sleep(delay));
        }
        let oversize = spec.find(|f| match f {
            Fault::OversizedEvent { event: n, size } if *n == i => Some(*size),
            _ => None,
        });
        encode_event(event, mode, i, sep, oversize, &mut steps);
    }
    if mode == Mode::JsonArray {
        steps.push(Step::Write(
            Bytes::from_static(if events.is_empty() { b"[]" } else { b"\n]" }),
            false,
        ));
    }
    steps
}

struct StreamGuard(Arc<Shared>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.active_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Starts the producer task for a scripted body and returns the response head.
fn stream_response(
    shared: &Arc<Shared>,
    ctrl: &Arc<ConnCtrl>,
    steps: Vec<Step>,
    faults: ByteFaults,
    mode: Mode,
    pace: Pace,
    is_stream: bool,
) -> Response<EmuBody> {
    // A body with no pauses and no faults needs no task.
    let simple = faults.is_none()
        && steps.iter().all(|s| match s {
            Step::Write(..) => true,
            Step::Sleep(d) => d.is_zero(),
            Step::Pad(_) | Step::Close { .. } => false,
        });
    let writes: Vec<&Bytes> = steps
        .iter()
        .filter_map(|s| {
            if let Step::Write(b, _) = s {
                Some(b)
            } else {
                None
            }
        })
        .collect();
    if !is_stream && simple && writes.len() == 1 {
        return google_headers(Response::builder(), mode, pace.first_chunk())
            .status(StatusCode::OK)
            .body(EmuBody::Full(Some(writes[0].clone())))
            .expect("static headers are valid");
    }
    let (tx, rx) = mpsc::channel(2);
    if is_stream {
        let now = shared.active_streams.fetch_add(1, Ordering::Relaxed) + 1;
        shared.peak_streams.fetch_max(now, Ordering::Relaxed);
    }
    let guard = is_stream.then(|| StreamGuard(Arc::clone(shared)));
    let producer = Producer::new(tx, Arc::clone(shared), Arc::clone(ctrl), faults);
    tokio::spawn(async move {
        let _guard = guard;
        producer.run(steps).await;
    });
    google_headers(Response::builder(), mode, pace.first_chunk())
        .status(StatusCode::OK)
        .body(EmuBody::Stream { rx, yielded: false })
        .expect("static headers are valid")
}

fn serve_replay(
    shared: &Arc<Shared>,
    ctrl: &Arc<ConnCtrl>,
    name: &str,
    spec: &FaultSpec,
    mode: Mode,
) -> Response<EmuBody> {
    let Some(index) = &shared.replay else {
        return error_response(
            &bad_request("Replay requested but the emulator has no replay directory.".into()),
            mode,
        );
    };
    let Some(entry) = index.get(name) else {
        return error_response(
            &api_error(
                404,
                format!("No recorded body named `{name}` in the replay directory."),
            ),
            mode,
        );
    };
    let body = match replay::load_body(entry) {
        Ok(b) => b,
        Err(e) => {
            return error_response(
                &api_error(500, format!("Cannot read recorded body `{name}`: {e}")),
                mode,
            );
        }
    };
    let pace = shared.config.pace;
    let mut steps = Vec::new();
    for (i, piece) in body.pieces.iter().enumerate() {
        let delay = if i == 0 {
            pace.first_chunk()
        } else {
            pace.delay_for_tokens((piece.len() / 8) as u32)
        };
        if let Some(d) = spec.find(|f| match f {
            Fault::StallAfter { events, duration } if *events == i => Some(*duration),
            _ => None,
        }) {
            steps.push(Step::Sleep(d));
        }
        if spec
            .find(|f| match f {
                Fault::CloseAfterEvents { events, reset } if *events == i => Some(*reset),
                _ => None,
            })
            .is_some_and(|reset| {
                steps.push(Step::Close { reset });
                true
            })
        {
            break;
        }
        steps.push(Step::Sleep(delay));
        steps.push(Step::Write(piece.clone(), true));
    }
    let status = StatusCode::from_u16(body.status).unwrap_or(StatusCode::OK);
    let is_stream = status == StatusCode::OK && body.pieces.len() > 1;
    let mut resp = stream_response(
        shared,
        ctrl,
        steps,
        ByteFaults::of(spec),
        mode,
        pace,
        is_stream,
    );
    *resp.status_mut() = status;
    if let Ok(ct) = HeaderValue::from_str(&body.content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    if !body.content_type.starts_with("text/event-stream") || status != StatusCode::OK {
        resp.headers_mut().remove(header::CONTENT_DISPOSITION);
    } else if !resp.headers().contains_key(header::CONTENT_DISPOSITION) {
        resp.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    resp
}

// What the Interactions API (`crate::interactions`) answers with.

/// A JSON error response.
pub(crate) fn json_error(err: &ApiError) -> Response<EmuBody> {
    error_response(err, Mode::Unary)
}

/// An error response to a request for a stream.
pub(crate) fn stream_error(err: &ApiError) -> Response<EmuBody> {
    error_response(err, Mode::Sse)
}

/// A 200 JSON answer.
pub(crate) fn json_answer<T: Serialize + ?Sized>(value: &T) -> Response<EmuBody> {
    json_ok(value, Mode::Unary)
}

/// A 200 `text/event-stream` written by `steps`, with the byte-level faults of `spec`.
pub(crate) fn stream_answer(
    shared: &Arc<Shared>,
    ctrl: &Arc<ConnCtrl>,
    steps: Vec<Step>,
    spec: &FaultSpec,
) -> Response<EmuBody> {
    let pace = shared.config.pace;
    stream_response(
        shared,
        ctrl,
        steps,
        ByteFaults::of(spec),
        Mode::Sse,
        pace,
        true,
    )
}

/// `byte-writes` of `spec`: every byte of the response in its own write.
pub(crate) fn byte_writes(ctrl: &ConnCtrl, spec: &FaultSpec) {
    if spec.faults().contains(&Fault::ByteWrites) {
        ctrl.byte_writes.store(true, Ordering::Relaxed);
    }
}

/// `http=` and `fail-first=` of `spec`, which answer before any body.
pub(crate) fn refusal(
    shared: &Shared,
    spec: &FaultSpec,
    request: &crate::interactions::Request<'_>,
    stream: bool,
    model: Option<&str>,
) -> Option<Response<EmuBody>> {
    let mode = if stream { Mode::Sse } else { Mode::Unary };
    early_faults(
        shared,
        spec,
        request.method,
        request.path,
        request.body,
        request.scenario.clone(),
        mode,
        model,
    )
}

/// Google's 400 `INVALID_ARGUMENT` with a `BadRequest` detail.
pub(crate) fn invalid_argument(message: String) -> ApiError {
    bad_request(message)
}
