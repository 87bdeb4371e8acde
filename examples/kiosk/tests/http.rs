//! The kiosk over HTTP, through the router: a citizen files an issue in Kyrgyz and gets a
//! receipt, finds it in Russian, checks in to an event, asks for legal aid and sees the
//! screen wiped; staff behind the PIN; forms with missing or oversized fields; receipts
//! unique across restarts.

mod common;

use axum::http::StatusCode;
use common::*;
use kenesh_kiosk::{Kiosk, router};
use kenesh_model::{EventId, Issue, IssueStatus, LegalAidRequest, Person};

fn issue_fields(title: &str) -> Vec<(&str, &str)> {
    vec![
        ("title", title),
        (
            "description",
            "Суу көпүрөнү алып кетти, балдар мектепке өтө албай жатышат",
        ),
        ("category", "category-roads"),
        ("place", "Борбордук көчө, мектептин жанында"),
    ]
}

async fn staff_cookie(app: &axum::Router) -> String {
    let r = post(app, "/ky/staff/login", &[("pin", PIN)], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.cookie.expect("a session cookie")
}

#[tokio::test]
async fn a_citizen_and_staff_go_through_the_kiosk() {
    let dir = tempfile::tempdir().unwrap();
    let kiosk = Kiosk::open(config(dir.path())).unwrap();
    let app = router(kiosk.clone());

    // The start page, Kyrgyz first; / goes there.
    let r = get(&app, "/", None).await;
    assert_eq!(r.location.as_deref(), Some("/ky"));
    let r = get(&app, "/ky", None).await;
    assert_eq!(r.status, StatusCode::OK);
    for text in ["Көйгөй билдирүү", "Юридикалык жардам", "Русский", "English"]
    {
        assert!(r.body.contains(text), "{text}");
    }
    assert!(r.body.contains("Оффлайн режим"), "the sync state is shown");

    // File an issue in Kyrgyz: a receipt, large and printable.
    let r = post(&app, "/ky/issues", &issue_fields("Көпүрө бузулду"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Кабыл алынды"));
    assert_eq!(
        by_id(&r.body, "receipt-number").as_deref(),
        Some("AK7-00001")
    );
    assert!(r.body.contains("window.print()"));
    assert!(
        r.body.contains("http-equiv=\"refresh\""),
        "the receipt wipes itself"
    );
    assert!(r.body.contains("Жөнөтүлө элек жазуулар: 1"), "{}", r.body);

    // See it in the list, in Russian, with its status and receipt.
    let r = get(&app, "/ru/issues", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Көпүрө бузулду"));
    assert!(r.body.contains("№ AK7-00001"));
    assert!(r.body.contains("Принято, на проверке"));
    assert!(r.body.contains("Проблемы села"));

    // Find it by its receipt, typed loosely.
    let r = get(&app, "/ru/issues?receipt=ak7+00001", None).await;
    assert!(r.body.contains("Көпүрө бузулду"), "{}", r.body);
    let r = get(&app, "/ru/issues?receipt=AK7-00999", None).await;
    assert!(r.body.contains("Проблема с таким номером не найдена"));
    assert!(!r.body.contains("Көпүрө бузулду"));

    // Support it.
    let r = get(&app, "/ru/issues", None).await;
    let support = hrefs(&r.body, "/ru/issues/")
        .into_iter()
        .find(|h| h.ends_with("/support"))
        .unwrap();
    let r = post(
        &app,
        &support,
        &[("family", "Жапарова"), ("given", "Айгүл")],
        None,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "consent is required"
    );
    assert!(r.body.contains("отметьте согласие"), "{}", r.body);
    let r = post(
        &app,
        &support,
        &[
            ("family", "Жапарова"),
            ("given", "Айгүл"),
            ("consent", "yes"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Ваша поддержка принята"));
    assert!(!r.body.contains("Жапарова"));
    let issues = kiosk.replica().issues(None, None);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].support_count(), 1);

    // Staff: a wrong PIN is refused; the right one opens the staff pages.
    let r = post(&app, "/ky/staff/login", &[("pin", "0000")], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("ПИН-код туура эмес"));
    assert!(r.cookie.is_none());
    let r = get(&app, "/ru/staff", Some("kiosk_staff=forged")).await;
    assert!(
        r.body.contains("f-pin"),
        "a forged cookie gets the PIN form"
    );
    let r = post(&app, "/ky/staff/events", &[("topic", "x")], None).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "staff actions need the login"
    );
    let cookie = staff_cookie(&app).await;
    let r = get(&app, "/en/staff", Some(&cookie)).await;
    assert!(r.body.contains("Records waiting to be sent"), "{}", r.body);
    assert!(r.body.contains("Nothing to review"));

    // Staff publish the issue with a public update.
    let id = format!("{:032x}", issues[0].meta.id.as_u128());
    let r = post(
        &app,
        &format!("/ky/staff/issues/{id}"),
        &[
            ("to", "published"),
            ("update", "Айыл өкмөтү көпүрөнү текшерди"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Сакталды"));
    // A step the workflow forbids is refused, in the staff's language.
    let r = post(
        &app,
        &format!("/ru/staff/issues/{id}"),
        &[("to", "draft")],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("В этот статус перевести нельзя"),
        "{}",
        r.body
    );
    let r = get(&app, "/en/issues", None).await;
    assert!(r.body.contains("Published"));
    assert!(r.body.contains("Айыл өкмөтү көпүрөнү текшерди"));
    assert_eq!(
        kiosk
            .replica()
            .issues(None, Some(IssueStatus::Published))
            .len(),
        1
    );

    // Staff hide an issue from the public list, and show it again.
    let moderation = format!("/ky/staff/issues/{id}/moderation");
    let r = post(&app, &moderation, &[("to", "hide")], Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Жашырылган"));
    assert!(
        !get(&app, "/ru/issues", None)
            .await
            .body
            .contains("Көпүрө бузулду")
    );
    post(&app, &moderation, &[("to", "show")], Some(&cookie)).await;
    assert!(
        get(&app, "/ru/issues", None)
            .await
            .body
            .contains("Көпүрө бузулду")
    );
    let r = post(&app, &moderation, &[("to", "hide")], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Staff plan an event; a citizen checks in to it.
    let r = post(
        &app,
        "/ky/staff/events",
        &[
            ("topic", "Жарандардын укуктары боюнча окутуу"),
            ("kind", "event-kind-training"),
            ("starts_on", "2026-12-01"),
            ("ends_on", "2026-12-02"),
            ("sessions", "2"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = get(&app, "/ky/events", None).await;
    assert!(r.body.contains("Жарандардын укуктары боюнча окутуу"));
    let checkin = hrefs(&r.body, "/ky/events/").pop().unwrap();
    let r = post(
        &app,
        &checkin,
        &[
            ("family", "Токтогулов"),
            ("given", "Бакыт"),
            ("sex", "sex-male"),
            ("birth_year", "1985"),
            ("consent", "yes"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Сиз катталдыңыз"));
    let event_id: u128 = u128::from_str_radix(checkin.split('/').nth(3).unwrap(), 16).unwrap();
    let rows = kiosk
        .replica()
        .attendance(EventId(kenesh_model::Id::from_u128(event_id)));
    assert_eq!(rows.len(), 1);

    // Legal aid: consent recorded, the request sealed, and the screen wiped.
    let facts = "Коңшум жеримдин чегин жылдырып алды, кагаздарым бар";
    let r = post(
        &app,
        "/ky/legal",
        &[
            ("family", "Сыдыкова"),
            ("given", "Гүлнара"),
            ("phone", "0555 123 456"),
            ("area", "area-land"),
            ("facts", facts),
            ("urgency", "urgency-soon"),
            ("consent", "yes"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Арызыңыз кабыл алынды"));
    for secret in [facts, "Сыдыкова", "Гүлнара", "555"] {
        assert!(!r.body.contains(secret), "{secret} is not repeated");
    }
    assert!(
        r.body.contains("content=\"8;url=/\""),
        "the screen wipes itself"
    );
    let requests = kiosk.replica().all::<LegalAidRequest>();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].facts, facts);
    let applicant = kiosk
        .replica()
        .get::<Person>(requests[0].applicant.0)
        .unwrap();
    assert_eq!(applicant.name.family, "Сыдыкова");
    assert_eq!(
        kiosk
            .replica()
            .subject_access(requests[0].applicant)
            .records
            .len(),
        3,
        "person, consent, request"
    );
}

#[tokio::test]
async fn bad_forms_get_a_localised_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let kiosk = Kiosk::open(config(dir.path())).unwrap();
    let app = router(kiosk.clone());

    let r = post(&app, "/ky/issues", &[("category", "category-water")], None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("«Көйгөйдүн аталышы» талаасын толтуруңуз"),
        "{}",
        r.body
    );
    let r = post(&app, "/ru/issues", &[("title", "x")], None).await;
    assert!(
        r.body.contains("Заполните поле «Опишите проблему»"),
        "{}",
        r.body
    );
    assert!(r.body.contains("«Направление»: выберите"), "{}", r.body);
    let long = "ж".repeat(201);
    let mut f = issue_fields(&long);
    f[2].1 = "category-water";
    let r = post(&app, "/en/issues", &f, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("“Title of the problem” is too long: at most 200"),
        "{}",
        r.body
    );
    // What was typed stays in the form.
    assert!(r.body.contains("Борбордук көчө"));
    let r = post(
        &app,
        "/ky/issues",
        &[
            ("title", "a\u{7}b"),
            ("description", "d"),
            ("category", "category-other"),
        ],
        None,
    )
    .await;
    assert!(r.body.contains("туура эмес толтурулду"), "{}", r.body);
    // A body over the limit is refused before any handler.
    let huge = "ж".repeat(100_000);
    let r = post(&app, "/ky/issues", &issue_fields(&huge), None).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.body.contains("Форма өтө чоң"), "{}", r.body);
    // Not a form at all: a localised page too.
    let req = axum::http::Request::post("/ru/legal")
        .body(axum::body::Body::from("x"))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = post(
        &app,
        "/ky/legal",
        &[("facts", "x"), ("phone", "12ab")],
        None,
    )
    .await;
    assert!(
        r.body
            .contains("«Телефон номериңиз (милдеттүү эмес)» туура эмес"),
        "{}",
        r.body
    );
    assert!(r.body.contains("макулдугуңузду белгилеңиз"));
    // Unknown language, unknown record: a page in Kyrgyz, no panic.
    assert_eq!(
        get(&app, "/xx/issues", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/ky/issues/zz/support", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("/ky/events/{:032x}/checkin", 5), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        kiosk.replica().issues(None, None).is_empty(),
        "nothing was written"
    );
}

#[tokio::test]
async fn receipts_are_unique_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for round in 0..3 {
        let kiosk = Kiosk::open(config(dir.path())).unwrap();
        let app = router(kiosk.clone());
        for n in 0..2 {
            let title = format!("Көйгөй {round}-{n}");
            let r = post(&app, "/ky/issues", &issue_fields(&title), None).await;
            seen.push(by_id(&r.body, "receipt-number").unwrap());
        }
        drop(app);
        drop(kiosk);
    }
    assert_eq!(
        seen,
        [
            "AK7-00001",
            "AK7-00002",
            "AK7-00003",
            "AK7-00004",
            "AK7-00005",
            "AK7-00006"
        ]
    );
    let kiosk = Kiosk::open(config(dir.path())).unwrap();
    let mut receipts: Vec<_> = kiosk
        .replica()
        .all::<Issue>()
        .iter()
        .map(|i| i.receipt.unwrap().number)
        .collect();
    receipts.sort_unstable();
    assert_eq!(receipts, [1, 2, 3, 4, 5, 6], "every issue kept its receipt");
}

#[tokio::test]
async fn a_staff_login_ends_with_the_screen_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.screen_timeout_secs = 1;
    let kiosk = Kiosk::open(c).unwrap();
    let app = router(kiosk);
    let cookie = staff_cookie(&app).await;
    let r = get(&app, "/ky/staff", Some(&cookie)).await;
    assert!(r.body.contains("staff-sync"), "logged in");
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    let r = get(&app, "/ky/staff", Some(&cookie)).await;
    assert!(r.body.contains("f-pin"), "the PIN form again");
    let r = post(&app, "/ky/staff/events", &[("topic", "x")], Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Алгач ПИН-код менен кириңиз"));
}
