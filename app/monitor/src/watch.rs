//! One read of every market of the deployment — what `keel-monitor` does every `--interval`:
//! each market's vol state goes to its [`Tracker`] (a realised horizon is appended to the
//! records), then to the metrics, with an alert logged when a zone turns yellow or red. Over any
//! keel-client [`Chain`], so it is tested on the bank as it runs over RPC.

use crate::record::{self, Line};
use crate::serve::Metrics;
use crate::tracker::{Step, Tracker};
use keel_client::chain::Chain;
use keel_state::{discriminator, read_account, Market};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The monitor's state between reads.
pub struct Watch {
    /// Per market (address), its horizons.
    pub trackers: BTreeMap<String, Tracker>,
    /// Per market, its name.
    pub names: BTreeMap<String, String>,
    /// The JSON-lines file of realised horizons.
    pub records: PathBuf,
    /// What /metrics and /monitor.json serve.
    pub metrics: Metrics,
}

impl Watch {
    /// The state the records at `records` leave (replayed; a missing file is none), publishing
    /// to `metrics`.
    pub fn new(records: PathBuf, metrics: Metrics) -> Result<Watch, String> {
        let mut w = Watch {
            trackers: BTreeMap::new(),
            names: BTreeMap::new(),
            records,
            metrics,
        };
        for l in record::load(&w.records)? {
            w.trackers
                .entry(l.market.clone())
                .or_default()
                .record(l.horizon);
            w.names.insert(l.market.clone(), l.name.clone());
        }
        if let Some(dir) = w.records.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        Ok(w)
    }

    /// Reads every market on `chain` once; returns how many it read.
    pub async fn pass(&mut self, chain: &impl Chain) -> Result<usize, String> {
        let markets = chain
            .program_accounts(&discriminator::MARKET)
            .await
            .map_err(|e| format!("reading markets: {}", e.0))?;
        let mut read = 0;
        for (key, acc) in markets {
            let Ok(m) = read_account::<Market>(&acc.data, &discriminator::MARKET) else {
                continue;
            };
            read += 1;
            let key = key.to_string();
            let name = {
                let n = m.name.iter().position(|&b| b == 0).unwrap_or(16);
                String::from_utf8_lossy(&m.name[..n]).into_owned()
            };
            self.names.insert(key.clone(), name.clone());
            let t = self.trackers.entry(key.clone()).or_default();
            match t.observe(&m.vol_state, &m.risk_params) {
                Ok(Step::Realised(h, _)) => {
                    tracing::info!(market = %name, loss = h.loss, margin = h.open.margin, exceeded = h.exceeded, "horizon realised");
                    if let Err(e) =
                        record::append(&self.records, &Line::new(key.clone(), name.clone(), h))
                    {
                        tracing::warn!(error = %e, "writing the records");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(market = %name, error = %e, "margining the reference book")
                }
            }
            if let Some(zone) = self.metrics.publish(&key, &name, t) {
                let s = t.stats(crate::P);
                tracing::warn!(market = %name, zone, exceedances = s.exceedances, horizons = s.horizons, kupiec_p = ?s.kupiec_p, "ALERT: margin model backtest zone");
            }
        }
        Ok(read)
    }
}
