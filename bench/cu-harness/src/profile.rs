//! `--profile DIR --asm FILE`: where the VM's instructions go, by function and by source line.
//!
//! LiteSVM's register tracing records the registers before every executed instruction into
//! `$SBF_TRACE_DIR/<hash>.regs` (12 little-endian u64 per instruction; r11 is the program
//! counter, in instruction slots from the start of `.text`). One traced instruction is one
//! compute unit (a syscall adds its fixed cost), so counting program counters is an exact CU
//! profile.
//!
//! The program counters are named from the assembly listing sbpf-linker emits for the same build
//! (`scripts/build-sbf.sh --profile` builds both, with debug line info and without the sbpf
//! assembler's peephole pass, so that listing and bytecode correspond slot for slot): each
//! instruction line is one slot (two for a 64-bit immediate load, `… ll`), under the label of its
//! (non-inlined) function and the `.loc` source line of its (possibly inlined) code.

use keel_cu_bench::Case;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One instruction slot of the listing.
#[derive(Clone)]
struct Slot {
    function: usize,
    line: usize,
}

/// Program counter → function and source line, from the assembly listing.
pub struct Listing {
    functions: Vec<String>,
    lines: Vec<String>,
    slots: Vec<Slot>,
}

/// Legacy (`_ZN…E`) or v0 (`_R…`) Rust mangling to a readable path, roughly: the identifiers
/// in order, joined by `::` (enough to tell functions apart in a profile).
fn demangle(s: &str) -> String {
    let body = if let Some(b) = s.strip_prefix("_ZN") {
        b
    } else if let Some(b) = s.strip_prefix("_R") {
        b
    } else {
        return s.to_string();
    };
    let b = body.as_bytes();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // v0 crate roots `Cs<base-62 hash>_` and back-references `B<base-62>_` carry no name.
        if (b[i] == b'C' && b.get(i + 1) == Some(&b's')) || b[i] == b'B' {
            while i < b.len() && b[i] != b'_' {
                i += 1;
            }
            i += 1;
            continue;
        }
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let len: usize = body[start..i].parse().unwrap_or(0);
            if b.get(i) == Some(&b'_') {
                i += 1; // v0: separates a length from an identifier starting with `_` or a digit
            }
            if len > 0 && i + len <= b.len() {
                let ident = &body[i..i + len];
                if !(ident.len() == 17 && ident.starts_with('h')) {
                    parts.push(ident.to_string());
                }
                i += len;
            }
            continue;
        }
        i += 1;
    }
    if parts.is_empty() {
        s.to_string()
    } else {
        parts.join("::")
    }
}

impl Listing {
    /// Parses an sbpf-linker `--emit=asm` listing. Sections are laid out `.text` first, then
    /// the others in order of appearance (what the sbpf assembler does).
    pub fn parse(asm: &str) -> Listing {
        let mut functions: Vec<String> = vec!["?".into()];
        let mut fn_ids: HashMap<String, usize> = HashMap::new();
        let mut lines: Vec<String> = vec!["?".into()];
        let mut line_ids: HashMap<String, usize> = HashMap::new();
        let mut files: HashMap<u32, String> = HashMap::new();
        let mut sections: Vec<(String, Vec<Slot>)> = Vec::new();
        let mut section = ".text".to_string();
        let mut function = 0;
        let mut line = 0;
        for raw in asm.lines() {
            let l = raw.trim_end();
            if let Some(rest) = l.strip_prefix("\t.section\t") {
                section = rest.split(',').next().unwrap_or("").to_string();
                continue;
            }
            if l == "\t.text" {
                section = ".text".into();
                continue;
            }
            if let Some(rest) = l.strip_prefix("\t.file\t") {
                let mut it = rest.splitn(2, ' ');
                if let (Some(n), Some(paths)) = (it.next().and_then(|n| n.parse::<u32>().ok()), it.next()) {
                    let parts: Vec<&str> = paths.split('"').filter(|p| !p.trim().is_empty()).collect();
                    let name = parts.last().copied().unwrap_or("?");
                    let dir = if parts.len() > 1 { parts[0] } else { "" };
                    let short = if dir.contains("/library/") {
                        format!("core:{name}")
                    } else {
                        let full = format!("{dir}/{name}");
                        full.rsplit_once("/work/main/").map(|(_, r)| r.to_string()).unwrap_or(full)
                    };
                    files.insert(n, short);
                }
                continue;
            }
            if let Some(rest) = l.strip_prefix("\t.loc\t") {
                let mut it = rest.split_whitespace();
                let file = it.next().and_then(|f| f.parse::<u32>().ok()).unwrap_or(0);
                let ln = it.next().unwrap_or("0");
                let key = format!("{}:{ln}", files.get(&file).map(String::as_str).unwrap_or("?"));
                let n = line_ids.len() + 1;
                line = *line_ids.entry(key.clone()).or_insert_with(|| {
                    lines.push(key);
                    n
                });
                continue;
            }
            if !l.starts_with('\t') && !l.starts_with('.') && l.ends_with(':') {
                let name = demangle(&l[..l.len() - 1]);
                let n = fn_ids.len() + 1;
                function = *fn_ids.entry(name.clone()).or_insert_with(|| {
                    functions.push(name);
                    n
                });
                line = 0;
                continue;
            }
            if l.starts_with('\t') && !l.starts_with("\t.") && !l.trim().is_empty() && !l.trim_start().starts_with('#') {
                let n = if l.ends_with(" ll") { 2 } else { 1 };
                let idx = match sections.iter().position(|(s, _)| *s == section) {
                    Some(i) => i,
                    None => {
                        sections.push((section.clone(), Vec::new()));
                        sections.len() - 1
                    }
                };
                for _ in 0..n {
                    sections[idx].1.push(Slot { function, line });
                }
            }
        }
        sections.sort_by_key(|(s, _)| (s != ".text") as u8); // stable: .text first
        let slots = sections.into_iter().flat_map(|(_, v)| v).collect();
        Listing { functions, lines, slots }
    }

    /// Checks that the listing describes `elf`'s bytecode: same number of slots and the
    /// `entrypoint` label at the ELF's entry point.
    pub fn check_against(&self, elf: &[u8]) -> Result<(), String> {
        let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap());
        let entry = u64_at(0x18);
        let (phoff, phnum) = (u64_at(0x20) as usize, u16_at(0x38) as usize);
        let mut text = None;
        for i in 0..phnum {
            let ph = phoff + i * 56;
            let flags = u32::from_le_bytes(elf[ph + 4..ph + 8].try_into().unwrap());
            if flags & 1 != 0 {
                text = Some((u64_at(ph + 16), u64_at(ph + 32)));
            }
        }
        let (vaddr, size) = text.ok_or("no executable segment")?;
        if size / 8 != self.slots.len() as u64 {
            return Err(format!(
                "listing has {} slots, the program {} (build both with scripts/build-sbf.sh --profile)",
                self.slots.len(),
                size / 8
            ));
        }
        let entry_slot = ((entry - vaddr) / 8) as usize;
        let f = &self.functions[self.slots[entry_slot].function];
        if f != "entrypoint" {
            return Err(format!("slot {entry_slot} (the entry point) is `{f}` in the listing"));
        }
        Ok(())
    }
}

/// The raw trace directory (set as `SBF_TRACE_DIR` before LiteSVM is created).
pub fn raw_dir(dir: &Path) -> PathBuf {
    dir.join("raw")
}

/// Empties the raw trace directory before a run.
pub fn prepare(dir: &Path) -> PathBuf {
    let raw = raw_dir(dir);
    let _ = std::fs::remove_dir_all(&raw);
    let _ = std::fs::create_dir_all(&raw);
    raw
}

fn table(s: &mut String, title: &str, counts: HashMap<&str, u64>, total: u64, limit: usize) {
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let _ = writeln!(s, "\n# {title}: instructions  share");
    for (name, c) in v.into_iter().take(limit) {
        let _ = writeln!(s, "{c:>12}  {:>5.1}%  {name}", 100.0 * c as f64 / total as f64);
    }
}

/// Writes `dir/<case>-<n>.txt`: instructions by function, by source line, by program counter.
pub fn report(dir: &Path, raw: &Path, listing: &Listing, case: Case, n: usize) -> Result<(), String> {
    let mut pcs: HashMap<u64, u64> = HashMap::new();
    let mut total = 0u64;
    for entry in std::fs::read_dir(raw).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "regs") {
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            for regs in bytes.chunks_exact(12 * 8) {
                let pc = u64::from_le_bytes(regs[88..96].try_into().unwrap());
                *pcs.entry(pc).or_default() += 1;
                total += 1;
            }
        }
    }
    if total == 0 {
        return Err("no register trace was written".into());
    }
    let unknown = Slot { function: 0, line: 0 };
    let slot = |pc: u64| listing.slots.get(pc as usize).unwrap_or(&unknown);
    let mut by_fn: HashMap<&str, u64> = HashMap::new();
    let mut by_line: HashMap<&str, u64> = HashMap::new();
    for (&pc, &c) in &pcs {
        let s = slot(pc);
        *by_fn.entry(&listing.functions[s.function]).or_default() += c;
        *by_line.entry(&listing.lines[s.line]).or_default() += c;
    }
    let mut s = String::new();
    let _ = writeln!(s, "# {} series={n}: {total} instructions executed in the whole instruction", case.name());
    table(&mut s, "by function (not inlined)", by_fn, total, 40);
    table(&mut s, "by source line (innermost, inlined code included)", by_line, total, 80);
    let mut hot: Vec<_> = pcs.into_iter().collect();
    hot.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let _ = writeln!(s, "\n# hottest program counters: count  pc  function  line");
    for (pc, c) in hot.iter().take(60) {
        let sl = slot(*pc);
        let _ = writeln!(s, "{c:>12}  {pc:>6}  {}  {}", listing.functions[sl.function], listing.lines[sl.line]);
    }
    let file = dir.join(format!("{}-{n}.txt", case.name()));
    std::fs::write(&file, s).map_err(|e| e.to_string())
}
