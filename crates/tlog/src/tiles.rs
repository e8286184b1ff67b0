//! C2SP tlog-tiles paths: hash tiles `tile/<L>/<N>[.p/<W>]`, entry bundles `tile/entries/<N>[.p/<W>]`, and the
//! x-prefixed index encoding (`1234067` → `x001/x234/067`).

/// Hashes (or entries) per full tile.
pub const TILE_WIDTH: u64 = 256;

/// A tile index as path elements: three-digit groups, every group but the last prefixed with `x`.
pub fn index_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// `.p/<W>` for a partial tile of width `w` (1..=255), nothing for a full one.
fn partial(width: u64) -> String {
    if width == TILE_WIDTH { String::new() } else { format!(".p/{width}") }
}

/// The path of hash tile `n` at `level` with `width` hashes (256 for a full tile).
pub fn tile_path(level: u8, n: u64, width: u64) -> String {
    format!("tile/{level}/{}{}", index_path(n), partial(width))
}

/// The path of entry bundle `n` with `width` entries (256 for a full bundle).
pub fn entries_path(n: u64, width: u64) -> String {
    format!("tile/entries/{}{}", index_path(n), partial(width))
}

/// Every hash tile of a tree of `size` leaves, full ones and the partial ones of each level, level by level.
pub fn hash_tiles(size: u64) -> Vec<(u8, u64, u64)> {
    let mut out = Vec::new();
    let mut level = 0u8;
    // Level L holds the hashes of the complete subtrees of 256^L leaves.
    let mut count = size;
    while count > 0 {
        for n in 0..count / TILE_WIDTH {
            out.push((level, n, TILE_WIDTH));
        }
        if !count.is_multiple_of(TILE_WIDTH) {
            out.push((level, count / TILE_WIDTH, count % TILE_WIDTH));
        }
        count /= TILE_WIDTH;
        level += 1;
    }
    out
}

/// Every entry bundle of a tree of `size` entries.
pub fn entry_bundles(size: u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = (0..size / TILE_WIDTH).map(|n| (n, TILE_WIDTH)).collect();
    if !size.is_multiple_of(TILE_WIDTH) {
        out.push((size / TILE_WIDTH, size % TILE_WIDTH));
    }
    out
}
