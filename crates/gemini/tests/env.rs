//! `Client::from_env` reads the variables the official SDKs read. The environment belongs to the
//! whole process (and changing it is `unsafe`), so each case runs this program again as a child
//! process with its own environment; the parent checks what reached the emulator.

use std::process::{Command, ExitCode};

use gemini_emulator::{Emulator, EmulatorConfig};

const CHILD: &str = "GEMINI_RS_ENV_TEST_CHILD";

/// In the child: make one request with a client from the environment, and print what was logged.
fn child() -> ExitCode {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let writer = {
        let log = log.clone();
        move || Sink(log.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, || {
        let client = gemini::Client::from_env()?;
        futures_lite::future::block_on(
            client
                .models()
                .generate_content("gemini-2.5-flash", "Hi")
                .send(),
        )
        .map(drop)
    });
    let log = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    match result {
        Ok(()) => {
            println!("ok");
            print!("{log}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the child with exactly these variables set (and the others of interest removed).
fn run_child(vars: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env(CHILD, "1")
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_GEMINI_BASE_URL");
    for (name, value) in vars {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let emulator = Emulator::start_blocking(EmulatorConfig::default()).unwrap();
    let base = emulator.base_url();
    let used_key = |emulator: &Emulator| {
        emulator
            .requests()
            .last()
            .and_then(|r| r.header("x-goog-api-key").map(str::to_owned))
    };

    // GEMINI_API_KEY alone.
    let (ok, out) = run_child(&[
        ("GEMINI_API_KEY", "gemini-key"),
        ("GOOGLE_GEMINI_BASE_URL", &base),
    ]);
    assert!(ok, "{out}");
    assert_eq!(used_key(&emulator).as_deref(), Some("gemini-key"));
    assert!(!out.contains("both"), "{out}");

    // GOOGLE_API_KEY alone.
    let (ok, out) = run_child(&[
        ("GOOGLE_API_KEY", "google-key"),
        ("GOOGLE_GEMINI_BASE_URL", &base),
    ]);
    assert!(ok, "{out}");
    assert_eq!(used_key(&emulator).as_deref(), Some("google-key"));

    // Both: GOOGLE_API_KEY wins, and a debug-level note says so (without either key).
    let (ok, out) = run_child(&[
        ("GOOGLE_API_KEY", "google-key-2"),
        ("GEMINI_API_KEY", "gemini-key-2"),
        ("GOOGLE_GEMINI_BASE_URL", &base),
    ]);
    assert!(ok, "{out}");
    assert_eq!(used_key(&emulator).as_deref(), Some("google-key-2"));
    assert!(
        out.contains("DEBUG") && out.contains("both GOOGLE_API_KEY and GEMINI_API_KEY are set"),
        "{out}"
    );
    assert!(
        !out.contains("google-key-2") && !out.contains("gemini-key-2"),
        "{out}"
    );

    // An empty value counts as unset.
    let (ok, out) = run_child(&[
        ("GOOGLE_API_KEY", "  "),
        ("GEMINI_API_KEY", "gemini-key-3"),
        ("GOOGLE_GEMINI_BASE_URL", &base),
    ]);
    assert!(ok, "{out}");
    assert_eq!(used_key(&emulator).as_deref(), Some("gemini-key-3"));

    // Neither: a clear error, and nothing sent.
    let before = emulator.requests().len();
    let (ok, out) = run_child(&[("GOOGLE_GEMINI_BASE_URL", &base)]);
    assert!(!ok);
    assert_eq!(
        out.trim(),
        "error: invalid request: no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)"
    );
    assert_eq!(emulator.requests().len(), before);

    println!("from_env: 5 cases passed");
    ExitCode::SUCCESS
}
