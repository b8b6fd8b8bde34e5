//! The monitor's read of a deployment on the bank, through keel-client's `Chain` as it runs over
//! RPC: it finds the Keel market (a run here once read the system program's accounts instead and
//! listed nothing), names it, publishes it in /monitor.json, and strikes the reference book at
//! the market's crank.

use keel_monitor::serve::Metrics;
use keel_monitor::watch::Watch;
use keel_tests::helpers::btc_market_args;
use keel_tests::TestContext;
use solana_keypair::Keypair;
use solana_signer::Signer;

#[tokio::test]
async fn a_pass_reads_every_keel_market_and_publishes_it() {
    let mut t = TestContext::builder().start().await;
    let btc = t
        .create_market_with(
            btc_market_args([1; 32], None),
            Keypair::new().pubkey(),
            60_000,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut w = Watch::new(dir.path().join("horizons.jsonl"), Metrics::new()).unwrap();
    let chain = t.chain(&Keypair::new());
    assert_eq!(w.pass(&chain).await.unwrap(), 1);
    let key = btc.key.to_string();
    assert_eq!(w.names[&key], "BTC/USD");
    // The market's vol state has a crank (its creation): the reference book is struck there.
    let tracker = &w.trackers[&key];
    assert!(tracker.open.is_some() && tracker.total == 0, "{tracker:?}");
    let json: serde_json::Value = serde_json::from_str(&w.metrics.json()).unwrap();
    let listed = json.to_string();
    assert!(listed.contains(&key), "{listed}");
    // Prometheus labels the market by name: the reference book's margin rate is published.
    assert!(
        w.metrics
            .text()
            .lines()
            .any(|l| l.starts_with("keel_monitor_margin_rate{market=\"BTC/USD\"}")),
        "{}",
        w.metrics.text()
    );
}
