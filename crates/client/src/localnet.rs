//! A local `solana-test-validator` (agave 4.2.2) running the Keel program as built here, started
//! through `scripts/local-validator.sh` (the one place that says how: keel.so upgradeable with a
//! known upgrade authority, the local push oracle, the authority funded at genesis) on ports free
//! at the time, and stopped when dropped. The tests on a real validator and `keel demo
//! --validator` use it.

use solana_keypair::Keypair;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to install the validator, for messages.
pub const INSTALL: &str = "apt-get install -y libclang-dev protobuf-compiler libudev-dev pkg-config libssl-dev cmake && cargo install agave-validator --version 4.2.2 --locked --bin solana-test-validator (about 21 minutes on 2 cores)";

/// The `solana-test-validator` binary: `$KEEL_TEST_VALIDATOR`, else the first on `PATH`, else
/// `~/.cargo/bin`'s (where `cargo install` puts it).
pub fn validator_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KEEL_TEST_VALIDATOR") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(h) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(h).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("solana-test-validator"))
        .find(|p| p.is_file())
}

/// The repository this crate was built from.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port free for TCP now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `len` consecutive ports, each free for TCP and UDP now and not in `taken` (ports already
/// handed to the validator, released until it binds them), for its dynamic range (it binds
/// sockets of both kinds there and refuses a range of fewer than 26).
pub fn free_range(len: u16, taken: &[u16]) -> u16 {
    let free = |p: u16| {
        !taken.contains(&p)
            && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
    };
    // Start somewhere that depends on this process, so parallel runs rarely probe the same ports.
    let offset = (std::process::id() % 500) as u16 * 40;
    (0..1_000u16)
        .map(|i| 20_000 + (offset + i * 40) % 20_000)
        .find(|&base| (base..base + len).all(free))
        .expect("a free range of ports for the validator")
}

/// A running validator; stopped (its process group killed) when dropped.
pub struct LocalValidator {
    child: Child,
    /// JSON-RPC URL.
    pub rpc_url: String,
    /// Websocket (pubsub) URL.
    pub ws_url: String,
    /// Keel's upgrade authority, funded with 500M SOL at genesis (the exchange's admin).
    pub authority: Keypair,
    /// Its keypair file.
    pub authority_file: PathBuf,
    /// The ledger directory (its `validator.log` is there).
    pub ledger: PathBuf,
    /// The script's and validator's output.
    pub log: PathBuf,
}

impl LocalValidator {
    /// Starts a validator with its ledger and files under `dir`, passing `extra` to
    /// `solana-test-validator` (e.g. `--account ADDRESS FILE`), and waits until it serves
    /// JSON-RPC. The script builds keel.so and the local oracle first when they are missing or
    /// stale (minutes the first time, seconds after), so the wait allows for that.
    pub async fn start(dir: &Path, extra: &[String]) -> Result<LocalValidator, String> {
        let bin = validator_binary()
            .ok_or_else(|| format!("solana-test-validator not found; build it: {INSTALL}"))?;
        let authority = Keypair::new();
        let authority_file = dir.join("authority.json");
        solana_keypair::write_keypair_file(&authority, &authority_file)
            .map_err(|e| format!("writing {}: {e}", authority_file.display()))?;
        let (rpc_port, faucet_port, gossip_port) = (free_port(), free_port(), free_port());
        let range = free_range(
            33,
            &[
                rpc_port,
                rpc_port.saturating_add(1),
                faucet_port,
                gossip_port,
            ],
        );
        let ledger = dir.join("ledger");
        let log = dir.join("local-validator.log");
        let mut cmd = Command::new(repo_root().join("scripts/local-validator.sh"));
        cmd.arg("--foreground")
            .arg("--ledger")
            .arg(&ledger)
            .arg("--authority")
            .arg(&authority_file)
            .args(["--rpc-port", &rpc_port.to_string()])
            .args(["--faucet-port", &faucet_port.to_string()])
            .args(["--gossip-port", &gossip_port.to_string()])
            .args(["--dynamic-port-range", &format!("{range}-{}", range + 32)])
            .env("KEEL_TEST_VALIDATOR", &bin);
        if !extra.is_empty() {
            cmd.arg("--").args(extra);
        }
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        // Its own process group: dropping kills the builds too if it is stopped before the
        // validator runs.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting scripts/local-validator.sh: {e}"))?;
        let mut v = LocalValidator {
            child,
            rpc_url: format!("http://127.0.0.1:{rpc_port}"),
            ws_url: format!("ws://127.0.0.1:{}", rpc_port + 1),
            authority,
            authority_file,
            ledger,
            log,
        };
        v.wait_healthy(Duration::from_secs(45 * 60)).await?;
        Ok(v)
    }

    /// Waits until `getHealth` answers ok and the chain is past slot 1, or the process exits,
    /// or `timeout`. Programs in the genesis (SPL Token, keel.so) are not invocable in the
    /// first slots: an instruction to them fails with `UnsupportedProgramId` until then.
    async fn wait_healthy(&mut self, timeout: Duration) -> Result<(), String> {
        let client =
            solana_rpc_client::nonblocking::rpc_client::RpcClient::new(self.rpc_url.clone());
        let start = Instant::now();
        loop {
            if client.get_health().await.is_ok()
                && client.get_slot().await.is_ok_and(|slot| slot >= 2)
            {
                return Ok(());
            }
            let exited = self.child.try_wait().ok().flatten();
            if exited.is_some() || start.elapsed() > timeout {
                return Err(format!(
                    "the validator did not start ({exited:?}):\n{}\n{}",
                    tail(&self.log, 20),
                    tail(&self.ledger.join("validator.log"), 15)
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The last `n` lines of the validator's own log (for failure messages).
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.ledger.join("validator.log"), n)
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Drop for LocalValidator {
    fn drop(&mut self) {
        // The group we created at spawn (the script exec'd the validator in it).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
