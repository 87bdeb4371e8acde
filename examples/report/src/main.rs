//! `kenesh-report`: the indicator report of a seeded municipality, in Kyrgyz, Russian,
//! English or JSON.

use std::process::ExitCode;

use clap::Parser;
use kenesh_model::indicators::{
    Cell, Dimension, IndicatorConfig, Target, Unit, cell_label, compute,
};
use kenesh_model::text::Locale;
use kenesh_model::{Date, FiscalYear, SoateCode, TerritoryRegistry};

/// Builds a municipality's records and prints the programme's indicator report.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Fiscal year (October–September), named by the year it ends in.
    #[arg(long, default_value_t = 2024)]
    fiscal_year: i16,
    /// Language of the report: ky, ru or en.
    #[arg(long, default_value = "ky")]
    lang: String,
    /// Print the published report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Seed of the demo data.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// Number of residents in the demo data.
    #[arg(long, default_value_t = 400)]
    people: usize,
    /// Territory list (SOATE CSV); the bundled one by default.
    #[arg(long)]
    territories: Option<std::path::PathBuf>,
}

/// Words of the report, Kyrgyz first.
struct Words {
    title: &'static str,
    place: &'static str,
    period: &'static str,
    target: &'static str,
    hidden: &'static str,
    som: &'static str,
    note: &'static str,
}

fn words(l: Locale) -> Words {
    match l {
        Locale::Ky => Words {
            title: "«Жигердүү жарандар» көрсөткүчтөрү",
            place: "Аймак",
            period: "Мезгил",
            target: "максат",
            hidden: "жашырылган",
            som: "сом",
            note: "5тен аз адамдар көрсөтүлбөйт (жашырылган).",
        },
        Locale::Ru => Words {
            title: "Показатели «Активные граждане»",
            place: "Территория",
            period: "Период",
            target: "цель",
            hidden: "скрыто",
            som: "сом",
            note: "Число людей меньше 5 не показывается (скрыто).",
        },
        Locale::En => Words {
            title: "Active Communities indicators",
            place: "Territory",
            period: "Period",
            target: "target",
            hidden: "suppressed",
            som: "KGS",
            note: "Counts of fewer than 5 people are suppressed.",
        },
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Ok(locale) = args.lang.parse::<Locale>() else {
        eprintln!(
            "--lang: тил ky, ru же en болушу керек / язык: ky, ru или en / language must be ky, ru or en"
        );
        return ExitCode::from(2);
    };
    let csv = match &args.territories {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => include_str!("../../../data/territories.csv").to_string(),
    };
    let registry = match TerritoryRegistry::from_csv(&csv) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("territories: {e}");
            return ExitCode::from(2);
        }
    };
    let fy = FiscalYear(args.fiscal_year);
    if !(2000..=2100).contains(&fy.0) {
        eprintln!("--fiscal-year: 2000–2100 (каржы жылы / финансовый год / fiscal year)");
        return ExitCode::from(2);
    }
    if !(1..=1_000_000).contains(&args.people) {
        eprintln!("--people: 1ден 1 000 000го чейин / от 1 до 1 000 000 / from 1 to 1,000,000");
        return ExitCode::from(2);
    }
    let records = kenesh_report::demo_records(args.seed, args.people, fy);
    let config = IndicatorConfig {
        threshold: 5,
        targets: vec![
            Target {
                indicator: "1".into(),
                year: fy,
                value: 300,
            },
            Target {
                indicator: "3a".into(),
                year: fy,
                value: 3,
            },
        ],
    };
    let report = compute(&records, fy, &config).publish();
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("json: {e}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }

    let w = words(locale);
    let aymak: SoateCode = kenesh_report::AYMAK.parse().expect("demo code");
    let last_day = Date::from_days(fy.period().end.days() - 1);
    let name_of = |code: SoateCode| {
        registry.get(code, last_day).map(|t| {
            if locale == Locale::Ru {
                t.name_ru.clone()
            } else {
                t.name_ky.clone()
            }
        })
    };
    let place = aymak.parent().and_then(name_of).unwrap_or_default();
    println!("{}", w.title);
    println!("{}: {place} ({aymak})", w.place);
    println!(
        "{}: {fy} ({} – {})\n",
        w.period,
        fy.period().start,
        last_day
    );
    let show = |c: Cell, unit: Unit| match (c, unit) {
        (Cell::Suppressed, _) => format!("<{}>", w.hidden),
        (Cell::Value(v), Unit::Tyiyn) => format!("{} {}", v / 100, w.som),
        (Cell::Value(v), Unit::EstimatedPeople) => format!("~{v}"),
        (Cell::Value(v), _) => v.to_string(),
    };
    let label = |d: Dimension, code: &str| -> String {
        if matches!(d, Dimension::Oblast | Dimension::Rayon)
            && let Some(name) = code.parse::<SoateCode>().ok().and_then(name_of)
        {
            return name;
        }
        if d == Dimension::Direction {
            return format!("№{code}");
        }
        cell_label(code, locale).map_or_else(|| code.to_string(), str::to_string)
    };
    for ind in &report.indicators {
        let target = ind
            .target
            .map(|t| format!("  [{}: {t}]", w.target))
            .unwrap_or_default();
        println!(
            "{:>3}  {}: {}{target}",
            ind.code,
            ind.name.best(locale),
            show(ind.total, ind.unit)
        );
        for b in ind.breakdowns.iter().filter(|b| !b.cells.is_empty()) {
            let cells: Vec<String> = b
                .cells
                .iter()
                .map(|(l, c)| format!("{} {}", label(b.dimension, l), show(*c, ind.unit)))
                .collect();
            println!("       {}: {}", b.dimension.label(locale), cells.join(", "));
        }
    }
    println!("\n{}", w.note);
    ExitCode::SUCCESS
}
