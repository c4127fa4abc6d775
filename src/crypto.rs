//! SHA-256, HMAC-SHA256, PBKDF2, constant-time comparison, OS randomness and hex
//! encoding for password hashing and file digests. The project allows no crates, so
//! these primitives are written here and checked against the published test vectors.
//!
//! On x86-64 CPUs with the SHA extensions, SHA-256 blocks are compressed by
//! those instructions (`shani`, chosen at run time), because file transfers
//! hash every byte on both ends; elsewhere the portable function does it.
//! [`sha1`] serves the WebSocket handshake only.

pub mod sha1;
#[cfg(target_arch = "x86_64")]
mod shani;

use std::fs::File;
use std::io::Read;

/// SHA-256 processes input in 64-byte blocks.
const BLOCK_LEN: usize = 64;

/// Length of a SHA-256 digest in bytes.
const DIGEST_LEN: usize = 32;

/// Initial hash value H(0), FIPS 180-4 section 5.3.3.
const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Round constants K, FIPS 180-4 section 4.2.2.
const K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// Runs the SHA-256 compression function on one block already split into
/// big-endian words. Taking words rather than bytes lets PBKDF2 feed a previous
/// digest straight back in without serialising it.
fn compress_words(state: &mut [u32; 8], block: &[u32; 16]) {
    let mut w = [0u32; 64];
    w[..16].copy_from_slice(block);
    for t in 16..64 {
        let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
        let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16]
            .wrapping_add(s0)
            .wrapping_add(w[t - 7])
            .wrapping_add(s1);
    }

    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K[t])
            .wrapping_add(w[t]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }

    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.wrapping_add(v);
    }
}

/// Compresses one 64-byte block given as bytes.
fn compress_bytes(state: &mut [u32; 8], block: &[u8]) {
    debug_assert_eq!(block.len(), BLOCK_LEN);
    let mut words = [0u32; 16];
    for (word, bytes) in words.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    compress_words(state, &words);
}

/// Compresses every 64-byte block of `blocks` (a whole number of them) into
/// `state`, with the CPU's SHA instructions when it has them.
fn compress_blocks(state: &mut [u32; 8], blocks: &[u8]) {
    debug_assert_eq!(blocks.len() % BLOCK_LEN, 0);
    #[cfg(target_arch = "x86_64")]
    if shani::is_available() {
        // SAFETY: the CPU has every feature `compress_blocks` is compiled
        // for, and `blocks` holds whole blocks (asserted above, and every
        // caller passes a block buffer or `chunks_exact` output).
        unsafe { shani::compress_blocks(state, blocks) };
        return;
    }
    for block in blocks.chunks_exact(BLOCK_LEN) {
        compress_bytes(state, block);
    }
}

/// Serialises the chaining state as the big-endian digest.
fn state_to_bytes(state: &[u32; 8]) -> [u8; DIGEST_LEN] {
    let mut out = [0u8; DIGEST_LEN];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Hashes `data` with SHA-256 in one call.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(data);
    hasher.finalize()
}

/// Incremental SHA-256 for input that arrives in pieces, such as a file streamed
/// from a socket.
///
/// Deliberately not `Debug`: when keyed by HMAC the state is equivalent to the key.
#[derive(Clone)]
pub struct Sha256 {
    state: [u32; 8],
    /// Holds the tail of the input that does not yet fill a whole block.
    buffer: [u8; BLOCK_LEN],
    buffer_len: usize,
    /// Total bytes absorbed; the padding encodes it as a bit count.
    total_len: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha256 {
    /// Starts a new hash with the FIPS 180-4 initial value.
    pub fn new() -> Self {
        Sha256 {
            state: H0,
            buffer: [0u8; BLOCK_LEN],
            buffer_len: 0,
            total_len: 0,
        }
    }

    /// Absorbs more input; may be called any number of times with any lengths.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total_len = self.total_len.wrapping_add(data.len() as u64);

        // Top up a partially filled block first so later blocks stay aligned.
        if self.buffer_len > 0 {
            let take = (BLOCK_LEN - self.buffer_len).min(data.len());
            self.buffer[self.buffer_len..self.buffer_len + take].copy_from_slice(&data[..take]);
            self.buffer_len += take;
            data = &data[take..];
            if self.buffer_len < BLOCK_LEN {
                return;
            }
            compress_blocks(&mut self.state, &self.buffer);
            self.buffer_len = 0;
        }

        // Whole blocks go straight from the caller's slice: large streams are
        // never copied into the buffer.
        let whole = data.len() - data.len() % BLOCK_LEN;
        let (blocks, rest) = data.split_at(whole);
        compress_blocks(&mut self.state, blocks);

        self.buffer[..rest.len()].copy_from_slice(rest);
        self.buffer_len = rest.len();
    }

    /// Applies the padding and returns the 32-byte digest.
    pub fn finalize(mut self) -> [u8; 32] {
        let bit_len = self.total_len.wrapping_mul(8);

        // Padding is 0x80, zeros, then the 64-bit length; if the length does
        // not fit after the 0x80 it spills into one more block.
        self.buffer[self.buffer_len] = 0x80;
        self.buffer[self.buffer_len + 1..].fill(0);
        if self.buffer_len + 1 > BLOCK_LEN - 8 {
            compress_blocks(&mut self.state, &self.buffer);
            self.buffer.fill(0);
        }
        self.buffer[BLOCK_LEN - 8..].copy_from_slice(&bit_len.to_be_bytes());
        compress_blocks(&mut self.state, &self.buffer);

        state_to_bytes(&self.state)
    }
}

/// HMAC-SHA256 with the padded key blocks already absorbed, so a key used many
/// times (as in PBKDF2) is only processed once.
#[derive(Clone)]
struct HmacKey {
    inner: Sha256,
    outer: Sha256,
}

impl HmacKey {
    /// Derives the inner and outer states from `key` as RFC 2104 describes.
    fn new(key: &[u8]) -> Self {
        let mut block = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            block[..DIGEST_LEN].copy_from_slice(&sha256(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }

        let mut inner = Sha256::new();
        let mut outer = Sha256::new();
        let mut pad = [0u8; BLOCK_LEN];
        for (p, k) in pad.iter_mut().zip(&block) {
            *p = k ^ 0x36;
        }
        inner.update(&pad);
        for (p, k) in pad.iter_mut().zip(&block) {
            *p = k ^ 0x5c;
        }
        outer.update(&pad);

        HmacKey { inner, outer }
    }

    /// Computes the MAC of the concatenation of `parts`.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for part in parts {
            inner.update(part);
        }
        let mut outer = self.outer.clone();
        outer.update(&inner.finalize());
        outer.finalize()
    }
}

/// Computes HMAC-SHA256 (RFC 2104); keys longer than 64 bytes are hashed first.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    HmacKey::new(key).mac(&[msg])
}

/// Builds the fixed padding of a block whose message is one 32-byte digest
/// following one already-absorbed 64-byte block, as in every HMAC-SHA256 call
/// after the key blocks. Only words 0..8 change between uses.
fn digest_block_template() -> [u32; 16] {
    let mut block = [0u32; 16];
    block[8] = 0x8000_0000;
    // 64 bytes of padded key plus 32 bytes of digest, counted in bits.
    block[15] = ((BLOCK_LEN + DIGEST_LEN) * 8) as u32;
    block
}

/// Derives `out.len()` bytes from `password` and `salt` with PBKDF2-HMAC-SHA256
/// (RFC 8018). An `iterations` of 0 behaves as 1, since U1 is always computed.
///
/// # Panics
///
/// If `out` is longer than (2^32 - 1) * 32 bytes, the limit RFC 8018 sets.
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    let key = HmacKey::new(password);
    // Both states sit exactly on a block boundary with an empty buffer, so the
    // iteration loop can run the bare compression function from them.
    let inner_state = key.inner.state;
    let outer_state = key.outer.state;
    let mut inner_block = digest_block_template();
    let mut outer_block = digest_block_template();

    for (index, chunk) in out.chunks_mut(DIGEST_LEN).enumerate() {
        // Cannot fail in this server: it derives 32-byte keys (one block),
        // never the 128 GiB it would take to run out of counters.
        let counter = u32::try_from(index + 1)
            .expect("output longer than (2^32 - 1) * 32 bytes, which RFC 8018 forbids");
        let first = key.mac(&[salt, &counter.to_be_bytes()]);

        // U_i and T stay as words: each digest is the next block's message words.
        let mut u = [0u32; 8];
        for (word, bytes) in u.iter_mut().zip(first.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        let mut t = u;

        for _ in 1..iterations {
            inner_block[..8].copy_from_slice(&u);
            let mut inner = inner_state;
            compress_words(&mut inner, &inner_block);

            outer_block[..8].copy_from_slice(&inner);
            u = outer_state;
            compress_words(&mut u, &outer_block);

            for (acc, word) in t.iter_mut().zip(&u) {
                *acc ^= word;
            }
        }

        let t_bytes = state_to_bytes(&t);
        chunk.copy_from_slice(&t_bytes[..chunk.len()]);
    }
}

/// Compares two byte strings in time that depends only on their lengths, so a
/// MAC or password-hash check does not reveal how many leading bytes matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Lengths of MACs and hashes are public, so returning early here leaks nothing.
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Hide the accumulator from the optimiser so it cannot add an early exit.
    std::hint::black_box(diff) == 0
}

/// Fills `buf` from the kernel CSPRNG via `/dev/urandom`, which never blocks
/// once the system has booted and needs no crate.
pub fn random_bytes(buf: &mut [u8]) -> std::io::Result<()> {
    File::open("/dev/urandom")?.read_exact(buf)
}

/// Encodes bytes as lowercase hexadecimal.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Decodes hexadecimal in either case; returns `None` on odd length or any
/// non-hex character rather than panicking, because the input may come from a
/// client.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some((hex_value(pair[0])? << 4) | hex_value(pair[1])?))
        .collect()
}

/// Value of one ASCII hex digit.
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        from_hex(s).expect("test vector is valid hex")
    }

    // FIPS 180-4 / NIST example values for SHA-256.

    #[test]
    fn sha256_abc() {
        assert_eq!(
            to_hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn sha256_empty() {
        assert_eq!(
            to_hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn sha256_448_bit_message() {
        assert_eq!(
            to_hex(&sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn sha256_896_bit_message() {
        let msg = b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn\
                    hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
        assert_eq!(msg.len(), 112);
        assert_eq!(
            to_hex(&sha256(msg)),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        );
    }

    #[test]
    fn sha256_one_million_a() {
        let msg = vec![b'a'; 1_000_000];
        assert_eq!(
            to_hex(&sha256(&msg)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn block_compression_matches_the_portable_function() {
        // On a CPU with the SHA extensions this checks them against the
        // portable code; without them both sides are the portable code.
        let data: Vec<u8> = (0..BLOCK_LEN * 40).map(|i| (i * 31 % 251) as u8).collect();
        for blocks in [1, 2, 3, 17, 40] {
            let mut fast = H0;
            compress_blocks(&mut fast, &data[..blocks * BLOCK_LEN]);
            let mut portable = H0;
            for block in data[..blocks * BLOCK_LEN].chunks_exact(BLOCK_LEN) {
                compress_bytes(&mut portable, block);
            }
            assert_eq!(fast, portable, "{blocks} block(s)");
        }
    }

    #[test]
    fn sha256_streaming_matches_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 + 7) as u8).collect();
        let expected = sha256(&data);
        for sizes in [
            &[1usize][..],
            &[63],
            &[64],
            &[65],
            &[1, 63, 64, 65],
            &[55, 56, 57, 127, 128, 129],
            &[3, 1000],
        ] {
            let mut hasher = Sha256::new();
            let mut rest = &data[..];
            let mut i = 0;
            while !rest.is_empty() {
                let n = sizes[i % sizes.len()].min(rest.len());
                hasher.update(&rest[..n]);
                rest = &rest[n..];
                i += 1;
            }
            assert_eq!(hasher.finalize(), expected, "piece sizes {sizes:?}");
        }
    }

    #[test]
    fn sha256_padding_boundaries() {
        // Lengths around 55/56/64 exercise the one-versus-two padding block split.
        let mut hasher = Sha256::new();
        hasher.update(b"");
        assert_eq!(hasher.finalize(), sha256(b""));
        for len in [55usize, 56, 63, 64, 119, 120] {
            let data = vec![0x61u8; len];
            let mut hasher = Sha256::new();
            for byte in &data {
                hasher.update(std::slice::from_ref(byte));
            }
            assert_eq!(hasher.finalize(), sha256(&data), "length {len}");
        }
    }

    // RFC 4231 section 4 test cases for HMAC-SHA-256.

    #[test]
    fn hmac_rfc4231_case_1() {
        assert_eq!(
            to_hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn hmac_rfc4231_case_2() {
        assert_eq!(
            to_hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_rfc4231_case_3() {
        assert_eq!(
            to_hex(&hmac_sha256(&[0xaa; 20], &[0xdd; 50])),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        );
    }

    #[test]
    fn hmac_rfc4231_case_4() {
        let key = hex("0102030405060708090a0b0c0d0e0f10111213141516171819");
        assert_eq!(
            to_hex(&hmac_sha256(&key, &[0xcd; 50])),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        );
    }

    #[test]
    fn hmac_rfc4231_case_5_truncated() {
        let mac = hmac_sha256(&[0x0c; 20], b"Test With Truncation");
        assert_eq!(to_hex(&mac[..16]), "a3b6167473100ee06e0c796c2955552b");
    }

    #[test]
    fn hmac_rfc4231_case_6() {
        assert_eq!(
            to_hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn hmac_rfc4231_case_7() {
        let msg: &[u8] = b"This is a test using a larger than block-size key and a \
                           larger than block-size data. The key needs to be hashed \
                           before being used by the HMAC algorithm.";
        assert_eq!(
            to_hex(&hmac_sha256(&[0xaa; 131], msg)),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        );
    }

    // RFC 7914 section 11 test vectors for PBKDF2-HMAC-SHA-256.

    #[test]
    fn pbkdf2_rfc7914_passwd_salt_c1() {
        let mut out = [0u8; 64];
        pbkdf2_hmac_sha256(b"passwd", b"salt", 1, &mut out);
        assert_eq!(
            to_hex(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
    }

    #[test]
    fn pbkdf2_rfc7914_password_nacl_c80000() {
        let mut out = [0u8; 64];
        pbkdf2_hmac_sha256(b"Password", b"NaCl", 80_000, &mut out);
        assert_eq!(
            to_hex(&out),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
        );
    }

    #[test]
    fn pbkdf2_partial_block_is_prefix_of_full() {
        // A dkLen that is not a multiple of 32 truncates only the final block.
        let mut full = [0u8; 64];
        let mut short = [0u8; 40];
        pbkdf2_hmac_sha256(b"passwd", b"salt", 3, &mut full);
        pbkdf2_hmac_sha256(b"passwd", b"salt", 3, &mut short);
        assert_eq!(&full[..40], &short[..]);
    }

    #[test]
    fn pbkdf2_fast_path_matches_plain_hmac() {
        // The word-level iteration loop must agree with chaining hmac_sha256.
        let (password, salt, iterations) = (b"pw", b"NaCl", 5u32);
        let mut expected = [0u8; 32];
        let mut u = hmac_sha256(password, &[&salt[..], &1u32.to_be_bytes()].concat());
        expected.copy_from_slice(&u);
        for _ in 1..iterations {
            u = hmac_sha256(password, &u);
            for (e, b) in expected.iter_mut().zip(&u) {
                *e ^= b;
            }
        }
        let mut out = [0u8; 32];
        pbkdf2_hmac_sha256(password, salt, iterations, &mut out);
        assert_eq!(out, expected);
    }

    #[test]
    #[ignore = "timing report only; run with --release --ignored --nocapture"]
    fn pbkdf2_600k_timing() {
        let mut out = [0u8; 32];
        let start = std::time::Instant::now();
        pbkdf2_hmac_sha256(
            b"correct horse battery staple",
            b"0123456789abcdef",
            600_000,
            &mut out,
        );
        println!(
            "600000 iterations: {:?} -> {}",
            start.elapsed(),
            to_hex(&out)
        );
    }

    #[test]
    fn constant_time_eq_cases() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"Secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secrets"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn hex_round_trip() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        let encoded = to_hex(&bytes);
        assert_eq!(encoded.len(), 512);
        assert!(encoded.starts_with("000102"));
        assert!(encoded.ends_with("fdfeff"));
        assert_eq!(from_hex(&encoded), Some(bytes));
        assert_eq!(from_hex("DEADbeef"), Some(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(from_hex(""), Some(Vec::new()));
        assert_eq!(to_hex(&[]), "");
    }

    #[test]
    fn from_hex_rejects_bad_input() {
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(" 0"), None);
        assert_eq!(from_hex("+1"), None);
        // Multi-byte UTF-8 must be rejected without slicing inside a character.
        assert_eq!(from_hex("é0"), None);
        assert_eq!(from_hex("éé"), None);
    }

    #[test]
    fn random_bytes_differ_between_calls() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        random_bytes(&mut a).expect("read /dev/urandom");
        random_bytes(&mut b).expect("read /dev/urandom");
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
