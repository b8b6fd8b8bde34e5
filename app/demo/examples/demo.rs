//! `cargo run -p keel-demo --example demo [-- FROM TO]`: the demo without the CLI (the CLI's
//! `keel demo` is the documented entry point).

#[tokio::main]
async fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cfg = keel_demo::DemoConfig::default_at(&root);
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    args.retain(|a| a != "--json");
    if args.len() == 2 {
        cfg.from = args[0].clone();
        cfg.to = args[1].clone();
    }
    match keel_demo::run(&cfg, |_, _| {}).await {
        Ok(s) if json => println!("{}", serde_json::to_string_pretty(&s).unwrap()),
        Ok(s) => println!("{}", s.table()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
