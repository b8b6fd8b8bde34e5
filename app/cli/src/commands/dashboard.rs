//! `keel dashboard`: serves the web risk dashboard (`sdk/ts/dashboard`, built by
//! `npm run dashboard:build` in `sdk/ts`) as static files, with `/config.json` telling the page
//! which RPC to read (the browser calls it directly: Solana's JSON-RPC allows any origin), which
//! oracle accounts to use for unpinned pull-oracle markets, and where the model monitor is.

use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the page reads from `/config.json` (sdk/ts/dashboard/src/config.ts).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageConfig {
    /// JSON-RPC URL.
    pub rpc: String,
    /// Oracle account by market (base58).
    pub oracles: BTreeMap<String, String>,
    /// The model monitor's JSON endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    /// Seconds between refreshes (0: manual).
    pub refresh_secs: u64,
}

/// The built dashboard: `dir` if given, else `sdk/ts/dashboard/dist` under `repo`.
pub fn dist_dir(dir: Option<PathBuf>, repo: &Path) -> Result<PathBuf, String> {
    let d = dir.unwrap_or_else(|| repo.join("sdk/ts/dashboard/dist"));
    if d.join("index.html").is_file() {
        Ok(d)
    } else {
        Err(format!(
            "{} has no index.html: build the dashboard (cd sdk/ts && npm ci && npm run dashboard:build) or pass --dir",
            d.display()
        ))
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// The file a request path names inside `dir`, refusing anything that leaves it.
pub fn resolve(dir: &Path, path: &str) -> Option<PathBuf> {
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let p = dir.join(rel);
    p.is_file().then_some(p)
}

async fn respond(mut s: TcpStream, dir: &Path, config: &str) -> std::io::Result<()> {
    let mut buf = vec![0u8; 8192];
    let n = s.read(&mut buf).await?;
    let req = String::from_utf8_lossy(&buf[..n]);
    let mut parts = req.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let (status, ctype, body): (&str, &str, Vec<u8>) = if method != "GET" && method != "HEAD" {
        (
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n".to_vec(),
        )
    } else if path.split('?').next() == Some("/config.json") {
        ("200 OK", "application/json", config.as_bytes().to_vec())
    } else {
        match resolve(dir, path) {
            Some(p) => ("200 OK", content_type(&p), tokio::fs::read(&p).await?),
            None => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
        }
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        s.write_all(&body).await?;
    }
    s.shutdown().await
}

/// Binds `addr` (port 0: any free port) and returns the listener with its address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind(addr).await?;
    let a = l.local_addr()?;
    Ok((l, a))
}

/// Serves `dir` and `/config.json` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, dir: PathBuf, config: PageConfig) -> std::io::Result<()> {
    let config = serde_json::to_string(&config).expect("config JSON");
    loop {
        let (s, _) = listener.accept().await?;
        let (dir, config) = (dir.clone(), config.clone());
        tokio::spawn(async move {
            let _ = respond(s, &dir, &config).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> (String, Vec<u8>) {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        (
            String::from_utf8_lossy(&out[..split]).into_owned(),
            out[split + 4..].to_vec(),
        )
    }

    #[tokio::test]
    async fn serves_files_and_config_and_nothing_outside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<p>keel</p>").unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/e.wasm"), [0, 97, 115, 109]).unwrap();
        let (l, addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let cfg = PageConfig {
            rpc: "http://127.0.0.1:8899".into(),
            oracles: [("M".to_string(), "O".to_string())].into(),
            monitor: None,
            refresh_secs: 5,
        };
        tokio::spawn(serve(l, dir.path().to_path_buf(), cfg));
        let (h, b) = get(addr, "/").await;
        assert!(
            h.starts_with("HTTP/1.1 200") && h.contains("text/html"),
            "{h}"
        );
        assert_eq!(b, b"<p>keel</p>");
        let (h, b) = get(addr, "/assets/e.wasm").await;
        assert!(h.contains("application/wasm"), "{h}");
        assert_eq!(b, [0, 97, 115, 109]);
        let (_, b) = get(addr, "/config.json?x=1").await;
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["rpc"], "http://127.0.0.1:8899");
        assert_eq!(v["oracles"]["M"], "O");
        assert_eq!(v["refreshSecs"], 5);
        for bad in ["/../Cargo.toml", "/assets/../../x", "/missing.js"] {
            let (h, _) = get(addr, bad).await;
            assert!(h.starts_with("HTTP/1.1 404"), "{bad}: {h}");
        }
    }
}
