//! Every built-in scenario meets its own `[expect]` section — anomalies that must appear do,
//! invariants that must hold do — over many seeds, not just the one in the docs.

use kafkasim_scenarios::catalog;
use kafkasim_tests::run_builtin;

#[test]
fn every_builtin_scenario_meets_its_expectations_over_30_seeds() {
    for name in catalog::names() {
        for seed in 0..30 {
            let report = run_builtin(name, seed);
            let failed: Vec<_> = report.verdicts.iter().filter(|v| !v.ok()).collect();
            assert!(
                failed.is_empty(),
                "{name} seed {seed}: {:?}\nrepro: kafkasim run {name} --seed {seed}",
                failed
                    .iter()
                    .map(|v| (&v.checker, v.findings.first()))
                    .collect::<Vec<_>>()
            );
        }
    }
}
