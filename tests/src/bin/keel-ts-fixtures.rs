//! Writes the TypeScript SDK's fixtures exported from the bank (`sdk/ts/test/fixtures/bank.json`).
//! See `keel_tests::ts_fixtures`.

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let v = keel_tests::ts_fixtures::export().await;
    let path = keel_tests::ts_fixtures::fixture_path();
    std::fs::create_dir_all(path.parent().unwrap()).expect("create the fixtures directory");
    let mut text = serde_json::to_string_pretty(&v).expect("JSON");
    text.push('\n');
    std::fs::write(&path, text).expect("write the fixtures");
    println!("wrote {}", path.display());
}
