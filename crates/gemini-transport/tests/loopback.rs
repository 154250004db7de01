//! The hyper backend against loopback servers, on tokio and on smol.
#![cfg(all(feature = "tokio", feature = "smol"))]

mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gemini_transport::{ErrorKind, HttpTransport, Proxy, Runtime, TimeoutKind, Timeouts};
use support::{TestBody, client, fetch, get, wait_until};
use tokio::io::AsyncWriteExt;

const BOUND: Duration = Duration::from_secs(5);

async fn plain_http_streams_chunks_in_order(rt: Runtime) {
    let server = support::start(
        None,
        Arc::new(|req| {
            assert_eq!(
                req.uri().path_and_query().unwrap().as_str(),
                "/v1beta/models/m:streamGenerateContent?alt=sse"
            );
            assert!(
                req.headers()["host"]
                    .to_str()
                    .unwrap()
                    .starts_with("127.0.0.1:")
            );
            let (tx, body) = TestBody::channel(Arc::default());
            tokio::spawn(async move {
                for i in 0..3 {
                    tx.send(Bytes::from(format!("data: {i}\r\n\r\n")))
                        .await
                        .unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
            http::Response::builder()
                .header("content-type", "text/event-stream")
                .body(body)
                .unwrap()
        }),
    );
    let t = client(rt).build().unwrap();
    let resp = t
        .send(get(
            &server.http_url("/v1beta/models/m:streamGenerateContent?alt=sse")
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_11);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    let mut got = Vec::new();
    while let Some(chunk) = body.next_chunk().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(
        String::from_utf8(got).unwrap(),
        "data: 0\r\n\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n"
    );
}

async fn connection_is_reused_after_a_complete_body(rt: Runtime) {
    let server = support::start(None, support::ok("hello"));
    let t = client(rt).build().unwrap();
    for _ in 0..3 {
        let body = fetch(&t, &server.http_url("/")).await;
        assert_eq!(body, "hello");
    }
    assert_eq!(
        server.accepted(),
        1,
        "all three requests should share one connection"
    );
    assert_eq!(t.idle_connections(), 1);

    // With reuse disabled every request opens its own connection.
    let t = client(rt).pool_max_idle_per_host(0).build().unwrap();
    for _ in 0..2 {
        fetch(&t, &server.http_url("/")).await;
    }
    assert_eq!(server.accepted(), 3);
}

async fn pooled_connection_closed_by_server_is_replaced(rt: Runtime) {
    let server = support::start(
        None,
        Arc::new(|_req| {
            http::Response::builder()
                .header("connection", "close")
                .body(TestBody::full("x"))
                .unwrap()
        }),
    );
    let t = client(rt).build().unwrap();
    for _ in 0..3 {
        let body = fetch(&t, &server.http_url("/")).await;
        assert_eq!(body, "x");
    }
    assert_eq!(server.accepted(), 3);
}

async fn pooled_connection_dropped_while_idle_is_replaced(rt: Runtime) {
    // The server drops a connection idle for 100 ms without saying so; a request that finds it
    // in the pool goes on, transparently, over a new one.
    for backend in support::BACKENDS {
        let server = support::drops_idle_connections(backend, Duration::from_millis(100), "fresh");
        let t = backend.client(rt, &server).build().unwrap();
        let url = backend.url(&server, "/");
        for round in 1..=3 {
            // Two requests in a row share a connection...
            for _ in 0..2 {
                let resp = t
                    .send(get(&url))
                    .await
                    .unwrap_or_else(|e| panic!("{backend:?}, round {round}: {e}"));
                assert_eq!(resp.version(), backend.version());
                assert_eq!(resp.into_body().collect().await.unwrap(), "fresh");
            }
            assert_eq!(server.accepted(), round, "{backend:?}");
            // ...then it sits idle until the server drops it.
            rt.sleeper().sleep(Duration::from_millis(400)).await;
        }
    }
}

async fn tls_with_custom_root_negotiates_h2(rt: Runtime) {
    let server = support::start(Some(&[b"h2", b"http/1.1"]), support::ok("secure"));
    let pem = server.cert_pem.clone().unwrap();
    let t = client(rt)
        .add_root_certificates_pem(pem.clone())
        .build()
        .unwrap();
    for _ in 0..3 {
        let resp = t.send(get(&server.https_url("/h2"))).await.unwrap();
        assert_eq!(resp.version(), http::Version::HTTP_2);
        assert_eq!(resp.into_body().collect().await.unwrap(), "secure");
    }
    assert_eq!(server.accepted(), 1, "HTTP/2 requests share one connection");
    assert_eq!(
        *server.stats.versions.lock().unwrap(),
        vec![http::Version::HTTP_2; 3]
    );

    // HTTP/1.1 over TLS when only that is offered.
    let t = client(rt)
        .add_root_certificates_pem(pem)
        .http1_only(true)
        .build()
        .unwrap();
    let resp = t.send(get(&server.https_url("/h1"))).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_11);
    assert_eq!(resp.into_body().collect().await.unwrap(), "secure");
    assert_eq!(
        server.stats.versions.lock().unwrap().last(),
        Some(&http::Version::HTTP_11)
    );
}

async fn untrusted_certificate_is_a_tls_error(rt: Runtime) {
    let server = support::start(Some(&[b"http/1.1"]), support::ok("nope"));
    let t = client(rt).build().unwrap();
    let err = t.send(get(&server.https_url("/"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.is_request_not_sent());
    assert!(
        std::error::Error::source(&err).is_some(),
        "the rustls cause stays in the chain"
    );
}

async fn dropped_h1_body_closes_the_connection(rt: Runtime) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let server = support::start(
        None,
        support::endless(
            "data: x\n\n",
            Duration::from_millis(5),
            Arc::clone(&dropped),
        ),
    );
    let t = client(rt).build().unwrap();
    let mut body = t
        .send(get(&server.http_url("/")))
        .await
        .unwrap()
        .into_body();
    assert_eq!(body.next_chunk().await.unwrap().unwrap(), "data: x\n\n");
    let dropped_at = Instant::now();
    drop(body);
    assert!(
        wait_until(rt, BOUND, || server.closed() == 1).await,
        "server did not see the connection close"
    );
    eprintln!("server saw the close after {:?}", dropped_at.elapsed());
    assert_eq!(
        t.idle_connections(),
        0,
        "an abandoned connection must not be pooled"
    );
    // The next request needs a new connection.
    let mut body = t
        .send(get(&server.http_url("/")))
        .await
        .unwrap()
        .into_body();
    body.next_chunk().await.unwrap().unwrap();
    assert_eq!(server.accepted(), 2);
}

async fn dropped_h2_stream_is_reset(rt: Runtime) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let server = support::start(
        Some(&[b"h2"]),
        support::endless(
            "data: x\n\n",
            Duration::from_millis(5),
            Arc::clone(&dropped),
        ),
    );
    let t = client(rt)
        .add_root_certificates_pem(server.cert_pem.clone().unwrap())
        .build()
        .unwrap();
    let resp = t.send(get(&server.https_url("/"))).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let mut body = resp.into_body();
    body.next_chunk().await.unwrap().unwrap();
    drop(body);
    assert!(
        wait_until(rt, BOUND, || dropped.load(Ordering::SeqCst) == 1).await,
        "stream was not reset"
    );
    // The connection itself stays usable for other streams.
    let mut body = t
        .send(get(&server.https_url("/")))
        .await
        .unwrap()
        .into_body();
    body.next_chunk().await.unwrap().unwrap();
    assert_eq!(server.accepted(), 1);
}

async fn response_headers_timeout_fires(rt: Runtime) {
    let server = support::raw(|mut tcp| async move {
        support::read_head(&mut tcp).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    });
    let t = client(rt)
        .timeouts(Timeouts::default().response_headers(Some(Duration::from_millis(300))))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = t.send(get(&server.http_url("/"))).await.unwrap_err();
    assert_eq!(
        err.timeout_kind(),
        Some(TimeoutKind::ResponseHeaders),
        "{err}"
    );
    assert!(start.elapsed() < BOUND);
}

/// A server that answers with one chunk, `first`, and then sends nothing for 30 s.
fn first_chunk_then_silence() -> support::Server {
    support::raw(|mut tcp| async move {
        support::read_head(&mut tcp).await;
        tcp.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
}

/// Spawns `f` on the runtime under test now; the returned future yields its output.
fn on_another_task<F>(
    rt: Runtime,
    f: F,
) -> std::pin::Pin<Box<dyn Future<Output = F::Output> + Send>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match rt {
        Runtime::Tokio => {
            let handle = tokio::spawn(f);
            Box::pin(async move { handle.await.unwrap() })
        }
        Runtime::Smol => Box::pin(smol::spawn(f)),
        _ => unreachable!(),
    }
}

async fn idle_timeout_follows_the_body_to_another_task(rt: Runtime) {
    // The first frame is read on this task, the rest on another one: the timeout must wake the
    // task that polls the body now, not the one that polled it first.
    let server = first_chunk_then_silence();
    let t = client(rt)
        .timeouts(Timeouts::default().idle(Some(Duration::from_millis(200))))
        .build()
        .unwrap();
    let mut body = t
        .send(get(&server.http_url("/")))
        .await
        .unwrap()
        .into_body();
    assert_eq!(body.next_chunk().await.unwrap().unwrap(), "first");
    let err = on_another_task(rt, async move {
        let start = Instant::now();
        let err = body.next_chunk().await.unwrap().unwrap_err();
        (err, start.elapsed())
    })
    .await;
    assert_eq!(err.0.timeout_kind(), Some(TimeoutKind::Idle), "{}", err.0);
    assert!(
        err.1 >= Duration::from_millis(150) && err.1 < BOUND,
        "{:?}",
        err.1
    );
}

async fn concurrent_streams_on_many_tasks_reuse_connections(rt: Runtime) {
    // 16 tasks, 4 sequential streamed requests each, on one transport: every body complete
    // and in order, and connections reused (at most one per concurrent task).
    let server = support::start(None, support::ok("data: 0\r\n\r\ndata: 1\r\n\r\n"));
    let t = client(rt).pool_max_idle_per_host(16).build().unwrap();
    let url = server.http_url("/");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (t, url) = (t.clone(), url.clone());
        tasks.push(on_another_task(rt, async move {
            for _ in 0..4 {
                let body = t.send(get(&url)).await.unwrap().into_body().collect().await;
                assert_eq!(body.unwrap(), "data: 0\r\n\r\ndata: 1\r\n\r\n");
            }
        }));
    }
    for task in tasks {
        task.await;
    }
    let accepted = server.accepted();
    assert!(
        (1..=16).contains(&accepted),
        "64 requests from 16 tasks opened {accepted} connections"
    );
    assert_eq!(t.idle_connections(), accepted);
}

async fn total_timeout_fires_while_frames_keep_coming(rt: Runtime) {
    let server = support::start(
        None,
        support::endless("tick", Duration::from_millis(20), Arc::default()),
    );
    // Per-request override through the request extensions.
    let t = client(rt).build().unwrap();
    let mut req = get(&server.http_url("/"));
    req.extensions_mut().insert(
        Timeouts::default()
            .idle(Some(Duration::from_secs(5)))
            .total(Some(Duration::from_millis(400))),
    );
    let mut body = t.send(req).await.unwrap().into_body();
    let mut frames = 0;
    let err = loop {
        match body.next_chunk().await {
            Some(Ok(_)) => frames += 1,
            Some(Err(e)) => break e,
            None => panic!("endless body ended"),
        }
    };
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Total), "{err}");
    assert!(
        frames >= 2,
        "frames kept arriving before the total timeout ({frames})"
    );
}

async fn connect_timeout_fires_on_a_stalled_handshake(rt: Runtime) {
    // Accepts TCP but never answers the TLS ClientHello.
    let server = support::raw(|tcp| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    });
    let t = client(rt)
        .timeouts(Timeouts::default().connect(Some(Duration::from_millis(300))))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = t.send(get(&server.https_url("/"))).await.unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Connect), "{err}");
    assert!(err.is_request_not_sent());
    assert!(start.elapsed() < BOUND);
}

async fn refused_connection_is_a_connect_error(rt: Runtime) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = client(rt).build().unwrap();
    let err = t
        .send(get(&format!("http://127.0.0.1:{port}/")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
}

async fn truncated_body_is_closed_mid_body(rt: Runtime) {
    let server = support::raw(|mut tcp| async move {
        support::read_head(&mut tcp).await;
        tcp.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b")
            .await
            .unwrap();
        tcp.shutdown().await.unwrap();
    });
    let t = client(rt).build().unwrap();
    let body = t
        .send(get(&server.http_url("/")))
        .await
        .unwrap()
        .into_body();
    let err = body.collect().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ClosedMidBody, "{err}");
}

async fn body_ended_by_close_is_read_to_the_end(rt: Runtime) {
    // No length and no chunking: the body ends when the server closes the connection, so the
    // connection's I/O finishes while the body still has data to hand over.
    let server = support::raw(|mut tcp| async move {
        support::read_head(&mut tcp).await;
        tcp.write_all(b"HTTP/1.1 200 OK\r\n\r\npart one, ")
            .await
            .unwrap();
        tcp.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        tcp.write_all(b"part two").await.unwrap();
        tcp.shutdown().await.unwrap();
    });
    let t = client(rt).build().unwrap();
    let body = fetch(&t, &server.http_url("/")).await;
    assert_eq!(body, "part one, part two");
    assert_eq!(t.idle_connections(), 0, "a closed connection is not pooled");
}

async fn error_body_is_collected_within_a_bound(rt: Runtime) {
    // A 500 whose body is 2 MiB: a bounded collect stops at the bound with a typed error and
    // keeps the bytes up to it; the default bound (64 MiB) reads it whole.
    let big: &'static str = Box::leak("e".repeat(2 << 20).into_boxed_str());
    let server = support::start(
        None,
        Arc::new(move |_req| {
            http::Response::builder()
                .status(500)
                .body(TestBody::full(big))
                .unwrap()
        }),
    );
    let t = client(rt).build().unwrap();
    let resp = t.send(get(&server.http_url("/"))).await.unwrap();
    assert_eq!(resp.status(), 500);
    let err = resp.into_body().collect_limited(1 << 20).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge, "{err}");
    assert_eq!(err.partial_body().unwrap(), &big.as_bytes()[..1 << 20]);
    // The rest was not read: the connection is closed, not pooled.
    assert_eq!(t.idle_connections(), 0);
    let whole = t
        .send(get(&server.http_url("/")))
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap();
    assert_eq!(whole.len(), 2 << 20);
}

async fn garbage_response_is_a_protocol_error(rt: Runtime) {
    let server = support::raw(|mut tcp| async move {
        support::read_head(&mut tcp).await;
        tcp.write_all(b"SMTP ready\r\n\r\n").await.unwrap();
    });
    let t = client(rt).build().unwrap();
    let err = t.send(get(&server.http_url("/"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
}

async fn https_through_a_connect_proxy(rt: Runtime) {
    let server = support::start(Some(&[b"h2", b"http/1.1"]), support::ok("tunnelled"));
    let (proxy, log) = support::connect_proxy(200);
    let t = client(rt)
        .add_root_certificates_pem(server.cert_pem.clone().unwrap())
        .proxy(
            Proxy::url(&format!(
                "http://user:pa%20ss@127.0.0.1:{}",
                proxy.addr.port()
            ))
            .unwrap(),
        )
        .build()
        .unwrap();
    let resp = t.send(get(&server.https_url("/x"))).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.into_body().collect().await.unwrap(), "tunnelled");
    let heads = log.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].starts_with(&format!(
            "CONNECT localhost:{} HTTP/1.1\r\n",
            server.addr.port()
        )),
        "{}",
        heads[0]
    );
    // base64("user:pa ss")
    assert!(
        heads[0].contains("Proxy-Authorization: Basic dXNlcjpwYSBzcw==\r\n"),
        "{}",
        heads[0]
    );

    // NO_PROXY-style bypass goes direct.
    let t = client(rt)
        .add_root_certificates_pem(server.cert_pem.clone().unwrap())
        .proxy(
            Proxy::url(&format!("http://127.0.0.1:{}", proxy.addr.port()))
                .unwrap()
                .no_proxy("localhost"),
        )
        .build()
        .unwrap();
    fetch(&t, &server.https_url("/x")).await;
    assert_eq!(log.heads.lock().unwrap().len(), 1);
}

async fn https_through_an_https_proxy(rt: Runtime) {
    // TLS to the proxy, CONNECT over it, then TLS to the server inside the tunnel (TLS in TLS),
    // to a host only the proxy can reach.
    let server = support::start(Some(&[b"h2", b"http/1.1"]), support::ok("tls in tls"));
    let (proxy, log) = support::proxy_server(true, 200, Some(server.addr));
    let url = format!("https://u:p@127.0.0.1:{}", proxy.addr.port());
    let t = client(rt)
        .add_root_certificates_pem(server.cert_pem.clone().unwrap())
        .add_root_certificates_pem(proxy.cert_pem.clone().unwrap())
        .proxy(Proxy::url(&url).unwrap())
        .build()
        .unwrap();
    for _ in 0..2 {
        let resp = t
            .send(get(&format!("https://{}/x", support::REMOTE_HOST)))
            .await
            .unwrap();
        assert_eq!(resp.version(), http::Version::HTTP_2);
        assert_eq!(resp.into_body().collect().await.unwrap(), "tls in tls");
    }
    let heads = log.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "one tunnel, reused by HTTP/2");
    assert!(
        heads[0].starts_with("CONNECT gemini.test:443 HTTP/1.1\r\n")
            && heads[0].contains("Proxy-Authorization: Basic dTpw\r\n"),
        "{}",
        heads[0]
    );

    // A proxy whose certificate is not trusted is a TLS error that says so.
    let t = client(rt)
        .add_root_certificates_pem(server.cert_pem.clone().unwrap())
        .proxy(Proxy::url(&url).unwrap())
        .build()
        .unwrap();
    let err = t
        .send(get(&format!("https://{}/x", support::REMOTE_HOST)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("with the proxy"), "{err}");
}

async fn proxy_refusal_is_a_proxy_error(rt: Runtime) {
    let (proxy, _log) = support::connect_proxy(407);
    let t = client(rt)
        .proxy(Proxy::url(&format!("127.0.0.1:{}", proxy.addr.port())).unwrap())
        .build()
        .unwrap();
    let err = t.send(get("https://localhost:1/")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Proxy, "{err}");
    assert!(err.to_string().contains("407"), "{err}");
}

async fn plain_http_goes_through_a_forwarding_proxy_in_absolute_form(rt: Runtime) {
    // Over a plain `http://` proxy and over an `https://` one (TLS to the proxy).
    for tls in [false, true] {
        let seen = Arc::new(std::sync::Mutex::new(String::new()));
        let s = Arc::clone(&seen);
        let handler = move |mut tcp: support::Io| {
            let s = Arc::clone(&s);
            async move {
                *s.lock().unwrap() = support::read_head(&mut tcp).await;
                tcp.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await
                    .unwrap();
            }
        };
        let (proxy, scheme) = match tls {
            false => (support::raw(handler), "http"),
            true => (support::raw_tls(handler), "https"),
        };
        let mut t = client(rt)
            .allow_plain_http(true)
            .proxy(Proxy::url(&format!("{scheme}://u:p@localhost:{}", proxy.addr.port())).unwrap());
        if let Some(pem) = &proxy.cert_pem {
            t = t.add_root_certificates_pem(pem.clone());
        }
        let body = fetch(&t.build().unwrap(), "http://gemini.test/path?q=1").await;
        assert_eq!(body, "ok");
        let head = seen.lock().unwrap().clone();
        assert!(
            head.starts_with("GET http://gemini.test/path?q=1 HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(
            head.to_ascii_lowercase()
                .contains("proxy-authorization: basic dtpw\r\n"),
            "{head}"
        );
    }
}

async fn dropping_the_response_future_closes_the_connection(rt: Runtime) {
    let gone = Arc::new(AtomicUsize::new(0));
    let g = Arc::clone(&gone);
    let server = support::raw(move |mut tcp| {
        let g = Arc::clone(&g);
        async move {
            support::read_head(&mut tcp).await;
            // Never answer; wait for the client to go away.
            let mut buf = [0u8; 1];
            let _ = tokio::io::AsyncReadExt::read(&mut tcp, &mut buf).await;
            g.fetch_add(1, Ordering::SeqCst);
        }
    });
    let t = client(rt).build().unwrap();
    let fut = t.send(get(&server.http_url("/")));
    // Poll it a little, then give up on it.
    let sleep = rt.sleeper();
    let raced = futures_lite::future::or(async { Some(fut.await) }, async {
        sleep.sleep(Duration::from_millis(200)).await;
        None
    })
    .await;
    assert!(raced.is_none());
    assert!(
        wait_until(rt, BOUND, || gone.load(Ordering::SeqCst) == 1).await,
        "server did not see the close"
    );
    assert_eq!(server.accepted(), 1);
    assert_eq!(t.idle_connections(), 0);
}

on_both_runtimes!(
    plain_http_streams_chunks_in_order,
    connection_is_reused_after_a_complete_body,
    pooled_connection_closed_by_server_is_replaced,
    pooled_connection_dropped_while_idle_is_replaced,
    tls_with_custom_root_negotiates_h2,
    untrusted_certificate_is_a_tls_error,
    dropped_h1_body_closes_the_connection,
    dropped_h2_stream_is_reset,
    response_headers_timeout_fires,
    idle_timeout_follows_the_body_to_another_task,
    concurrent_streams_on_many_tasks_reuse_connections,
    total_timeout_fires_while_frames_keep_coming,
    connect_timeout_fires_on_a_stalled_handshake,
    refused_connection_is_a_connect_error,
    truncated_body_is_closed_mid_body,
    body_ended_by_close_is_read_to_the_end,
    error_body_is_collected_within_a_bound,
    garbage_response_is_a_protocol_error,
    https_through_a_connect_proxy,
    https_through_an_https_proxy,
    proxy_refusal_is_a_proxy_error,
    plain_http_goes_through_a_forwarding_proxy_in_absolute_form,
    dropping_the_response_future_closes_the_connection,
);

#[test]
fn auto_detection_picks_tokio_inside_tokio_and_smol_outside() {
    let server = support::start(None, support::ok("auto"));
    let t = gemini_transport::HyperTransport::builder()
        .proxy(Proxy::none())
        .build()
        .unwrap();
    let url = server.http_url("/");
    let on_smol = smol::block_on(async { fetch(&t, &url).await });
    assert_eq!(on_smol, "auto");
    assert_eq!(Runtime::detect(), Some(Runtime::Smol));
    let on_tokio = support::block_on(Runtime::Tokio, async {
        assert_eq!(Runtime::detect(), Some(Runtime::Tokio));
        fetch(&t, &url).await
    });
    assert_eq!(on_tokio, "auto");
    // Pool entries are per runtime: one connection each.
    assert_eq!(server.accepted(), 2);
}
