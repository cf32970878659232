//! One simulated browser: a real entry over HTTP, then a WebSocket opened with its cookie.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::LoadError;
use crate::wire::{self, Kind};

pub type Ws = WebSocketStream<TcpStream>;

/// Postcodes with a single commune (so `commune` may be omitted): Lille and Paris' twenty.
const POSTCODES: [&str; 21] = [
    "59000", "75001", "75002", "75003", "75004", "75005", "75006", "75007", "75008", "75009", "75010", "75011",
    "75012", "75013", "75014", "75015", "75016", "75017", "75018", "75019", "75020",
];
const GENDERS: [&str; 3] = ["femme", "homme", "autre"];

/// What a successful entry gives back.
#[derive(Clone, Debug)]
pub struct Entered {
    pub member_id: String,
    pub session_cookie: String,
}

/// HTTP clients, one per source address (keep-alive pools).
pub fn http_clients(sources: &[Ipv4Addr], pool: usize) -> Result<Vec<reqwest::Client>, LoadError> {
    let build = |source: Option<Ipv4Addr>| {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(pool)
            .timeout(Duration::from_secs(30))
            .user_agent("papote-load");
        if let Some(source) = source {
            builder = builder.local_address(IpAddr::V4(source));
        }
        builder.build()
    };
    if sources.is_empty() {
        return Ok(vec![build(None)?]);
    }
    sources.iter().map(|s| build(Some(*s)).map_err(LoadError::from)).collect()
}

/// The entry form of client `index`: a unique letters-only nickname, an adult age, a real postcode.
pub fn entry_form(tag: &str, index: usize) -> serde_json::Value {
    json!({
        "nickname": wire::nickname(tag, index),
        "gender": GENDERS[index % GENDERS.len()],
        "age": 25 + (index * 7) % 50,
        "postcode": POSTCODES[index % POSTCODES.len()],
        "charter": true,
    })
}

/// `POST /api/entry`; returns the member id and the session cookie's value.
pub async fn enter(http: &reqwest::Client, base: &str, tag: &str, index: usize) -> Result<Entered, LoadError> {
    let response = http.post(format!("{base}/api/entry")).json(&entry_form(tag, index)).send().await?;
    let status = response.status();
    let session_cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("papote_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_owned());
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        let code = body["error"]["code"].as_str().unwrap_or("unknown").to_owned();
        return Err(LoadError::Refused { status: status.as_u16(), code });
    }
    let member_id = body["member"]["id"]
        .as_str()
        .ok_or_else(|| LoadError::Protocol("entry answer without member.id".into()))?
        .to_owned();
    let session_cookie = session_cookie.ok_or_else(|| LoadError::Protocol("entry without a session cookie".into()))?;
    Ok(Entered { member_id, session_cookie })
}

/// Small buffers: tens of thousands of these live in one process.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(0)
}

/// Opens `GET /ws` with the session cookie from `source` (if any) and waits for `welcome`.
pub async fn connect(target: SocketAddr, source: Option<Ipv4Addr>, session_cookie: &str) -> Result<Ws, LoadError> {
    let socket = TcpSocket::new_v4()?;
    // A port left in TIME_WAIT by an earlier run may be bound again.
    socket.set_reuseaddr(true)?;
    if let Some(source) = source {
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    }
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{target}/ws").into_client_request()?;
    let cookie = HeaderValue::from_str(&format!("papote_session={session_cookie}"))
        .map_err(|_| LoadError::Protocol("cookie is not a header value".into()))?;
    request.headers_mut().insert(header::COOKIE, cookie);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config())).await?;
    loop {
        match next_text(&mut ws).await? {
            text if wire::kind(&text) == Kind::Welcome => return Ok(ws),
            _ => continue,
        }
    }
}

/// The next text frame; control frames are skipped, a close is an error.
pub async fn next_text(ws: &mut Ws) -> Result<Utf8Bytes, LoadError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text),
            Some(Ok(Message::Close(frame))) => {
                let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                return Err(LoadError::Closed(code));
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error.into()),
            None => return Err(LoadError::Closed(1006)),
        }
    }
}

/// Joins `room` and waits for `joined`.
pub async fn join(ws: &mut Ws, room: &str) -> Result<(), LoadError> {
    use futures_util::SinkExt;
    let mut frame = String::from(r#"{"t":"join","room":""#);
    wire::push_json_str(&mut frame, room);
    frame.push_str("\"}");
    ws.send(Message::text(frame)).await?;
    loop {
        let text = next_text(ws).await?;
        match wire::kind(&text) {
            Kind::Joined => return Ok(()),
            Kind::Error => return Err(LoadError::Protocol(format!("join refused: {text}"))),
            _ => continue,
        }
    }
}
