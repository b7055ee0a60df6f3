//! Public assets: the token rank data browsers count with.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use creditkit_api::ErrorCode;

use crate::extract::error;

/// An encoding's rank asset, for browsers to count tokens exactly as this server does.
/// Public (the data is tiktoken's), immutable (named by content hash in the `ETag`;
/// the widget checks it against the SHA-256 compiled into it), gzip when accepted.
pub(crate) async fn get_tokenizer(
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
) -> crate::openapi::RankData {
    crate::openapi::RankData(tokenizer(&name, &headers))
}

fn tokenizer(name: &str, headers: &axum::http::HeaderMap) -> Response {
    use creditkit_tokens::{Bpe, Encoding};
    use std::sync::OnceLock;
    let Some(encoding) = Encoding::from_name(name.trim_end_matches(".cktk")) else {
        return error(
            ErrorCode::NotFound,
            format!(
                "no tokenizer `{name}` (known: {})",
                Encoding::ALL.map(|e| e.name()).join(", ")
            ),
        )
        .into_response();
    };
    let raw = Bpe::asset_bytes(encoding);
    let etag = format!("\"{}\"", encoding.asset().sha256);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = if gzip {
        // Compressed once, then shared by every response (a clone is a reference count).
        static GZ: [OnceLock<axum::body::Bytes>; 2] = [OnceLock::new(), OnceLock::new()];
        let body = GZ[encoding as usize].get_or_init(|| {
            use std::io::Write;
            let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let _ = z.write_all(raw);
            z.finish().unwrap_or_default().into()
        });
        let mut r = body.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        axum::body::Bytes::from_static(raw).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}
