//! `kenesh-partner`: the command-line client for partner organisations (see the library).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use kenesh_model::{OrganisationId, PersonId, Scope};

#[derive(Parser, Debug)]
#[command(
    name = "kenesh-partner",
    version,
    about = "kenesh client for partner organisations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Makes the partner's secret key in DIR and prints its public keys, for the server
    /// operator to enrol.
    Register {
        /// The partner's directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Syncs the partner's scope into the local replica in DIR.
    Sync {
        /// The partner's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The server's address (host:port).
        #[arg(long)]
        server: String,
        /// The device number the operator enrolled the partner under.
        #[arg(long)]
        device: u32,
        /// The server's public keys: 128 hex digits (verify key, then Noise key).
        #[arg(long)]
        server_key: String,
    },
    /// Exports what the partner's replica can read.
    Export {
        /// The partner's directory.
        #[arg(long, global = true, default_value = ".")]
        dir: PathBuf,
        #[command(subcommand)]
        what: Export,
    },
    /// Decodes a captured stream of length-prefixed plaintext kenesh-proto frames into
    /// JSON lines.
    Inspect {
        /// The captured stream.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum Export {
    /// Local issues.
    Issues {
        /// The output format.
        #[arg(long, value_enum, default_value = "json")]
        format: IssueFormat,
    },
    /// Legal cases the partner organisation owns.
    Cases {
        /// The partner organisation's id.
        #[arg(long)]
        org: String,
    },
    /// A person's subject-access view (JSON).
    Subject {
        /// The person's id.
        #[arg(long)]
        person: String,
    },
    /// The published indicator report (small cells suppressed).
    Indicators {
        /// The fiscal year.
        #[arg(long)]
        year: i16,
        /// The output format.
        #[arg(long, value_enum, default_value = "json")]
        format: TableFormat,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum IssueFormat {
    Csv,
    Json,
    #[value(name = "open311-services")]
    Open311Services,
    #[value(name = "open311-requests")]
    Open311Requests,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum TableFormat {
    Csv,
    Json,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Register { dir } => {
            let keys = kenesh_partner::register(&dir)?;
            println!("verify key: {}", hex::encode(keys.verify));
            println!("noise key:  {}", hex::encode(keys.noise));
            println!("public:     {}", kenesh_partner::public_hex(&keys));
            eprintln!(
                "secret key written to {} (mode 0600); send the public line to the server operator",
                dir.join(kenesh_partner::SECRET_FILE).display()
            );
        }
        Command::Sync {
            dir,
            server,
            device,
            server_key,
        } => {
            let spinner = indicatif::ProgressBar::new_spinner();
            spinner.enable_steady_tick(Duration::from_millis(100));
            spinner.set_message(format!("syncing with {server}…"));
            let result = kenesh_partner::sync_dir(&dir, &server, device, &server_key);
            match result {
                Ok(report) => spinner.finish_with_message(format!(
                    "synced: {} bytes sent, {} received; {} ops held",
                    report.stats.bytes_sent, report.stats.bytes_received, report.ops_held
                )),
                Err(e) => {
                    spinner.abandon_with_message("sync failed");
                    return Err(e).with_context(|| format!("syncing with {server}"));
                }
            }
        }
        Command::Export { dir, what } => {
            let replica = kenesh_partner::open_replica(&dir)?;
            let out = match what {
                Export::Issues { format } => match format {
                    IssueFormat::Csv => kenesh_partner::issues_csv(&replica)?,
                    IssueFormat::Json => kenesh_partner::issues_json(&replica)?,
                    IssueFormat::Open311Services => {
                        serde_json::to_string_pretty(&kenesh_partner::open311_services())?
                    }
                    IssueFormat::Open311Requests => {
                        serde_json::to_string_pretty(&kenesh_partner::open311_requests(&replica))?
                    }
                },
                Export::Cases { org } => {
                    let id = kenesh_partner::parse_id(&org)?;
                    kenesh_partner::cases_json(&replica, Scope::Organisation(OrganisationId(id)))?
                }
                Export::Subject { person } => {
                    let id = kenesh_partner::parse_id(&person)?;
                    kenesh_partner::subject_json(&replica, PersonId(id))?
                }
                Export::Indicators { year, format } => {
                    let report = kenesh_partner::indicators(&replica, year);
                    match format {
                        TableFormat::Csv => kenesh_partner::indicators_csv(&report)?,
                        TableFormat::Json => kenesh_partner::indicators_json(&report)?,
                    }
                }
            };
            print!("{out}");
            if !out.ends_with('\n') {
                println!();
            }
        }
        Command::Inspect { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let lines = kenesh_partner::inspect_lines(&bytes)
                .with_context(|| format!("inspecting {}", file.display()))?;
            print!("{lines}");
        }
    }
    Ok(())
}
