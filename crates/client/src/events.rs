//! Decoding Keel's events from transaction logs.
//!
//! On-chain, Anchor's `emit!` writes `Program data: <base64(discriminator ‖ borsh)>`. The
//! natively registered program (local chain, tests) writes the same through the log syscall,
//! which reads `Program log: Program data: <base64>`; both forms decode here.

use anchor_lang::{AnchorDeserialize, Discriminator};
use base64::Engine;

/// The raw bytes of every `Program data:` line in `logs`, in order.
pub fn data_lines(logs: &[String]) -> impl Iterator<Item = Vec<u8>> + '_ {
    logs.iter().filter_map(|line| {
        let line = line.strip_prefix("Program log: ").unwrap_or(line);
        let b64 = line.strip_prefix("Program data: ")?;
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()
    })
}

/// Every event of type `E` in `logs`, in order (lines of other types are skipped; a line with
/// `E`'s discriminator that does not decode is an error).
pub fn decode<E: AnchorDeserialize + Discriminator>(logs: &[String]) -> Result<Vec<E>, String> {
    let mut out = Vec::new();
    for bytes in data_lines(logs) {
        if bytes.len() >= 8 && &bytes[..8] == E::DISCRIMINATOR {
            out.push(
                E::deserialize(&mut &bytes[8..])
                    .map_err(|e| format!("event does not decode: {e}"))?,
            );
        }
    }
    Ok(out)
}
