//! The routes the router serves, the routes the OpenAPI document describes and the
//! routes the README lists are the same set.

use std::collections::BTreeSet;

use creditkit_server::OpenApiFace;

/// `(METHOD, path)` of every `.route(…)` in a router source file.
fn routes_in(source: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let starts = source
        .match_indices(".route(")
        .chain(source.match_indices(".api_route("));
    for (start, found) in starts {
        let rest = &source[start + found.len()..];
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a closed .route(");
        let call = &rest[..end];
        let path = call.split('"').nth(1).expect("a path literal");
        for method in ["get", "post", "put", "patch", "delete"] {
            let called = [format!("{method}("), format!("{method}_with(")]
                .iter()
                .any(|needle| {
                    call.match_indices(needle.as_str()).any(|(i, _)| {
                        i == 0
                            || !call.as_bytes()[i - 1].is_ascii_alphanumeric()
                                && call.as_bytes()[i - 1] != b'_'
                    })
                });
            if called {
                out.insert((method.to_uppercase(), format!("{prefix}{path}")));
            }
        }
    }
    out
}

fn served() -> BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).unwrap();
    let mut all = routes_in(&read("v1.rs"), "/v1");
    all.extend(routes_in(&read("admin.rs"), "/admin/v1"));
    all.extend(routes_in(&read("lib.rs"), ""));
    assert!(
        all.len() > 40,
        "found {} routes: the parser broke",
        all.len()
    );
    all
}

/// `/v1/holds/{id}` matches `/v1/holds/hld_1` (and itself).
fn matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| a == b || a.starts_with('{'))
}

#[test]
fn openapi_documents_exactly_the_routes_served() {
    let mut documented = BTreeSet::new();
    for face in [OpenApiFace::Workspace, OpenApiFace::Operator] {
        let doc = creditkit_server::openapi_document(face);
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let served = served();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not documented: {missing:?}\ndocumented but not served: {extra:?}"
    );
}

#[test]
fn the_readme_lists_every_route() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let missing: Vec<_> = served()
        .into_iter()
        .filter(|(method, path)| !readme.contains(&format!("`{method} {path}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not list: {missing:?} (as `METHOD /path`)"
    );
    // And names no route that is not served.
    let served = served();
    for line in readme.lines() {
        for chunk in line.split('`').skip(1).step_by(2) {
            if let Some((method, path)) = chunk.split_once(' ') {
                if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method)
                    && (path.starts_with("/v1/") || path.starts_with("/admin/v1/"))
                {
                    let path = path.split('?').next().unwrap();
                    let known = served.iter().any(|(m, p)| m == method && matches(p, path));
                    assert!(known, "README.md lists `{chunk}`, which is not served");
                }
            }
        }
    }
}
