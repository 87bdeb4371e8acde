//! `kenesh-kiosk`: serves the kiosk's page and syncs in the background.

use clap::Parser;
use kenesh_kiosk::config::{Cli, keys_hex};
use kenesh_kiosk::{Kiosk, router};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Cli::parse().into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kenesh-kiosk: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let kiosk = match Kiosk::open(config) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("kenesh-kiosk: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let c = kiosk.config().clone();
    let listener = match tokio::net::TcpListener::bind(c.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kenesh-kiosk: cannot listen on {}: {e}", c.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(c.listen);
    println!(
        "kenesh-kiosk {} (device {}), data in {}",
        c.kiosk_code,
        c.device_id,
        c.data_dir.display()
    );
    println!(
        "device public keys (enrol them on the server): {}",
        keys_hex(&kiosk.public())
    );
    match &c.server {
        Some(s) => println!("syncing with {s} every {} s", c.sync_interval_secs),
        None => println!("no server configured: working offline"),
    }
    println!("open http://{addr}/ in the kiosk's browser");
    let sync = kiosk.spawn_sync();
    let served = axum::serve(listener, router(kiosk.clone()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    kiosk.stop();
    if let Some(h) = sync {
        let _ = h.join();
    }
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kenesh-kiosk: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
