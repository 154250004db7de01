//! The HTTP/1.1 response reader of gemini-transport (head with httparse, then the body's
//! framing: fixed length, chunked or until the close) never panics, and reads the same response
//! whether it arrives whole or in two pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Two bytes of cut point (little-endian), then the response.
    let Some((cut, input)) = data.split_first_chunk::<2>() else {
        return;
    };
    gemini_transport::fuzz_h1::read_response(input, usize::from(u16::from_le_bytes(*cut)));
});
