//! Where a streaming call stands with its current request: [`Phase`], shared by the machines
//! that decode a stream.

use super::body::Collected;
use crate::chunk::ChunkDecoder;
use crate::interactions::EventDecoder;

/// A push decoder of a streamed body.
pub(crate) trait StreamDecoder {
    /// A piece of the body.
    fn push(&mut self, bytes: &[u8]);
    /// The end of the body.
    fn finish(&mut self);
}

impl StreamDecoder for ChunkDecoder {
    fn push(&mut self, bytes: &[u8]) {
        ChunkDecoder::push(self, bytes);
    }
    fn finish(&mut self) {
        ChunkDecoder::finish(self);
    }
}

impl StreamDecoder for EventDecoder {
    fn push(&mut self, bytes: &[u8]) {
        EventDecoder::push(self, bytes);
    }
    fn finish(&mut self) {
        EventDecoder::finish(self);
    }
}

/// Where a call stands with its current request.
#[derive(Debug)]
pub(crate) enum Phase<D> {
    /// The next poll sends an attempt.
    Ready,
    AwaitingHead,
    /// A successful stream is being decoded.
    Streaming(Box<D>),
    /// A unary answer, or an error response, is being read.
    Collecting(Collected),
    Finished,
}

impl<D: StreamDecoder> Phase<D> {
    /// A piece of the response body arrived.
    pub(crate) fn frame(&mut self, bytes: &[u8]) {
        match self {
            Phase::Streaming(decoder) => decoder.push(bytes),
            Phase::Collecting(body) => body.push(bytes),
            _ => {}
        }
    }

    /// The response body ended.
    pub(crate) fn end(&mut self) {
        match self {
            Phase::Streaming(decoder) => decoder.finish(),
            Phase::Collecting(body) => body.end(),
            _ => {}
        }
    }

    /// A request is under way, so a failure of the transport belongs to it.
    pub(crate) fn in_request(&self) -> bool {
        matches!(
            self,
            Phase::AwaitingHead | Phase::Streaming(_) | Phase::Collecting(_)
        )
    }
}
