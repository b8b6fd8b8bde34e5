//! Writes the Keel IDL to `idl/keel.json`, or with `--check` exits non-zero when the committed
//! file is stale. See `keel_tests::idl`.

fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let json = match keel_tests::idl::generate() {
        Ok(j) => j,
        Err(e) => {
            eprintln!("IDL generation failed: {e}");
            std::process::exit(2);
        }
    };
    let path = keel_tests::idl::idl_path();
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != json {
            eprintln!(
                "{} is stale: run `cargo run -p keel-tests --bin keel-idl`",
                path.display()
            );
            std::process::exit(1);
        }
        println!("{} is up to date", path.display());
    } else {
        std::fs::create_dir_all(path.parent().unwrap()).expect("create idl/");
        std::fs::write(&path, json).expect("write idl/keel.json");
        println!("wrote {}", path.display());
    }
}
