//! The bootstrap on the in-process bank: a first run creates everything the config lists, a
//! second run sends nothing and changes no byte, a drifted config is reported by field (and
//! fixed only when asked), and an appended series is the only thing a later run creates.

use anchor_lang::prelude::Pubkey;
use keel_migrations::{bootstrap, Config, Options, Status};
use keel_tests::oracle::Quote;
use keel_tests::TestContext;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_keypair::Keypair;
use solana_signer::Signer;

const BTC_FEED: &str = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";

/// A config for the bank's mint with a pinned pull market, an unpinned one (created reading an
/// explicit price account), a legacy one, series on each and a correlation.
fn config(mint: &Pubkey, pinned: &Pubkey, eth_update: &Pubkey, legacy: &Pubkey) -> String {
    format!(
        r#"
[exchange]
quote_mint = "{mint}"
taker_fee_bps = 5
maker_fee_bps = 2

[[markets]]
name = "BTC/USD"
contract_size = "0.01"
oracle = {{ kind = "pyth-pull", feed_id = "{BTC_FEED}", account = "{pinned}" }}
risk_params = {{ im_range_sigmas = "3.5", named_shocks = [{{ weight = "0.5" }}] }}

[[markets.series]]
kind = "call"
strike = "62000"
expiry = "2026-01-08"

[[markets.series]]
kind = "future"
expiry = "2026-01-08"

[[markets]]
name = "ETH/USD"
contract_size = "0.1"
oracle = {{ kind = "pyth-pull", feed_id = "{eth}", price_account = "{eth_update}" }}
guards = {{ max_staleness_secs = 30 }}

[[markets.series]]
kind = "put"
strike = "3000.5"
expiry = "2026-02-01T08:00:00Z"

[[markets]]
name = "SOL/USD"
contract_size = "1"
oracle = {{ kind = "pyth-legacy", account = "{legacy}" }}

[[correlations]]
markets = ["ETH/USD", "BTC/USD"]
tau_secs = 2592000
min_interval_secs = 60
max_sync_secs = 5
"#,
        eth = keel_migrations::config::to_hex(&[2; 32]),
    )
}

async fn every_keel_account(t: &mut TestContext) -> Vec<(Pubkey, Option<solana_account::Account>)> {
    let keys: Vec<Pubkey> = t.known.all();
    let accs = t.snapshot(&keys).await;
    keys.into_iter()
        .zip(accs)
        .filter(|(_, a)| a.as_ref().is_some_and(|a| a.owner == keel::ID))
        .collect()
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_reports_drift() {
    let mut t = TestContext::builder().start_bank().await;
    let now = t.now().await;
    let (pinned, eth_update, legacy) = (
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
    );
    let feed = keel_migrations::config::hex32(BTC_FEED).unwrap();
    t.set_pull_oracle(
        &pinned,
        feed,
        Quote::usd(60_000, 5, now),
        VerificationLevel::Full,
    )
    .await;
    t.set_pull_oracle(
        &eth_update,
        [2; 32],
        Quote::usd(3_000, 5, now),
        VerificationLevel::Full,
    )
    .await;
    t.set_legacy_oracle(&legacy, Quote::usd(150, 5, now), 1)
        .await;
    let text = config(&t.ex.quote_mint, &pinned, &eth_update, &legacy);
    let cfg = Config::from_toml(&text).unwrap();
    let admin = t.admin.insecure_clone();
    let chain = t.chain(&admin);

    // A dry run on an empty chain sends nothing and lists everything as to be created.
    let dry = bootstrap(
        &chain,
        &cfg,
        Options {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(dry.sent.is_empty());
    // The exchange, 3 markets, 3 series, a risk-array page for each market with options (BTC's
    // call, ETH's put; SOL has none) and the correlation.
    assert_eq!(dry.items.len(), 1 + 3 + 3 + 2 + 1, "{:#?}", dry.items);
    assert!(
        dry.items.iter().all(|i| i.status == Status::WouldCreate),
        "{:#?}",
        dry.items
    );

    // First run: exchange, 3 markets, 2 pages, 3 series, 1 correlation.
    let first = bootstrap(&chain, &cfg, Options::default()).await.unwrap();
    assert_eq!(first.sent.len(), 10, "{:#?}", first.items);
    let kinds: Vec<&str> = first.items.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [
            "exchange",
            "market",
            "array-page",
            "series",
            "series",
            "market",
            "array-page",
            "series",
            "market",
            "correlation"
        ],
        "a page is created just before the first option that needs it"
    );
    assert!(first.items.iter().all(|i| i.status == Status::Created));
    let ex = t.exchange().await;
    assert_eq!(ex.market_count, 3);
    assert_eq!((ex.taker_fee_bps, ex.maker_fee_bps), (5, 2));
    assert_eq!(Pubkey::new_from_array(ex.admin), admin.pubkey());
    let btc = t.market(&keel_client::pda::market(&t.ex.exchange, 0)).await;
    assert_eq!(&btc.name[..7], b"BTC/USD");
    assert_eq!(btc.oracle.account, pinned.to_bytes());
    assert_eq!(btc.risk_params.im_range_sigmas.to_string(), "3.5");
    assert_eq!(btc.risk_params.named_shocks[0].weight.to_string(), "0.5");
    assert_eq!(
        btc.risk_params.range_cap,
        keel_risk::RiskParams::DEFAULT.range_cap
    );
    let eth_key = keel_client::pda::market(&t.ex.exchange, 1);
    let eth = t.market(&eth_key).await;
    assert_eq!(
        eth.oracle.account, [0; 32],
        "unpinned: any update of the feed"
    );
    assert_eq!(eth.oracle.max_staleness_secs, 30);
    assert_eq!(
        eth.oracle.max_conf_bps, 200,
        "unspecified guards take the defaults"
    );
    let put = t.series(&keel_client::pda::series(&eth_key, 0)).await;
    // 3000.5 USD per ETH × 0.1 ETH per contract × 10^6.
    assert_eq!((put.kind, put.strike_native), (1, 300_050_000));
    assert_eq!(put.expiry_ts, 1_769_932_800);
    let call = t
        .series(&keel_client::pda::series(
            &keel_client::pda::market(&t.ex.exchange, 0),
            0,
        ))
        .await;
    assert_eq!(call.strike_native, 620_000_000);
    // The call took slot 0 of BTC's page 0; the future has no page.
    let btc_key = keel_client::pda::market(&t.ex.exchange, 0);
    let page_key: Pubkey = first.items[2].address.parse().unwrap();
    let page = keel_migrations::pages::decode_page(
        &t.snapshot(&[page_key]).await[0].as_ref().unwrap().data,
    )
    .unwrap();
    assert_eq!(
        (page.market, page.page_index, page.n_used),
        (btc_key.to_bytes(), 0, 1)
    );
    assert_eq!((call.array_page, call.array_slot), (0, 0));
    assert_eq!(
        page.slots[0].series,
        keel_client::pda::series(&btc_key, 0).to_bytes()
    );
    let fut = t.series(&keel_client::pda::series(&btc_key, 1)).await;
    assert_eq!(fut.array_page, keel_state::array_page::NO_PAGE);
    assert_eq!(btc.array_pages, 1);
    let corr =
        keel_client::pda::correlation(&keel_client::pda::market(&t.ex.exchange, 0), &eth_key);
    assert!(
        t.snapshot(&[corr]).await[0].is_some(),
        "lower market index first"
    );

    // Second run: nothing sent, nothing changed.
    let before = every_keel_account(&mut t).await;
    // The exchange and its four ledger shards, two markets, their pages, series, correlation.
    assert_eq!(before.len(), 10 + keel_state::LEDGER_SHARDS as usize);
    let second = bootstrap(&chain, &cfg, Options::default()).await.unwrap();
    assert!(second.sent.is_empty(), "{:?}", second.sent);
    assert!(
        second.items.iter().all(|i| i.status == Status::Exists),
        "{:#?}",
        second.items
    );
    assert_eq!(every_keel_account(&mut t).await, before);

    // Drift: a guard and a risk parameter changed in the config are reported by name, not sent.
    let drifted = Config::from_toml(
        &text
            .replace("max_staleness_secs = 30", "max_staleness_secs = 45")
            .replace(
                "contract_size = \"1\"",
                "contract_size = \"1\"\nrisk_params = { long_haircut = \"0.25\" }",
            ),
    )
    .unwrap();
    let r = bootstrap(&chain, &drifted, Options::default())
        .await
        .unwrap();
    assert!(r.sent.is_empty());
    let mism: Vec<_> = r.mismatches().collect();
    assert_eq!(mism.len(), 2, "{mism:#?}");
    assert_eq!(mism[0].name, "ETH/USD");
    assert!(
        mism[0].details[0].starts_with("guards.max_staleness_secs: 30 vs 45"),
        "{:?}",
        mism[0].details
    );
    assert_eq!(mism[1].name, "SOL/USD");
    assert!(
        mism[1].details[0].starts_with("risk_params.long_haircut: "),
        "{:?}",
        mism[1].details
    );
    assert_eq!(every_keel_account(&mut t).await, before);

    // An immutable difference (contract size) cannot be fixed and says so.
    let wrong =
        Config::from_toml(&text.replace("contract_size = \"0.1\"", "contract_size = \"0.2\""))
            .unwrap();
    let r = bootstrap(
        &chain,
        &wrong,
        Options {
            update_params: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let m: Vec<_> = r.mismatches().collect();
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].details[0],
        "contract_size: chain has 1e-1, config says 2e-1"
    );
    assert!(r.sent.is_empty());

    // --update-params sends update_market_params for the two drifted markets; then all match.
    let r = bootstrap(
        &chain,
        &drifted,
        Options {
            update_params: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(r.sent.len(), 2);
    assert_eq!(
        r.items
            .iter()
            .filter(|i| i.status == Status::Updated)
            .count(),
        2
    );
    assert_eq!(t.market(&eth_key).await.oracle.max_staleness_secs, 45);
    let r = bootstrap(&chain, &drifted, Options::default())
        .await
        .unwrap();
    assert!(r.sent.is_empty() && r.mismatches().count() == 0);

    // Appending a series creates exactly that series at the market's next index (and, its
    // market having no page yet, the page its option needs); a series whose expiry has passed
    // is reported as skipped, not listed.
    let appended = Config::from_toml(&format!(
        "{}\n[[markets.series]]\nkind = \"call\"\nstrike = \"200\"\nexpiry = \"2026-01-05\"\n\n[[markets.series]]\nkind = \"put\"\nstrike = \"100\"\nexpiry = \"2025-12-01\"\n",
        text.replace("contract_size = \"1\"", "contract_size = \"1\"\nrisk_params = { long_haircut = \"0.25\" }")
            .replace("max_staleness_secs = 30", "max_staleness_secs = 45")
            .replace("\n[[correlations]]", "\n[[correlationsX]]")
            .split("\n[[correlationsX]]")
            .next()
            .unwrap()
    ))
    .unwrap();
    let r = bootstrap(&chain, &appended, Options::default())
        .await
        .unwrap();
    assert_eq!(r.sent.len(), 2, "{:#?}", r.items);
    let created: Vec<&str> = r
        .items
        .iter()
        .filter(|i| i.status == Status::Created)
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(
        created,
        [
            "SOL/USD risk-array page 0",
            "SOL/USD call 200 2026-01-05T00:00:00Z"
        ]
    );
    let sol_key = keel_client::pda::market(&t.ex.exchange, 2);
    let s = t.series(&keel_client::pda::series(&sol_key, 0)).await;
    assert_eq!((s.kind, s.strike_native), (0, 200_000_000));
    let skipped: Vec<_> = r
        .items
        .iter()
        .filter(|i| i.status == Status::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].details[0].contains("has passed"));
}

#[tokio::test]
async fn a_signer_who_is_not_the_admin_is_told_so() {
    let mut t = TestContext::builder().start().await;
    let now = t.now().await;
    let o = Keypair::new().pubkey();
    let feed = keel_migrations::config::hex32(BTC_FEED).unwrap();
    t.set_pull_oracle(
        &o,
        feed,
        Quote::usd(60_000, 5, now),
        VerificationLevel::Full,
    )
    .await;
    let text = config(&t.ex.quote_mint, &o, &o, &o);
    let cfg = Config::from_toml(&text).unwrap();
    let stranger = Keypair::new();
    t.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    let e = bootstrap(&t.chain(&stranger), &cfg, Options::default())
        .await
        .unwrap_err();
    assert!(e.error.contains("sign with the admin's keypair"), "{e}");
    let ex_item = &e.report.items[0];
    assert_eq!(ex_item.status, Status::Mismatch);
    assert!(
        ex_item.details[0].starts_with("admin: chain has"),
        "{:?}",
        ex_item.details
    );
}

#[tokio::test]
async fn a_seventeenth_option_opens_a_second_page_and_a_rerun_creates_none() {
    let mut t = TestContext::builder().start_bank().await;
    let now = t.now().await;
    let oracle = Keypair::new().pubkey();
    let feed = keel_migrations::config::hex32(BTC_FEED).unwrap();
    t.set_pull_oracle(
        &oracle,
        feed,
        Quote::usd(60_000, 5, now),
        VerificationLevel::Full,
    )
    .await;
    let per_page = keel_state::array_page::PAGE_SERIES;
    let mut text = format!(
        "[exchange]\nquote_mint = \"{}\"\ntaker_fee_bps = 5\nmaker_fee_bps = 2\n\n[[markets]]\nname = \"BTC/USD\"\ncontract_size = \"0.01\"\noracle = {{ kind = \"pyth-pull\", feed_id = \"{BTC_FEED}\", account = \"{oracle}\" }}\n",
        t.ex.quote_mint
    );
    // A future first (no page), then one option more than a page holds.
    text.push_str("\n[[markets.series]]\nkind = \"future\"\nexpiry = \"2026-01-08\"\n");
    for i in 0..=per_page {
        text.push_str(&format!(
            "\n[[markets.series]]\nkind = \"put\"\nstrike = \"{}\"\nexpiry = \"2026-01-08\"\n",
            50_000 + 1_000 * i
        ));
    }
    let cfg = Config::from_toml(&text).unwrap();
    let admin = t.admin.insecure_clone();
    let chain = t.chain(&admin);
    let first = bootstrap(&chain, &cfg, Options::default()).await.unwrap();
    // Exchange, market, page 0, 17 series, page 1 before the last one.
    let pages: Vec<_> = first
        .items
        .iter()
        .filter(|i| i.kind == "array-page")
        .collect();
    assert_eq!(pages.len(), 2, "{:#?}", first.items);
    assert_eq!(first.sent.len(), 1 + 1 + 2 + 1 + per_page + 1);
    assert_eq!(first.items[first.items.len() - 2].kind, "array-page");
    let btc = keel_client::pda::market(&t.ex.exchange, 0);
    assert_eq!(t.market(&btc).await.array_pages, 2);
    let last = t
        .series(&keel_client::pda::series(&btc, 1 + per_page as u32))
        .await;
    assert_eq!((last.array_page, last.array_slot), (1, 0));
    let full = t
        .series(&keel_client::pda::series(&btc, per_page as u32))
        .await;
    assert_eq!((full.array_page, full.array_slot), (0, per_page as u8 - 1));

    // Again: the two pages exist, one full and one with 15 slots free; nothing is sent.
    let again = bootstrap(&chain, &cfg, Options::default()).await.unwrap();
    assert!(again.sent.is_empty(), "{:#?}", again.items);
    let pages: Vec<_> = again
        .items
        .iter()
        .filter(|i| i.kind == "array-page")
        .collect();
    assert_eq!(pages.len(), 2);
    assert!(pages.iter().all(|p| p.status == Status::Exists));
    assert_eq!(pages[0].details, ["0 of 16 slots free"]);
    assert_eq!(pages[1].details, ["15 of 16 slots free"]);
}
