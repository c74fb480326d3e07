//! Which methods each known path takes, read from the plane's OpenAPI document, so a
//! request with another method on a known path is answered 405 with `Allow`, not 404.

use actix_web::http::Method;
use utoipa::openapi::OpenApi;

/// The served paths as templates (`{id}` matches one segment) with the methods each takes.
#[derive(Debug, Clone, Default)]
pub struct KnownRoutes {
    routes: Vec<(Vec<String>, Vec<Method>)>,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
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

    /// The `Allow` value for `path`, or `None` when no known route has this path.
    pub fn allow(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = segments(path).collect();
        let mut methods: Vec<&str> = Vec::new();
        for (template, allowed) in &self.routes {
            let matches = template.len() == parts.len()
                && template.iter().zip(&parts).all(|(t, p)| {
                    (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p
                });
            if matches {
                methods.extend(allowed.iter().map(Method::as_str));
            }
        }
        if methods.is_empty() {
            return None;
        }
        methods.sort_unstable();
        methods.dedup();
        Some(methods.join(", "))
    }
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
}
