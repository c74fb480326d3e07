//! The backup file format: a header, then the plaintext in 64 KiB chunks, each sealed with
//! AES-256-GCM under the STREAM construction (RustCrypto's `aead-stream`, `StreamBE32`):
//! chunk i's nonce is `prefix (7 random bytes) || i (big-endian u32) || last-chunk flag`,
//! and the whole header is every chunk's associated data. So a chunk moved, dropped,
//! repeated or altered fails to open, a file cut at a chunk boundary fails at its new last
//! chunk (which was not sealed as last), and a header changed anywhere fails every chunk.
//!
//! ```text
//! header (32 bytes): magic "TNCYBKUP" | version 1 | backup id (16) | nonce prefix (7)
//! chunk:             AES-256-GCM(64 KiB of plaintext, or less for the last) || tag (16)
//! ```
//!
//! Sealing hashes what it writes, so the caller records the file's SHA-256 without reading
//! it again.

use aead_stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::Aes256Gcm;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

const MAGIC: &[u8; 8] = b"TNCYBKUP";
const VERSION: u8 = 1;
const PREFIX_LEN: usize = 7;
pub(crate) const HEADER_LEN: usize = MAGIC.len() + 1 + 16 + PREFIX_LEN;
/// Plaintext bytes per chunk.
pub(crate) const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

/// Why a backup file was not opened. Nothing of its plaintext was trusted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum Refusal {
    #[error("not a backup file of this platform (bad header)")]
    NotABackup,
    #[error("the file is backup {found}, not the one requested")]
    OtherBackup { found: Uuid },
    #[error("chunk {index} failed authentication: the file was altered, reordered or cut short")]
    Tampered { index: u64 },
}

/// A sealed stream's size and SHA-256 as written.
pub(crate) struct Written {
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Reads until `buf` holds `want` bytes or the input ends.
async fn fill(
    input: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
    want: usize,
) -> std::io::Result<()> {
    buf.clear();
    buf.reserve(want + TAG);
    while buf.len() < want {
        let n = (&mut *input)
            .take((want - buf.len()) as u64)
            .read_buf(buf)
            .await?;
        if n == 0 {
            break;
        }
    }
    Ok(())
}

fn header(backup_id: Uuid, prefix: &[u8; PREFIX_LEN]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8] = VERSION;
    h[9..25].copy_from_slice(backup_id.as_bytes());
    h[25..].copy_from_slice(prefix);
    h
}

/// Encrypts all of `plain` into `out` as backup `backup_id`; returns the size and SHA-256
/// of what was written. `out` is flushed, not synced.
pub(crate) async fn seal(
    key: &[u8; 32],
    backup_id: Uuid,
    mut plain: impl AsyncRead + Unpin,
    mut out: impl AsyncWrite + Unpin,
) -> anyhow::Result<Written> {
    let prefix: [u8; PREFIX_LEN] = rand::random();
    let head = header(backup_id, &prefix);
    let mut enc = EncryptorBE32::<Aes256Gcm>::new(key.into(), &prefix.into());
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let mut emit = async |bytes: &[u8]| -> std::io::Result<()> {
        hash.update(bytes);
        size += bytes.len() as u64;
        out.write_all(bytes).await
    };
    emit(&head).await?;
    let (mut cur, mut next) = (Vec::new(), Vec::new());
    fill(&mut plain, &mut cur, CHUNK).await?;
    loop {
        // One chunk of look-ahead: only an empty next read proves `cur` is the last.
        fill(&mut plain, &mut next, CHUNK).await?;
        if next.is_empty() {
            enc.encrypt_last_in_place(&head, &mut cur)
                .map_err(|_| anyhow::anyhow!("sealing the last chunk"))?;
            emit(&cur).await?;
            break;
        }
        enc.encrypt_next_in_place(&head, &mut cur)
            .map_err(|_| anyhow::anyhow!("sealing a chunk (stream too long)"))?;
        emit(&cur).await?;
        std::mem::swap(&mut cur, &mut next);
    }
    out.flush().await?;
    Ok(Written {
        size,
        sha256: hash.finalize().into(),
    })
}

/// Decrypts backup `backup_id` from `sealed` into `out`, chunk by chunk; returns the
/// plaintext length. A chunk reaches `out` only once it is authenticated, so a caller that
/// must not act on a partly bad file authenticates it first into `tokio::io::sink()`.
pub(crate) async fn open(
    key: &[u8; 32],
    backup_id: Uuid,
    mut sealed: impl AsyncRead + Unpin,
    mut out: impl AsyncWrite + Unpin,
) -> anyhow::Result<u64> {
    let mut head = [0u8; HEADER_LEN];
    if sealed.read_exact(&mut head).await.is_err() || &head[..8] != MAGIC || head[8] != VERSION {
        return Err(Refusal::NotABackup.into());
    }
    let found = Uuid::from_slice(&head[9..25]).map_err(|_| Refusal::NotABackup)?;
    if found != backup_id {
        return Err(Refusal::OtherBackup { found }.into());
    }
    let mut prefix = [0u8; PREFIX_LEN];
    prefix.copy_from_slice(&head[25..]);
    let mut dec = DecryptorBE32::<Aes256Gcm>::new(key.into(), &prefix.into());
    let (mut cur, mut next) = (Vec::new(), Vec::new());
    let (mut index, mut plain_len) = (0u64, 0u64);
    fill(&mut sealed, &mut cur, CHUNK + TAG).await?;
    loop {
        // One chunk of look-ahead: only the end of the file makes `cur` the last chunk.
        fill(&mut sealed, &mut next, CHUNK + TAG).await?;
        if next.is_empty() {
            break;
        }
        dec.decrypt_next_in_place(&head, &mut cur)
            .map_err(|_| Refusal::Tampered { index })?;
        out.write_all(&cur).await?;
        plain_len += cur.len() as u64;
        std::mem::swap(&mut cur, &mut next);
        index += 1;
    }
    dec.decrypt_last_in_place(&head, &mut cur)
        .map_err(|_| Refusal::Tampered { index })?;
    out.write_all(&cur).await?;
    plain_len += cur.len() as u64;
    out.flush().await?;
    Ok(plain_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [42; 32];

    async fn sealed(id: Uuid, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let w = seal(&KEY, id, plain, &mut out).await.unwrap();
        assert_eq!(w.size, out.len() as u64);
        assert_eq!(w.sha256, <[u8; 32]>::from(Sha256::digest(&out)));
        out
    }

    async fn opened(id: Uuid, file: &[u8]) -> Result<Vec<u8>, Refusal> {
        let mut out = Vec::new();
        open(&KEY, id, file, &mut out)
            .await
            .map(|_| out)
            .map_err(|e| e.downcast::<Refusal>().expect("a refusal"))
    }

    fn plain(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[tokio::test]
    async fn round_trips_at_every_chunk_boundary() {
        let id = Uuid::new_v4();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17] {
            let p = plain(len);
            let file = sealed(id, &p).await;
            assert_eq!(
                file.len(),
                HEADER_LEN + len + len.div_ceil(CHUNK).max(1) * TAG
            );
            assert_eq!(opened(id, &file).await.unwrap(), p, "length {len}");
        }
    }

    #[tokio::test]
    async fn the_plaintext_is_not_in_the_file() {
        let p = b"PGDMP secret ticket text ".repeat(5000);
        let file = sealed(Uuid::new_v4(), &p).await;
        assert!(!file.windows(5).any(|w| w == b"PGDMP"));
        assert!(!file.windows(13).any(|w| w == b"secret ticket"));
    }

    #[tokio::test]
    async fn a_flipped_byte_anywhere_is_refused() {
        let id = Uuid::new_v4();
        let file = sealed(id, &plain(2 * CHUNK + 100)).await;
        for at in [
            0,
            8,
            9,
            20,
            30,
            HEADER_LEN,
            HEADER_LEN + CHUNK + 5,
            file.len() - 1,
        ] {
            let mut bad = file.clone();
            bad[at] ^= 0x01;
            assert!(opened(id, &bad).await.is_err(), "flip at {at} accepted");
        }
    }

    #[tokio::test]
    async fn truncation_is_refused_even_at_a_chunk_boundary() {
        let id = Uuid::new_v4();
        let file = sealed(id, &plain(3 * CHUNK + 100)).await;
        let boundary = HEADER_LEN + 2 * (CHUNK + TAG);
        for len in [
            0,
            10,
            HEADER_LEN,
            HEADER_LEN + 100,
            boundary,
            boundary + 1,
            file.len() - 1,
        ] {
            assert!(
                opened(id, &file[..len]).await.is_err(),
                "cut at {len} accepted"
            );
        }
        assert_eq!(
            opened(id, &file[..boundary]).await,
            Err(Refusal::Tampered { index: 1 })
        );
    }

    #[tokio::test]
    async fn reordered_or_repeated_chunks_are_refused() {
        let id = Uuid::new_v4();
        let file = sealed(id, &plain(3 * CHUNK)).await;
        let chunk = |i: usize| {
            let at = HEADER_LEN + i * (CHUNK + TAG);
            file[at..at + CHUNK + TAG].to_vec()
        };
        let head = &file[..HEADER_LEN];
        let swapped = [head.to_vec(), chunk(1), chunk(0), chunk(2)].concat();
        assert_eq!(
            opened(id, &swapped).await,
            Err(Refusal::Tampered { index: 0 })
        );
        let repeated = [head.to_vec(), chunk(0), chunk(0), chunk(1), chunk(2)].concat();
        assert_eq!(
            opened(id, &repeated).await,
            Err(Refusal::Tampered { index: 1 })
        );
    }

    #[tokio::test]
    async fn a_file_of_another_backup_or_key_is_refused() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let file = sealed(a, &plain(1000)).await;
        assert_eq!(
            opened(b, &file).await,
            Err(Refusal::OtherBackup { found: a })
        );
        let mut out = Vec::new();
        let wrong_key = open(&[1; 32], a, file.as_slice(), &mut out).await;
        assert!(wrong_key.is_err());
        assert!(out.is_empty(), "unauthenticated plaintext was released");
        assert_eq!(opened(a, b"PGDMP\x01\x0e").await, Err(Refusal::NotABackup));
    }
}
