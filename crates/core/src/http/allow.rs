//! Which methods each known path takes, read from the plane's OpenAPI document, so a
//! request with another method on a known path is answered 405 with `Allow`, not 404.
//!
//! Checked before routing: actix skips a resource whose method guard fails and tries the
//! next one, so `PATCH /v1/users/me` would otherwise reach `PATCH /v1/users/{id}` with
//! the id `me`. Paths follow OpenAPI's rule instead: a concrete path is matched before a
//! templated one, so `/v1/users/me` takes only what `/v1/users/me` declares.

use crate::{ApiError, ErrorCode};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use utoipa::openapi::OpenApi;

/// The served paths as templates (`{id}` matches one segment) with the methods each takes.
#[derive(Debug, Clone, Default)]
pub struct KnownRoutes {
    routes: Vec<(Vec<String>, Vec<Method>)>,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

impl KnownRoutes {
    /// Every path of `doc`, plus `extra` routes the document does not list (itself).
    pub fn from_openapi(doc: &OpenApi, extra: &[(&str, Method)]) -> Self {
        let mut known = Self::default();
        for (path, item) in &doc.paths.paths {
            let ops = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ];
            for (method, present) in ops {
                if present {
                    known.add(path, method);
                }
            }
        }
        for (path, method) in extra {
            known.add(path, method.clone());
        }
        known
    }

    fn add(&mut self, path: &str, method: Method) {
        let template: Vec<String> = segments(path).map(str::to_owned).collect();
        match self.routes.iter_mut().find(|(t, _)| *t == template) {
            Some((_, methods)) => methods.push(method),
            None => self.routes.push((template, vec![method])),
        }
    }

    /// The methods of the route `path` belongs to, or `None` when no known route has this
    /// path. Of several matching templates the most concrete wins: literal segments beat
    /// parameters, compared from the left.
    fn methods(&self, path: &str) -> Option<&[Method]> {
        let parts: Vec<&str> = segments(path).collect();
        self.routes
            .iter()
            .filter(|(template, _)| {
                template.len() == parts.len()
                    && template
                        .iter()
                        .zip(&parts)
                        .all(|(t, p)| (is_param(t) && !p.is_empty()) || t == p)
            })
            // `false < true`: the template with a literal where the other has a parameter
            // sorts first.
            .min_by_key(|(template, _)| template.iter().map(|t| is_param(t)).collect::<Vec<_>>())
            .map(|(_, methods)| methods.as_slice())
    }

    /// The `Allow` value for `path`, or `None` when no known route has this path.
    pub fn allow(&self, path: &str) -> Option<String> {
        let mut methods: Vec<&str> = self.methods(path)?.iter().map(Method::as_str).collect();
        methods.sort_unstable();
        methods.dedup();
        Some(methods.join(", "))
    }

    /// The `Allow` value when `path` is known but does not take `method`.
    pub fn refuses(&self, method: &Method, path: &str) -> Option<String> {
        match self.methods(path) {
            Some(methods) if !methods.contains(method) => self.allow(path),
            _ => None,
        }
    }
}

/// Middleware: a known path called with a method it does not take is 405 with `Allow`,
/// before routing (and before the plane's own layers such as tenant resolution), when
/// the plane registered its `KnownRoutes` as app data.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let refused = req
        .app_data::<web::Data<KnownRoutes>>()
        .and_then(|known| known.refuses(req.method(), req.path()));
    let Some(allow) = refused else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let err = ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed here; allowed: {allow}", req.method()),
    );
    let mut res = actix_web::ResponseError::error_response(&err);
    res.headers_mut().insert(
        ALLOW,
        HeaderValue::from_str(&allow).map_err(ApiError::internal)?,
    );
    Ok(req.into_response(res))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_parameter() {
        let mut known = KnownRoutes::default();
        known.add("/v1/tickets/{id}", Method::GET);
        known.add("/v1/tickets/{id}", Method::PATCH);
        known.add("/v1/tickets", Method::GET);
        assert_eq!(
            known.allow("/v1/tickets/abc").as_deref(),
            Some("GET, PATCH")
        );
        assert_eq!(known.allow("/v1/tickets").as_deref(), Some("GET"));
        assert_eq!(known.allow("/v1/tickets/abc/x"), None);
        assert_eq!(known.allow("/v1/tickets/"), None);
        assert_eq!(known.allow("/v1/nothing"), None);
    }

    #[test]
    fn a_concrete_path_wins_over_a_template() {
        let mut known = KnownRoutes::default();
        known.add("/v1/users/me", Method::GET);
        known.add("/v1/users/{id}", Method::PATCH);
        assert_eq!(known.allow("/v1/users/me").as_deref(), Some("GET"));
        assert_eq!(
            known.refuses(&Method::PATCH, "/v1/users/me").as_deref(),
            Some("GET")
        );
        assert_eq!(known.refuses(&Method::GET, "/v1/users/me"), None);
        assert_eq!(known.refuses(&Method::PATCH, "/v1/users/abc"), None);
        assert_eq!(
            known.refuses(&Method::GET, "/v1/users/abc").as_deref(),
            Some("PATCH")
        );
        assert_eq!(known.refuses(&Method::GET, "/v1/nothing"), None);
    }
}
