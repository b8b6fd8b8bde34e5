//! The input of a computation: account bytes exactly as fetched, length-prefixed, so the page
//! passes what it read from the chain and this module reads it with keel-state's own checks.
//!
//! Layout (little-endian): `now i64`, `spot_mult i64`, `vol_mult i64` (Q32.32 raw bits; 1.0 =
//! `1 << 32` leaves the reading unchanged), `n_markets u32`, `n_correlations u32`; then, with
//! blobs written `len u32` + bytes: the exchange account (blob); the margin account's address
//! (32 bytes) and data (blob; empty in a prices-only frame); per market its address, its
//! account (blob), its oracle's address, its oracle's owner and its oracle's data (blob); then
//! each correlation account (blob); then each risk-array page (blob) the account's options use.

/// A parsed frame, borrowing the input.
pub struct Frame<'a> {
    pub now: i64,
    pub spot_mult: i64,
    pub vol_mult: i64,
    pub exchange: &'a [u8],
    pub account_key: [u8; 32],
    pub account: &'a [u8],
    pub markets: Vec<MarketBlob<'a>>,
    pub correlations: Vec<&'a [u8]>,
    /// The risk-array pages (`ArrayPage` accounts) holding the account's options' arrays.
    pub pages: Vec<&'a [u8]>,
}

/// One market's account and its oracle.
pub struct MarketBlob<'a> {
    pub key: [u8; 32],
    pub market: &'a [u8],
    pub oracle_key: [u8; 32],
    pub oracle_owner: [u8; 32],
    pub oracle_data: &'a [u8],
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("frame truncated");
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i64(&mut self) -> Result<i64, &'static str> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn key(&mut self) -> Result<[u8; 32], &'static str> {
        Ok(self.take(32)?.try_into().unwrap())
    }
    fn blob(&mut self) -> Result<&'a [u8], &'static str> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

impl<'a> Frame<'a> {
    /// Parses `input`.
    pub fn parse(input: &'a [u8]) -> Result<Frame<'a>, &'static str> {
        let mut r = Reader(input);
        let now = r.i64()?;
        let spot_mult = r.i64()?;
        let vol_mult = r.i64()?;
        let n_markets = r.u32()? as usize;
        let n_corr = r.u32()? as usize;
        let n_pages = r.u32()? as usize;
        let exchange = r.blob()?;
        let account_key = r.key()?;
        let account = r.blob()?;
        let mut markets = Vec::with_capacity(n_markets.min(64));
        for _ in 0..n_markets {
            markets.push(MarketBlob {
                key: r.key()?,
                market: r.blob()?,
                oracle_key: r.key()?,
                oracle_owner: r.key()?,
                oracle_data: r.blob()?,
            });
        }
        let mut correlations = Vec::with_capacity(n_corr.min(64));
        for _ in 0..n_corr {
            correlations.push(r.blob()?);
        }
        let mut pages = Vec::with_capacity(n_pages.min(64));
        for _ in 0..n_pages {
            pages.push(r.blob()?);
        }
        if !r.0.is_empty() {
            return Err("trailing bytes in frame");
        }
        Ok(Frame {
            now,
            spot_mult,
            vol_mult,
            exchange,
            account_key,
            account,
            markets,
            correlations,
            pages,
        })
    }

    /// Writes a frame (the inverse of [`Frame::parse`]; tests and native callers).
    pub fn write(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(self.now.to_le_bytes());
        v.extend(self.spot_mult.to_le_bytes());
        v.extend(self.vol_mult.to_le_bytes());
        v.extend((self.markets.len() as u32).to_le_bytes());
        v.extend((self.correlations.len() as u32).to_le_bytes());
        v.extend((self.pages.len() as u32).to_le_bytes());
        let blob = |v: &mut Vec<u8>, b: &[u8]| {
            v.extend((b.len() as u32).to_le_bytes());
            v.extend(b);
        };
        blob(&mut v, self.exchange);
        v.extend(self.account_key);
        blob(&mut v, self.account);
        for m in &self.markets {
            v.extend(m.key);
            blob(&mut v, m.market);
            v.extend(m.oracle_key);
            v.extend(m.oracle_owner);
            blob(&mut v, m.oracle_data);
        }
        for c in &self.correlations {
            blob(&mut v, c);
        }
        for p in &self.pages {
            blob(&mut v, p);
        }
        v
    }
}
