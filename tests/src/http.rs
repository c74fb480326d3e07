//! The request builder both suites use (`api.as_user(&token).on(&slug).get(path)`), and the
//! one check of a problem+json answer.

use reqwest::{Method, Response};
use serde_json::{Value, json};

/// One plane's HTTP API, as one caller: anonymous, or with a bearer token, and on the app
/// plane for one tenant. Cheap to clone; `as_user` and `on` return a changed copy.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    slug: Option<String>,
}

impl Api {
    pub(crate) fn new(port: u16) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client builds"),
            base: format!("http://127.0.0.1:{port}"),
            token: None,
            slug: None,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The same caller, sending `Authorization: Bearer {token}`.
    pub fn as_user(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// The same caller without a token.
    pub fn anonymous(&self) -> Self {
        Self {
            token: None,
            ..self.clone()
        }
    }

    /// The same caller naming the tenant by `X-Tenant-Slug`.
    pub fn on(&self, slug: &str) -> Self {
        Self {
            slug: Some(slug.to_string()),
            ..self.clone()
        }
    }

    pub fn request(&self, method: Method, path: &str) -> Request {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(s) = &self.slug {
            req = req.header("x-tenant-slug", s);
        }
        Request(req)
    }

    pub fn get(&self, path: &str) -> Request {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Request {
        self.request(Method::POST, path)
    }

    pub fn patch(&self, path: &str) -> Request {
        self.request(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> Request {
        self.request(Method::DELETE, path)
    }

    /// Logs in on this plane (and tenant); returns the access token. Panics unless 200.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .anonymous()
            .post("/v1/auth/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "login of {email} failed: {body}");
        body["access_token"]
            .as_str()
            .expect("a login answer has an access_token")
            .to_string()
    }
}

/// A request being built; `send` sends it.
pub struct Request(reqwest::RequestBuilder);

impl Request {
    /// A JSON body.
    pub fn json(self, body: &Value) -> Self {
        Self(self.0.json(body))
    }

    /// A raw body (set `content-type` with `header`).
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Self(self.0.body(body))
    }

    pub fn header(self, name: &str, value: &str) -> Self {
        Self(self.0.header(name, value))
    }

    /// Sends; panics only when no answer comes back at all.
    pub async fn send(self) -> Response {
        self.0.send().await.expect("request sent and answered")
    }

    /// Sends and parses the JSON body, whatever the status.
    pub async fn read(self) -> Value {
        self.send().await.json().await.expect("a JSON body")
    }

    /// Sends and returns the body as text, whatever the status.
    pub async fn text(self) -> String {
        self.send().await.text().await.expect("a text body")
    }
}

/// Asserts a problem+json answer (RFC 9457) with this status and code, and that the body
/// is whole: `type`, `title` and `detail` are non-empty text, `status` repeats the status.
/// Returns the body for further checks (`errors`, the detail's wording).
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    let got = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "unexpected status; body {body}");
    assert!(
        content_type.starts_with("application/problem+json"),
        "content-type was {content_type}; body {body}"
    );
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status, "body: {body}");
    for field in ["type", "title", "detail"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "problem lacks {field}: {body}"
        );
    }
    body
}

/// Asserts a 422 `validation_failed` whose `errors` name `field`, and returns the answer's
/// request id (to look for its log lines).
pub async fn assert_field_refused(res: Response, field: &str) -> String {
    let request_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = assert_problem(res, 422, "validation_failed").await;
    let named = body["errors"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["field"] == field));
    assert!(named, "the answer names `{field}`: {body}");
    request_id
}
