//! The kiosk's configuration: a TOML file, flags on the command line over it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use kenesh_sync::PublicKeys;
use serde::Deserialize;

/// Everything the kiosk needs to know about its place.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the replica (ops, keys), the device identity and the receipt counter live.
    pub data_dir: PathBuf,
    /// Where the page is served (open it in the kiosk's browser).
    pub listen: SocketAddr,
    /// The sync server (`host:port`); none: the kiosk works offline only.
    pub server: Option<String>,
    /// The server's public keys, 128 hex digits (signature key then Noise key), as the
    /// server prints them.
    pub server_key: Option<String>,
    /// The kiosk's short code, printed on receipts (letters and digits, at most 8).
    pub kiosk_code: String,
    /// The device number the server enrolled this kiosk under.
    pub device_id: u32,
    /// The staff PIN; none: the staff pages are closed.
    pub staff_pin: Option<String>,
    /// Public-kiosk mode: destroy the payload keys of what was synced, so personal data
    /// taken here can no longer be read here.
    pub public_mode: bool,
    /// The municipality (ayil okmotu) this kiosk serves: its record id number.
    pub municipality: u128,
    /// The SOATE code of the municipality's territory (issues filed here are placed there).
    pub territory: String,
    /// The free legal aid centre that receives legal-aid requests: its record id number.
    pub legal_aid_centre: u128,
    /// Seconds between syncs when the server answers (doubling on failures, to 10 minutes).
    pub sync_interval_secs: u64,
    /// Seconds of no touch before a screen returns to the start.
    pub screen_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            data_dir: PathBuf::from("kiosk-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            server: None,
            server_key: None,
            kiosk_code: "K1".into(),
            device_id: 1,
            staff_pin: None,
            public_mode: false,
            municipality: 1,
            territory: "41705410000010".into(),
            legal_aid_centre: 2,
            sync_interval_secs: 60,
            screen_timeout_secs: 120,
        }
    }
}

/// Why the configuration is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file did not read.
    #[error("the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file did not parse.
    #[error("the config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: Box<toml::de::Error>,
    },
    /// A value is not valid.
    #[error("{field}: {reason}")]
    Invalid {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The command line (each flag overrides the file's setting).
#[derive(Debug, Parser)]
#[command(
    name = "kenesh-kiosk",
    version,
    about = "The village-office kiosk of kenesh"
)]
pub struct Cli {
    /// A TOML file with the settings (flags override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The address to serve the page on.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The sync server, host:port.
    #[arg(long)]
    pub server: Option<String>,
    /// The server's public keys (128 hex digits).
    #[arg(long)]
    pub server_key: Option<String>,
    /// The kiosk's code on receipts.
    #[arg(long)]
    pub kiosk_code: Option<String>,
    /// The enrolled device number.
    #[arg(long)]
    pub device_id: Option<u32>,
    /// The staff PIN.
    #[arg(long)]
    pub staff_pin: Option<String>,
    /// Public-kiosk mode (purge synced personal data's keys).
    #[arg(long)]
    pub public_mode: bool,
    /// Seconds between syncs.
    #[arg(long)]
    pub sync_interval_secs: Option<u64>,
}

impl Cli {
    /// The configuration: the file's, then the flags over it, checked.
    ///
    /// # Errors
    /// [`ConfigError`] when the file does not read or parse, or a value is not valid.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let mut c = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(v) = self.data_dir {
            c.data_dir = v;
        }
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if self.server.is_some() {
            c.server = self.server;
        }
        if self.server_key.is_some() {
            c.server_key = self.server_key;
        }
        if let Some(v) = self.kiosk_code {
            c.kiosk_code = v;
        }
        if let Some(v) = self.device_id {
            c.device_id = v;
        }
        if self.staff_pin.is_some() {
            c.staff_pin = self.staff_pin;
        }
        c.public_mode |= self.public_mode;
        if let Some(v) = self.sync_interval_secs {
            c.sync_interval_secs = v;
        }
        c.check()?;
        Ok(c)
    }
}

impl Config {
    /// Reads a TOML file (missing settings take their defaults).
    ///
    /// # Errors
    /// [`ConfigError::Read`], [`ConfigError::Parse`].
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// Checks the values that have a shape.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the setting.
    pub fn check(&self) -> Result<(), ConfigError> {
        let code_ok = !self.kiosk_code.is_empty()
            && self.kiosk_code.len() <= 8
            && self.kiosk_code.chars().all(|c| c.is_ascii_alphanumeric());
        if !code_ok {
            return Err(ConfigError::Invalid {
                field: "kiosk_code",
                reason: "1 to 8 Latin letters or digits".into(),
            });
        }
        if let Some(pin) = &self.staff_pin
            && (pin.len() < 4 || pin.len() > 64)
        {
            return Err(ConfigError::Invalid {
                field: "staff_pin",
                reason: "4 to 64 characters".into(),
            });
        }
        self.server_keys()?;
        self.territory
            .parse::<kenesh_model::SoateCode>()
            .map_err(|e| ConfigError::Invalid {
                field: "territory",
                reason: e.to_string(),
            })?;
        if self.sync_interval_secs == 0 || self.screen_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                field: "sync_interval_secs",
                reason: "intervals are at least one second".into(),
            });
        }
        Ok(())
    }

    /// The server's public keys, if configured.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when `server_key` is not 128 hex digits.
    pub fn server_keys(&self) -> Result<Option<PublicKeys>, ConfigError> {
        let Some(hex) = &self.server_key else {
            return Ok(None);
        };
        let bytes = parse_hex(hex.trim()).ok_or(ConfigError::Invalid {
            field: "server_key",
            reason: "128 hex digits: the signature key then the Noise key".into(),
        })?;
        let mut verify = [0u8; 32];
        let mut noise = [0u8; 32];
        verify.copy_from_slice(&bytes[..32]);
        noise.copy_from_slice(&bytes[32..]);
        Ok(Some(PublicKeys { verify, noise }))
    }
}

/// Public keys as 128 hex digits (what `server_key` takes and what the kiosk prints).
#[must_use]
pub fn keys_hex(keys: &PublicKeys) -> String {
    keys.verify
        .iter()
        .chain(keys.noise.iter())
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 128 || !s.is_ascii() {
        return None;
    }
    (0..64)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn the_example_file_parses_and_checks() {
        let c: Config = toml::from_str(include_str!("../kiosk.example.toml")).unwrap();
        c.check().unwrap();
        assert_eq!(c.kiosk_code, "AK12");
        assert!(c.public_mode);
        let bad = Config {
            kiosk_code: "не код".into(),
            ..Config::default()
        };
        assert!(bad.check().is_err());
        let bad = Config {
            server_key: Some("00".into()),
            ..Config::default()
        };
        assert!(bad.check().is_err());
    }
}
