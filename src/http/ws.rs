//! GraphQL over WebSocket at `GET /graphql/ws`, speaking graphql-transport-ws (the protocol of
//! the `graphql-ws` library) with its close codes exactly. This is our own loop rather than
//! async-graphql's, which closes with the wrong codes, has no init timeout and lets a duplicate
//! id silently replace a running operation.
//!
//! Browsers cannot set headers on a WebSocket, so the access token travels in
//! `connection_init`'s payload; every operation of the connection runs as that caller through
//! the same gate as over HTTP (`gate.rs`: budget, limits, time limit, metrics, codes), for as
//! long as the caller's rights stand.

use std::{net::SocketAddr, time::Duration};

use async_graphql::{Response, ServerError, Variables};
use axum::{
    extract::{
        ConnectInfo, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::HeaderMap,
    response::Response as HttpResponse,
};
use futures_util::{StreamExt, stream::BoxStream};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::time::Instant;
use tokio_stream::StreamMap;

use crate::{
    actor::Actor,
    auth::Authenticated,
    error::AppError,
    events::Event,
    graphql::{assign_codes, refused},
    http::{
        AppState, REQUEST_ID,
        gate::{self, Gate, Refusal},
        graphql::{bearer, never_executed},
    },
    services::Services,
};

const PROTOCOL: &str = "graphql-transport-ws";
/// Operations one connection may run at once; each live one costs a read per event.
const MAX_OPERATIONS: usize = 100;

/// Close codes of graphql-transport-ws, and of the `graphql-ws` server for a refused init.
mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
    pub const INTERNAL: u16 = 1011;
}

pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> HttpResponse {
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let ws = ws
        .protocols([PROTOCOL])
        .max_message_size(state.services.config.max_body_bytes);
    let speaks_protocol = ws.selected_protocol().is_some();
    ws.on_upgrade(move |mut socket| async move {
        if speaks_protocol {
            Connection::new(state, peer, request_id).run(socket).await;
        } else {
            let reason = "Subprotocol not acceptable";
            close_with(&mut socket, close::SUBPROTOCOL_NOT_ACCEPTABLE, reason).await;
        }
    })
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Map<String, Value>>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Map<String, Value>>,
    },
    Pong {},
    Subscribe {
        id: String,
        payload: SubscribePayload,
    },
    Complete {
        id: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribePayload {
    query: String,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage<'a> {
    ConnectionAck,
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<Map<String, Value>>,
    },
    Next {
        id: &'a str,
        payload: &'a Response,
    },
    Error {
        id: &'a str,
        payload: &'a [ServerError],
    },
    Complete {
        id: &'a str,
    },
}

/// What a running operation has for the client.
enum Outcome {
    /// A result, for a `next` message.
    Result(Response),
    /// The operation could not start; an `error` message ends it, with no `complete`.
    Refused(Vec<ServerError>),
    /// The operation has no more results.
    Done,
}

/// What the loop does after handling a client message.
enum Flow {
    Continue,
    Close(u16, &'static str),
}

struct Connection {
    state: AppState,
    peer: SocketAddr,
    request_id: String,
    init_received: bool,
    /// Set once `connection_init` is accepted.
    caller: Option<Caller>,
    operations: StreamMap<String, BoxStream<'static, Outcome>>,
}

/// The accepted caller of a connection, for as long as their rights stand.
struct Caller {
    actor: Actor,
    /// When the access token expires; the connection closes then.
    expires: Instant,
    /// Announcements that the caller's rights changed.
    changes: BoxStream<'static, ()>,
}

impl Connection {
    fn new(state: AppState, peer: SocketAddr, request_id: String) -> Self {
        Self {
            state,
            peer,
            request_id,
            init_received: false,
            caller: None,
            operations: StreamMap::new(),
        }
    }

    async fn run(mut self, mut socket: WebSocket) {
        let config = &self.state.services.config;
        let init_deadline = Instant::now() + Duration::from_millis(config.ws_init_timeout_ms);
        let mut recheck = tokio::time::interval(Duration::from_millis(config.rights_cache_ms));
        let far = init_deadline + Duration::from_secs(365 * 24 * 3600);
        loop {
            let expires = self.caller.as_ref().map_or(far, |c| c.expires);
            let signed_in = self.caller.is_some();
            let changed = async {
                match &mut self.caller {
                    Some(caller) => caller.changes.next().await,
                    None => std::future::pending().await,
                }
            };
            let flow = tokio::select! {
                () = tokio::time::sleep_until(init_deadline), if !signed_in => {
                    Flow::Close(close::INIT_TIMEOUT, "Connection initialisation timeout")
                }
                () = tokio::time::sleep_until(expires), if signed_in => {
                    Flow::Close(close::FORBIDDEN, "Forbidden: the access token expired")
                }
                Some(()) = changed => self.recheck(true).await,
                _ = recheck.tick(), if signed_in => self.recheck(false).await,
                Some((id, outcome)) = self.operations.next() => {
                    self.deliver(&mut socket, id, outcome).await
                }
                frame = socket.recv() => match frame {
                    Some(Ok(Message::Text(text))) => self.handle(&mut socket, text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => {
                        Flow::Close(close::BAD_REQUEST, "Invalid message received")
                    }
                    // The WebSocket layer answers pings, and a close with its own close; the
                    // next read then ends the connection.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_))) => {
                        Flow::Continue
                    }
                    Some(Err(_)) | None => return,
                },
            };
            if let Flow::Close(code, reason) = flow {
                close_with(&mut socket, code, reason).await;
                return;
            }
        }
    }

    async fn handle(&mut self, socket: &mut WebSocket, text: &str) -> Flow {
        let Ok(message) = serde_json::from_str::<ClientMessage>(text) else {
            return Flow::Close(close::BAD_REQUEST, "Invalid message received");
        };
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.init_received {
                    return Flow::Close(close::TOO_MANY_INITS, "Too many initialisation requests");
                }
                self.init_received = true;
                let services = &self.state.services;
                match authenticate(services, &self.request_id, payload.as_ref()).await {
                    Ok(Some(caller)) => self.caller = Some(caller),
                    Ok(None) => return Flow::Close(close::FORBIDDEN, "Forbidden"),
                    Err(()) => return Flow::Close(close::INTERNAL, "Service unavailable"),
                }
                send(socket, &ServerMessage::ConnectionAck).await
            }
            ClientMessage::Ping { payload } => send(socket, &ServerMessage::Pong { payload }).await,
            ClientMessage::Pong { .. } => Flow::Continue,
            ClientMessage::Subscribe { id, payload } => {
                let Some(actor) = self.caller.as_ref().map(|c| c.actor.clone()) else {
                    return Flow::Close(close::UNAUTHORIZED, "Unauthorized");
                };
                if let Flow::Close(code, reason) = self.recheck(false).await {
                    return Flow::Close(code, reason);
                }
                if id.is_empty() {
                    return Flow::Close(close::BAD_REQUEST, "Invalid message received");
                }
                if self.operations.contains_key(&id) {
                    return Flow::Close(
                        close::SUBSCRIBER_EXISTS,
                        "Subscriber for this id already exists",
                    );
                }
                match self.start(actor, payload) {
                    Ok(operation) => {
                        self.operations.insert(id, operation);
                        Flow::Continue
                    }
                    Err(errors) => {
                        let message = ServerMessage::Error {
                            id: &id,
                            payload: &errors,
                        };
                        send(socket, &message).await
                    }
                }
            }
            // Dropping the stream stops the operation; the client expects nothing more for it.
            ClientMessage::Complete { id } => {
                self.operations.remove(&id);
                Flow::Continue
            }
        }
    }

    /// Closes the connection once the caller may no longer act as it was accepted: signed
    /// out, session revoked, deactivated, or given another role or team (the client then
    /// connects again with the rights it has now). `fresh` skips the cache, for when a change
    /// was just announced. An unreachable store closes nothing; the next look decides.
    async fn recheck(&mut self, fresh: bool) -> Flow {
        let Some(actor) = self.caller.as_ref().map(|c| &c.actor) else {
            return Flow::Continue;
        };
        let services = &self.state.services;
        let (rights, db) = (&services.auth.rights, &services.db);
        let standing = if fresh {
            rights.fresh(db, actor.user_id, actor.session_id).await
        } else {
            rights.standing(db, actor.user_id, actor.session_id).await
        };
        match standing {
            Ok(Some(now)) if now.role == actor.role && now.team_id == actor.team_id => {
                Flow::Continue
            }
            Ok(_) => Flow::Close(close::FORBIDDEN, "Forbidden: the caller's rights changed"),
            Err(error) => {
                tracing::warn!(request_id = self.request_id, %error, "could not recheck a WebSocket caller");
                Flow::Continue
            }
        }
    }

    /// The operation's outcomes through the gate: its results, then `Done` unless it was
    /// refused; or the errors of an `error` message when it cannot start (too many running
    /// on this connection, over the caller's budget, over the document limits).
    fn start(
        &self,
        actor: Actor,
        payload: SubscribePayload,
    ) -> Result<BoxStream<'static, Outcome>, Vec<ServerError>> {
        let refusal = |error: AppError| {
            let mut response = Response::from_errors(vec![refused(error)]);
            assign_codes(&mut response, &self.request_id);
            response.errors
        };
        if self.operations.len() >= MAX_OPERATIONS {
            return Err(refusal(AppError::forbidden(format!(
                "at most {MAX_OPERATIONS} operations may run at once on one connection"
            ))));
        }
        let mut request = async_graphql::Request::new(payload.query).variables(
            Variables::from_json(Value::Object(payload.variables.unwrap_or_default())),
        );
        if let Some(name) = payload.operation_name {
            request = request.operation_name(name);
        }
        let gate = Gate {
            state: &self.state,
            peer: self.peer.ip(),
            request_id: &self.request_id,
        };
        let admitted = match gate.admit(Some(actor), request) {
            Ok(admitted) => admitted,
            Err(Refusal::RateLimited { retry_after_secs }) => {
                return Err(refusal(AppError::RateLimited { retry_after_secs }));
            }
            Err(Refusal::Invalid(errors)) => return Err(errors),
        };
        Ok(gate
            .stream(admitted)
            .map(|outcome| match outcome {
                gate::Outcome::Result(response) if never_executed(&response) => {
                    Outcome::Refused(response.errors)
                }
                gate::Outcome::Result(response) | gate::Outcome::TimedOut(response) => {
                    Outcome::Result(response)
                }
            })
            .chain(futures_util::stream::once(async { Outcome::Done }))
            .boxed())
    }

    async fn deliver(&mut self, socket: &mut WebSocket, id: String, outcome: Outcome) -> Flow {
        match outcome {
            Outcome::Result(response) => {
                send(
                    socket,
                    &ServerMessage::Next {
                        id: &id,
                        payload: &response,
                    },
                )
                .await
            }
            Outcome::Refused(errors) => {
                self.operations.remove(&id);
                send(
                    socket,
                    &ServerMessage::Error {
                        id: &id,
                        payload: &errors,
                    },
                )
                .await
            }
            Outcome::Done => {
                self.operations.remove(&id);
                send(socket, &ServerMessage::Complete { id: &id }).await
            }
        }
    }
}

/// The caller named by the init payload's `Authorization: Bearer …` or `token`; `None` when
/// there is no such caller, `Err` when whether there is could not be read.
async fn authenticate(
    services: &Services,
    request_id: &str,
    payload: Option<&Map<String, Value>>,
) -> Result<Option<Caller>, ()> {
    let token = payload.and_then(|payload| {
        payload
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, value)| bearer(value.as_str()?))
            .or_else(|| payload.get("token")?.as_str())
    });
    let Some(token) = token else {
        return Ok(None);
    };
    match services.auth.authenticate(&services.db, token).await {
        Ok(Authenticated {
            mut actor,
            expires_at,
        }) => {
            actor.request_id = Some(request_id.to_owned());
            let user_id = actor.user_id;
            let changes = services
                .events
                .subscribe()
                .filter_map(move |event| {
                    let mine = matches!(event, Event::AccessChanged { user_id: changed } if changed == user_id);
                    std::future::ready(mine.then_some(()))
                })
                .boxed();
            let left = expires_at.saturating_sub(chrono::Utc::now().timestamp());
            let expires = Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0));
            Ok(Some(Caller {
                actor,
                expires,
                changes,
            }))
        }
        Err(AppError::Unauthenticated) => {
            tracing::info!(request_id, "WebSocket token refused");
            Ok(None)
        }
        Err(error) => {
            tracing::warn!(request_id, ?error, "could not check a WebSocket token");
            Err(())
        }
    }
}

async fn send(socket: &mut WebSocket, message: &ServerMessage<'_>) -> Flow {
    let text = match serde_json::to_string(message) {
        Ok(text) => text,
        Err(error) => {
            tracing::error!(%error, "could not encode a WebSocket message");
            return Flow::Close(close::INTERNAL, "Internal error");
        }
    };
    match socket.send(Message::text(text)).await {
        Ok(()) => Flow::Continue,
        // The client is gone; closing is all that is left.
        Err(_) => Flow::Close(close::INTERNAL, "Send failed"),
    }
}

/// Reasons stay within the 123 bytes a close frame allows.
async fn close_with(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    // The client may already be gone; there is nobody left to tell.
    let _ = socket.send(Message::Close(Some(frame))).await;
}
