//! Writes `sdk/ts/test/fixtures/engine.json`: the native engine's outputs on the what-if grid for
//! the bank fixtures' accounts (the SDK's test runs the WebAssembly build on the same cases).

#[path = "../tests/support/mod.rs"]
mod support;

fn main() {
    let v = support::cases(&support::bank());
    let path = support::sdk_fixtures().join("engine.json");
    let mut text = serde_json::to_string_pretty(&v).expect("JSON");
    text.push('\n');
    std::fs::write(&path, text).expect("write engine.json");
    println!("wrote {}", path.display());
}
