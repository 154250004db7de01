//! Targeted behaviour of the SSE decoder: size limit, truncation report, line endings split
//! across pieces, the byte-order mark, UTF-8 handling, offsets and reuse after `finish`.

use gemini_proto::sse::{DEFAULT_MAX_EVENT_SIZE, Discarded, EventTooLarge, SseDecoder, SseEvent};

fn all_events(decoder: &mut SseDecoder) -> Vec<SseEvent> {
    std::iter::from_fn(|| decoder.next_event()).collect()
}

fn datas(decoder: &mut SseDecoder) -> Vec<String> {
    all_events(decoder).into_iter().map(|e| e.data).collect()
}

#[test]
fn default_limit_is_64_mib_and_admits_a_multi_megabyte_image_event() {
    assert_eq!(DEFAULT_MAX_EVENT_SIZE, 64 << 20);
    let mut decoder = SseDecoder::new();
    assert_eq!(decoder.max_event_size(), 64 << 20);
    let payload = "A".repeat(5 << 20);
    let body = format!("data: {{\"inlineData\": \"{payload}\"}}\r\n\r\n");
    for piece in body.as_bytes().chunks(1460) {
        decoder.push(piece).unwrap();
    }
    let event = decoder.next_event().unwrap();
    assert_eq!(event.data.len(), payload.len() + 18);
    assert_eq!(decoder.finish(), None);
}

#[test]
fn oversized_event_is_a_typed_error_whatever_the_split() {
    // Two data lines of 6 bytes each: the event's data reaches 13 bytes (with the joining LF),
    // and the second line (12 bytes) on top of the first value (6) exceeds 16.
    let body = b"data: ok\n\ndata: 123456\ndata: 789012\n\ndata: never\n\n";
    for size in [1, 2, 5, body.len()] {
        let mut decoder = SseDecoder::with_max_event_size(16);
        let mut error = None;
        for piece in body.chunks(size) {
            if let Err(e) = decoder.push(piece) {
                error = Some(e);
                break;
            }
        }
        let error = error.expect("limit exceeded");
        assert_eq!(
            error,
            EventTooLarge {
                limit: 16,
                offset: 10,
                index: 1
            },
            "pieces of {size}"
        );
        assert!(error.to_string().contains("16 bytes"));
        // The decoder stays failed, and the event before the oversized one is kept.
        assert_eq!(decoder.push(b"\n\n"), Err(error));
        assert_eq!(datas(&mut decoder), ["ok"]);
    }
}

#[test]
fn oversized_single_line_without_terminator_stops_growth() {
    let mut decoder = SseDecoder::with_max_event_size(1000);
    let mut pushed = 0;
    let err = loop {
        match decoder.push(&[b'x'; 100]) {
            Ok(()) => pushed += 100,
            Err(e) => break e,
        }
        assert!(pushed <= 1000, "no error after {pushed} bytes");
    };
    assert_eq!(
        err,
        EventTooLarge {
            limit: 1000,
            offset: 0,
            index: 0
        }
    );
    assert_eq!(pushed, 1000);
}

#[test]
fn event_exactly_at_the_limit_is_accepted() {
    // The limit counts the line being received (10 bytes here, terminator excluded).
    let mut decoder = SseDecoder::with_max_event_size(10);
    decoder.push(b"data: abcd\r\n\r\n").unwrap();
    assert_eq!(datas(&mut decoder), ["abcd"]);
    let mut decoder = SseDecoder::with_max_event_size(10);
    let err = decoder.push(b"data: abcde\r\n\r\n").unwrap_err();
    assert_eq!(
        err,
        EventTooLarge {
            limit: 10,
            offset: 0,
            index: 0
        }
    );
}

#[test]
fn unterminated_event_at_eof_is_discarded_and_reported() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: 1\n\ndata: 2\ndata: 3\n").unwrap();
    assert_eq!(decoder.finish(), Some(Discarded { offset: 9, len: 16 }));
    assert_eq!(datas(&mut decoder), ["1"]);

    // An unterminated last line alone is reported too.
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: 1\n\n{\"error\": ").unwrap();
    assert_eq!(decoder.finish(), Some(Discarded { offset: 9, len: 10 }));

    // A clean end, with or without a trailing comment, reports nothing.
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: 1\r\n\r\n: bye\r\n").unwrap();
    assert_eq!(decoder.finish(), None);
}

#[test]
fn cr_at_end_of_one_piece_and_lf_at_start_of_next_is_one_line_end() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: a\r").unwrap();
    decoder.push(b"\ndata: b\r").unwrap();
    decoder.push(b"\n\r").unwrap();
    decoder.push(b"\n").unwrap();
    // Had the LFs counted as extra blank lines, "a" and "b" would be two events.
    assert_eq!(datas(&mut decoder), ["a\nb"]);
    assert_eq!(decoder.finish(), None);

    // A CR that ends a piece still ends the line when something other than LF follows.
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: a\r").unwrap();
    decoder.push(b"\rdata: b\r\r").unwrap();
    assert_eq!(datas(&mut decoder), ["a", "b"]);

    // An empty piece between the CR and the LF changes nothing.
    let mut decoder = SseDecoder::new();
    for piece in [&b"data: a\r"[..], b"", b"\n", b"\r", b"", b"\n"] {
        decoder.push(piece).unwrap();
    }
    assert_eq!(datas(&mut decoder), ["a"]);
}

#[test]
fn bom_split_across_pieces_is_stripped_once() {
    let body = b"\xEF\xBB\xBFdata: x\n\n";
    for split in 0..=body.len() {
        let mut decoder = SseDecoder::new();
        decoder.push(&body[..split]).unwrap();
        decoder.push(&body[split..]).unwrap();
        let events = all_events(&mut decoder);
        assert_eq!(events.len(), 1, "split at {split}");
        assert_eq!(events[0].data, "x");
        assert_eq!(events[0].offset, 3);
    }
    // Bytewise, and a second BOM is part of the field name (an unknown field).
    let mut decoder = SseDecoder::new();
    for byte in b"\xEF\xBB\xBF\xEF\xBB\xBFdata: 1\n\ndata: 2\n\n" {
        decoder.push(&[*byte]).unwrap();
    }
    assert_eq!(datas(&mut decoder), ["2"]);
    // A BOM prefix that turns out not to be a BOM is ordinary (invalid) text.
    let mut decoder = SseDecoder::new();
    decoder.push(b"\xEF").unwrap();
    decoder.push(b"\xBB").unwrap();
    decoder.push(b"data: y\n\ndata: z\n\n").unwrap();
    assert_eq!(datas(&mut decoder), ["z"]);
    // A BOM later in the stream is not stripped.
    let mut decoder = SseDecoder::new();
    decoder.push(b"data:\xEF\xBB\xBFv\n\n").unwrap();
    assert_eq!(datas(&mut decoder), ["\u{feff}v"]);
}

#[test]
fn short_body_that_is_a_bom_prefix_is_reported_at_finish() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"\xEF\xBB").unwrap();
    assert_eq!(decoder.finish(), Some(Discarded { offset: 0, len: 2 }));
    let mut decoder = SseDecoder::new();
    decoder.push(b"\xEF\xBB\xBF").unwrap();
    assert_eq!(decoder.finish(), None);
}

#[test]
fn utf8_split_across_pieces_and_invalid_bytes() {
    let text = "data: h\u{e9}llo \u{20ac} \u{1F600}\n\n";
    let mut decoder = SseDecoder::new();
    for byte in text.as_bytes() {
        decoder.push(&[*byte]).unwrap();
    }
    assert_eq!(datas(&mut decoder), ["h\u{e9}llo \u{20ac} \u{1F600}"]);

    // Invalid sequences become U+FFFD per maximal subpart, like String::from_utf8_lossy
    // (here: truncated 3-byte sequence E2 82, lone continuation 80, and FF).
    let mut decoder = SseDecoder::new();
    decoder
        .push(b"data: a\xE2\x82b\x80c\xFF\xE2\x82\xAC\n\n")
        .unwrap();
    assert_eq!(datas(&mut decoder), ["a\u{FFFD}b\u{FFFD}c\u{FFFD}\u{20ac}"]);

    // A truncated sequence at the end of one data line does not swallow the joining LF.
    let mut decoder = SseDecoder::new();
    decoder
        .push(b"data: \xF0\x9F\x98\ndata: \x80ok\n\n")
        .unwrap();
    assert_eq!(datas(&mut decoder), ["\u{FFFD}\n\u{FFFD}ok"]);
}

#[test]
fn fields_event_id_retry_and_offsets() {
    let body =
        b": hi\nevent: update\nid: 7\nretry: 1500\ndata: a\n\ndata: b\nid: 8\0\n\nid\ndata: c\n\n";
    let mut decoder = SseDecoder::new();
    decoder.push(body).unwrap();
    let events = all_events(&mut decoder);
    let summary: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.index,
                e.offset,
                e.event_type(),
                e.data.as_str(),
                e.last_event_id.as_str(),
                e.retry,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (0, 37, "update", "a", "7", Some(1500)),
            (1, 46, "message", "b", "7", Some(1500)),
            (2, 65, "message", "c", "", Some(1500)),
        ]
    );
    assert_eq!(events[1].event, None);
    assert_eq!(decoder.last_event_id(), "");
    assert_eq!(decoder.reconnection_time(), Some(1500));
}

#[test]
fn finish_resets_for_a_new_body_but_keeps_id_and_retry() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"id: 41\nretry: 20\ndata: x\n\n").unwrap();
    assert_eq!(decoder.finish(), None);
    assert_eq!(decoder.position(), 0);
    decoder.push(b"\xEF\xBB\xBFdata: y\n\n").unwrap();
    let events = all_events(&mut decoder);
    assert_eq!(events.len(), 2);
    let second = &events[1];
    assert_eq!(
        (second.data.as_str(), second.index, second.offset),
        ("y", 0, 3)
    );
    assert_eq!(
        (second.last_event_id.as_str(), second.retry),
        ("41", Some(20))
    );
}

#[test]
fn retry_overflow_saturates_and_non_digits_are_ignored() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"retry: 99999999999999999999999\n\n").unwrap();
    assert_eq!(decoder.reconnection_time(), Some(u64::MAX));
    decoder
        .push(b"retry: +5\nretry: 5 \nretry: -1\n\n")
        .unwrap();
    assert_eq!(decoder.reconnection_time(), Some(u64::MAX));
}

#[test]
fn long_data_lines_held_over_many_pieces_decode_like_whole_input() {
    // Lines long enough to be held over many pieces (the decoder handles those specially).
    let long = "L".repeat(40_000);
    let body = format!(
        ": c\r\ndata:{long}\r\ndata: two\r\n\r\ndata {long}\r\n\r\ndata\r\ndata: {long}\r\n\r\nevent: e\r\ndata: {long}\r\n\r\n"
    );
    // `data {long}` is an unknown field (no dispatch); `data` alone contributes an empty line.
    let want = [format!("{long}\ntwo"), format!("\n{long}"), long.clone()];
    for size in [1, 7, 1000, 1460, 16_384, 50_000, body.len()] {
        let mut decoder = SseDecoder::new();
        for piece in body.as_bytes().chunks(size) {
            decoder.push(piece).unwrap();
        }
        let events = all_events(&mut decoder);
        let got: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(got, want, "pieces of {size}");
        let offsets: Vec<u64> = events.iter().map(|e| e.offset).collect();
        assert_eq!(offsets, [5, 80_034, 120_060], "pieces of {size}");
        assert_eq!(events[2].event_type(), "e");
        assert_eq!(decoder.finish(), None);
    }
    // The size limit applies to adopted lines too.
    let mut decoder = SseDecoder::with_max_event_size(30_000);
    let err = body
        .as_bytes()
        .chunks(1460)
        .find_map(|piece| decoder.push(piece).err())
        .unwrap();
    assert_eq!(
        err,
        EventTooLarge {
            limit: 30_000,
            offset: 5,
            index: 0
        }
    );
}
