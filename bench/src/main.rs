//! `gemini-bench`: the benchmark server, one client run, or the whole suite.
//!
//! ```text
//! gemini-bench run [--quick] [--out DIR] [--write] [--no-valgrind] [--no-python] [--clients a,b]
//! gemini-bench serve [--port P] [--core N]
//! gemini-bench client NAME --port P --mode requests|concurrent|long --workload W
//!                     [--warmup N] [--requests N] [--concurrency N] [--rounds N]
//!                     [--no-aggregate] [--core N]
//! ```

use std::io::Write as _;
use std::process::ExitCode;

use gemini_bench::alloc::Counting;
use gemini_bench::clients::{self, Kind};
use gemini_bench::workload::Workload;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Options of the `client` and `serve` commands.
#[derive(Debug, Default)]
struct Options {
    port: u16,
    mode: String,
    workload: Option<Workload>,
    warmup: usize,
    requests: usize,
    concurrency: usize,
    rounds: usize,
    aggregate: bool,
    core: Option<usize>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        requests: 1,
        concurrency: 1,
        rounds: 1,
        aggregate: true,
        ..Options::default()
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let number = |v: &String| {
            v.parse::<usize>()
                .map_err(|_| format!("{arg}: {v:?} is not a number"))
        };
        match arg.as_str() {
            "--port" => options.port = number(value()?)? as u16,
            "--mode" => options.mode = value()?.clone(),
            "--workload" => {
                let name = value()?;
                options.workload = Some(
                    Workload::find(
                        format!("{}{name}", gemini_bench::workload::MODEL_PREFIX).as_bytes(),
                    )
                    .ok_or(format!("unknown workload {name:?}"))?,
                );
            }
            "--warmup" => options.warmup = number(value()?)?,
            "--requests" => options.requests = number(value()?)?,
            "--concurrency" => options.concurrency = number(value()?)?,
            "--rounds" => options.rounds = number(value()?)?,
            "--no-aggregate" => options.aggregate = false,
            "--core" => options.core = Some(number(value()?)?),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(options)
}

fn pin(core: Option<usize>) {
    if let Some(id) = core {
        // Threads started later inherit the mask.
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

fn client(name: &str, options: Options) -> Result<String, String> {
    let kind = Kind::from_arg(name).ok_or(format!("unknown client {name:?}"))?;
    let workload = options.workload.ok_or("--workload is required")?;
    pin(options.core);
    let json = |v: serde_json::Value| v.to_string();
    match options.mode.as_str() {
        "requests" => {
            let samples = clients::run_requests(
                kind,
                options.port,
                workload,
                options.warmup,
                options.requests,
                options.aggregate,
            )?;
            Ok(json(serde_json::json!({ "samples": samples })))
        }
        "concurrent" => {
            let rounds = clients::run_concurrent(
                kind,
                options.port,
                workload,
                options.concurrency,
                options.rounds,
            )?;
            Ok(json(serde_json::json!({ "rounds": rounds })))
        }
        "long" => {
            let Workload::Long(bytes) = workload else {
                return Err("--mode long needs a long-BYTES workload".into());
            };
            let long = clients::run_long(kind, options.port, bytes, options.aggregate)?;
            Ok(json(serde_json::json!({ "long": long })))
        }
        other => Err(format!("unknown mode {other:?}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((command, rest)) if command == "run" => gemini_bench::run::run(rest),
        Some((command, rest)) if command == "serve" => parse(rest).and_then(|options| {
            pin(options.core);
            gemini_bench::server::serve(options.port, |port| {
                println!("{port}");
                let _ = std::io::stdout().flush();
            })
            .map_err(|e| e.to_string())
        }),
        Some((command, rest)) if command == "client" => match rest.split_first() {
            Some((name, rest)) => parse(rest)
                .and_then(|options| client(name, options))
                .map(|out| println!("{out}")),
            None => Err("client needs a client name".into()),
        },
        _ => Err("usage: gemini-bench run|serve|client … (gemini-bench run --help)".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
