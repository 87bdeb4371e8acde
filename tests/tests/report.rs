//! The indicator report over a realistic municipality, end to end: territories from the
//! reference CSV, records built through the model's types, the published report.

use kenesh_model::indicators::{Cell, IndicatorConfig, compute};
use kenesh_model::{Date, FiscalYear, SoateCode, SoateLevel, TerritoryRegistry};

fn registry() -> TerritoryRegistry {
    TerritoryRegistry::from_csv(include_str!("../../data/territories.csv"))
        .expect("reference CSV loads")
}

#[test]
fn demo_municipality_report_is_published_without_small_cells() {
    let fy = FiscalYear(2024);
    let records = kenesh_report::demo_records(11, 400, fy);
    let raw = compute(&records, fy, &IndicatorConfig::default());
    let report = raw.publish();
    assert!(raw.get("1").unwrap().total > 50, "the demo trains people");
    assert!(raw.get("2").unwrap().total > 20, "the demo gives legal aid");
    for ind in report.indicators.iter().filter(|i| i.unit.is_suppressed()) {
        for b in &ind.breakdowns {
            let hidden = b.cells.values().filter(|c| **c == Cell::Suppressed).count();
            assert!(
                hidden != 1,
                "{} {:?}: a lone hidden cell is derivable",
                ind.code,
                b.dimension
            );
            for c in b.cells.values() {
                if let Cell::Value(v) = c {
                    assert!(
                        *v == 0 || *v >= 5,
                        "{} {:?}: small cell {v} published",
                        ind.code,
                        b.dimension
                    );
                }
            }
        }
    }
    // Deterministic in its seed, and serialisable both ways.
    let again = compute(
        &kenesh_report::demo_records(11, 400, fy),
        fy,
        &IndicatorConfig::default(),
    );
    assert_eq!(raw, again);
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(
        serde_json::from_str::<kenesh_model::indicators::Report>(&json).unwrap(),
        report
    );
}

#[test]
fn demo_residences_resolve_in_the_reference_territories() {
    let reg = registry();
    let fy = FiscalYear(2024);
    let last = Date::new(2024, 9, 30).unwrap();
    for p in kenesh_report::demo_records(3, 100, fy).persons {
        let code: SoateCode = p.residence.expect("demo people have a residence");
        let mut up = Some(code);
        while let Some(c) = up {
            if matches!(c.level(), SoateLevel::Rayon) {
                assert!(reg.get(c, last).is_some(), "{c} is in the reference list");
                break;
            }
            up = c.parent();
        }
        assert!(up.is_some(), "{code} lies under a rayon");
    }
}
