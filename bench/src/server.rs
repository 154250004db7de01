//! The benchmark server: answers every streamed request with pre-rendered bytes, so that it is
//! never what a client waits for.
//!
//! One thread (a current-thread tokio runtime, pinned to its own core where the machine has
//! more than one) serves every connection. A request is read whole (head and body), its route
//! and workload are looked up, and the response, rendered once per workload and kept, is written
//! with `write_all`: one `write` per socket-buffer's worth. A long stream repeats one pre-rendered
//! block of events. Connections are kept alive.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::workload::{LongStream, Route, Workload, response};

/// Rendered answers, by route and workload.
#[derive(Default)]
struct Cache {
    whole: HashMap<(Route, Workload), Bytes>,
    long: HashMap<Route, Arc<LongStream>>,
}

type Shared = Arc<Mutex<Cache>>;

/// Serves on `127.0.0.1:port` (0: any free port) until the process ends; `ready` is called
/// with the port once the listener is bound.
pub fn serve(port: u16, ready: impl FnOnce(u16)) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(([127, 0, 0, 1], port).into())?;
        // Room for a thousand clients connecting at once.
        let listener = socket.listen(4096)?;
        ready(listener.local_addr()?.port());
        let cache = Shared::default();
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(connection(stream, Arc::clone(&cache)));
        }
    })
}

/// A parsed request head: where the body ends.
fn request_end(buffer: &[u8]) -> Option<usize> {
    let head = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let length = buffer[..head]
        .split(|&b| b == b'\n')
        .find_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    Some(head + length)
}

async fn connection(mut stream: TcpStream, cache: Shared) {
    let mut buffer = Vec::with_capacity(16 * 1024);
    loop {
        let end = loop {
            if let Some(end) = request_end(&buffer).filter(|end| buffer.len() >= *end) {
                break end;
            }
            match stream.read_buf(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let request = &buffer[..end];
        let line_end = request
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(request.len());
        let line = &request[..line_end];
        let route = if contains(line, b":streamGenerateContent") {
            Some(Route::Native)
        } else if contains(line, b"/chat/completions") {
            Some(Route::Compat)
        } else {
            None
        };
        let workload = match route {
            Some(Route::Native) => Workload::find(line),
            _ => Workload::find(request),
        };
        let written = match (route, workload) {
            (Some(route), Some(Workload::Long(bytes))) => {
                let long = Arc::clone(
                    cache
                        .lock()
                        .unwrap()
                        .long
                        .entry(route)
                        .or_insert_with(|| Arc::new(LongStream::new(route))),
                );
                write_long(&mut stream, &long, bytes).await
            }
            (Some(route), Some(workload)) => {
                let bytes = cache
                    .lock()
                    .unwrap()
                    .whole
                    .entry((route, workload))
                    .or_insert_with(|| Bytes::from(response(route, workload)))
                    .clone();
                stream.write_all(&bytes).await
            }
            _ => {
                stream
                    .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    .await
            }
        };
        if written.is_err() {
            return;
        }
        buffer.drain(..end);
    }
}

async fn write_long(stream: &mut TcpStream, long: &LongStream, bytes: u64) -> io::Result<()> {
    stream.write_all(long.head).await?;
    for _ in 0..long.repeats(bytes) {
        stream.write_all(&long.block).await?;
    }
    stream.write_all(&long.end).await
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_ends_after_its_body() {
        let request = b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST";
        assert_eq!(request_end(request), Some(request.len() - 4));
        assert_eq!(request_end(b"GET / HTTP/1.1\r\n\r\n"), Some(18));
        assert_eq!(request_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
