//! What the transport reads from the environment: `ALL_PROXY`/`HTTPS_PROXY`/`HTTP_PROXY`
//! (`http://` and `https://` proxies), unusable proxy variables, the CGI guard,
//! `SSL_CERT_FILE` and the platform's roots, on tokio and on smol.
//!
//! A test cannot change its own environment safely (other tests' threads read it), so each case
//! runs in a child process: this binary runs itself with the case's variables set. It has its
//! own `main` (`harness = false`) and prints results in the test harness's format. The parent
//! starts the servers and proxies; the child makes the requests; both check what they see.

mod support;

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gemini_transport::{ErrorKind, HttpTransport, HyperTransport, Proxy, Runtime};

/// Every variable the cases set, removed from the environment children inherit.
const VARS: &[&str] = &[
    "ALL_PROXY",
    "all_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];
const CASE: &str = "GEMINI_TRANSPORT_TEST_CASE";
const URL: &str = "GEMINI_TRANSPORT_TEST_URL";
const CA: &str = "GEMINI_TRANSPORT_TEST_CA";

fn runtime(name: &str) -> Runtime {
    if name.ends_with("::smol") {
        Runtime::Smol
    } else {
        Runtime::Tokio
    }
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

async fn get(t: &HyperTransport, url: &str) -> Result<Bytes, gemini_transport::TransportError> {
    let req = http::Request::get(url).body(Bytes::new()).unwrap();
    t.send(req).await?.into_body().collect().await
}

// ---- the children: each runs with its variables set -------------------------------------------

/// Requests `$URL` through the proxy the environment names, trusting `$CA`.
async fn child_proxy_from_env(rt: Runtime) {
    let t = HyperTransport::builder()
        .runtime(rt)
        .allow_plain_http(true)
        .add_root_certificates_pem(var(CA))
        .build()
        .unwrap();
    assert_eq!(get(&t, &var(URL)).await.unwrap(), "through the proxy");
}

/// An unusable proxy variable: `build` fails naming it; `HyperTransport::new` fails requests.
async fn child_unusable_proxy_variable(rt: Runtime) {
    let named = ["HTTPS_PROXY", "ALL_PROXY"]
        .into_iter()
        .find(|n| std::env::var(n).is_ok())
        .unwrap();
    let err = HyperTransport::builder().runtime(rt).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Proxy, "{err}");
    assert!(err.to_string().contains(named), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
    let err = get(&HyperTransport::new(), &var(URL)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Proxy, "{err}");
    assert!(err.to_string().contains(named), "{err}");
    let err = Proxy::from_env().unwrap_err();
    assert!(err.to_string().contains(named), "{err}");
}

/// Under CGI (`REQUEST_METHOD` set) proxy variables are ignored, even unusable ones.
async fn child_cgi_ignores_proxy_variables(rt: Runtime) {
    let proxy = Proxy::from_env().unwrap();
    assert_eq!(proxy.proxy_for(support::REMOTE_HOST, true), None);
    assert_eq!(proxy.proxy_for(support::REMOTE_HOST, false), None);
    let t = HyperTransport::builder()
        .runtime(rt)
        .add_root_certificates_pem(var(CA))
        .build()
        .unwrap();
    assert_eq!(get(&t, &var(URL)).await.unwrap(), "direct");
}

/// `SSL_CERT_FILE` replaces the built-in roots; `roots_from_env(false)` ignores it.
async fn child_ssl_cert_file(rt: Runtime) {
    let url = var(URL);
    let t = HyperTransport::builder().runtime(rt).build().unwrap();
    assert_eq!(get(&t, &url).await.unwrap(), "direct");
    assert_eq!(get(&HyperTransport::new(), &url).await.unwrap(), "direct");
    let t = HyperTransport::builder()
        .runtime(rt)
        .roots_from_env(false)
        .build()
        .unwrap();
    assert_eq!(get(&t, &url).await.unwrap_err().kind(), ErrorKind::Tls);
}

/// An `SSL_CERT_FILE` that cannot be used is an error naming it.
async fn child_unusable_ssl_cert_file(rt: Runtime) {
    let err = HyperTransport::builder().runtime(rt).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("SSL_CERT_FILE"), "{err}");
    let err = get(&HyperTransport::new(), &var(URL)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("SSL_CERT_FILE"), "{err}");
}

/// The platform verifier trusts what the system store holds (on Linux, `SSL_CERT_DIR` is part
/// of it) and the roots added explicitly, and nothing else.
async fn child_platform_roots(rt: Runtime) {
    let url = var(URL);
    let platform = || HyperTransport::builder().runtime(rt).platform_roots(true);
    if std::env::var_os("SSL_CERT_DIR").is_some() {
        assert_eq!(
            get(&platform().build().unwrap(), &url).await.unwrap(),
            "direct"
        );
        return;
    }
    let err = match platform().build() {
        Ok(t) => get(&t, &url).await.unwrap_err(),
        // A machine without any CA bundle: the verifier cannot start.
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    let t = platform()
        .add_root_certificates_pem(var(CA))
        .build()
        .unwrap();
    assert_eq!(get(&t, &url).await.unwrap(), "direct");
}

fn run_child(case: &str) {
    let rt = runtime(case);
    let name = case.split("::").next().unwrap();
    let f = async move {
        match name {
            "all_proxy" | "https_proxy" | "http_proxy_for_plain_http" => {
                child_proxy_from_env(rt).await
            }
            "unusable_https_proxy" | "unusable_all_proxy" => {
                child_unusable_proxy_variable(rt).await
            }
            "cgi_ignores_proxy_variables" => child_cgi_ignores_proxy_variables(rt).await,
            "ssl_cert_file" => child_ssl_cert_file(rt).await,
            "unusable_ssl_cert_file" => child_unusable_ssl_cert_file(rt).await,
            "platform_roots" | "platform_roots_with_ssl_cert_dir" => child_platform_roots(rt).await,
            other => panic!("unknown case {other}"),
        }
    };
    support::block_on(rt, f);
}

// ---- the parent: servers, proxies and one child per case ---------------------------------------

struct Child<'a> {
    case: String,
    vars: Vec<(&'a str, String)>,
}

/// Runs this binary as a child for `case` with `vars` set; `Err` with its output on failure.
fn spawn(child: &Child<'_>) -> Result<(), String> {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    for v in VARS {
        cmd.env_remove(v);
    }
    cmd.env(CASE, &child.case);
    for (k, v) in &child.vars {
        cmd.env(k, v);
    }
    let mut proc = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let until = Instant::now() + Duration::from_secs(60);
    while proc.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() > until {
            let _ = proc.kill();
            return Err("timed out after 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = proc.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// This run's directory in the system's temporary directory.
fn temp_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gemini-transport-env-{}", std::process::id()))
}

/// `NAME/NAME.pem` in [`temp_dir`], holding `content` (one file per directory, so that a
/// directory can serve as `SSL_CERT_DIR`).
fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    let dir = temp_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, content).unwrap();
    path
}

type Check = Box<dyn Fn() -> Result<(), String>>;

fn main() -> ExitCode {
    if let Ok(case) = std::env::var(CASE) {
        run_child(&case);
        return ExitCode::SUCCESS;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();

    // A TLS server answering "direct", another one reached only through the proxies (as
    // gemini.test), a plain one, and the proxies.
    let direct = support::start(Some(&[b"h2", b"http/1.1"]), support::ok("direct"));
    let remote = support::start(
        Some(&[b"h2", b"http/1.1"]),
        support::ok("through the proxy"),
    );
    let plain = support::start(None, support::ok("through the proxy"));
    let (connect_proxy, connect_log) = support::proxy_server(false, 200, Some(remote.addr));
    let (tls_proxy, tls_log) = support::proxy_server(true, 200, Some(remote.addr));
    // A forwarding proxy for plain HTTP: it is the plain server itself, which answers any
    // absolute-form request.
    let pem = |s: &support::Server| s.cert_pem.clone().unwrap();
    let remote_url = format!("https://{}/x", support::REMOTE_HOST);
    let direct_url = direct.https_url("/x");
    let ca_all = [pem(&direct), pem(&remote), pem(&tls_proxy)].concat();
    let cert_dir = temp_file("dir", &pem(&direct));

    let mut cases: Vec<(Child<'_>, Check)> = Vec::new();
    let nothing_more = || -> Check { Box::new(|| Ok(())) };
    // The child made one request, through one tunnel to gemini.test.
    let one_tunnel = |log: &std::sync::Arc<support::ProxyLog>| -> Check {
        let log = std::sync::Arc::clone(log);
        Box::new(move || {
            let heads = std::mem::take(&mut *log.heads.lock().unwrap());
            match heads.as_slice() {
                [head] if head.starts_with("CONNECT gemini.test:443 HTTP/1.1\r\n") => Ok(()),
                _ => Err(format!("expected one tunnel to gemini.test:443: {heads:?}")),
            }
        })
    };
    let file = |name: &str, content: &str| temp_file(name, content).display().to_string();
    let proxy_url =
        |scheme: &str, s: &support::Server| format!("{scheme}://localhost:{}", s.addr.port());
    for rt in ["tokio", "smol"] {
        let mut add = |name: &str, vars: Vec<(&'static str, String)>, check: Check| {
            let case = format!("{name}::{rt}");
            cases.push((Child { case, vars }, check));
        };
        let remote = || vec![(URL, remote_url.clone()), (CA, ca_all.clone())];
        let direct_vars = || vec![(URL, direct_url.clone()), (CA, pem(&direct))];
        add(
            "all_proxy",
            [
                vec![("ALL_PROXY", proxy_url("http", &connect_proxy))],
                remote(),
            ]
            .concat(),
            one_tunnel(&connect_log),
        );
        add(
            "https_proxy",
            [
                vec![
                    ("HTTPS_PROXY", proxy_url("https", &tls_proxy)),
                    // ALL_PROXY does not apply where HTTPS_PROXY does.
                    ("all_proxy", "http://127.0.0.1:1".into()),
                ],
                remote(),
            ]
            .concat(),
            one_tunnel(&tls_log),
        );
        add(
            "http_proxy_for_plain_http",
            vec![
                ("http_proxy", proxy_url("http", &plain)),
                ("HTTPS_PROXY", "http://127.0.0.1:1".into()),
                (URL, "http://gemini.test/x".into()),
                (CA, ca_all.clone()),
            ],
            nothing_more(),
        );
        add(
            "unusable_https_proxy",
            [
                vec![("HTTPS_PROXY", "http://u:secret@[::1".into())],
                direct_vars(),
            ]
            .concat(),
            nothing_more(),
        );
        add(
            "unusable_all_proxy",
            [
                vec![("ALL_PROXY", "socks5://u:secret@proxy:1080".into())],
                direct_vars(),
            ]
            .concat(),
            nothing_more(),
        );
        add(
            "cgi_ignores_proxy_variables",
            [
                vec![
                    ("REQUEST_METHOD", "GET".into()),
                    ("HTTP_PROXY", "http://[::1".into()),
                    ("ALL_PROXY", proxy_url("http", &connect_proxy)),
                ],
                direct_vars(),
            ]
            .concat(),
            nothing_more(),
        );
        add(
            "ssl_cert_file",
            [
                vec![("SSL_CERT_FILE", file("file", &pem(&direct)))],
                direct_vars(),
            ]
            .concat(),
            nothing_more(),
        );
        add(
            "unusable_ssl_cert_file",
            [
                vec![("SSL_CERT_FILE", file("empty", "no certificate here"))],
                direct_vars(),
            ]
            .concat(),
            nothing_more(),
        );
        add("platform_roots", direct_vars(), nothing_more());
        if cfg!(target_os = "linux") {
            let dir = cert_dir.parent().unwrap().display().to_string();
            add(
                "platform_roots_with_ssl_cert_dir",
                [vec![("SSL_CERT_DIR", dir)], direct_vars()].concat(),
                nothing_more(),
            );
        }
    }

    if args.iter().any(|a| a == "--list") {
        for (child, _) in &cases {
            println!("{}: test", child.case);
        }
        return ExitCode::SUCCESS;
    }
    let selected: Vec<&(Child<'_>, Check)> = cases
        .iter()
        .filter(|(c, _)| filters.is_empty() || filters.iter().any(|f| c.case.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed) = (0, Vec::new());
    for (child, check) in &selected {
        match spawn(child).and_then(|()| check()) {
            Ok(()) => {
                passed += 1;
                println!("test {} ... ok", child.case);
            }
            Err(out) => {
                println!("test {} ... FAILED", child.case);
                failed.push((child.case.clone(), out));
            }
        }
    }
    for (case, out) in &failed {
        println!("\n---- {case} ----\n{out}");
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; 0 ignored; 0 measured; {} filtered out\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        cases.len() - selected.len()
    );
    let _ = std::fs::remove_dir_all(temp_dir());
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
