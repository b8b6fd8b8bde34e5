//! Runs Keel's compute-unit benchmark program (`target/deploy/keel_cu_bench.so`) in LiteSVM: every
//! case for 1, 8, 16 and 32 series, one JSON line per run, and every result compared bit for bit
//! with keel-risk run natively on the same account bytes. Any mismatch, failed transaction or
//! case that did not run is an error and the exit status is non-zero.
//!
//! ```text
//! keel-cu-harness [--so PATH] [--series 1,8,16,32] [--case NAME]... [--check]
//!                 [--profile DIR --asm FILE]
//! ```
//! `--check` (what CI runs) prints only whether each run is bit-exact, not its compute units:
//! CI checks results, and the CU figures belong to docs/performance.md.
//! `--profile DIR --asm FILE` also traces every instruction the VM executes and writes, per
//! run, where they went by function and source line (`DIR/<case>-<n>.txt`; see `profile`).

mod fixture;
mod native;
mod profile;

use keel_cu_bench::{out, Case, Request};
use litesvm::LiteSVM;
use solana_account::Account;
use solana_address::Address;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;
use std::path::PathBuf;
use std::process::ExitCode;

/// The benchmark program's address (arbitrary, fixed).
const PROGRAM_ID: Address = Address::new_from_array([0xCB; 32]);
/// Solana's per-transaction limit, requested for every run.
const CU_LIMIT: u32 = 1_400_000;

struct Args {
    so: PathBuf,
    series: Vec<usize>,
    cases: Vec<Case>,
    profile: Option<PathBuf>,
    asm: Option<PathBuf>,
    check_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        so: PathBuf::from("target/deploy/keel_cu_bench.so"),
        series: vec![1, 8, 16, 32],
        cases: Vec::new(),
        profile: None,
        asm: None,
        check_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--so" => args.so = PathBuf::from(value()?),
            "--series" => {
                args.series = value()?
                    .split(',')
                    .map(|s| s.parse::<usize>().map_err(|e| format!("--series {s}: {e}")))
                    .collect::<Result<_, _>>()?;
                if args.series.iter().any(|&n| n == 0 || n > keel_risk::MAX_POSITIONS) {
                    return Err(format!("series counts must be 1..={}", keel_risk::MAX_POSITIONS));
                }
            }
            "--case" => {
                let name = value()?;
                let case = Case::ALL
                    .into_iter()
                    .find(|c| c.name() == name)
                    .ok_or(format!("unknown case {name}"))?;
                args.cases.push(case);
            }
            "--profile" => args.profile = Some(PathBuf::from(value()?)),
            "--asm" => args.asm = Some(PathBuf::from(value()?)),
            "--check" => args.check_only = true,
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if args.profile.is_some() != args.asm.is_some() {
        return Err("--profile DIR needs --asm FILE (scripts/build-sbf.sh --profile builds both)".into());
    }
    if args.cases.is_empty() {
        args.cases = Case::ALL.to_vec();
    }
    Ok(args)
}

/// What one run in the VM produced.
struct VmRun {
    /// CU of the measured section (net of the measuring syscall).
    section_cu: u64,
    /// CU of the whole benchmark instruction (parsing, loading, encoding included).
    ix_cu: u64,
    status: i64,
    words: Vec<i64>,
}

fn run_in_vm(svm: &mut LiteSVM, payer: &Keypair, fx: &fixture::Fixture, req: &Request) -> Result<VmRun, String> {
    for (key, acc, _) in &fx.accounts {
        svm.set_account(*key, acc.clone()).map_err(|e| format!("set_account: {e:?}"))?;
    }
    let output = Address::new_from_array([0xEE; 32]);
    svm.set_account(
        output,
        Account {
            lamports: 1_000_000_000,
            data: vec![0; out::LEN],
            owner: PROGRAM_ID,
            executable: false,
            rent_epoch: 0,
        },
    )
    .map_err(|e| format!("set_account: {e:?}"))?;
    let mut metas = vec![AccountMeta::new(output, false)];
    metas.extend(fx.accounts.iter().map(|&(k, _, writable)| {
        if writable {
            AccountMeta::new(k, false)
        } else {
            AccountMeta::new_readonly(k, false)
        }
    }));
    let ix = Instruction::new_with_bytes(PROGRAM_ID, &req.encode(), metas);
    let budget = ComputeBudgetInstruction::set_compute_unit_limit(CU_LIMIT);
    svm.expire_blockhash();
    let msg = Message::new(&[budget, ix], Some(&payer.pubkey()));
    let tx = Transaction::new(&[payer], msg, svm.latest_blockhash());
    let meta = svm
        .send_transaction(tx)
        .map_err(|f| format!("transaction failed: {:?}\n{}", f.err, f.meta.logs.join("\n")))?;
    let consumed = format!("Program {PROGRAM_ID} consumed ");
    let ix_cu = meta
        .logs
        .iter()
        .find_map(|l| l.strip_prefix(&consumed))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or("no 'consumed' log line for the program")?;
    let data = svm.get_account(&output).ok_or("output account vanished")?.data;
    if data[..8] != out::MAGIC {
        return Err("output not written".into());
    }
    let word = |at: usize| i64::from_le_bytes(data[at..at + 8].try_into().unwrap());
    let n_words = word(out::WORDS) as usize;
    if n_words > out::MAX_WORDS {
        return Err(format!("{n_words} result words"));
    }
    Ok(VmRun {
        section_cu: word(out::CU) as u64,
        ix_cu,
        status: word(out::STATUS),
        words: (0..n_words).map(|i| word(out::DATA + 8 * i)).collect(),
    })
}

/// A VM like `LiteSVM::new()` (mainnet's feature set, builtins, sysvars, signature and
/// blockhash checks) plus one feature: the `sol_remaining_compute_units` syscall, which
/// mainnet has not activated yet and which the program uses to meter its measured section.
/// No other cost changes with it.
fn vm() -> LiteSVM {
    let mut features = LiteSVM::mainnet_feature_set();
    features.activate(&agave_feature_set::remaining_compute_units_syscall_enabled::id(), 0);
    LiteSVM::default()
        .with_feature_set(features)
        .with_builtins()
        .with_lamports(1_000_000_000_000_000)
        .with_sysvars()
        .with_feature_accounts()
        .with_default_programs()
        .with_sigverify(true)
        .with_blockhash_check(true)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("keel-cu-harness: {e}");
            return ExitCode::from(2);
        }
    };
    let elf = match std::fs::read(&args.so) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("keel-cu-harness: cannot read {}: {e} (run scripts/build-sbf.sh)", args.so.display());
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &args.profile {
        // LiteSVM turns register tracing on when this is set as it is created.
        std::env::set_var("SBF_TRACE_DIR", profile::raw_dir(dir));
    }
    let mut svm = vm();
    if let Err(e) = svm.add_program(PROGRAM_ID, &elf) {
        eprintln!("keel-cu-harness: the VM refused {}: {e:?}", args.so.display());
        return ExitCode::FAILURE;
    }
    let payer = Keypair::new_from_array([7; 32]);
    if let Err(e) = svm.airdrop(&payer.pubkey(), 100_000_000_000) {
        eprintln!("keel-cu-harness: airdrop failed: {e:?}");
        return ExitCode::FAILURE;
    }
    let listing = match &args.asm {
        Some(path) => {
            let listing = match std::fs::read_to_string(path) {
                Ok(text) => profile::Listing::parse(&text),
                Err(e) => {
                    eprintln!("keel-cu-harness: cannot read {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            };
            if let Err(e) = listing.check_against(&elf) {
                eprintln!("keel-cu-harness: {} does not describe {}: {e}", path.display(), args.so.display());
                return ExitCode::from(2);
            }
            Some(listing)
        }
        None => None,
    };

    let mut failures = 0;
    for &case in &args.cases {
        for &n in &args.series {
            // One `crank_arrays` call prices at most one page (`PAGE_SERIES` slots); more series
            // are one call per page, so the crank case stops at a page.
            if case == Case::Crank && n > keel_state::array_page::PAGE_SERIES {
                continue;
            }
            let req = Request {
                case,
                n,
                now: fixture::NOW,
                aux: fixture::LIQUIDATION_ELAPSED_SECS,
            };
            let fx = match fixture::Fixture::new(case, n) {
                Ok(fx) => fx,
                Err(e) => {
                    eprintln!("FAIL {} series={n}: fixture: {e}", case.name());
                    failures += 1;
                    continue;
                }
            };
            // Every fixture is valid input: a run whose native result is an error (of the whole
            // case or of any one result in it) would measure an error path, not the case.
            let expected = match native::expected(&fx, &req) {
                Ok((words, 0)) => Ok(words),
                Ok((_, errors)) => {
                    eprintln!("FAIL {} series={n}: fixture: {errors} engine error(s) natively", case.name());
                    failures += 1;
                    continue;
                }
                Err(native::NoResult::Code(code)) => {
                    eprintln!("FAIL {} series={n}: fixture: the case fails natively with code {code:#x}", case.name());
                    failures += 1;
                    continue;
                }
                Err(native::NoResult::ReferenceMismatch) => {
                    eprintln!(
                        "FAIL {} series={n}: natively, the margin from the arrays differs from keel_risk::compute at the same anchor",
                        case.name()
                    );
                    failures += 1;
                    continue;
                }
            };
            let trace_dir = args.profile.as_ref().map(|d| profile::prepare(d));
            let vm = match run_in_vm(&mut svm, &payer, &fx, &req) {
                Ok(vm) => vm,
                Err(e) => {
                    eprintln!("FAIL {} series={n}: {e}", case.name());
                    failures += 1;
                    continue;
                }
            };
            let exact = match &expected {
                Ok(words) => vm.status == 0 && vm.words == *words,
                Err(code) => vm.status == *code,
            };
            let expected: Result<Vec<i64>, i64> = expected;
            if !exact {
                failures += 1;
                eprintln!("FAIL {} series={n}: VM result differs from native keel-risk", case.name());
                describe_mismatch(&vm, &expected);
            }
            if case == Case::Noop && vm.section_cu != 0 {
                failures += 1;
                eprintln!("FAIL noop: an empty measured section cost {} CU", vm.section_cu);
            }
            if args.check_only {
                println!(
                    "{{\"case\":\"{}\",\"series\":{n},\"markets\":{},\"pages\":{},\"result_words\":{},\"bit_exact\":{exact}}}",
                    case.name(),
                    case.markets(n),
                    fx.n_pages,
                    vm.words.len(),
                );
            } else {
                println!(
                    "{{\"case\":\"{}\",\"series\":{n},\"markets\":{},\"pages\":{},\"cu\":{},\"cu_per_series\":{},\"ix_cu\":{},\"result_words\":{},\"bit_exact\":{exact}}}",
                    case.name(),
                    case.markets(n),
                    fx.n_pages,
                    vm.section_cu,
                    vm.section_cu / n as u64,
                    vm.ix_cu,
                    vm.words.len(),
                );
            }
            if let (Some(dir), Some(listing), Some(trace)) = (&args.profile, &listing, trace_dir) {
                if let Err(e) = profile::report(dir, &trace, listing, case, n) {
                    eprintln!("FAIL {} series={n}: profile: {e}", case.name());
                    failures += 1;
                }
            }
        }
    }
    if failures > 0 {
        eprintln!("keel-cu-harness: {failures} failure(s)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn describe_mismatch(vm: &VmRun, expected: &Result<Vec<i64>, i64>) {
    match expected {
        Err(code) => eprintln!("  native failed with code {code:#x}, VM status {:#x}", vm.status),
        Ok(words) => {
            if vm.status != 0 {
                eprintln!("  VM failed with code {:#x}, native succeeded", vm.status);
                return;
            }
            if vm.words.len() != words.len() {
                eprintln!("  {} words in the VM, {} native", vm.words.len(), words.len());
            }
            for (i, (a, b)) in vm.words.iter().zip(words).enumerate().filter(|(_, (a, b))| a != b).take(10) {
                eprintln!("  word {i}: VM {a} native {b}");
            }
        }
    }
}
