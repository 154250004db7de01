//! Shared by the fuzz targets: turns fuzzer input into (body, pieces, size limit).
//!
//! Layout of the input: one byte `n` (number of cut points, modulo 32), one byte selecting the
//! size limit, then `n` little-endian `u16` cut positions, then the body.

/// The body, its pieces (in order; concatenated they give the body) and a size limit.
pub struct Case<'a> {
    pub body: &'a [u8],
    pub pieces: Vec<&'a [u8]>,
    pub limit: usize,
}

pub fn case(data: &[u8]) -> Option<Case<'_>> {
    let (&n, rest) = data.split_first()?;
    let (&limit_selector, rest) = rest.split_first()?;
    let cuts_len = usize::from(n % 32) * 2;
    if rest.len() < cuts_len {
        return None;
    }
    let (cuts, body) = rest.split_at(cuts_len);
    let mut points: Vec<usize> = cuts
        .chunks_exact(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (body.len() + 1))
        .collect();
    points.push(0);
    points.push(body.len());
    points.sort_unstable();
    let pieces = points.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    // Mostly unlimited; sometimes a small limit so that the size checks are exercised too.
    let limit = if limit_selector < 192 {
        usize::MAX
    } else {
        usize::from(limit_selector - 192)
    };
    Some(Case {
        body,
        pieces,
        limit,
    })
}
