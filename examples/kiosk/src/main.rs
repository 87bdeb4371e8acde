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
    // No server configured: start one here, on this machine, so the one command brings up
    // a working system (the kiosk enrolled for its municipality; its data beside the
    // kiosk's). A configured server is used as it is.
    let mut config = config;
    let mut local = None;
    if config.server.is_none() {
        match start_local_server(&config).await {
            Ok((running, addr, key)) => {
                println!("no server configured: started a local sync server on {addr}");
                config.server = Some(addr);
                config.server_key = Some(key);
                local = Some(running);
            }
            Err(e) => {
                eprintln!("kenesh-kiosk: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
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
    if let Some(running) = local {
        let _ = running.shutdown().await;
    }
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kenesh-kiosk: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Starts a sync server in this process on 127.0.0.1 (any free port), with its data in
/// `<data dir>/local-server` and this kiosk enrolled to read and write its municipality.
/// Returns it, its address and its public keys.
async fn start_local_server(
    config: &kenesh_kiosk::config::Config,
) -> Result<(kenesh_net::Running<kenesh_store::RedbStore>, String, String), String> {
    // The kiosk's identity (made on its first start) is what the server enrols.
    let public = Kiosk::open(config.clone())
        .map_err(|e| e.to_string())?
        .public();
    let dir = kenesh_server::DataDir::prepare(&config.data_dir.join("local-server"))
        .map_err(|e| e.to_string())?;
    let municipality = config.municipality.to_string();
    let grant = |access: &str| kenesh_server::GrantSpec {
        municipality: Some(municipality.clone()),
        organisation: None,
        tier: "sensitive".into(),
        access: access.into(),
    };
    let device = kenesh_server::DeviceSpec {
        id: config.device_id,
        name: config.kiosk_code.clone(),
        public_keys: keys_hex(&public),
        grants: vec![grant("read"), grant("write")],
        purposes: None,
    };
    let server = dir
        .open_server(std::slice::from_ref(&device))
        .map_err(|e| e.to_string())?;
    let key = server.public().to_hex();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let running = kenesh_net::NetServer::new(server, kenesh_net::NetConfig::default())
        .spawn(listener)
        .map_err(|e| e.to_string())?;
    Ok((running, addr, key))
}
