//! The pages: an axum router serving server-rendered HTML forms, every asset embedded.
//!
//! Paths start with the language (`/ky/…`, `/ru/…`, `/en/…`); `/` opens the Kyrgyz start
//! page. Every page returns to the start after `screen_timeout_secs` without a touch, and
//! every page that confirms a submission wipes itself after a few seconds and repeats
//! nothing the person typed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kenesh::WriteError;
use kenesh_merge::FlagKind;
use kenesh_model::text::{LocalizedText, dedup_key};
use kenesh_model::{
    Attendance, AttendanceRole, Channel, Consent, ConsentMethod, Date, DeviceId, Event, EventId,
    EventKind, EventStatus, Evidence, GroupId, GroupStatus, Id, InitiativeGroup, IntakeChannel,
    IntakePoint, Issue, IssueCategory, IssueId, IssueStatus, LegalAidRequest, LegalArea, Member,
    MemberRole, Membership, Moderation, Party, Person, PersonId, PersonName, Phone, PublicUpdate,
    Purpose, Receipt, RecordMeta, Reporter, RequestStatus, Scope, Sector, Sex, Stamp, Subject,
    Tier, Timestamp, Urgency, ValidationError, Visibility, WashingtonGroup, Workflow,
};
use subtle::ConstantTimeEq;

use crate::i18n::Lang;
use crate::{Kiosk, now_ms};

const CSS: &str = include_str!("../assets/kiosk.css");
const JS: &str = include_str!("../assets/kiosk.js");

/// The largest form the kiosk accepts (bytes): more than every field's limit together.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// Seconds a confirmation stays on screen before it wipes itself.
pub const WIPE_AFTER_SECS: u64 = 8;
/// Seconds a receipt stays on screen (time to print or write it down).
pub const RECEIPT_SECS: u64 = 60;
/// How long a staff login lasts without use: the screen's idle timeout, so a kiosk left
/// alone after staff work is a citizen's kiosk again when the screen returns to the start.
fn staff_session_ms(k: &Kiosk) -> u64 {
    k.config().screen_timeout_secs.saturating_mul(1000)
}
/// The staff session cookie.
pub const STAFF_COOKIE: &str = "kiosk_staff";

/// The kiosk's router.
pub fn router(kiosk: Arc<Kiosk>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/assets/kiosk.css", get(css))
        .route("/assets/kiosk.js", get(js))
        .route("/{lang}", get(home))
        .route("/{lang}/issues", get(issues_list).post(issue_create))
        .route("/{lang}/issues/new", get(issue_form))
        .route(
            "/{lang}/issues/{id}/support",
            get(support_form).post(support_submit),
        )
        .route("/{lang}/groups", get(groups_list).post(group_propose))
        .route("/{lang}/groups/{id}/join", get(join_form).post(join_submit))
        .route("/{lang}/events", get(events_list))
        .route(
            "/{lang}/events/{id}/checkin",
            get(checkin_form).post(checkin_submit),
        )
        .route("/{lang}/legal", get(legal_form).post(legal_submit))
        .route("/{lang}/staff", get(staff_home))
        .route("/{lang}/staff/login", post(staff_login))
        .route("/{lang}/staff/logout", post(staff_logout))
        .route("/{lang}/staff/issues/{id}", post(staff_issue))
        .route("/{lang}/staff/issues/{id}/moderation", post(staff_moderate))
        .route("/{lang}/staff/groups/{id}", post(staff_group))
        .route("/{lang}/staff/events", post(staff_event_create))
        .route("/{lang}/staff/events/{id}", post(staff_event))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn_with_state(kiosk.clone(), touch))
        .with_state(kiosk)
}

/// Every request marks the screen as in use (the background sync waits for quiet). While
/// a sync holds the replica, a request waits for it asynchronously: a page view at most a
/// few seconds, then a localised "busy" page; a form submission longer (what was typed is
/// not thrown away), then it goes on and waits its turn.
async fn touch(
    State(k): State<Arc<Kiosk>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    k.touched();
    let path = req.uri().path();
    if !path.starts_with("/assets/") && k.is_syncing() {
        let patience = if req.method() == axum::http::Method::POST {
            90
        } else {
            5
        };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(patience);
        while k.is_syncing() && std::time::Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        if k.is_syncing() && req.method() != axum::http::Method::POST {
            let lang = path
                .split('/')
                .nth(1)
                .and_then(Lang::from_code)
                .unwrap_or(Lang::Ky);
            let c = Ctx { k: &k, lang };
            let body = format!(
                "<h1>{}</h1><p><a class=\"button primary\" href=\"{}\">{}</a></p>",
                c.t("busy"),
                esc(path),
                c.t("busy-again")
            );
            let mut r = html(
                StatusCode::SERVICE_UNAVAILABLE,
                c.page("", &c.t("busy"), &body, Leave::Idle),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return r;
        }
    }
    next.run(req).await
}

type Params = Path<HashMap<String, String>>;
type Fields = Result<Form<HashMap<String, String>>, FormRejection>;

/// A form that did not decode (too large, not a form): a localised page, never axum's
/// English text.
fn form_rejected(k: &Kiosk, lang: Lang, rejection: &FormRejection) -> Response {
    let c = Ctx { k, lang };
    let status = rejection.status();
    let key = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "error-form-too-large"
    } else {
        "error-form-invalid"
    };
    let body = format!(
        "<h1>{}</h1>{}<p><a class=\"button\" href=\"{}\">{}</a></p>",
        c.t("error-heading"),
        c.error_box(&[c.t(key)]),
        c.href(""),
        c.t("back-home")
    );
    html(status, c.page("", &c.t(key), &body, Leave::Idle))
}

macro_rules! form_or_error {
    ($k:expr, $lang:expr, $v:expr) => {
        match $v {
            Ok(Form(v)) => v,
            Err(r) => return form_rejected(&$k, $lang, &r),
        }
    };
}

// ---------------------------------------------------------------- choices and their keys

/// Issue categories, with their message keys.
pub const CATEGORIES: [(IssueCategory, &str); 13] = [
    (IssueCategory::Roads, "category-roads"),
    (IssueCategory::Water, "category-water"),
    (IssueCategory::Waste, "category-waste"),
    (IssueCategory::Education, "category-education"),
    (IssueCategory::Lighting, "category-lighting"),
    (IssueCategory::Jobs, "category-jobs"),
    (IssueCategory::Safety, "category-safety"),
    (IssueCategory::Health, "category-health"),
    (IssueCategory::Land, "category-land"),
    (IssueCategory::Social, "category-social"),
    (IssueCategory::Culture, "category-culture"),
    (IssueCategory::Accessibility, "category-accessibility"),
    (IssueCategory::Other, "category-other"),
];

/// Legal areas, with their message keys.
pub const LEGAL_AREAS: [(LegalArea, &str); 11] = [
    (LegalArea::Family, "area-family"),
    (LegalArea::Property, "area-property"),
    (LegalArea::Labour, "area-labour"),
    (LegalArea::Land, "area-land"),
    (LegalArea::Housing, "area-housing"),
    (LegalArea::SocialBenefits, "area-social-benefits"),
    (LegalArea::Inheritance, "area-inheritance"),
    (LegalArea::Documents, "area-documents"),
    (LegalArea::Criminal, "area-criminal"),
    (LegalArea::Administrative, "area-administrative"),
    (LegalArea::Other, "area-other"),
];

/// Urgencies, with their message keys.
pub const URGENCIES: [(Urgency, &str); 3] = [
    (Urgency::Normal, "urgency-normal"),
    (Urgency::Soon, "urgency-soon"),
    (Urgency::Urgent, "urgency-urgent"),
];

/// Sectors of group members, with their message keys.
pub const SECTORS: [(Sector, &str); 5] = [
    (Sector::Citizen, "sector-citizen"),
    (Sector::Business, "sector-business"),
    (Sector::Ngo, "sector-ngo"),
    (Sector::StateBody, "sector-state-body"),
    (Sector::AyilOkmotu, "sector-ayil-okmotu"),
];

/// Sexes, with their message keys (the question is optional).
pub const SEXES: [(Sex, &str); 2] = [(Sex::Female, "sex-female"), (Sex::Male, "sex-male")];

/// Event kinds, with their message keys.
pub const EVENT_KINDS: [(EventKind, &str); 7] = [
    (EventKind::Training, "event-kind-training"),
    (EventKind::NationalConference, "event-kind-conference"),
    (EventKind::PublicHearing, "event-kind-hearing"),
    (EventKind::Gathering, "event-kind-gathering"),
    (EventKind::KeneshSession, "event-kind-kenesh"),
    (EventKind::InformationSession, "event-kind-information"),
    (EventKind::CampaignActivity, "event-kind-campaign"),
];

/// The message keys of every form field (the labels, and the names errors give).
pub const FIELD_KEYS: [&str; 24] = [
    "field-title",
    "field-description",
    "field-category",
    "field-place",
    "field-family",
    "field-given",
    "field-phone",
    "field-facts",
    "field-area",
    "field-urgency",
    "field-consent",
    "field-group-name",
    "field-topic",
    "field-sector",
    "field-sex",
    "field-birth-year",
    "field-update",
    "field-pin",
    "field-event-kind",
    "field-starts-on",
    "field-ends-on",
    "field-sessions",
    "field-other",
    "field-receipt",
];

/// The message keys made from data at run time (statuses, flags): a test checks each one.
#[must_use]
pub fn dynamic_keys() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    v.extend(
        IssueStatus::ALL
            .iter()
            .map(|s| status_key("issue", s.name())),
    );
    v.extend(
        GroupStatus::ALL
            .iter()
            .map(|s| status_key("group", s.name())),
    );
    v.extend(
        EventStatus::ALL
            .iter()
            .map(|s| status_key("event", s.name())),
    );
    v.extend(
        [
            "sync-error-no-server",
            "sync-error-connect",
            "sync-error-refused",
            "sync-error-link",
            "sync-error-purge",
            "flag-equivocation",
            "flag-payload-erased",
            "flag-unknown-schema",
            "flag-action-mismatch",
            "flag-duplicate-create",
            "flag-workflow",
            "flag-other",
        ]
        .map(String::from),
    );
    for keys in [
        CATEGORIES.map(|c| c.1).as_slice(),
        LEGAL_AREAS.map(|c| c.1).as_slice(),
        URGENCIES.map(|c| c.1).as_slice(),
        SECTORS.map(|c| c.1).as_slice(),
        SEXES.map(|c| c.1).as_slice(),
        EVENT_KINDS.map(|c| c.1).as_slice(),
        FIELD_KEYS.as_slice(),
    ] {
        v.extend(keys.iter().map(|k| (*k).to_string()));
    }
    v
}

fn status_key(workflow: &str, name: &str) -> String {
    format!("status-{workflow}-{}", name.replace('_', "-"))
}

fn key_of<T: PartialEq + Copy>(list: &[(T, &'static str)], v: T) -> &'static str {
    list.iter()
        .find(|(x, _)| *x == v)
        .map_or("category-other", |(_, k)| k)
}

// ---------------------------------------------------------------- rendering

/// HTML-escapes text.
#[must_use]
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// How a page leaves the screen.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Leave {
    /// Back to the start after the idle timeout (reset by every touch).
    Idle,
    /// Wiped after this many seconds, whatever happens.
    Wipe(u64),
    /// Stays (the Kyrgyz start page).
    Stay,
}

struct Ctx<'a> {
    k: &'a Kiosk,
    lang: Lang,
}

impl Ctx<'_> {
    fn t(&self, key: &str) -> String {
        esc(&self.k.i18n().tr(self.lang, key))
    }
    fn ta(&self, key: &str, args: &[(&str, String)]) -> String {
        esc(&self.k.i18n().tra(self.lang, key, args))
    }
    fn href(&self, path: &str) -> String {
        format!("/{}{path}", self.lang.code())
    }

    /// The whole page around `body`. `path` is the page's path after the language (the
    /// language switch keeps it).
    fn page(&self, path: &str, title: &str, body: &str, leave: Leave) -> String {
        let timeout = self.k.config().screen_timeout_secs;
        let mut h = String::with_capacity(body.len() + 4096);
        let _ = write!(
            h,
            "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{} — {}</title><link rel=\"stylesheet\" href=\"/assets/kiosk.css\">",
            self.lang.code(),
            esc(title),
            self.t("app-title"),
        );
        match leave {
            Leave::Wipe(s) => {
                let _ = write!(h, "<meta http-equiv=\"refresh\" content=\"{s};url=/\">");
            }
            Leave::Idle => {
                let _ = write!(
                    h,
                    "<noscript><meta http-equiv=\"refresh\" content=\"{timeout};url=/\"></noscript>\
                     <script src=\"/assets/kiosk.js\" defer></script>"
                );
            }
            Leave::Stay => {}
        }
        let _ = write!(
            h,
            "</head><body data-timeout=\"{timeout}\" data-home=\"/\">\
             <header><a class=\"brand\" href=\"{}\" id=\"home\">{}</a><nav class=\"langs\">",
            self.href(""),
            self.t("app-title")
        );
        for l in Lang::ALL {
            let cls = if l == self.lang { " class=\"on\"" } else { "" };
            let _ = write!(
                h,
                "<a{cls} id=\"lang-{}\" lang=\"{}\" href=\"/{}{path}\">{}</a>",
                l.code(),
                l.code(),
                l.code(),
                l.own_name()
            );
        }
        let _ = write!(
            h,
            "</nav></header><main>{body}</main><footer>{}</footer></body></html>",
            self.sync_line()
        );
        h
    }

    fn sync_line(&self) -> String {
        let s = self.k.sync_state();
        let waiting = self.k.commits_waiting();
        let mut parts = Vec::new();
        if self.k.config().server.is_none() {
            parts.push(self.t("sync-no-server"));
        } else {
            match s.last_ok_ms {
                Some(t) => parts.push(self.ta("sync-last", &[("time", time_text(t))])),
                None => parts.push(self.t("sync-never")),
            }
            if s.failures > 0 {
                parts.push(self.t("sync-offline"));
            }
        }
        parts.push(self.ta("sync-waiting", &[("count", waiting.to_string())]));
        format!("<span id=\"sync\">{}</span>", parts.join(" · "))
    }

    fn error_box(&self, errors: &[String]) -> String {
        if errors.is_empty() {
            return String::new();
        }
        let mut h = format!(
            "<div class=\"error\" role=\"alert\" id=\"errors\"><strong>{}</strong><ul>",
            self.t("error-heading")
        );
        for e in errors {
            let _ = write!(h, "<li>{e}</li>");
        }
        h.push_str("</ul></div>");
        h
    }

    fn input(&self, name: &str, label: &str, max: usize, v: &HashMap<String, String>) -> String {
        format!(
            "<label>{}<input name=\"{name}\" id=\"f-{name}\" maxlength=\"{max}\" value=\"{}\" autocomplete=\"off\"></label>",
            self.t(label),
            esc(v.get(name).map_or("", String::as_str))
        )
    }

    fn textarea(&self, name: &str, label: &str, max: usize, v: &HashMap<String, String>) -> String {
        format!(
            "<label>{}<textarea name=\"{name}\" id=\"f-{name}\" maxlength=\"{max}\" rows=\"5\">{}</textarea></label>",
            self.t(label),
            esc(v.get(name).map_or("", String::as_str))
        )
    }

    fn select<T: Copy>(
        &self,
        name: &str,
        label: &str,
        list: &[(T, &'static str)],
        v: &HashMap<String, String>,
        optional: bool,
    ) -> String {
        let chosen = v.get(name).map_or("", String::as_str);
        let mut h = format!(
            "<label>{}<select name=\"{name}\" id=\"f-{name}\">",
            self.t(label)
        );
        if optional {
            let _ = write!(h, "<option value=\"\">{}</option>", self.t("choice-none"));
        }
        for (_, key) in list {
            let sel = if *key == chosen { " selected" } else { "" };
            let _ = write!(h, "<option value=\"{key}\"{sel}>{}</option>", self.t(key));
        }
        h.push_str("</select></label>");
        h
    }

    fn consent(&self, text_key: &str) -> String {
        format!(
            "<label class=\"check\"><input type=\"checkbox\" name=\"consent\" id=\"f-consent\" value=\"yes\"> {}</label>",
            self.t(text_key)
        )
    }

    fn name_fields(&self, v: &HashMap<String, String>) -> String {
        self.input("family", "field-family", 100, v) + &self.input("given", "field-given", 100, v)
    }

    fn submit(&self, key: &str) -> String {
        format!(
            "<button type=\"submit\" class=\"primary\" id=\"submit\">{}</button>",
            self.t(key)
        )
    }
}

/// Time as the page shows it: Bishkek time (UTC+6), `HH:MM DD.MM.YYYY`.
fn time_text(ms: u64) -> String {
    let d = Timestamp(ms).bishkek_date();
    let secs = ms / 1000 + 6 * 3600;
    format!(
        "{:02}:{:02} {:02}.{:02}.{}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        d.day(),
        d.month(),
        d.year()
    )
}

fn date_text(d: Date) -> String {
    format!("{:02}.{:02}.{}", d.day(), d.month(), d.year())
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn ok(body: String) -> Response {
    html(StatusCode::OK, body)
}

// ---------------------------------------------------------------- form checking

/// Reads and checks a form's fields; errors are localised and name the field.
struct Check<'a> {
    c: &'a Ctx<'a>,
    v: &'a HashMap<String, String>,
    errors: Vec<String>,
}

impl<'a> Check<'a> {
    fn new(c: &'a Ctx<'a>, v: &'a HashMap<String, String>) -> Check<'a> {
        Check {
            c,
            v,
            errors: Vec::new(),
        }
    }

    fn field_error(&mut self, key: &str, label: &str, extra: &[(&str, String)]) {
        let mut args = vec![("field", self.c.k.i18n().tr(self.c.lang, label))];
        args.extend(extra.iter().cloned());
        self.errors.push(self.c.ta(key, &args));
    }

    fn optional(&mut self, name: &str, label: &str, max: usize) -> Option<String> {
        let s = self.v.get(name).map_or("", |s| s.trim());
        if s.is_empty() {
            return None;
        }
        if s.chars().count() > max {
            self.field_error("error-too-long", label, &[("max", max.to_string())]);
            return None;
        }
        if s.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.field_error("error-invalid", label, &[]);
            return None;
        }
        // Line ends as the model keeps them.
        Some(
            s.replace("\r\n", "\n")
                .replace('\r', "\n")
                .replace('\t', " "),
        )
    }

    fn required(&mut self, name: &str, label: &str, max: usize) -> String {
        let present = !self.v.get(name).map_or("", |s| s.trim()).is_empty();
        if !present {
            self.field_error("error-required", label, &[]);
            return String::new();
        }
        self.optional(name, label, max).unwrap_or_default()
    }

    fn choice<T: Copy>(
        &mut self,
        name: &str,
        label: &str,
        list: &[(T, &'static str)],
    ) -> Option<T> {
        let s = self.v.get(name).map_or("", String::as_str);
        let found = list.iter().find(|(_, k)| *k == s).map(|(t, _)| *t);
        if found.is_none() {
            self.field_error("error-choice", label, &[]);
        }
        found
    }

    fn optional_choice<T: Copy>(
        &mut self,
        name: &str,
        label: &str,
        list: &[(T, &'static str)],
    ) -> Option<T> {
        match self.v.get(name).map(String::as_str) {
            None | Some("") => None,
            Some(_) => self.choice(name, label, list),
        }
    }

    fn consent(&mut self) -> bool {
        let given = self.v.get("consent").is_some_and(|s| !s.is_empty());
        if !given {
            self.errors.push(self.c.t("error-consent"));
        }
        given
    }
}

/// A refused write, in the person's language, naming the field where the model does.
fn write_error(c: &Ctx<'_>, e: &WriteError) -> String {
    eprintln!("kiosk: a write was refused: {e}");
    let field = |entity: &str, field: &str| -> &'static str {
        match (entity, field) {
            ("issue", "title") => "field-title",
            ("issue", "description") => "field-description",
            ("issue", "place") => "field-place",
            ("person", "name") => "field-family",
            ("person", "phone") => "field-phone",
            ("legal_aid_request", "facts") => "field-facts",
            ("initiative_group", "name") => "field-group-name",
            ("event", "topic") => "field-topic",
            _ => "field-other",
        }
    };
    let label = |entity, f| c.k.i18n().tr(c.lang, field(entity, f));
    match e {
        WriteError::Invalid(ValidationError::Empty { entity, field }) => {
            c.ta("error-required", &[("field", label(entity, field))])
        }
        WriteError::Invalid(ValidationError::TooLong {
            entity, field, max, ..
        }) => c.ta(
            "error-too-long",
            &[("field", label(entity, field)), ("max", max.to_string())],
        ),
        WriteError::Invalid(
            ValidationError::ControlCharacter { entity, field, .. }
            | ValidationError::OutOfRange { entity, field, .. }
            | ValidationError::Inconsistent { entity, field, .. }
            | ValidationError::TooMany { entity, field, .. },
        ) => c.ta("error-invalid", &[("field", label(entity, field))]),
        WriteError::ValueTooLarge { kind, field, .. } => {
            let entity = kenesh_model::schema::entity(*kind).name;
            c.ta("error-invalid", &[("field", label(entity, field))])
        }
        WriteError::Transition { .. } => c.t("error-transition"),
        _ => c.t("error-write"),
    }
}

// ---------------------------------------------------------------- handlers: common

fn lang_of(p: &HashMap<String, String>) -> Option<Lang> {
    p.get("lang").and_then(|l| Lang::from_code(l))
}

fn id_of(p: &HashMap<String, String>) -> Option<Id> {
    let s = p.get("id")?;
    if s.len() != 32 {
        return None;
    }
    u128::from_str_radix(s, 16).ok().map(Id::from_u128)
}

fn id_text(id: Id) -> String {
    format!("{:032x}", id.as_u128())
}

fn not_found_page(k: &Kiosk, lang: Lang) -> Response {
    let c = Ctx { k, lang };
    let body = format!(
        "<h1>{}</h1><p><a class=\"button\" href=\"{}\">{}</a></p>",
        c.t("not-found"),
        c.href(""),
        c.t("back-home")
    );
    html(
        StatusCode::NOT_FOUND,
        c.page("", &c.t("not-found"), &body, Leave::Idle),
    )
}

async fn not_found(State(k): State<Arc<Kiosk>>) -> Response {
    not_found_page(&k, Lang::Ky)
}

async fn root() -> Redirect {
    Redirect::to("/ky")
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}

macro_rules! lang_or_404 {
    ($k:expr, $p:expr) => {
        match lang_of(&$p) {
            Some(l) => l,
            None => return not_found_page(&$k, Lang::Ky),
        }
    };
}

fn stamp(k: &Kiosk, now: u64) -> Stamp {
    Stamp {
        at: Timestamp(now),
        device: DeviceId(k.config().device_id),
        by: None,
    }
}

/// A new record id, or the localised error page when none can be made.
fn new_id(k: &Kiosk, now: u64) -> Result<Id, WriteError> {
    k.new_id(now)
        .ok_or_else(|| WriteError::Encoding("no ids left".into()))
}

/// A person met at the kiosk, with the consent they gave.
#[allow(clippy::too_many_arguments)]
fn person_with_consent(
    k: &Kiosk,
    now: u64,
    scope: Scope,
    lang: Lang,
    family: &str,
    given: &str,
    phone: Option<Phone>,
    purposes: &[Purpose],
) -> Result<(Person, Consent), WriteError> {
    let pid = new_id(k, now)?;
    let person = Person {
        meta: RecordMeta::new(pid, scope, Tier::Personal, stamp(k, now)),
        name: PersonName {
            family: family.into(),
            given: given.into(),
            patronymic: None,
            latin: None,
        },
        sex: None,
        birth_year: None,
        disability: WashingtonGroup::default(),
        residence: Some(k.territory()),
        languages: [lang.locale()].into(),
        pin: None,
        phone,
        dedup_keys: [dedup_key(&format!("{family} {given}"))].into(),
        merged_into: None,
    };
    let consent = Consent {
        meta: RecordMeta::new(new_id(k, now)?, scope, Tier::Personal, stamp(k, now)),
        person: PersonId(pid),
        purposes: purposes.iter().copied().collect(),
        method: ConsentMethod::Kiosk,
        given_at: Timestamp(now),
        withdrawn_at: None,
        transfers: Vec::new(),
    };
    Ok((person, consent))
}

/// The page after a submission: a short thanks, no data repeated, wiped soon.
fn done_page(c: &Ctx<'_>, title_key: &str, text_key: &str) -> Response {
    let body = format!(
        "<section class=\"done\" id=\"done\"><h1>{}</h1><p>{}</p>\
         <p><a class=\"button primary\" href=\"/\">{}</a></p></section>",
        c.t(title_key),
        c.t(text_key),
        c.t("back-home")
    );
    ok(c.page("", &c.t(title_key), &body, Leave::Wipe(WIPE_AFTER_SECS)))
}

// ---------------------------------------------------------------- citizens

async fn home(State(k): State<Arc<Kiosk>>, Path(p): Params) -> Response {
    let lang = lang_or_404!(k, p);
    let c = Ctx { k: &k, lang };
    let tiles = [
        (
            "/issues/new",
            "home-report",
            "home-report-hint",
            "tile_report",
        ),
        ("/issues", "home-issues", "home-issues-hint", "tile_issues"),
        ("/groups", "home-groups", "home-groups-hint", "tile_groups"),
        ("/events", "home-events", "home-events-hint", "tile_events"),
        ("/legal", "home-legal", "home-legal-hint", "tile_legal"),
    ];
    let mut body = format!("<h1>{}</h1><div class=\"tiles\">", c.t("home-welcome"));
    for (path, title, hint, id) in tiles {
        let _ = write!(
            body,
            "<a class=\"tile\" id=\"{id}\" href=\"{}\"><strong>{}</strong><span>{}</span></a>",
            c.href(path),
            c.t(title),
            c.t(hint)
        );
    }
    let _ = write!(
        body,
        "</div><p class=\"staff-link\"><a href=\"{}\" id=\"staff\">{}</a></p>",
        c.href("/staff"),
        c.t("home-staff")
    );
    let leave = if lang == Lang::Ky {
        Leave::Stay
    } else {
        Leave::Idle
    };
    ok(c.page("", &c.t("app-title"), &body, leave))
}

fn issue_form_page(c: &Ctx<'_>, v: &HashMap<String, String>, errors: &[String]) -> Response {
    let body = format!(
        "<h1>{}</h1>{}<form method=\"post\" action=\"{}\" class=\"form\">{}{}{}{}<p class=\"hint\">{}</p>{}</form>",
        c.t("report-title"),
        c.error_box(errors),
        c.href("/issues"),
        c.input("title", "field-title", 200, v),
        c.textarea("description", "field-description", 5000, v),
        c.select("category", "field-category", &CATEGORIES, v, false),
        c.input("place", "field-place", 300, v),
        c.t("report-anonymous"),
        c.submit("submit-report"),
    );
    let status = form_status(errors);
    html(
        status,
        c.page("/issues/new", &c.t("report-title"), &body, Leave::Idle),
    )
}

async fn issue_form(State(k): State<Arc<Kiosk>>, Path(p): Params) -> Response {
    let lang = lang_or_404!(k, p);
    issue_form_page(&Ctx { k: &k, lang }, &HashMap::new(), &[])
}

async fn issue_create(State(k): State<Arc<Kiosk>>, Path(p): Params, v: Fields) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let c = Ctx { k: &k, lang };
    let mut ch = Check::new(&c, &v);
    let title = ch.required("title", "field-title", 200);
    let description = ch.required("description", "field-description", 5000);
    let category = ch.choice("category", "field-category", &CATEGORIES);
    let place = ch.optional("place", "field-place", 300);
    let errors = std::mem::take(&mut ch.errors);
    let Some(category) = category.filter(|_| errors.is_empty()) else {
        return issue_form_page(&c, &v, &errors);
    };
    let number = match k.next_receipt() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("kiosk: the receipt counter failed: {e}");
            return issue_form_page(&c, &v, &[c.t("error-write")]);
        }
    };
    let now = now_ms();
    let locale = lang.locale();
    let result = new_id(&k, now).and_then(|id| {
        let issue = Issue {
            meta: RecordMeta::new(id, k.scope(), Tier::Public, stamp(&k, now)),
            title: LocalizedText::new(locale, title),
            description: LocalizedText::new(locale, description),
            category,
            territory: k.territory(),
            location: None,
            place,
            reported_by: Reporter::Anonymous,
            channel: Channel::Kiosk,
            status: IssueStatus::Submitted,
            close_reason: None,
            responsible: Some(Party::Municipality(k.municipality())),
            group: None,
            duplicate_of: None,
            supporters: Default::default(),
            paper_supports: Vec::new(),
            updates: Vec::new(),
            comments: Vec::new(),
            visibility: Visibility::Public,
            moderation: Moderation::Pending,
            receipt: Some(Receipt {
                device: DeviceId(k.config().device_id),
                number,
            }),
            beneficiaries_estimate: None,
        };
        k.replica().at(now).create_issue(&issue)
    });
    if let Err(e) = result {
        return issue_form_page(&c, &v, &[write_error(&c, &e)]);
    }
    let receipt = receipt_text(&k, number);
    let body = format!(
        "<section class=\"receipt\" id=\"receipt\"><h1>{}</h1><p>{}</p>\
         <p class=\"number\" id=\"receipt-number\">{}</p><p>{}</p>\
         <p class=\"no-print\"><button type=\"button\" class=\"primary\" id=\"print\" onclick=\"window.print()\">{}</button> \
         <a class=\"button\" href=\"/\">{}</a></p></section>",
        c.t("receipt-title"),
        c.t("receipt-text"),
        esc(&receipt),
        c.t("receipt-keep"),
        c.t("receipt-print"),
        c.t("back-home"),
    );
    ok(c.page(
        "/issues",
        &c.t("receipt-title"),
        &body,
        Leave::Wipe(RECEIPT_SECS),
    ))
}

fn normalise_receipt(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A receipt as printed: the kiosk's code and the counter.
#[must_use]
pub fn receipt_text(k: &Kiosk, number: u32) -> String {
    format!("{}-{number:05}", k.config().kiosk_code)
}

fn public_issues(k: &Kiosk) -> Vec<Issue> {
    let mut v: Vec<Issue> = k
        .replica()
        .issues(Some(k.municipality()), None)
        .into_iter()
        .filter(|i| {
            i.status != IssueStatus::Draft
                && i.moderation != Moderation::Hidden
                && i.visibility == Visibility::Public
        })
        .collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.meta.id));
    v
}

fn status_badge(c: &Ctx<'_>, workflow: &str, name: &str) -> String {
    format!(
        "<span class=\"status s-{}\">{}</span>",
        name,
        c.t(&status_key(workflow, name))
    )
}

fn issue_receipt(k: &Kiosk, i: &Issue) -> Option<String> {
    let r = i.receipt?;
    (r.device.0 == k.config().device_id).then(|| receipt_text(k, r.number))
}

async fn issues_list(
    State(k): State<Arc<Kiosk>>,
    Path(p): Params,
    query: Result<
        axum::extract::Query<HashMap<String, String>>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Response {
    let lang = lang_or_404!(k, p);
    let c = Ctx { k: &k, lang };
    let locale = lang.locale();
    // A receipt number typed by a citizen: letters and digits compared without case,
    // spaces and dashes.
    let wanted: Option<String> = query
        .ok()
        .and_then(|q| q.0.get("receipt").cloned())
        .map(|r| normalise_receipt(&r))
        .filter(|r| !r.is_empty() && r.len() <= 20);
    let mut body = format!(
        "<h1>{}</h1><p><a class=\"button primary\" href=\"{}\">{}</a></p>\
         <form method=\"get\" action=\"{}\" class=\"form search\"><label>{}<input name=\"receipt\" id=\"f-receipt\" maxlength=\"20\" autocomplete=\"off\"></label>\
         <button type=\"submit\" id=\"find\">{}</button></form>",
        c.t("issues-title"),
        c.href("/issues/new"),
        c.t("home-report"),
        c.href("/issues"),
        c.t("field-receipt"),
        c.t("issues-find"),
    );
    let mut issues = public_issues(&k);
    if let Some(w) = &wanted {
        issues.retain(|i| issue_receipt(&k, i).is_some_and(|r| normalise_receipt(&r) == *w));
        if issues.is_empty() {
            let _ = write!(
                body,
                "<p class=\"empty\" id=\"not-found\">{}</p>",
                c.t("issues-no-receipt")
            );
        }
    } else if issues.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", c.t("issues-empty"));
    }
    body.push_str("<ul class=\"cards\" id=\"issues\">");
    for i in &issues {
        let _ = write!(
            body,
            "<li class=\"card\"><h2>{}</h2><p class=\"meta\">{} {}",
            esc(i.title.best(locale)),
            status_badge(&c, "issue", i.status.name()),
            c.t(key_of(&CATEGORIES, i.category)),
        );
        if let Some(r) = issue_receipt(&k, i) {
            let _ = write!(body, " · <span class=\"receipt-ref\">№ {}</span>", esc(&r));
        }
        let _ = write!(
            body,
            " · {}</p><p>{}</p>",
            c.ta(
                "issues-supports",
                &[("count", i.support_count().to_string())]
            ),
            esc(i.description.best(locale))
        );
        if let Some(place) = &i.place {
            let _ = write!(
                body,
                "<p class=\"meta\">{}: {}</p>",
                c.t("field-place"),
                esc(place)
            );
        }
        if !i.updates.is_empty() {
            let _ = write!(
                body,
                "<h3>{}</h3><ul class=\"updates\">",
                c.t("issues-updates")
            );
            for u in i.updates.iter().rev().take(5) {
                let _ = write!(
                    body,
                    "<li><span class=\"when\">{}</span> {}</li>",
                    time_text(u.at.0),
                    esc(u.text.best(locale))
                );
            }
            body.push_str("</ul>");
        }
        if !matches!(
            i.status,
            IssueStatus::Resolved | IssueStatus::ClosedUnresolved | IssueStatus::Withdrawn
        ) {
            let _ = write!(
                body,
                "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                c.href(&format!("/issues/{}/support", id_text(i.meta.id))),
                c.t("support-button")
            );
        }
        body.push_str("</li>");
    }
    body.push_str("</ul>");
    ok(c.page("/issues", &c.t("issues-title"), &body, Leave::Idle))
}

fn support_page(
    c: &Ctx<'_>,
    issue: &Issue,
    v: &HashMap<String, String>,
    errors: &[String],
) -> Response {
    let path = format!("/issues/{}/support", id_text(issue.meta.id));
    let body = format!(
        "<h1>{}</h1><p class=\"lead\">{}</p>{}<form method=\"post\" action=\"{}\" class=\"form\">{}{}{}</form>",
        c.t("support-title"),
        esc(issue.title.best(c.lang.locale())),
        c.error_box(errors),
        c.href(&path),
        c.name_fields(v),
        c.consent("consent-participation"),
        c.submit("support-button"),
    );
    let status = form_status(errors);
    html(
        status,
        c.page(&path, &c.t("support-title"), &body, Leave::Idle),
    )
}

fn find_issue(k: &Kiosk, p: &HashMap<String, String>) -> Option<Issue> {
    let id = id_of(p)?;
    public_issues(k).into_iter().find(|i| i.meta.id == id)
}

async fn support_form(State(k): State<Arc<Kiosk>>, Path(p): Params) -> Response {
    let lang = lang_or_404!(k, p);
    let Some(issue) = find_issue(&k, &p) else {
        return not_found_page(&k, lang);
    };
    support_page(&Ctx { k: &k, lang }, &issue, &HashMap::new(), &[])
}

async fn support_submit(State(k): State<Arc<Kiosk>>, Path(p): Params, v: Fields) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let Some(issue) = find_issue(&k, &p) else {
        return not_found_page(&k, lang);
    };
    let c = Ctx { k: &k, lang };
    let mut ch = Check::new(&c, &v);
    let family = ch.required("family", "field-family", 100);
    let given = ch.required("given", "field-given", 100);
    ch.consent();
    if !ch.errors.is_empty() {
        let errors = std::mem::take(&mut ch.errors);
        return support_page(&c, &issue, &v, &errors);
    }
    let now = now_ms();
    let result = person_with_consent(
        &k,
        now,
        k.scope(),
        lang,
        &family,
        &given,
        None,
        &[Purpose::Participation],
    )
    .and_then(|(person, consent)| {
        let mut r = k.replica();
        let mut w = r.at(now);
        w.add_person(&person)?;
        w.record_consent(&consent)?;
        w.support_issue(IssueId(issue.meta.id), PersonId(person.meta.id))
    });
    match result {
        Ok(()) => done_page(&c, "support-done", "support-done-text"),
        Err(e) => support_page(&c, &issue, &v, &[write_error(&c, &e)]),
    }
}

fn live_groups(k: &Kiosk) -> Vec<InitiativeGroup> {
    let mut v: Vec<InitiativeGroup> = k
        .replica()
        .all::<InitiativeGroup>()
        .into_iter()
        .filter(|g| g.municipality == k.municipality() && g.status != GroupStatus::Dissolved)
        .collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.meta.id));
    v
}

fn groups_page(c: &Ctx<'_>, v: &HashMap<String, String>, errors: &[String]) -> Response {
    let locale = c.lang.locale();
    let today = Timestamp(now_ms()).bishkek_date();
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        c.t("groups-title"),
        c.t("groups-intro")
    );
    let groups = live_groups(c.k);
    if groups.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", c.t("groups-empty"));
    }
    body.push_str("<ul class=\"cards\" id=\"groups\">");
    for g in &groups {
        let members =
            c.k.replica()
                .group_members(GroupId(g.meta.id))
                .iter()
                .filter(|m| m.is_current_on(today))
                .count();
        let _ = write!(
            body,
            "<li class=\"card\"><h2>{}</h2><p class=\"meta\">{} · {}</p>\
             <p><a class=\"button\" href=\"{}\">{}</a></p></li>",
            esc(g.name.best(locale)),
            status_badge(c, "group", g.status.name()),
            c.ta("groups-members", &[("count", members.to_string())]),
            c.href(&format!("/groups/{}/join", id_text(g.meta.id))),
            c.t("groups-join")
        );
    }
    let _ = write!(
        body,
        "</ul><h2 id=\"propose\">{}</h2><p>{}</p>{}<form method=\"post\" action=\"{}\" class=\"form\">{}{}{}{}</form>",
        c.t("groups-propose"),
        c.t("groups-propose-hint"),
        c.error_box(errors),
        c.href("/groups"),
        c.input("group_name", "field-group-name", 200, v),
        c.name_fields(v),
        c.consent("consent-participation"),
        c.submit("groups-propose-button"),
    );
    let status = form_status(errors);
    html(
        status,
        c.page("/groups", &c.t("groups-title"), &body, Leave::Idle),
    )
}

async fn groups_list(State(k): State<Arc<Kiosk>>, Path(p): Params) -> Response {
    let lang = lang_or_404!(k, p);
    groups_page(&Ctx { k: &k, lang }, &HashMap::new(), &[])
}

async fn group_propose(State(k): State<Arc<Kiosk>>, Path(p): Params, v: Fields) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let c = Ctx { k: &k, lang };
    let mut ch = Check::new(&c, &v);
    let name = ch.required("group_name", "field-group-name", 200);
    let family = ch.required("family", "field-family", 100);
    let given = ch.required("given", "field-given", 100);
    ch.consent();
    if !ch.errors.is_empty() {
        let errors = std::mem::take(&mut ch.errors);
        return groups_page(&c, &v, &errors);
    }
    let now = now_ms();
    let today = Timestamp(now).bishkek_date();
    let result = (|| {
        let (person, consent) = person_with_consent(
            &k,
            now,
            k.scope(),
            lang,
            &family,
            &given,
            None,
            &[Purpose::Participation],
        )?;
        let group = InitiativeGroup {
            meta: RecordMeta::new(new_id(&k, now)?, k.scope(), Tier::Public, stamp(&k, now)),
            municipality: k.municipality(),
            name: LocalizedText::new(lang.locale(), name),
            focus_issues: Default::default(),
            status: GroupStatus::Forming,
            agreement: None,
            action_plan: None,
            co_financing: Vec::new(),
            formed_on: today,
        };
        let membership = Membership {
            meta: RecordMeta::new(new_id(&k, now)?, k.scope(), Tier::Personal, stamp(&k, now)),
            group: GroupId(group.meta.id),
            member: Member::Person(PersonId(person.meta.id)),
            sector: Sector::Citizen,
            role: MemberRole::Chair,
            joined: today,
            left: None,
        };
        let mut r = k.replica();
        let mut w = r.at(now);
        w.add_person(&person)?;
        w.record_consent(&consent)?;
        w.form_group(&group)?;
        w.add_member(&membership)
    })();
    match result {
        Ok(()) => done_page(&c, "groups-proposed", "groups-proposed-text"),
        Err(e) => groups_page(&c, &v, &[write_error(&c, &e)]),
    }
}

fn join_page(
    c: &Ctx<'_>,
    g: &InitiativeGroup,
    v: &HashMap<String, String>,
    errors: &[String],
) -> Response {
    let path = format!("/groups/{}/join", id_text(g.meta.id));
    let body = format!(
        "<h1>{}</h1><p class=\"lead\">{}</p>{}<form method=\"post\" action=\"{}\" class=\"form\">{}{}{}{}</form>",
        c.t("join-title"),
        esc(g.name.best(c.lang.locale())),
        c.error_box(errors),
        c.href(&path),
        c.name_fields(v),
        c.select("sector", "field-sector", &SECTORS, v, false),
        c.consent("consent-participation"),
        c.submit("groups-join"),
    );
    let status = form_status(errors);
    html(
        status,
        c.page(&path, &c.t("join-title"), &body, Leave::Idle),
    )
}

/// A form page's status: 200, or 422 when it shows errors.
fn form_status<T>(errors: &[T]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

fn find_group(k: &Kiosk, p: &HashMap<String, String>) -> Option<InitiativeGroup> {
    let id = id_of(p)?;
    live_groups(k).into_iter().find(|g| g.meta.id == id)
}

async fn join_form(State(k): State<Arc<Kiosk>>, Path(p): Params) -> Response {
    let lang = lang_or_404!(k, p);
    let Some(g) = find_group(&k, &p) else {
        return not_found_page(&k, lang);
    };
    join_page(&Ctx { k: &k, lang }, &g, &HashMap::new(), &[])
}

async fn join_submit(State(k): State<Arc<Kiosk>>, Path(p): Params, v: Fields) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let Some(g) = find_group(&k, &p) else {
        return not_found_page(&k, lang);
    };
    let c = Ctx { k: &k, lang };
    let mut ch = Check::new(&c, &v);
    let family = ch.required("family", "field-family", 100);
    let given = ch.required("given", "field-given", 100);
    let sector = ch.choice("sector", "field-sector", &SECTORS);
    ch.consent();
    let errors = std::mem::take(&mut ch.errors);
    let Some(sector) = sector.filter(|_| errors.is_empty()) else {
        return join_page(&c, &g, &v, &errors);
    };
    let now = now_ms();
    let result = (|| {
        let (person, consent) = person_with_consent(
            &k,
            now,
            k.scope(),
            lang,
            &family,
            &given,
            None,
            &[Purpose::Participation],
        )?;
        let membership = Membership {
            meta: RecordMeta::new(new_id(&k, now)?, k.scope(), Tier::Personal, stamp(&k, now)),
            group: GroupId(g.meta.id),
            member: Member::Person(PersonId(person.meta.id)),
            sector,
            role: MemberRole::Member,
            joined: Timestamp(now).bishkek_date(),
            left: None,
        };
        let mut r = k.replica();
        let mut w = r.at(now);
        w.add_person(&person)?;
        w.record_consent(&consent)?;
        w.add_member(&membership)
    })();
    match result {
        Ok(()) => done_page(&c, "join-done", "join-done-text"),
        Err(e) => join_page(&c, &g, &v, &[write_error(&c, &e)]),
    }
}

fn open_events(k: &Kiosk) -> Vec<Event> {
    let mut v: Vec<Event> = k
        .replica()
        .all::<Event>()
        .into_iter()
        .filter(|e| {
            e.meta.scope == k.scope()
                && matches!(e.status, EventStatus::Planned | EventStatus::Held)
        })
        .collect();
    v.sort_by(|a, b| {
        a.starts_on
            .cmp(&b.starts_on)
            .then(a.meta.id.cmp(&b.meta.id))
    });
    v
}

fn event_line(c: &Ctx<'_>, e: &Event) -> String {
    let dates = if e.starts_on == e.ends_on {
        date_text(e.starts_on)
    } else {
        format!("{} – {}", date_text(e.starts_on), date_text(e.ends_on))
    };
    format!("{} · {}", c.t(key_of(&EVENT_KINDS, e.kind)), esc(&dates))
}

async fn events_list(State(k): State<Arc<Kiosk>>, Path(p): Params) -> Response {
    let lang = lang_or_404!(k, p);
    let c = Ctx { k: &k, lang };
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        c.t("events-title"),
        c.t("events-intro")
    );
    let events = open_events(&k);
    if events.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", c.t("events-empty"));
    }
    body.push_str("<ul class=\"cards\" id=\"events\">");
    for e in &events {
        let _ = write!(
            body,
            "<li class=\"card\"><h2>{}</h2><p class=\"meta\">{}</p>\
             <p><a class=\"button primary\" href=\"{}\">{}</a></p></li>",
            esc(e.topic.best(lang.locale())),
            event_line(&c, e),
            c.href(&format!("/events/{}/checkin", id_text(e.meta.id))),
            c.t("checkin-button")
        );
    }
    body.push_str("</ul>");
    ok(c.page("/events", &c.t("events-title"), &body, Leave::Idle))
}

fn checkin_page(
    c: &Ctx<'_>,
    e: &Event,
    v: &HashMap<String, String>,
    errors: &[String],
) -> Response {
    let path = format!("/events/{}/checkin", id_text(e.meta.id));
    let body = format!(
        "<h1>{}</h1><p class=\"lead\">{}</p><p class=\"meta\">{}</p>{}<form method=\"post\" action=\"{}\" class=\"form\">{}{}{}{}{}</form>",
        c.t("checkin-title"),
        esc(e.topic.best(c.lang.locale())),
        event_line(c, e),
        c.error_box(errors),
        c.href(&path),
        c.name_fields(v),
        c.select("sex", "field-sex", &SEXES, v, true),
        c.input("birth_year", "field-birth-year", 4, v),
        c.consent("consent-training"),
        c.submit("checkin-button"),
    );
    let status = form_status(errors);
    html(
        status,
        c.page(&path, &c.t("checkin-title"), &body, Leave::Idle),
    )
}

fn find_event(k: &Kiosk, p: &HashMap<String, String>) -> Option<Event> {
    let id = id_of(p)?;
    open_events(k).into_iter().find(|e| e.meta.id == id)
}

async fn checkin_form(State(k): State<Arc<Kiosk>>, Path(p): Params) -> Response {
    let lang = lang_or_404!(k, p);
    let Some(e) = find_event(&k, &p) else {
        return not_found_page(&k, lang);
    };
    checkin_page(&Ctx { k: &k, lang }, &e, &HashMap::new(), &[])
}

async fn checkin_submit(State(k): State<Arc<Kiosk>>, Path(p): Params, v: Fields) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let Some(event) = find_event(&k, &p) else {
        return not_found_page(&k, lang);
    };
    let c = Ctx { k: &k, lang };
    let mut ch = Check::new(&c, &v);
    let family = ch.required("family", "field-family", 100);
    let given = ch.required("given", "field-given", 100);
    let sex = ch.optional_choice("sex", "field-sex", &SEXES);
    let now = now_ms();
    let this_year = Timestamp(now).bishkek_date().year();
    let birth_year = ch
        .optional("birth_year", "field-birth-year", 4)
        .and_then(|s| match s.parse::<u16>() {
            Ok(y) if y >= 1900 && i32::from(y) <= i32::from(this_year) => Some(y),
            _ => {
                ch.field_error("error-invalid", "field-birth-year", &[]);
                None
            }
        });
    ch.consent();
    if !ch.errors.is_empty() {
        let errors = std::mem::take(&mut ch.errors);
        return checkin_page(&c, &event, &v, &errors);
    }
    let result = (|| {
        let (mut person, consent) = person_with_consent(
            &k,
            now,
            k.scope(),
            lang,
            &family,
            &given,
            None,
            &[Purpose::Participation, Purpose::TrainingRecords],
        )?;
        person.sex = sex;
        person.birth_year = birth_year;
        let attendance = Attendance {
            meta: RecordMeta::new(new_id(&k, now)?, k.scope(), Tier::Personal, stamp(&k, now)),
            event: EventId(event.meta.id),
            person: PersonId(person.meta.id),
            role: AttendanceRole::Participant,
            sessions_attended: 1.min(event.sessions),
            completed: false,
            pre_score: None,
            post_score: None,
            evidence: Evidence::KioskCheckIn(DeviceId(k.config().device_id)),
        };
        let mut r = k.replica();
        let mut w = r.at(now);
        w.add_person(&person)?;
        w.record_consent(&consent)?;
        w.record_attendance(&attendance)
    })();
    match result {
        Ok(()) => done_page(&c, "checkin-done", "checkin-done-text"),
        Err(e) => checkin_page(&c, &event, &v, &[write_error(&c, &e)]),
    }
}

fn legal_page(c: &Ctx<'_>, v: &HashMap<String, String>, errors: &[String]) -> Response {
    let body = format!(
        "<h1>{}</h1><p>{}</p>{}<form method=\"post\" action=\"{}\" class=\"form\" autocomplete=\"off\">{}{}{}{}{}{}<p class=\"hint\">{}</p>{}</form>",
        c.t("legal-title"),
        c.t("legal-intro"),
        c.error_box(errors),
        c.href("/legal"),
        c.name_fields(v),
        c.input("phone", "field-phone", 30, v),
        c.select("area", "field-area", &LEGAL_AREAS, v, false),
        c.textarea("facts", "field-facts", 5000, v),
        c.select("urgency", "field-urgency", &URGENCIES, v, false),
        c.consent("consent-legal"),
        c.t("legal-privacy"),
        c.submit("legal-submit"),
    );
    let status = form_status(errors);
    html(
        status,
        c.page("/legal", &c.t("legal-title"), &body, Leave::Idle),
    )
}

async fn legal_form(State(k): State<Arc<Kiosk>>, Path(p): Params) -> Response {
    let lang = lang_or_404!(k, p);
    legal_page(&Ctx { k: &k, lang }, &HashMap::new(), &[])
}

async fn legal_submit(State(k): State<Arc<Kiosk>>, Path(p): Params, v: Fields) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let c = Ctx { k: &k, lang };
    let mut ch = Check::new(&c, &v);
    let family = ch.required("family", "field-family", 100);
    let given = ch.required("given", "field-given", 100);
    let phone = ch
        .optional("phone", "field-phone", 30)
        .and_then(|s| match s.parse::<Phone>() {
            Ok(p) => Some(p),
            Err(_) => {
                ch.field_error("error-invalid", "field-phone", &[]);
                None
            }
        });
    let area = ch.choice("area", "field-area", &LEGAL_AREAS);
    let facts = ch.required("facts", "field-facts", 5000);
    let urgency = ch.choice("urgency", "field-urgency", &URGENCIES);
    ch.consent();
    let errors = std::mem::take(&mut ch.errors);
    let (Some(area), Some(urgency)) = (area, urgency) else {
        return legal_page(&c, &v, &errors);
    };
    if !errors.is_empty() {
        return legal_page(&c, &v, &errors);
    }
    let now = now_ms();
    // The applicant and the request belong to the legal aid centre, not the municipality:
    // its staff never read who asked or why.
    let centre = Scope::Organisation(k.centre());
    let mut purposes = vec![Purpose::LegalAid];
    if phone.is_some() {
        purposes.push(Purpose::Contact);
    }
    let result = (|| {
        let (person, consent) =
            person_with_consent(&k, now, centre, lang, &family, &given, phone, &purposes)?;
        let request = LegalAidRequest {
            meta: RecordMeta::new(new_id(&k, now)?, centre, Tier::Sensitive, stamp(&k, now)),
            applicant: PersonId(person.meta.id),
            receiver: None,
            channel: IntakeChannel::Kiosk,
            taken_at: IntakePoint::Kiosk(DeviceId(k.config().device_id)),
            language: lang.locale(),
            legal_area: area,
            facts,
            urgency,
            other_parties: Default::default(),
            eligibility: None,
            status: RequestStatus::Received,
            consulted_on: None,
            rejection: None,
        };
        let mut r = k.replica();
        let mut w = r.at(now);
        w.add_person(&person)?;
        w.record_consent(&consent)?;
        w.take_request(&request)
    })();
    match result {
        // Nothing the person typed is repeated, and the screen wipes itself.
        Ok(()) => done_page(&c, "legal-done", "legal-done-text"),
        Err(e) => legal_page(&c, &v, &[write_error(&c, &e)]),
    }
}

// ---------------------------------------------------------------- staff

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == STAFF_COOKIE).then(|| v.to_string())
        })
}

/// Whether the request carries a live staff session (and extends it).
fn is_staff(k: &Kiosk, headers: &HeaderMap) -> bool {
    let Some(token) = cookie_token(headers) else {
        return false;
    };
    let now = now_ms();
    let mut sessions = k.staff_sessions();
    sessions.retain(|(_, until)| *until > now);
    let mut found = false;
    for (t, until) in sessions.iter_mut() {
        if bool::from(t.as_bytes().ct_eq(token.as_bytes())) {
            *until = now + staff_session_ms(k);
            found = true;
        }
    }
    found
}

/// Compares a PIN with the configured one in constant time (for equal lengths).
fn pin_matches(k: &Kiosk, pin: &str) -> bool {
    match &k.config().staff_pin {
        Some(want) => bool::from(want.as_bytes().ct_eq(pin.trim().as_bytes())),
        None => false,
    }
}

fn staff_login_page(c: &Ctx<'_>, error: Option<&str>, status: StatusCode) -> Response {
    let errors: Vec<String> = error.map(|e| c.t(e)).into_iter().collect();
    let body = format!(
        "<h1>{}</h1>{}<form method=\"post\" action=\"{}\" class=\"form\">\
         <label>{}<input type=\"password\" name=\"pin\" id=\"f-pin\" inputmode=\"numeric\" maxlength=\"64\" autocomplete=\"off\"></label>{}</form>",
        c.t("staff-title"),
        c.error_box(&errors),
        c.href("/staff/login"),
        c.t("field-pin"),
        c.submit("staff-login"),
    );
    html(
        status,
        c.page("/staff", &c.t("staff-title"), &body, Leave::Idle),
    )
}

fn staff_refused(c: &Ctx<'_>) -> Response {
    staff_login_page(c, Some("staff-login-needed"), StatusCode::FORBIDDEN)
}

async fn staff_login(State(k): State<Arc<Kiosk>>, Path(p): Params, v: Fields) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let c = Ctx { k: &k, lang };
    let pin = v.get("pin").map_or("", String::as_str);
    if k.config().staff_pin.is_none() {
        return staff_login_page(&c, Some("staff-closed"), StatusCode::FORBIDDEN);
    }
    if !pin_matches(&k, pin) {
        // Slows guessing down.
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        return staff_login_page(&c, Some("staff-wrong-pin"), StatusCode::FORBIDDEN);
    }
    let token: String = crate::local::random_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    k.staff_sessions()
        .push((token.clone(), now_ms() + staff_session_ms(&k)));
    let mut r = Redirect::to(&c.href("/staff")).into_response();
    if let Ok(h) = HeaderValue::from_str(&format!(
        "{STAFF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, h);
    }
    r
}

async fn staff_logout(
    State(k): State<Arc<Kiosk>>,
    Path(p): Params,
    headers: HeaderMap,
) -> Response {
    let lang = lang_or_404!(k, p);
    if let Some(token) = cookie_token(&headers) {
        k.staff_sessions().retain(|(t, _)| *t != token);
    }
    let mut r = Redirect::to(&format!("/{}", lang.code())).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("kiosk_staff=; Path=/; Max-Age=0"),
    );
    r
}

fn transition_form<W: Workflow>(
    c: &Ctx<'_>,
    action: &str,
    workflow: &str,
    current: W,
    with_text: bool,
) -> String {
    let targets = current.targets();
    if targets.is_empty() {
        return String::new();
    }
    let mut h = format!(
        "<form method=\"post\" action=\"{}\" class=\"inline\"><label>{}<select name=\"to\">",
        c.href(action),
        c.t("staff-move-to")
    );
    for t in targets {
        let _ = write!(
            h,
            "<option value=\"{}\">{}</option>",
            t.name(),
            c.t(&status_key(workflow, t.name()))
        );
    }
    h.push_str("</select></label>");
    if with_text {
        let _ = write!(
            h,
            "<label>{}<textarea name=\"update\" maxlength=\"2000\" rows=\"2\"></textarea></label>",
            c.t("field-update")
        );
    }
    let _ = write!(
        h,
        "<button type=\"submit\">{}</button></form>",
        c.t("staff-save")
    );
    h
}

fn staff_dashboard(c: &Ctx<'_>, notice: Option<String>) -> Response {
    let k = c.k;
    let locale = c.lang.locale();
    let s = k.sync_state();
    let mut body = format!("<h1>{}</h1>", c.t("staff-title"));
    if let Some(n) = notice {
        let _ = write!(body, "<div class=\"notice\" role=\"status\">{n}</div>");
    }
    // Sync.
    let last = s
        .last_ok_ms
        .map_or_else(|| c.t("sync-never"), |t| esc(&time_text(t)));
    let _ = write!(
        body,
        "<section id=\"staff-sync\"><h2>{}</h2><dl>\
         <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd id=\"waiting\">{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd class=\"mono\">{}</dd></dl></section>",
        c.t("staff-sync"),
        c.t("staff-sync-server"),
        esc(k.config().server.as_deref().unwrap_or("—")),
        c.t("staff-sync-waiting"),
        k.commits_waiting(),
        c.t("staff-sync-last"),
        last,
        c.t("staff-sync-failures"),
        s.failures,
        c.t("staff-sync-public"),
        if k.config().public_mode {
            c.ta(
                "staff-sync-public-on",
                &[("count", s.purged_keys.to_string())],
            )
        } else {
            c.t("staff-sync-public-off")
        },
        c.t("staff-sync-key"),
        esc(&crate::config::keys_hex(&k.public())),
    );
    if let (Some(e), Some(key)) = (&s.last_error, s.last_error_key) {
        let _ = write!(
            body,
            "<p class=\"meta\" id=\"sync-error\">{}: {} <span class=\"mono\" lang=\"en\">({})</span></p>",
            c.t("staff-sync-error"),
            c.t(key),
            esc(e)
        );
    }
    // Issues.
    let _ = write!(
        body,
        "<section><h2>{}</h2><ul class=\"cards\" id=\"staff-issues\">",
        c.t("issues-title")
    );
    let mut issues = k.replica().issues(Some(k.municipality()), None);
    issues.sort_by_key(|x| std::cmp::Reverse(x.meta.id));
    for i in &issues {
        let _ = write!(
            body,
            "<li class=\"card\"><h3>{}</h3><p class=\"meta\">{}",
            esc(i.title.best(locale)),
            status_badge(c, "issue", i.status.name()),
        );
        if let Some(r) = issue_receipt(k, i) {
            let _ = write!(body, " · № {}", esc(&r));
        }
        if i.moderation == Moderation::Hidden {
            let _ = write!(body, " · <strong>{}</strong>", c.t("staff-hidden"));
        }
        body.push_str("</p>");
        body.push_str(&transition_form(
            c,
            &format!("/staff/issues/{}", id_text(i.meta.id)),
            "issue",
            i.status,
            true,
        ));
        let (to, label) = if i.moderation == Moderation::Hidden {
            ("show", "staff-show")
        } else {
            ("hide", "staff-hide")
        };
        let _ = write!(
            body,
            "<form method=\"post\" action=\"{}\" class=\"inline\"><input type=\"hidden\" name=\"to\" value=\"{to}\"><button type=\"submit\">{}</button></form>",
            c.href(&format!("/staff/issues/{}/moderation", id_text(i.meta.id))),
            c.t(label)
        );
        body.push_str("</li>");
    }
    body.push_str("</ul></section>");
    // Groups.
    let _ = write!(
        body,
        "<section><h2>{}</h2><ul class=\"cards\">",
        c.t("groups-title")
    );
    let groups = k.replica().all::<InitiativeGroup>();
    for g in groups {
        let _ = write!(
            body,
            "<li class=\"card\"><h3>{}</h3><p class=\"meta\">{}</p>{}</li>",
            esc(g.name.best(locale)),
            status_badge(c, "group", g.status.name()),
            transition_form(
                c,
                &format!("/staff/groups/{}", id_text(g.meta.id)),
                "group",
                g.status,
                false
            )
        );
    }
    body.push_str("</ul></section>");
    // Events.
    let _ = write!(
        body,
        "<section><h2>{}</h2><ul class=\"cards\">",
        c.t("events-title")
    );
    let events = k.replica().all::<Event>();
    for e in events {
        let count = k.replica().attendance(EventId(e.meta.id)).len();
        let _ = write!(
            body,
            "<li class=\"card\"><h3>{}</h3><p class=\"meta\">{} · {} · {}</p>{}</li>",
            esc(e.topic.best(locale)),
            status_badge(c, "event", e.status.name()),
            event_line(c, &e),
            c.ta("staff-checked-in", &[("count", count.to_string())]),
            transition_form(
                c,
                &format!("/staff/events/{}", id_text(e.meta.id)),
                "event",
                e.status,
                false
            )
        );
    }
    let empty = HashMap::new();
    let _ = write!(
        body,
        "</ul><h3>{}</h3><form method=\"post\" action=\"{}\" class=\"form\" id=\"new-event\">{}{}\
         <label>{}<input type=\"date\" name=\"starts_on\" id=\"f-starts_on\"></label>\
         <label>{}<input type=\"date\" name=\"ends_on\" id=\"f-ends_on\"></label>\
         <label>{}<input type=\"number\" name=\"sessions\" id=\"f-sessions\" min=\"1\" max=\"50\" value=\"1\"></label>{}</form></section>",
        c.t("staff-new-event"),
        c.href("/staff/events"),
        c.input("topic", "field-topic", 300, &empty),
        c.select("kind", "field-event-kind", &EVENT_KINDS, &empty, false),
        c.t("field-starts-on"),
        c.t("field-ends-on"),
        c.t("field-sessions"),
        c.submit("staff-save"),
    );
    // Review.
    let review = k.replica().review();
    let _ = write!(
        body,
        "<section id=\"staff-review\"><h2>{}</h2>",
        c.t("staff-review")
    );
    if review.conflicts.is_empty() && review.flags.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", c.t("staff-review-empty"));
    }
    if !review.conflicts.is_empty() {
        let _ = write!(body, "<h3>{}</h3><ul>", c.t("staff-conflicts"));
        for cf in &review.conflicts {
            let (kind, field) = kenesh_model::schema::EntityKind::from_code(cf.kind)
                .map(|k| {
                    let e = kenesh_model::schema::entity(k);
                    (e.name, e.field(cf.field).map_or("?", |f| f.name))
                })
                .unwrap_or(("?", "?"));
            let _ = write!(
                body,
                "<li>{} <span class=\"mono\">{kind}.{field} {}</span></li>",
                c.ta(
                    "staff-conflict",
                    &[("count", cf.candidates.len().to_string())]
                ),
                id_text(cf.entity)
            );
        }
        body.push_str("</ul>");
    }
    if !review.flags.is_empty() {
        let _ = write!(body, "<h3>{}</h3><ul>", c.t("staff-flags"));
        for f in &review.flags {
            let key = match f.kind {
                FlagKind::Equivocation => "flag-equivocation",
                FlagKind::PayloadErased => "flag-payload-erased",
                FlagKind::UnknownSchema => "flag-unknown-schema",
                FlagKind::ActionMismatch => "flag-action-mismatch",
                FlagKind::DuplicateCreate => "flag-duplicate-create",
                FlagKind::Workflow(_) => "flag-workflow",
                #[allow(unreachable_patterns)]
                _ => "flag-other",
            };
            let _ = write!(body, "<li>{}</li>", c.t(key));
        }
        body.push_str("</ul>");
    }
    let _ = write!(
        body,
        "</section><form method=\"post\" action=\"{}\"><button type=\"submit\" id=\"logout\">{}</button></form>",
        c.href("/staff/logout"),
        c.t("staff-logout")
    );
    ok(c.page("/staff", &c.t("staff-title"), &body, Leave::Idle))
}

async fn staff_home(State(k): State<Arc<Kiosk>>, Path(p): Params, headers: HeaderMap) -> Response {
    let lang = lang_or_404!(k, p);
    let c = Ctx { k: &k, lang };
    if is_staff(&k, &headers) {
        staff_dashboard(&c, None)
    } else {
        staff_login_page(&c, None, StatusCode::OK)
    }
}

fn staff_result(c: &Ctx<'_>, r: Result<(), WriteError>) -> Response {
    match r {
        Ok(()) => staff_dashboard(c, Some(c.t("staff-saved"))),
        Err(e) => {
            let msg = write_error(c, &e);
            let mut resp = staff_dashboard(c, Some(msg));
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            resp
        }
    }
}

fn staff_error(c: &Ctx<'_>, key: &str) -> Response {
    let mut r = staff_dashboard(c, Some(c.t(key)));
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

async fn staff_issue(
    State(k): State<Arc<Kiosk>>,
    Path(p): Params,
    headers: HeaderMap,
    v: Fields,
) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let c = Ctx { k: &k, lang };
    if !is_staff(&k, &headers) {
        return staff_refused(&c);
    }
    let Some(id) = id_of(&p) else {
        return not_found_page(&k, lang);
    };
    let Some(to) = v.get("to").and_then(|s| IssueStatus::from_name(s)) else {
        return staff_error(&c, "error-transition");
    };
    let mut ch = Check::new(&c, &v);
    let text = ch.optional("update", "field-update", 2000);
    if !ch.errors.is_empty() {
        let msg = ch.errors.join(" ");
        return staff_dashboard(&c, Some(msg));
    }
    let now = now_ms();
    let mut r = k.replica();
    let Some(mut issue) = r.get::<Issue>(id) else {
        drop(r);
        return not_found_page(&k, lang);
    };
    issue.status = to;
    // A status change is a public update; the staff's words go with it.
    let update_text = text.unwrap_or_else(|| {
        // The status name in each language, so every reader sees it in theirs.
        let key = status_key("issue", to.name());
        let mut t = LocalizedText::ky(k.i18n().tr(Lang::Ky, &key));
        t.set(kenesh_model::text::Locale::Ru, k.i18n().tr(Lang::Ru, &key));
        t.set(kenesh_model::text::Locale::En, k.i18n().tr(Lang::En, &key));
        issue.updates.push(PublicUpdate {
            at: Timestamp(now),
            text: t,
            status: Some(to),
        });
        String::new()
    });
    if !update_text.is_empty() {
        issue.updates.push(PublicUpdate {
            at: Timestamp(now),
            text: LocalizedText::new(lang.locale(), update_text),
            status: Some(to),
        });
    }
    if to == IssueStatus::Published && issue.moderation == Moderation::Pending {
        issue.moderation = Moderation::Approved;
    }
    let result = r.at(now).edit_issue(&issue);
    drop(r);
    staff_result(&c, result)
}

async fn staff_moderate(
    State(k): State<Arc<Kiosk>>,
    Path(p): Params,
    headers: HeaderMap,
    v: Fields,
) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let c = Ctx { k: &k, lang };
    if !is_staff(&k, &headers) {
        return staff_refused(&c);
    }
    let Some(id) = id_of(&p) else {
        return not_found_page(&k, lang);
    };
    let moderation = match v.get("to").map(String::as_str) {
        Some("hide") => Moderation::Hidden,
        Some("show") => Moderation::Approved,
        _ => return staff_error(&c, "error-transition"),
    };
    let mut r = k.replica();
    let Some(mut issue) = r.get::<Issue>(id) else {
        drop(r);
        return not_found_page(&k, lang);
    };
    issue.moderation = moderation;
    let result = r.at(now_ms()).edit_issue(&issue);
    drop(r);
    staff_result(&c, result)
}

async fn staff_group(
    State(k): State<Arc<Kiosk>>,
    Path(p): Params,
    headers: HeaderMap,
    v: Fields,
) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let c = Ctx { k: &k, lang };
    if !is_staff(&k, &headers) {
        return staff_refused(&c);
    }
    let (Some(id), Some(to)) = (
        id_of(&p),
        v.get("to").and_then(|s| GroupStatus::from_name(s)),
    ) else {
        return staff_error(&c, "error-transition");
    };
    let result = k
        .replica()
        .at(now_ms())
        .set_status::<InitiativeGroup, _>(id, to);
    staff_result(&c, result)
}

async fn staff_event(
    State(k): State<Arc<Kiosk>>,
    Path(p): Params,
    headers: HeaderMap,
    v: Fields,
) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let c = Ctx { k: &k, lang };
    if !is_staff(&k, &headers) {
        return staff_refused(&c);
    }
    let (Some(id), Some(to)) = (
        id_of(&p),
        v.get("to").and_then(|s| EventStatus::from_name(s)),
    ) else {
        return staff_error(&c, "error-transition");
    };
    let result = k.replica().at(now_ms()).set_status::<Event, _>(id, to);
    staff_result(&c, result)
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.trim().splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    Date::new(y, m, d).ok()
}

async fn staff_event_create(
    State(k): State<Arc<Kiosk>>,
    Path(p): Params,
    headers: HeaderMap,
    v: Fields,
) -> Response {
    let lang = lang_or_404!(k, p);
    let v = form_or_error!(k, lang, v);
    let c = Ctx { k: &k, lang };
    if !is_staff(&k, &headers) {
        return staff_refused(&c);
    }
    let mut ch = Check::new(&c, &v);
    let topic = ch.required("topic", "field-topic", 300);
    let kind = ch.choice("kind", "field-event-kind", &EVENT_KINDS);
    let mut date = |name: &str, label: &str| {
        let d = v.get(name).and_then(|s| parse_date(s));
        if d.is_none() {
            ch.field_error("error-invalid", label, &[]);
        }
        d
    };
    let starts = date("starts_on", "field-starts-on");
    let ends = date("ends_on", "field-ends-on");
    let sessions = v
        .get("sessions")
        .and_then(|s| s.trim().parse::<u8>().ok())
        .filter(|n| (1..=50).contains(n));
    if sessions.is_none() {
        ch.field_error("error-invalid", "field-sessions", &[]);
    }
    let errors = std::mem::take(&mut ch.errors);
    let (Some(kind), Some(starts), Some(ends), Some(sessions), true) =
        (kind, starts, ends, sessions, errors.is_empty())
    else {
        let mut r = staff_dashboard(&c, Some(errors.join(" ")));
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return r;
    };
    let now = now_ms();
    let result = new_id(&k, now).and_then(|id| {
        let event = Event {
            meta: RecordMeta::new(id, k.scope(), Tier::Public, stamp(&k, now)),
            kind,
            subject: if kind == EventKind::Training {
                Subject::RightsAndJustice
            } else {
                Subject::LocalGovernance
            },
            topic: LocalizedText::new(lang.locale(), topic),
            starts_on: starts,
            ends_on: ends,
            sessions,
            territory: k.territory(),
            organisers: [Party::Municipality(k.municipality())].into(),
            language: lang.locale(),
            capacity: None,
            status: EventStatus::Planned,
            campaign: None,
        };
        k.replica().at(now).plan_event(&event)
    });
    staff_result(&c, result)
}
