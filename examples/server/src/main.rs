//! `kenesh-server`: the sync server on its embedded store.
//!
//! ```sh
//! kenesh-server keys   --config server.toml   # make (first time) and print the server's keys
//! kenesh-server serve  --config server.toml   # serve until Ctrl-C / SIGTERM
//! kenesh-server enrol  --config server.toml --device 11 --public-keys HEX \
//!                      --municipality 1 --read personal --write sensitive
//! kenesh-server revoke --config server.toml --device 11
//! ```
//!
//! Errors and what to fix go to stderr in Kyrgyz, Russian or English (`KENESH_LANG`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kenesh_server::{
    AdminChange, Config, DataDir, DeviceSpec, Error, GrantSpec, Lang, bind, headline,
};

#[derive(Parser)]
#[command(name = "kenesh-server", version, about = "The kenesh sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the server's public keys (made on first use), for devices to trust.
    Keys {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Serve until Ctrl-C or SIGTERM (sessions finish, the store is synced).
    Serve {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Enrol (or re-key, re-grant) a device in the store. The server must not be running.
    Enrol {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The device number.
        #[arg(long)]
        device: u32,
        /// Its public keys (128 hex digits, printed by the device).
        #[arg(long)]
        public_keys: String,
        /// The municipality it serves.
        #[arg(long)]
        municipality: String,
        /// The highest tier it reads (public, personal, sensitive).
        #[arg(long)]
        read: Option<String>,
        /// The highest tier it writes.
        #[arg(long)]
        write: Option<String>,
    },
    /// Revoke a device: its ops from `from_seq` on are refused, and it is served nothing.
    Revoke {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The device number.
        #[arg(long)]
        device: u32,
        /// The first seq refused (default: the first it has not yet sent).
        #[arg(long)]
        from_seq: Option<u64>,
    },
    /// Restore the store from a backup (a copy of server.redb taken while the server was
    /// stopped), in a new epoch, re-applying the grant changes and revocations made since
    /// (admin.log). The server must not be running.
    Restore {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The backup to restore.
        #[arg(long)]
        from: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", headline(&e, Lang::from_env()));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Keys { config } => {
            let config = Config::load(&config)?;
            let dir = DataDir::prepare(&config.data_dir)?;
            println!("{}", dir.identity()?.public().to_hex());
            Ok(())
        }
        Command::Serve { config } => serve(Config::load(&config)?),
        Command::Enrol {
            config,
            device,
            public_keys,
            municipality,
            read,
            write,
        } => {
            let config = Config::load(&config)?;
            let dir = DataDir::prepare(&config.data_dir)?;
            let mut grants = Vec::new();
            for (tier, access) in [(read, "read"), (write, "write")] {
                if let Some(tier) = tier {
                    grants.push(GrantSpec {
                        municipality: Some(municipality.clone()),
                        organisation: None,
                        tier,
                        access: access.into(),
                    });
                }
            }
            let spec = DeviceSpec {
                id: device,
                name: String::new(),
                public_keys,
                grants,
                purposes: None,
            };
            let bad = |detail| Error::Config {
                path: PathBuf::from("--public-keys / --read / --write"),
                detail,
            };
            spec.keys().map_err(bad)?;
            spec.grants().map_err(bad)?;
            let mut server = dir.open_server(std::slice::from_ref(&spec))?;
            server.sync().map_err(|e| Error::Serve(e.to_string()))?;
            println!("device {device} enrolled");
            Ok(())
        }
        Command::Revoke {
            config,
            device,
            from_seq,
        } => {
            let config = Config::load(&config)?;
            let dir = DataDir::prepare(&config.data_dir)?;
            let mut server = dir.open_server(&[])?;
            let from = from_seq.unwrap_or_else(|| server.durable_seq(device) + 1);
            server
                .revoke(device, from)
                .map_err(|e| Error::Serve(e.to_string()))?;
            dir.log_change(&AdminChange::Revoke {
                device,
                from_seq: from,
            })?;
            println!("device {device} revoked from seq {from}");
            Ok(())
        }
        Command::Restore { config, from } => {
            let config = Config::load(&config)?;
            let dir = DataDir::prepare(&config.data_dir)?;
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            let (epoch, changes) = dir.restore(&from, now_ms)?;
            println!(
                "restored from {}: epoch {epoch}, {changes} admin changes re-applied",
                from.display()
            );
            Ok(())
        }
    }
}

fn serve(config: Config) -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let dir = DataDir::prepare(&config.data_dir)?;
    let server = dir.open_server(&config.devices)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Serve(e.to_string()))?;
    runtime.block_on(async move {
        let listener = bind(&config.listen).await?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Serve(e.to_string()))?;
        let running = kenesh_net::NetServer::new(server, kenesh_net::NetConfig::default())
            .spawn(listener)
            .map_err(|e| Error::Serve(e.to_string()))?;
        kenesh_net::cancel_on_signals(running.shutdown_token())
            .map_err(|e| Error::Serve(e.to_string()))?;
        // The line scripts and tests wait for.
        println!("kenesh-server listening on {addr}");
        running
            .wait()
            .await
            .map(drop)
            .map_err(|e| Error::Serve(e.to_string()))
    })
}
