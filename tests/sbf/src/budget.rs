//! The compute-unit budget file (`budgets.toml`): the CU each instruction may use in the VM, per
//! shape (series held, markets). A run fails when a measured instruction exceeds its budget,
//! when a budgeted instruction was not measured (a budget that checks nothing), when any
//! instruction exceeds `ceiling` (headroom under Solana's 1.4M per transaction), or when a
//! scenario recorded a failed instruction.
//!
//! Format: `ceiling = N` and one table per shape, `["<series>x<markets>"]`, of
//! `instruction = max_cu`; `["lifecycle"]` holds the lifecycle scenario's figures (the largest
//! of each instruction there). `[known_failures]` maps a shape to the instructions known to
//! fail there (failing to run, or above the ceiling), each with an open issue: reported, not
//! failing the run; an entry that no longer fails does fail it, so it is removed with the fix.

use keel_scenario::Measured;
use std::collections::BTreeMap;

/// Budgets by shape key ("lifecycle", "8x1", ...) then instruction.
pub struct Budgets {
    pub ceiling: u64,
    pub shapes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Shape → instructions known to fail there.
    pub known_failures: BTreeMap<String, Vec<String>>,
}

/// One problem found: (instruction, what).
pub type Problem = (String, String);

/// The key of a sweep shape.
pub fn shape_key(series: usize, markets: usize) -> String {
    format!("{series}x{markets}")
}

/// The largest CU of each instruction.
pub fn worst(measured: &[Measured]) -> BTreeMap<&'static str, u64> {
    let mut w = BTreeMap::new();
    for m in measured {
        let e = w.entry(m.instruction).or_insert(0);
        *e = m.cu.max(*e);
    }
    w
}

impl Budgets {
    pub fn parse(text: &str) -> Result<Budgets, String> {
        let t: toml::Table = text.parse().map_err(|e| format!("budgets: {e}"))?;
        let mut shapes = BTreeMap::new();
        let mut ceiling = None;
        let mut known_failures = BTreeMap::new();
        for (k, v) in t {
            match v {
                toml::Value::Integer(n) if k == "ceiling" => ceiling = Some(n as u64),
                toml::Value::Table(tab) if k == "known_failures" => {
                    for (shape, list) in tab {
                        let list = list
                            .as_array()
                            .and_then(|a| {
                                a.iter()
                                    .map(|i| i.as_str().map(str::to_string))
                                    .collect::<Option<Vec<_>>>()
                            })
                            .ok_or(format!("budgets: known_failures.{shape}: not strings"))?;
                        known_failures.insert(shape, list);
                    }
                }
                toml::Value::Table(tab) => {
                    let mut m = BTreeMap::new();
                    for (ins, cu) in tab {
                        let cu = cu
                            .as_integer()
                            .ok_or(format!("budgets: {k}.{ins} is not an integer"))?;
                        m.insert(ins, cu as u64);
                    }
                    shapes.insert(k, m);
                }
                _ => return Err(format!("budgets: unexpected key {k}")),
            }
        }
        Ok(Budgets {
            ceiling: ceiling.ok_or("budgets: no ceiling")?,
            shapes,
            known_failures,
        })
    }

    /// What the largest measured CU of each instruction in `shape` violates.
    pub fn check(&self, shape: &str, measured: &[Measured]) -> Vec<Problem> {
        let worst = worst(measured);
        let mut v = Vec::new();
        for (ins, cu) in &worst {
            if *cu > self.ceiling {
                v.push((
                    ins.to_string(),
                    format!("used {cu} CU, above the ceiling {}", self.ceiling),
                ));
            }
        }
        let Some(budgets) = self.shapes.get(shape) else {
            v.push((String::new(), "no budgets for this shape".into()));
            return v;
        };
        for (ins, budget) in budgets {
            match worst.get(ins.as_str()) {
                None => v.push((ins.clone(), "has a budget but was not measured".into())),
                Some(cu) if cu > budget => {
                    v.push((ins.clone(), format!("used {cu} CU, budget {budget}")))
                }
                Some(_) => {}
            }
        }
        v
    }

    /// Splits the problems of `shape` into (failing the run, known), and adds one failing the
    /// run for every known failure that did not happen.
    pub fn triage(&self, shape: &str, problems: &[Problem]) -> (Vec<String>, Vec<String>) {
        let known = self.known_failures.get(shape).cloned().unwrap_or_default();
        let (mut bad, mut expected) = (Vec::new(), Vec::new());
        for (ins, what) in problems {
            let line = format!("{shape}: {ins} {what}");
            if known.contains(ins) {
                expected.push(line);
            } else {
                bad.push(line);
            }
        }
        for k in &known {
            if !problems.iter().any(|(ins, _)| ins == k) {
                bad.push(format!(
                    "{shape}: {k} is a known failure but passed: remove it from known_failures"
                ));
            }
        }
        (bad, expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(instruction: &'static str, cu: u64) -> Measured {
        Measured {
            instruction,
            series: 8,
            markets: 1,
            cu,
        }
    }

    const FILE: &str = "ceiling = 1200000\n[\"8x1\"]\ntrade = 100\ndeposit = 50\n\
                        [known_failures]\n\"8x1\" = [\"margin_report\"]\n";

    fn lines(v: &[Problem]) -> Vec<String> {
        v.iter().map(|(i, w)| format!("{i} {w}")).collect()
    }

    #[test]
    fn at_the_budget_passes_one_above_fails() {
        let b = Budgets::parse(FILE).unwrap();
        assert!(b
            .check("8x1", &[m("trade", 100), m("deposit", 50)])
            .is_empty());
        let v = b.check("8x1", &[m("trade", 90), m("trade", 101), m("deposit", 50)]);
        assert_eq!(lines(&v), vec!["trade used 101 CU, budget 100"]);
    }

    #[test]
    fn an_unmeasured_budget_and_the_ceiling_fail() {
        let b = Budgets::parse(FILE).unwrap();
        assert_eq!(
            lines(&b.check("8x1", &[m("trade", 100)])),
            vec!["deposit has a budget but was not measured"]
        );
        let v = b.check(
            "8x1",
            &[m("trade", 100), m("deposit", 50), m("liquidate", 1_200_001)],
        );
        assert_eq!(
            lines(&v),
            vec!["liquidate used 1200001 CU, above the ceiling 1200000"]
        );
        assert_eq!(
            lines(&b.check("1x1", &[])),
            vec![" no budgets for this shape"]
        );
    }

    #[test]
    fn known_failures_are_reported_and_must_still_fail() {
        let b = Budgets::parse(FILE).unwrap();
        let p = vec![(
            "margin_report".to_string(),
            "failed: out of memory".to_string(),
        )];
        let (bad, known) = b.triage("8x1", &p);
        assert!(bad.is_empty());
        assert_eq!(known, vec!["8x1: margin_report failed: out of memory"]);
        let (bad, _) = b.triage("8x1", &[]);
        assert_eq!(
            bad,
            vec!["8x1: margin_report is a known failure but passed: remove it from known_failures"]
        );
        let (bad, _) = b.triage("1x1", &p);
        assert_eq!(bad, vec!["1x1: margin_report failed: out of memory"]);
    }
}
