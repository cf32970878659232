//! Test harness: the real server on 127.0.0.1:0, real HTTP (reqwest) and WebSocket
//! (tokio-tungstenite) clients that behave like browsers.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use papote::app::{self, Server};
use papote::config::Config;
use reqwest::cookie::{CookieStore, Jar};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(5);

pub struct TestServer {
    pub server: Option<Server>,
    pub base: String,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::with(|_| {}).await
    }

    pub async fn with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::for_tests();
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = app::start(listener, config).await.unwrap();
        let base = format!("http://{}", server.addr);
        TestServer { server: Some(server), base }
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    /// A new browser (its own cookies), with a given user agent.
    pub fn browser(&self, user_agent: &str) -> Browser {
        self.browser_from(user_agent, "127.0.0.1")
    }

    /// A browser on another network address (any 127.x.y.z is this machine).
    pub fn browser_from(&self, user_agent: &str, address: &str) -> Browser {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .user_agent(user_agent.to_owned())
            .local_address(address.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        Browser { http, jar, base: self.base.clone(), user_agent: user_agent.to_owned() }
    }

    /// Someone who entered with this nickname (homme, 30, Lille) and connected a WebSocket.
    pub async fn member(&self, nickname: &str) -> Person {
        self.member_at(nickname, "59000").await
    }

    pub async fn member_at(&self, nickname: &str, postcode: &str) -> Person {
        let browser = self.browser(&format!("test-browser/{nickname}"));
        let response = browser.enter(nickname, "homme", 30, postcode).await;
        assert_eq!(response.0, 200, "{nickname} could not enter: {}", response.1);
        let mut ws = browser.connect().await;
        let welcome = ws.expect("welcome").await;
        let id = welcome["me"]["id"].as_str().unwrap().to_owned();
        Person { browser, ws, id, nickname: nickname.to_owned() }
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

pub struct Person {
    pub browser: Browser,
    pub ws: Ws,
    pub id: String,
    pub nickname: String,
}

pub struct Browser {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
    pub base: String,
    pub user_agent: String,
}

impl Browser {
    pub async fn post_entry(&self, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/api/entry", self.base))
            .header("accept-language", "fr-FR,fr;q=0.9")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn enter(&self, nickname: &str, gender: &str, age: i64, postcode: &str) -> (u16, Value) {
        let communes: Value = self
            .http
            .get(format!("{}/api/communes?postcode={postcode}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let commune = communes["communes"][0]["insee"].clone();
        let mut body = json!({
            "nickname": nickname, "gender": gender, "age": age, "postcode": postcode,
            "commune": commune, "charter": true,
        });
        if let Some(solution) = self.solve_proof_of_work().await {
            body["pow"] = solution;
        }
        self.post_entry(body).await
    }

    /// Solves the server's proof of work, as the browser does (`None` when it asks for none).
    pub async fn solve_proof_of_work(&self) -> Option<Value> {
        let challenge: Value =
            self.http.get(format!("{}/api/challenge", self.base)).send().await.unwrap().json().await.unwrap();
        let challenge = challenge.get("challenge").filter(|c| !c.is_null())?;
        let number = altcha_lib_rs::solve_challenge(
            challenge["challenge"].as_str().unwrap(),
            challenge["salt"].as_str().unwrap(),
            None,
            challenge["maxnumber"].as_u64(),
            0,
        )
        .unwrap();
        Some(json!({
            "algorithm": challenge["algorithm"], "challenge": challenge["challenge"], "number": number,
            "salt": challenge["salt"], "signature": challenge["signature"],
        }))
    }

    pub fn cookie_header(&self) -> String {
        let url = self.base.parse().unwrap();
        self.jar.cookies(&url).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    pub async fn connect(&self) -> Ws {
        self.try_connect().await.unwrap()
    }

    pub async fn try_connect(&self) -> Result<Ws, tungstenite::Error> {
        let url = format!("{}/ws", self.base.replace("http://", "ws://"));
        let mut request = url.into_client_request()?;
        request.headers_mut().insert("cookie", HeaderValue::from_str(&self.cookie_header()).unwrap());
        request.headers_mut().insert("user-agent", HeaderValue::from_str(&self.user_agent).unwrap());
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Ws { stream, seen: Vec::new(), backlog: Default::default() })
    }
}

pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every message received so far, in order.
    pub seen: Vec<Value>,
    /// Messages passed over while waiting for an answer or checking for silence: a later
    /// `expect` still finds them (the server's order between, say, a card and an ack is not
    /// what the tests are about).
    pub backlog: std::collections::VecDeque<Value>,
}

pub enum Next {
    Msg(Value),
    Closed(Option<CloseFrame>),
    Timeout,
}

impl Ws {
    pub async fn send(&mut self, value: Value) {
        self.stream.send(Message::text(value.to_string())).await.unwrap();
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.stream.send(message).await.unwrap();
    }

    pub async fn next(&mut self, wait: Duration) -> Next {
        loop {
            match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => return Next::Timeout,
                Ok(None) => return Next::Closed(None),
                Ok(Some(Err(_))) => return Next::Closed(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    self.seen.push(value.clone());
                    return Next::Msg(value);
                }
                Ok(Some(Ok(Message::Close(frame)))) => return Next::Closed(frame),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next message of type `t` from the socket (not from the backlog).
    pub async fn expect(&mut self, t: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Next::Msg(v) if v["t"] == t => return v,
                Next::Msg(_) => continue,
                Next::Closed(frame) => panic!("closed ({frame:?}) while waiting for {t}; seen: {:?}", self.seen),
                Next::Timeout => panic!("no {t} within {WAIT:?}; seen: {:?}", self.seen),
            }
        }
    }

    pub async fn expect_where(&mut self, t: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        if let Some(pos) = self.backlog.iter().position(|v| v["t"] == t && predicate(v)) {
            return self.backlog.remove(pos).unwrap();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Next::Msg(v) if v["t"] == t && predicate(&v) => return v,
                Next::Msg(_) => continue,
                Next::Closed(frame) => panic!("closed ({frame:?}) while waiting for {t}; seen: {:?}", self.seen),
                Next::Timeout => panic!("no {t} within {WAIT:?}; seen: {:?}", self.seen),
            }
        }
    }

    /// Asserts that no message of type `t` arrives within `wait`.
    pub async fn expect_none(&mut self, t: &str, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.next(left).await {
                Next::Msg(v) if v["t"] == t => panic!("unexpected {t}: {v}"),
                Next::Msg(v) => self.backlog.push_back(v),
                Next::Closed(_) | Next::Timeout => return,
            }
        }
    }

    /// Waits for the close frame; returns its code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Next::Msg(_) => continue,
                Next::Closed(frame) => return frame.map(|f| u16::from(f.code)),
                Next::Timeout => panic!("connection not closed within {WAIT:?}"),
            }
        }
    }

    pub async fn join(&mut self, room: &str) -> Value {
        self.send(json!({"t": "join", "room": room})).await;
        self.expect_where("joined", |v| v["room"] == room).await
    }

    pub async fn say(&mut self, room: &str, text: &str, reference: &str) -> Value {
        self.send(json!({"t": "say", "room": room, "text": text, "ref": reference})).await;
        self.answer(reference).await
    }

    pub async fn dm(&mut self, to: &str, text: &str, reference: &str) -> Value {
        self.send(json!({"t": "dm", "to": to, "text": text, "ref": reference})).await;
        self.answer(reference).await
    }

    /// The `ack`, `refused` or `confirm` for a reference.
    pub async fn answer(&mut self, reference: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Next::Msg(v)
                    if v["ref"] == reference
                        && ["ack", "refused", "confirm"].contains(&v["t"].as_str().unwrap_or("")) =>
                {
                    return v;
                }
                Next::Msg(v) => self.backlog.push_back(v),
                other => panic!("no answer for {reference}: {}", matches!(other, Next::Timeout)),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

pub fn id_of(profile_response: &Value) -> String {
    profile_response["member"]["id"].as_str().unwrap().to_owned()
}
