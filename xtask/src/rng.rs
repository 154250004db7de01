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
                    let max = match rng.next_u64() % 4 {
                        0 => 1,
                        1 => 8,
                        2 => 64,
                        _ => 2048,
                    };
                    let take = rng.size(max).min(rest.len());
                    out.push(&rest[..take]);
                    rest = &rest[take..];
                }
                out
            }
        }
    }
}
