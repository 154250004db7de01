//! A small seeded generator (SplitMix64) for reproducible split points; no dependency needed.

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `1..=max`.
    pub fn size(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max.max(1) as u64) as usize
    }
}

/// How a body is cut into reads.
#[derive(Clone, Debug)]
pub enum Split {
    Whole,
    Fixed(usize),
    Random(u64),
    /// Explicit pieces (from a vector's `chunks`).
    Given(Vec<Vec<u8>>),
}

impl Split {
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(seed) = text.strip_prefix("random:") {
            return seed
                .parse()
                .map(Split::Random)
                .map_err(|_| format!("invalid seed in --split {text:?}"));
        }
        match text.parse::<usize>() {
            Ok(0) | Err(_) => Err(format!("--split takes N > 0 or random:SEED, not {text:?}")),
            Ok(n) => Ok(Split::Fixed(n)),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Split::Whole => "whole".into(),
            Split::Fixed(n) => format!("{n}-byte reads"),
            Split::Random(seed) => format!("random:{seed}"),
            Split::Given(_) => "source chunks".into(),
        }
    }

    /// The pieces of `body`. Random reads are mostly small, sometimes one byte, sometimes large.
    pub fn pieces<'a>(&'a self, body: &'a [u8]) -> Vec<&'a [u8]> {
        match self {
            Split::Whole => vec![body],
            Split::Fixed(n) => body.chunks(*n).collect(),
            Split::Given(chunks) => chunks.iter().map(Vec::as_slice).collect(),
            Split::Random(seed) => {
                let mut rng = Rng::new(*seed);
                let mut out = Vec::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let take = random_piece_size(&mut rng).min(rest.len());
                    out.push(&rest[..take]);
                    rest = &rest[take..];
                }
                out
            }
        }
    }
}

/// The size of the next random read: mostly small, sometimes one byte, sometimes large.
fn random_piece_size(rng: &mut Rng) -> usize {
    let max = match rng.next_u64() % 4 {
        0 => 1,
        1 => 8,
        2 => 64,
        _ => 2048,
    };
    rng.size(max)
}

/// Cuts a body that arrives in reads of any size into the pieces a [`Split`] makes, keeping at
/// most one piece's worth of bytes: the same pieces as [`Split::pieces`] on the whole body.
pub struct Splitter {
    kind: SplitKind,
    carry: Vec<u8>,
    /// The size of the piece being filled.
    want: Option<usize>,
}

enum SplitKind {
    /// Pieces as they are read.
    AsRead,
    Fixed(usize),
    Random(Rng),
}

impl Splitter {
    pub fn new(split: &Split) -> Self {
        let kind = match split {
            Split::Whole | Split::Given(_) => SplitKind::AsRead,
            Split::Fixed(n) => SplitKind::Fixed(*n),
            Split::Random(seed) => SplitKind::Random(Rng::new(*seed)),
        };
        Splitter {
            kind,
            carry: Vec::new(),
            want: None,
        }
    }

    fn next_size(&mut self) -> Option<usize> {
        match &mut self.kind {
            SplitKind::AsRead => None,
            SplitKind::Fixed(n) => Some(*n),
            SplitKind::Random(rng) => Some(random_piece_size(rng)),
        }
    }

    /// Hands every complete piece of `data` (with what was carried over) to `f`.
    pub fn feed<E>(
        &mut self,
        mut data: &[u8],
        f: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        while !data.is_empty() {
            let want = match self.want {
                Some(w) => w,
                None => match self.next_size() {
                    Some(w) => {
                        self.want = Some(w);
                        w
                    }
                    None => return f(data),
                },
            };
            if self.carry.is_empty() && data.len() >= want {
                f(&data[..want])?;
                data = &data[want..];
                self.want = None;
                continue;
            }
            let take = (want - self.carry.len()).min(data.len());
            self.carry.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.carry.len() == want {
                f(&self.carry)?;
                self.carry.clear();
                self.want = None;
            }
        }
        Ok(())
    }

    /// Hands the last, shorter piece to `f`, if there is one.
    pub fn finish<E>(&mut self, f: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        if self.carry.is_empty() {
            return Ok(());
        }
        let rest = std::mem::take(&mut self.carry);
        f(&rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_makes_the_pieces_of_the_whole_body_from_any_reads() {
        let body: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for split in [
            Split::Fixed(7),
            Split::Fixed(4096),
            Split::Random(3),
            Split::Random(99),
        ] {
            let expected: Vec<Vec<u8>> = split
                .pieces(&body)
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            for read in [1, 13, 1000, 65_536] {
                let mut splitter = Splitter::new(&split);
                let mut got: Vec<Vec<u8>> = Vec::new();
                let mut push = |p: &[u8]| {
                    got.push(p.to_vec());
                    Ok::<(), ()>(())
                };
                for chunk in body.chunks(read) {
                    splitter.feed(chunk, &mut push).unwrap();
                }
                splitter.finish(&mut push).unwrap();
                assert_eq!(got, expected, "{} with {read}-byte reads", split.label());
            }
        }
    }
}
