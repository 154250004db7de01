//! What every example needs around the code it shows: a client for Google when an API key is set
//! and for the embedded emulator otherwise, and an exit that prints errors for people (and stays
//! quiet when stdout was closed, as by `| head`).
#![allow(dead_code)]

use std::fmt;
use std::io;
use std::process::ExitCode;

use gemini_emulator::{Emulator, EmulatorConfig, Pace};

/// Whether `GEMINI_API_KEY` or `GOOGLE_API_KEY` holds a key.
pub fn api_key_is_set() -> bool {
    gemini::API_KEY_VARIABLES
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|key| !key.trim().is_empty()))
}

/// The emulator, started when no key is set (keep it alive while the client is used).
pub fn emulator_unless_key_set() -> Result<Option<Emulator>, Failure> {
    if api_key_is_set() {
        return Ok(None);
    }
    let emulator = Emulator::start_blocking(EmulatorConfig::new().pace(Pace::realistic()))
        .map_err(Failure::Emulator)?;
    eprintln!(
        "(no GEMINI_API_KEY set: using the embedded emulator at {})\n",
        emulator.base_url()
    );
    Ok(Some(emulator))
}

/// A client for Google, or for `emulator`.
pub fn client(emulator: &Option<Emulator>) -> Result<gemini::Client, Failure> {
    Ok(match emulator {
        None => gemini::Client::from_env()?,
        Some(local) => gemini::Client::builder()
            .api_key("emulator")
            .base_url(local.base_url())
            .build()?,
    })
}

/// A blocking client for Google, or for `emulator`.
pub fn blocking_client(emulator: &Option<Emulator>) -> Result<gemini::blocking::Client, Failure> {
    Ok(match emulator {
        None => gemini::blocking::Client::from_env()?,
        Some(local) => gemini::blocking::Client::builder()
            .api_key("emulator")
            .base_url(local.base_url())
            .build()?,
    })
}

/// Why an example stopped.
#[derive(Debug)]
pub enum Failure {
    Gemini(gemini::Error),
    Output(io::Error),
    Emulator(io::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Gemini(error) => error.fmt(f),
            Failure::Output(error) => write!(f, "cannot write the answer: {error}"),
            Failure::Emulator(error) => write!(f, "cannot start the emulator: {error}"),
        }
    }
}

impl From<gemini::Error> for Failure {
    fn from(error: gemini::Error) -> Self {
        Failure::Gemini(error)
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::Output(error)
    }
}

/// The exit code for `result`, with the error on stderr in one line.
pub fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Output(error)) if error.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("\nerror: {failure}");
            ExitCode::FAILURE
        }
    }
}
