//! What the fuzzer sends: [`Action`]s decoded from raw bytes (libFuzzer's, or the seeded
//! generator's) by [`next_action`], weighted toward what moves value, and written back by
//! [`encode`] (so a regression can be converted or written by hand). The format is this file:
//! one class byte (`% 32` picks the action), then each field in order — `u8`/`i8` one byte,
//! `u16`/`i16`/`u32` little-endian, `bool` the low bit of a byte. Decoding stops at the first
//! action the remaining bytes do not complete.

/// Where a trade is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceSel {
    /// At the mark.
    Mark,
    /// At the band's bottom or top.
    Low,
    High,
    /// `n`/255 of the way from the bottom to the top.
    Inside(u8),
    /// Below the bottom / above the top by `n` native units (+1).
    Under(u16),
    Over(u32),
}

/// Which update account of BTC's feed an instruction reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleSel {
    /// The market's usual update account.
    Main,
    /// A second account of the same feed (older or future-dated updates go there).
    Alt,
}

/// One step. Account, series and user fields are indices taken modulo what exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Deposit {
        acc: u8,
        usdc: u16,
        /// Passes the account's markets (the client does when it is in a liquidation episode).
        with_markets: bool,
    },
    Withdraw {
        acc: u8,
        usdc: u16,
        oracle: OracleSel,
        /// Signed by the account's delegate (or Mallory) instead of its owner.
        by_delegate: bool,
    },
    Trade {
        taker: u8,
        maker: u8,
        series: u8,
        qty: i8,
        price: PriceSel,
        /// Who signs: bit 0 set, each account's delegate where it has one (its owner
        /// otherwise); bits 1 and 2 both set, Mallory signs the taker's side whatever it is
        /// (an impostor unless she controls it).
        signers: u8,
        oracle: OracleSel,
    },
    Liquidate {
        by: u8,
        victim: u8,
        bps: u16,
        oracle: OracleSel,
    },
    /// The vol crank of BTC (`oracle` picks its update account) or ETH.
    Crank {
        eth: bool,
        oracle: OracleSel,
    },
    /// The oracle moves by `bps` basis points (published now).
    Move {
        eth: bool,
        bps: i16,
    },
    /// BTC jumps to `tenths`/10 of its price (a pump above 10, a crash below).
    Jump {
        tenths: u8,
    },
    /// An update `age` seconds older than now goes to BTC's second account.
    OlderUpdate {
        age: u8,
        bps: i16,
    },
    /// An update `ahead` seconds in the future goes to BTC's second account.
    FutureUpdate {
        ahead: u8,
    },
    /// Up to 30 minutes pass; unless `stale`, both oracles republish, the keeper cranks and
    /// the admin undoes its pauses and parameter changes.
    Warp {
        secs: u16,
        stale: bool,
    },
    /// Every expired series is settled — by the admin or the keeper, from an update covering
    /// the expiry or from the latest one — then everyone's positions in them.
    Settle {
        by_admin: bool,
        covering: bool,
    },
    FundInsurance {
        usdc: u16,
    },
    /// Sets (`to` < 5: that user) or clears the account's delegate, signed by its owner or its
    /// delegate.
    SetDelegate {
        acc: u8,
        by_delegate: bool,
        to: u8,
    },
    /// The owner withdraws everything and closes the account, or (`rejoin`) reopens a closed
    /// one and funds it.
    Leave {
        acc: u8,
        rejoin: bool,
    },
    UpdateCorrelation {
        oracle: OracleSel,
    },
    /// BTC's implied vol: `bps`·8 basis points, by its vol authority or by Mallory.
    PublishIv {
        bps: u16,
        by_authority: bool,
    },
    /// One BTC risk parameter or guard (`field`) set `pos`/255 of the way through its bounds,
    /// or just outside them; by the admin or by Mallory.
    UpdateParams {
        field: u8,
        pos: u8,
        outside: bool,
        by_admin: bool,
    },
    /// As `UpdateParams`, for the exchange's liquidation parameters (by the admin).
    UpdateLiquidationParams {
        field: u8,
        pos: u8,
        outside: bool,
    },
    /// One instruction family (`flags` % 8 picks it; 7: all), by the admin or by Mallory.
    Pause {
        flags: u8,
        by_admin: bool,
    },
    /// Up to twice the fees collected (`usdc` % 512 / 256 of them), by the admin or Mallory.
    WithdrawFees {
        usdc: u16,
        by_admin: bool,
    },
}

/// The action kinds, in [`Action::kind`] order (for per-kind counts).
pub const KINDS: [&str; 20] = [
    "deposit",
    "withdraw",
    "trade",
    "liquidate",
    "crank",
    "move",
    "jump",
    "older_update",
    "future_update",
    "warp",
    "settle",
    "fund_insurance",
    "set_delegate",
    "leave_rejoin",
    "update_correlation",
    "publish_iv",
    "update_params",
    "update_liquidation_params",
    "pause",
    "withdraw_fees",
];

impl Action {
    /// Index of this action's kind in [`KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            Action::Deposit { .. } => 0,
            Action::Withdraw { .. } => 1,
            Action::Trade { .. } => 2,
            Action::Liquidate { .. } => 3,
            Action::Crank { .. } => 4,
            Action::Move { .. } => 5,
            Action::Jump { .. } => 6,
            Action::OlderUpdate { .. } => 7,
            Action::FutureUpdate { .. } => 8,
            Action::Warp { .. } => 9,
            Action::Settle { .. } => 10,
            Action::FundInsurance { .. } => 11,
            Action::SetDelegate { .. } => 12,
            Action::Leave { .. } => 13,
            Action::UpdateCorrelation { .. } => 14,
            Action::PublishIv { .. } => 15,
            Action::UpdateParams { .. } => 16,
            Action::UpdateLiquidationParams { .. } => 17,
            Action::Pause { .. } => 18,
            Action::WithdrawFees { .. } => 19,
        }
    }
}

/// Raw bytes read front to back.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.data.split_first_chunk::<N>()?;
        self.data = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn i8(&mut self) -> Option<i8> {
        self.u8().map(|b| b as i8)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take().map(i16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn bool(&mut self) -> Option<bool> {
        self.u8().map(|b| b & 1 == 1)
    }
    fn oracle(&mut self) -> Option<OracleSel> {
        // One read in eight goes to the second account.
        Some(if self.u8()?.is_multiple_of(8) {
            OracleSel::Alt
        } else {
            OracleSel::Main
        })
    }
    fn price(&mut self) -> Option<PriceSel> {
        Some(match self.u8()? % 6 {
            0 => PriceSel::Mark,
            1 => PriceSel::Low,
            2 => PriceSel::High,
            3 => PriceSel::Inside(self.u8()?),
            4 => PriceSel::Under(self.u16()?),
            _ => PriceSel::Over(self.u32()?),
        })
    }
}

/// The next action, or `None` when the bytes left do not make one. Weighted toward what moves
/// value (trades, liquidations, price moves) so a sequence spends its steps where attacks live;
/// every kind stays reachable.
pub fn next_action(u: &mut Input) -> Option<Action> {
    Some(match u.u8()? % 32 {
        0..=8 => Action::Trade {
            taker: u.u8()?,
            maker: u.u8()?,
            series: u.u8()?,
            qty: u.i8()?,
            price: u.price()?,
            signers: u.u8()?,
            oracle: u.oracle()?,
        },
        9..=11 => Action::Liquidate {
            by: u.u8()?,
            victim: u.u8()?,
            bps: u.u16()?,
            oracle: u.oracle()?,
        },
        12 => Action::Deposit {
            acc: u.u8()?,
            usdc: u.u16()?,
            with_markets: u.bool()?,
        },
        13 => Action::Withdraw {
            acc: u.u8()?,
            usdc: u.u16()?,
            oracle: u.oracle()?,
            by_delegate: u.bool()?,
        },
        14 => Action::Crank {
            eth: u.bool()?,
            oracle: u.oracle()?,
        },
        15 | 16 => Action::Move {
            eth: u.bool()?,
            bps: u.i16()?,
        },
        17 => Action::Jump { tenths: u.u8()? },
        18 => Action::OlderUpdate {
            age: u.u8()?,
            bps: u.i16()?,
        },
        19 => Action::FutureUpdate { ahead: u.u8()? },
        20 | 21 => Action::Warp {
            secs: u.u16()?,
            stale: u.bool()?,
        },
        22 => Action::Settle {
            by_admin: u.bool()?,
            covering: u.bool()?,
        },
        23 => Action::FundInsurance { usdc: u.u16()? },
        24 => Action::SetDelegate {
            acc: u.u8()?,
            by_delegate: u.bool()?,
            to: u.u8()?,
        },
        25 => Action::Leave {
            acc: u.u8()?,
            rejoin: u.bool()?,
        },
        26 => Action::UpdateCorrelation {
            oracle: u.oracle()?,
        },
        27 => Action::PublishIv {
            bps: u.u16()?,
            by_authority: u.bool()?,
        },
        28 => Action::UpdateParams {
            field: u.u8()?,
            pos: u.u8()?,
            outside: u.bool()?,
            by_admin: u.bool()?,
        },
        29 => Action::UpdateLiquidationParams {
            field: u.u8()?,
            pos: u.u8()?,
            outside: u.bool()?,
        },
        30 => Action::Pause {
            flags: u.u8()?,
            by_admin: u.bool()?,
        },
        _ => Action::WithdrawFees {
            usdc: u.u16()?,
            by_admin: u.bool()?,
        },
    })
}

/// Every action `data` decodes to, in order.
pub fn decode(data: &[u8]) -> Vec<Action> {
    let mut u = Input::new(data);
    std::iter::from_fn(|| next_action(&mut u)).collect()
}

/// Bytes that [`decode`] reads back as `actions`.
pub fn encode(actions: &[Action]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in actions {
        encode_one(a, &mut out);
    }
    out
}

fn encode_one(a: &Action, o: &mut Vec<u8>) {
    let oracle = |s: OracleSel| match s {
        OracleSel::Alt => 0u8,
        OracleSel::Main => 1,
    };
    let b = |v: bool| v as u8;
    match *a {
        Action::Trade {
            taker,
            maker,
            series,
            qty,
            price,
            signers,
            oracle: s,
        } => {
            o.extend([0, taker, maker, series, qty as u8]);
            match price {
                PriceSel::Mark => o.push(0),
                PriceSel::Low => o.push(1),
                PriceSel::High => o.push(2),
                PriceSel::Inside(n) => o.extend([3, n]),
                PriceSel::Under(n) => {
                    o.push(4);
                    o.extend(n.to_le_bytes())
                }
                PriceSel::Over(n) => {
                    o.push(5);
                    o.extend(n.to_le_bytes())
                }
            }
            o.extend([signers, oracle(s)]);
        }
        Action::Liquidate {
            by,
            victim,
            bps,
            oracle: s,
        } => {
            o.extend([9, by, victim]);
            o.extend(bps.to_le_bytes());
            o.push(oracle(s));
        }
        Action::Deposit {
            acc,
            usdc,
            with_markets,
        } => {
            o.extend([12, acc]);
            o.extend(usdc.to_le_bytes());
            o.push(b(with_markets));
        }
        Action::Withdraw {
            acc,
            usdc,
            oracle: s,
            by_delegate,
        } => {
            o.extend([13, acc]);
            o.extend(usdc.to_le_bytes());
            o.extend([oracle(s), b(by_delegate)]);
        }
        Action::Crank { eth, oracle: s } => o.extend([14, b(eth), oracle(s)]),
        Action::Move { eth, bps } => {
            o.extend([15, b(eth)]);
            o.extend(bps.to_le_bytes());
        }
        Action::Jump { tenths } => o.extend([17, tenths]),
        Action::OlderUpdate { age, bps } => {
            o.extend([18, age]);
            o.extend(bps.to_le_bytes());
        }
        Action::FutureUpdate { ahead } => o.extend([19, ahead]),
        Action::Warp { secs, stale } => {
            o.push(20);
            o.extend(secs.to_le_bytes());
            o.push(b(stale));
        }
        Action::Settle { by_admin, covering } => o.extend([22, b(by_admin), b(covering)]),
        Action::FundInsurance { usdc } => {
            o.push(23);
            o.extend(usdc.to_le_bytes());
        }
        Action::SetDelegate {
            acc,
            by_delegate,
            to,
        } => o.extend([24, acc, b(by_delegate), to]),
        Action::Leave { acc, rejoin } => o.extend([25, acc, b(rejoin)]),
        Action::UpdateCorrelation { oracle: s } => o.extend([26, oracle(s)]),
        Action::PublishIv { bps, by_authority } => {
            o.push(27);
            o.extend(bps.to_le_bytes());
            o.push(b(by_authority));
        }
        Action::UpdateParams {
            field,
            pos,
            outside,
            by_admin,
        } => o.extend([28, field, pos, b(outside), b(by_admin)]),
        Action::UpdateLiquidationParams {
            field,
            pos,
            outside,
        } => o.extend([29, field, pos, b(outside)]),
        Action::Pause { flags, by_admin } => o.extend([30, flags, b(by_admin)]),
        Action::WithdrawFees { usdc, by_admin } => {
            o.push(31);
            o.extend(usdc.to_le_bytes());
            o.push(b(by_admin));
        }
    }
}

/// xorshift64*: the runner's and the CI slices' source of input bytes.
pub fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = (seed ^ 0x9E37_79B9_7F4A_7C15).max(1);
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encoding is the inverse of decoding on every sequence the generator makes.
    #[test]
    fn encode_reads_back_as_the_same_actions() {
        for seed in 0..50 {
            let actions = decode(&seeded_bytes(seed, 4_000));
            assert!(actions.len() > 300, "{}", actions.len());
            assert_eq!(decode(&encode(&actions)), actions);
        }
        // Every kind is decoded from some seed.
        let mut seen = [false; 20];
        for seed in 0..20 {
            for a in decode(&seeded_bytes(seed, 4_000)) {
                seen[a.kind()] = true;
            }
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }

    #[test]
    fn an_incomplete_action_ends_the_sequence() {
        let one = encode(&[Action::Jump { tenths: 3 }]);
        assert_eq!(decode(&one).len(), 1);
        let mut cut = encode(&[Action::FundInsurance { usdc: 7 }]);
        cut.pop();
        assert!(decode(&cut).is_empty());
    }
}
