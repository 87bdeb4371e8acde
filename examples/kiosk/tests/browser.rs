//! A real browser drives the kiosk: headless Chromium over WebDriver (chromedriver). A
//! citizen files an issue in Kyrgyz and reads the receipt, switches to Russian and finds
//! the issue, checks in to an event, asks for legal aid and sees the screen wiped.
//! Screenshots go to `$CARGO_TARGET_TMPDIR/kiosk-screenshots/`.
//!
//! Skips (with a notice) only when Chromium or chromedriver is not installed, unless
//! `KENESH_REQUIRE_BROWSER=1` (CI sets it once it installed them): then it fails.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use kenesh_kiosk::{Kiosk, router};
use kenesh_model::text::{Locale, LocalizedText};
use kenesh_model::*;

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// chromedriver, killed when the test ends however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn shot(client: &Client, dir: &Path, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn fill(client: &Client, id: &str, text: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn choose(client: &Client, id: &str, value: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

async fn click(client: &Client, id: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits until the page at `path` has an element with `id` (a click's navigation done).
async fn arrive(client: &Client, path: &str, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = client.current_url().await.unwrap();
        if url.path() == path && client.find(Locator::Id(id)).await.is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never reached {path}#{id}: at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn plan_event(kiosk: &Kiosk, c: &kenesh_kiosk::Config) -> Id {
    let now = kenesh_kiosk::now_ms();
    let id = Id::from_u128(0x0e0e);
    let day = Timestamp(now).bishkek_date();
    let event = Event {
        meta: RecordMeta::new(
            id,
            muni_scope(c),
            Tier::Public,
            Stamp {
                at: Timestamp(now),
                device: DeviceId(c.device_id),
                by: None,
            },
        ),
        kind: EventKind::Training,
        subject: Subject::RightsAndJustice,
        topic: LocalizedText::ky("Акысыз юридикалык жардам тууралуу окутуу")
            .with(Locale::Ru, "Обучение о бесплатной юридической помощи"),
        starts_on: day,
        ends_on: day,
        sessions: 1,
        territory: c.territory.parse().unwrap(),
        organisers: Default::default(),
        language: Locale::Ky,
        capacity: Some(40),
        status: EventStatus::Planned,
        campaign: None,
    };
    kiosk.replica().at(now).plan_event(&event).unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_uses_the_kiosk_in_a_real_browser() {
    let required = std::env::var("KENESH_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(on_path);
    let (Some(browser), Some(driver)) = (browser, on_path("chromedriver")) else {
        assert!(
            !required,
            "KENESH_REQUIRE_BROWSER=1 but chromium or chromedriver is not installed"
        );
        println!(
            "SKIPPED: the browser test needs chromium and chromedriver \
             (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kiosk-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    // The kiosk on a real port.
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path());
    let kiosk = Kiosk::open(c.clone()).unwrap();
    let event = plan_event(&kiosk, &c);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router(kiosk)).await.unwrap();
    });

    // chromedriver, then a headless Chromium session.
    let port = free_port();
    let _driver = Driver(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": browser,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1200,1400", "--lang=ky"],
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        let mut b = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        b.capabilities(caps.clone());
        match b.connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    };

    // The start page, in Kyrgyz.
    client.goto(&format!("{base}/")).await.unwrap();
    shot(&client, &shots, "01-start-ky").await;
    assert!(client.source().await.unwrap().contains("Көйгөй билдирүү"));

    // File an issue in Kyrgyz and read the receipt.
    arrive(&client, "/ky", "tile_report").await;
    click(&client, "tile_report").await;
    arrive(&client, "/ky/issues/new", "f-title").await;
    fill(&client, "f-title", "Көчө жарыгы күйбөй калды").await;
    fill(
        &client,
        "f-description",
        "Мектептин жанындагы көчөдө кечинде караңгы",
    )
    .await;
    choose(&client, "f-category", "category-lighting").await;
    fill(&client, "f-place", "Ленин көчөсү").await;
    shot(&client, &shots, "02-report-form").await;
    click(&client, "submit").await;
    arrive(&client, "/ky/issues", "receipt-number").await;
    let receipt = client
        .find(Locator::Id("receipt-number"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(receipt, "AK7-00001");
    shot(&client, &shots, "03-receipt").await;

    // Switch to Russian and find the issue in the list.
    click(&client, "home").await;
    arrive(&client, "/ky", "lang-ru").await;
    click(&client, "lang-ru").await;
    arrive(&client, "/ru", "tile_issues").await;
    assert!(
        client
            .source()
            .await
            .unwrap()
            .contains("Сообщить о проблеме")
    );
    click(&client, "tile_issues").await;
    arrive(&client, "/ru/issues", "issues").await;
    let list = client.source().await.unwrap();
    assert!(list.contains("Көчө жарыгы күйбөй калды"));
    assert!(list.contains(&format!("№ {receipt}")));
    assert!(list.contains("Принято, на проверке"));
    shot(&client, &shots, "04-issues-ru").await;

    // Check in to the event.
    let checkin_path = format!("/ru/events/{:032x}/checkin", event.as_u128());
    client.goto(&format!("{base}{checkin_path}")).await.unwrap();
    fill(&client, "f-family", "Токтогулова").await;
    fill(&client, "f-given", "Айпери").await;
    choose(&client, "f-sex", "sex-female").await;
    click(&client, "f-consent").await;
    click(&client, "submit").await;
    arrive(&client, &checkin_path, "done").await;
    assert!(
        client
            .source()
            .await
            .unwrap()
            .contains("Вы зарегистрированы")
    );
    shot(&client, &shots, "05-checked-in").await;

    // Ask for legal aid, in Kyrgyz; the screen says it was received, repeats nothing,
    // and wipes itself back to the start.
    client.goto(&format!("{base}/ky/legal")).await.unwrap();
    let facts = "Ишканадан айлыгымды үч айдан бери бербей жатышат";
    fill(&client, "f-family", "Осмонов").await;
    fill(&client, "f-given", "Нурбек").await;
    choose(&client, "f-area", "area-labour").await;
    fill(&client, "f-facts", facts).await;
    choose(&client, "f-urgency", "urgency-soon").await;
    click(&client, "f-consent").await;
    shot(&client, &shots, "06-legal-form").await;
    click(&client, "submit").await;
    arrive(&client, "/ky/legal", "done").await;
    let done = client.source().await.unwrap();
    assert!(done.contains("Арызыңыз кабыл алынды"));
    assert!(!done.contains(facts) && !done.contains("Осмонов"));
    shot(&client, &shots, "07-legal-received").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = client.current_url().await.unwrap();
        if url.path() == "/ky" {
            break;
        }
        assert!(Instant::now() < deadline, "the screen was not wiped: {url}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let start = client.source().await.unwrap();
    assert!(start.contains("Кош келиңиз") && !start.contains(facts));
    shot(&client, &shots, "08-wiped").await;
    client.close().await.unwrap();
    println!("screenshots in {}", shots.display());
}
