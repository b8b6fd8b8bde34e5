//! Writes the Keel IDL (`idl/keel.json`), its copy in the TypeScript SDK and the SDK's types
//! (`sdk/ts/src/idl/`), or with `--check` exits non-zero when a committed file is stale. See
//! `keel_tests::idl`.

fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let idl = match keel_tests::idl::build() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("IDL generation failed: {e}");
            std::process::exit(2);
        }
    };
    let outputs = keel_tests::idl::outputs(&idl);
    if check {
        let stale = keel_tests::idl::stale(&outputs);
        for p in &stale {
            eprintln!(
                "{} is stale: run `cargo run -p keel-tests --bin keel-idl`",
                p.display()
            );
        }
        if !stale.is_empty() {
            std::process::exit(1);
        }
        for (p, _) in &outputs {
            println!("{} is up to date", p.display());
        }
    } else {
        for (p, s) in &outputs {
            std::fs::create_dir_all(p.parent().unwrap()).expect("create the directory");
            std::fs::write(p, s).expect("write");
            println!("wrote {}", p.display());
        }
    }
}
