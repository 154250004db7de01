//! Producing a scripted response body: the steps (writes, padding, pauses, a close), and the
//! byte-level faults (`close-after-bytes`, `drip`) applied as the bytes go out.
//!
//! Everything here is lazy, so memory stays bounded whatever the faults ask for: an oversized
//! event's padding is written from one static buffer, and a drip cuts each write as it is sent
//! instead of planning a step per byte. The producer stops as soon as its client is gone: every
//! send and every pause (a stall, a drip interval, the pace) also waits for the body to be
//! dropped.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::fault::{Fault, FaultSpec};
use crate::server::{ConnCtrl, Shared};

/// What a streaming producer sends to the body.
pub(crate) enum Msg {
    Data(Bytes),
    Abort,
}

/// One action of a scripted response body.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Bytes to write; `true` when they are (or end) an event.
    Write(Bytes, bool),
    /// This many bytes of filler text (inside an event's JSON string), written piece by piece.
    Pad(usize),
    Sleep(Duration),
    Close {
        reset: bool,
    },
}

/// The filler pieces are slices of this (plain letters and spaces, safe inside a JSON string).
fn filler() -> &'static Bytes {
    static FILLER: OnceLock<Bytes> = OnceLock::new();
    FILLER.get_or_init(|| {
        b"lorem ipsum dolor sit amet "
            .iter()
            .copied()
            .cycle()
            .take(64 * 1024)
            .collect::<Vec<u8>>()
            .into()
    })
}

/// The byte-level faults of a spec.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ByteFaults {
    /// `close-after-bytes=N[,reset]`.
    close_after: Option<(usize, bool)>,
    /// `drip=INTERVAL:BYTES`.
    drip: Option<(Duration, usize)>,
}

impl ByteFaults {
    pub(crate) fn of(spec: &FaultSpec) -> Self {
        ByteFaults {
            close_after: spec.find(|f| match f {
                Fault::CloseAfterBytes { bytes, reset } => Some((*bytes, *reset)),
                _ => None,
            }),
            drip: spec.find(|f| match f {
                Fault::Drip { interval, bytes } => Some((*interval, (*bytes).max(1))),
                _ => None,
            }),
        }
    }

    /// True when the bytes go out as they are.
    pub(crate) fn is_none(&self) -> bool {
        self.close_after.is_none() && self.drip.is_none()
    }
}

/// The client went away (the body was dropped): stop producing.
struct Gone;

/// Writes a scripted body into the channel its response body reads from.
pub(crate) struct Producer {
    pub tx: mpsc::Sender<Msg>,
    pub shared: Arc<Shared>,
    pub ctrl: Arc<ConnCtrl>,
    pub faults: ByteFaults,
    /// Body bytes handed to the channel so far.
    sent: usize,
}

impl Producer {
    pub(crate) fn new(
        tx: mpsc::Sender<Msg>,
        shared: Arc<Shared>,
        ctrl: Arc<ConnCtrl>,
        faults: ByteFaults,
    ) -> Self {
        Producer {
            tx,
            shared,
            ctrl,
            faults,
            sent: 0,
        }
    }

    /// Runs the steps to the end, a close, or the client's departure.
    pub(crate) async fn run(mut self, steps: Vec<Step>) {
        let _ = self.run_steps(steps).await;
    }

    async fn run_steps(&mut self, steps: Vec<Step>) -> Result<(), Gone> {
        for step in steps {
            match step {
                Step::Write(bytes, event) => self.write(bytes, event).await?,
                Step::Pad(mut left) => {
                    while left > 0 {
                        let piece = filler().slice(..left.min(filler().len()));
                        left -= piece.len();
                        self.write(piece, false).await?;
                    }
                }
                Step::Sleep(d) => self.sleep(d).await?,
                Step::Close { reset } => {
                    self.close(reset).await;
                    return Err(Gone);
                }
            }
        }
        Ok(())
    }

    /// Sends `bytes` through the byte-level faults.
    async fn write(&mut self, bytes: Bytes, event: bool) -> Result<(), Gone> {
        if let Some((limit, reset)) = self.faults.close_after
            && self.sent.saturating_add(bytes.len()) >= limit
        {
            let keep = limit - self.sent;
            if keep > 0 {
                self.drip(bytes.slice(..keep), event && keep == bytes.len())
                    .await?;
            }
            self.close(reset).await;
            return Err(Gone);
        }
        self.drip(bytes, event).await
    }

    /// Sends `bytes` whole, or in drip pieces with a pause before each but the body's first.
    async fn drip(&mut self, bytes: Bytes, event: bool) -> Result<(), Gone> {
        let Some((interval, size)) = self.faults.drip else {
            return self.send(bytes, event).await;
        };
        let mut start = 0;
        while start < bytes.len() {
            let end = start.saturating_add(size).min(bytes.len());
            if self.sent > 0 {
                self.sleep(interval).await?;
            }
            self.send(bytes.slice(start..end), event && end == bytes.len())
                .await?;
            start = end;
        }
        Ok(())
    }

    async fn send(&mut self, bytes: Bytes, event: bool) -> Result<(), Gone> {
        self.sent += bytes.len();
        self.tx.send(Msg::Data(bytes)).await.map_err(|_| Gone)?;
        if event {
            self.shared.events.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Pauses, unless the client leaves first.
    async fn sleep(&self, d: Duration) -> Result<(), Gone> {
        if d.is_zero() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(d) => Ok(()),
            () = self.tx.closed() => Err(Gone),
        }
    }

    async fn close(&self, reset: bool) {
        if reset {
            self.ctrl.reset.store(true, Ordering::Relaxed);
        }
        let _ = self.tx.send(Msg::Abort).await;
    }
}
