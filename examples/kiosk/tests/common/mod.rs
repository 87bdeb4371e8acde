//! Shared by the kiosk's tests: a configuration on a temporary directory, form encoding,
//! requests through the router, and a sync server on a TCP listener in a thread.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kenesh_kiosk::Config;
use kenesh_model::{Id, MunicipalityId, OrganisationId, Scope, Tier};
use kenesh_sync::{Access, Grants, MemStore, Secret, Server, ServerConfig, ServerSession};
use tower::ServiceExt;

pub const PIN: &str = "2468";
pub const SERVER_SECRET: [u8; 32] = [0xee; 32];

pub fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        staff_pin: Some(PIN.into()),
        kiosk_code: "AK7".into(),
        device_id: 7,
        ..Config::default()
    }
}

/// `application/x-www-form-urlencoded`.
pub fn encode(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else if b == b' ' {
                    "+".to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub struct Reply {
    pub status: StatusCode,
    pub cookie: Option<String>,
    pub location: Option<String>,
    pub body: String,
}

pub async fn get(app: &Router, uri: &str, cookie: Option<&str>) -> Reply {
    let mut r = Request::get(uri);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    send(app, r.body(Body::empty()).unwrap()).await
}

pub async fn post(app: &Router, uri: &str, fields: &[(&str, &str)], cookie: Option<&str>) -> Reply {
    let mut r =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    send(app, r.body(Body::from(encode(fields))).unwrap()).await
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let h = |name| {
        resp.headers()
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
            .map(String::from)
    };
    let cookie = h(header::SET_COOKIE).map(|c| c.split(';').next().unwrap_or("").to_string());
    let location = h(header::LOCATION);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        cookie,
        location,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// The text between `<… id="{id}">` and the next `<`.
pub fn by_id(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].to_string())
}

/// Every `href` that starts with `prefix`.
pub fn hrefs(html: &str, prefix: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with(prefix))
        .map(String::from)
        .collect()
}

pub fn muni_scope(c: &Config) -> Scope {
    Scope::Municipality(MunicipalityId(Id::from_u128(c.municipality)))
}

pub fn centre_scope(c: &Config) -> Scope {
    Scope::Organisation(OrganisationId(Id::from_u128(c.legal_aid_centre)))
}

/// What a kiosk may read and write: its municipality and the legal aid centre, every tier.
pub fn kiosk_grants(c: &Config) -> Grants {
    Grants::none()
        .up_to(muni_scope(c), Tier::Sensitive, Access::Read)
        .up_to(muni_scope(c), Tier::Sensitive, Access::Write)
        .up_to(centre_scope(c), Tier::Sensitive, Access::Read)
        .up_to(centre_scope(c), Tier::Sensitive, Access::Write)
}

pub fn server() -> Server<MemStore> {
    Server::open(
        MemStore::new(),
        Secret::from_bytes(SERVER_SECRET),
        ServerConfig::default(),
    )
    .unwrap()
}

pub fn server_key_hex() -> String {
    kenesh_kiosk::config::keys_hex(&Secret::from_bytes(SERVER_SECRET).public())
}

/// Serves one session on `stream` (one length-prefixed Noise message at a time, answered
/// once the server's store is durable).
fn serve(server: &Mutex<Server<MemStore>>, mut stream: TcpStream, seed: u8) {
    let mut ss = ServerSession::new(&server.lock().unwrap(), [seed; 32]).unwrap();
    loop {
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut msg = len.to_vec();
        msg.resize(4 + u32::from_le_bytes(len) as usize, 0);
        if stream.read_exact(&mut msg[4..]).is_err() {
            return;
        }
        let mut s = server.lock().unwrap();
        let now = kenesh_kiosk::now_ms();
        let r = ss.receive(&mut s, &msg, now);
        s.sync().unwrap();
        let _ = ss.poll(&mut s);
        drop(s);
        let out = ss.take_output();
        if !out.is_empty() && stream.write_all(&out).is_err() {
            return;
        }
        if r.is_err() || ss.is_closed() {
            return;
        }
    }
}

/// Accepts connections on `listener` for ever, one session per connection.
pub fn spawn_server(server: Arc<Mutex<Server<MemStore>>>, listener: TcpListener) {
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let server = Arc::clone(&server);
            std::thread::spawn(move || serve(&server, stream, n as u8));
        }
    });
}
