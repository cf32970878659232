//! The web client: embedded in the binary, or read from `--web-dir` while working on it.

use std::path::{Component, Path};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::AppState;

#[derive(rust_embed::Embed)]
#[folder = "../../web/"]
struct WebAssets;

pub fn routes() -> Router<AppState> {
    Router::new().fallback(serve)
}

/// Maps a request path to a file of the client: `/` is `index.html`; hidden files and parent
/// components are never served.
fn asset_path(uri: &Uri) -> Option<String> {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let clean = Path::new(path)
        .components()
        .all(|c| matches!(c, Component::Normal(part) if !part.to_string_lossy().starts_with('.')));
    clean.then(|| path.to_owned())
}

fn content_type(path: &str) -> HeaderValue {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let value = match mime.type_() {
        mime_guess::mime::TEXT | mime_guess::mime::APPLICATION if mime.subtype() != mime_guess::mime::OCTET_STREAM => {
            format!("{mime}; charset=utf-8")
        }
        _ => mime.to_string(),
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

async fn serve(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(path) = asset_path(&uri) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(dir) = &state.config.web_dir {
        return match tokio::fs::read(dir.join(&path)).await {
            Ok(bytes) => (
                [
                    (header::CONTENT_TYPE, content_type(&path)),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                bytes,
            )
                .into_response(),
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let Some(file) = WebAssets::get(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag =
        format!("\"{}\"", file.metadata.sha256_hash().iter().take(12).map(|b| format!("{b:02x}")).collect::<String>());
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    if headers.get(header::IF_NONE_MATCH) == Some(&etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, content_type(&path)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::ETAG, etag),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_client() {
        let path = |p: &str| asset_path(&p.parse::<Uri>().expect("uri"));
        assert_eq!(path("/"), Some("index.html".into()));
        assert_eq!(path("/js/app.js"), Some("js/app.js".into()));
        assert_eq!(path("/../Cargo.toml"), None);
        assert_eq!(path("/js/../../secret"), None);
        assert_eq!(path("/.git/config"), None);
    }

    #[test]
    fn text_types_are_utf8() {
        assert_eq!(content_type("a.js").to_str().ok(), Some("text/javascript; charset=utf-8"));
        assert_eq!(content_type("a.css").to_str().ok(), Some("text/css; charset=utf-8"));
        assert_eq!(content_type("index.html").to_str().ok(), Some("text/html; charset=utf-8"));
        assert_eq!(content_type("a.png").to_str().ok(), Some("image/png"));
    }
}
