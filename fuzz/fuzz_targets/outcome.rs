//! Shared by the decoder targets: runs a push decoder over the pieces of a body and collects what
//! it yields, checking the protocol every decoder follows (items, then at most one terminal error,
//! nothing after it).

use gemini_proto::Error;

/// An error, as far as it can be compared.
pub type ErrorSummary = (String, Option<u64>, Option<u64>, String);

/// A push decoder: bytes in, items and at most one terminal error out.
pub trait Decoder {
    type Item;
    fn push(&mut self, bytes: &[u8]);
    fn finish(&mut self);
    fn next(&mut self) -> Option<Result<Self::Item, Error>>;
    fn is_done(&self) -> bool;
}

/// Feeds `pieces` to `decoder`, then the end of the body; returns the items and the terminal
/// error.
pub fn collect<D: Decoder>(decoder: &mut D, pieces: &[&[u8]]) -> (Vec<D::Item>, Option<ErrorSummary>) {
    let mut items = Vec::new();
    let mut error = None;
    let mut drain = |decoder: &mut D| {
        while let Some(item) = decoder.next() {
            match item {
                Ok(item) => {
                    assert!(error.is_none(), "an item came after the terminal error");
                    items.push(item);
                }
                Err(err) => {
                    assert!(error.is_none(), "two terminal errors");
                    error = Some((
                        format!("{:?}", err.kind()),
                        err.event_index(),
                        err.byte_offset(),
                        err.to_string(),
                    ));
                }
            }
        }
    };
    for piece in pieces {
        decoder.push(piece);
        drain(decoder);
    }
    decoder.finish();
    drain(decoder);
    assert!(decoder.is_done());
    (items, error)
}
