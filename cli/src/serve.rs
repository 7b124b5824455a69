//! `kafkasim viz`: a small static HTTP/1.1 server for the browser visualizer's built files.
//!
//! It serves only what `./scripts/viz` put in the directory, on 127.0.0.1 only, and nothing
//! else: at start-up it walks the directory and records every regular file's relative path;
//! a request names one of those paths exactly or gets a 404. No request path is ever joined
//! onto the file system unchecked, so `..`, `%2e%2e`, absolute paths and backslashes cannot
//! reach outside the directory, whatever their spelling.
//!
//! Files are read when requested (not at start-up) so that a rebuild is picked up by a
//! reload. Each connection gets its own thread with read and write deadlines and answers one
//! request (`Connection: close`): a slow or silent client ties up one thread for a few
//! seconds, never the server.
//!
//! This is a terminal tool, not simulated code: it reads the wall clock and starts threads,
//! which the determinism bans of clippy.toml forbid in the simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The longest request head (request line and headers) read before answering 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long a client may take to send its whole request head.
const READ_DEADLINE: Duration = Duration::from_secs(10);
/// How long writing one response may block on a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections handled at once; more are closed unanswered so threads cannot pile up.
const MAX_CONNECTIONS: usize = 64;
/// How long, after answering, the server reads what the client still sends before closing.
const LINGER: Duration = Duration::from_secs(1);
/// The most bytes read and dropped while lingering.
const LINGER_BYTES: usize = 256 * 1024;
/// How often the accept loop looks at its deadline while no client is connecting.
const ACCEPT_POLL: Duration = Duration::from_millis(10);
/// The most files the allow-list takes: a guard against `--dir /` walking the whole disk.
const MAX_FILES: usize = 10_000;
/// The deepest directory nesting walked below the served directory.
const MAX_DEPTH: usize = 16;

/// Why the server could not start.
#[derive(Debug)]
pub enum ServeError {
    /// The directory has no `index.html`: the app has not been built there.
    NoIndex(PathBuf),
    /// The directory holds more than [`MAX_FILES`] files: probably not the built app.
    TooManyFiles(PathBuf),
    /// The port is already taken by another program.
    PortInUse(u16),
    /// Any other failure of the file system or of the socket.
    Io(String),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::NoIndex(dir) => write!(
                f,
                "{} has no index.html: the visualizer is not built there; run ./scripts/viz \
                 (it builds the app into viz/dist and serves it)",
                dir.display()
            ),
            ServeError::TooManyFiles(dir) => write!(
                f,
                "{} holds more than {MAX_FILES} files; --dir should name the built app \
                 (viz/dist, written by ./scripts/viz)",
                dir.display()
            ),
            ServeError::PortInUse(port) => write!(
                f,
                "port {port} on 127.0.0.1 is already in use; choose another with --port N \
                 (--port 0 picks a free one)"
            ),
            ServeError::Io(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ServeError {}

/// A bound, not yet running, server of one directory's files.
pub struct Server {
    listener: TcpListener,
    files: Arc<Files>,
    active: Arc<AtomicUsize>,
}

impl Server {
    /// Walk `dir` to build the allow-list, then listen on 127.0.0.1:`port` (0: any free port).
    pub fn bind(dir: &Path, port: u16) -> Result<Server, ServeError> {
        let files = Files::scan(dir)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(|e| {
            if e.kind() == io::ErrorKind::AddrInUse {
                ServeError::PortInUse(port)
            } else {
                ServeError::Io(format!("cannot listen on 127.0.0.1:{port}: {e}"))
            }
        })?;
        // Non-blocking accepts let the loop notice its deadline (`--exit-after`).
        listener
            .set_nonblocking(true)
            .map_err(|e| ServeError::Io(format!("cannot configure the listener: {e}")))?;
        Ok(Server {
            listener,
            files: Arc::new(files),
            active: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The address the server listens on (the real port when bound with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The relative paths that will be served, sorted (`index.html`, `app.js`, ...).
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.allowed.iter().map(String::as_str)
    }

    /// Serve connections until `limit` has passed, then stop accepting and return.
    ///
    /// Connections already accepted finish in their own threads.
    pub fn run_for(&self, limit: Duration) {
        self.accept_until(Instant::now().checked_add(limit));
    }

    /// Serve connections until the process ends.
    pub fn run_forever(&self) {
        self.accept_until(None);
    }

    /// Wait for one connection and answer it on the calling thread; for tests and debugging.
    pub fn handle_one(&self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => return handle_connection(stream, &self.files),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                Err(e) => return Err(e),
            }
        }
    }

    fn accept_until(&self, deadline: Option<Instant>) {
        while deadline.is_none_or(|d| Instant::now() < d) {
            match self.listener.accept() {
                Ok((stream, _)) => self.dispatch(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                // A connection that failed before it was accepted (reset by the client, out
                // of descriptors for a moment): not the server's end; go on after a pause.
                Err(_) => std::thread::sleep(ACCEPT_POLL),
            }
        }
    }

    /// Hand a connection to a thread of its own, unless too many are being handled already.
    fn dispatch(&self, stream: TcpStream) {
        if self.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            self.active.fetch_sub(1, Ordering::SeqCst);
            return; // dropping the stream closes it
        }
        let files = Arc::clone(&self.files);
        let active = Arc::clone(&self.active);
        let spawned = std::thread::Builder::new()
            .name("kafkasim-viz-http".into())
            .spawn(move || {
                // A client that hangs up mid-request is no error of the server's.
                let _ = handle_connection(stream, &files);
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            // The thread never ran, so its count is ours to take back.
            self.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The allow-list: the directory served and every file path under it that may be requested.
struct Files {
    root: PathBuf,
    allowed: BTreeSet<String>,
}

impl Files {
    /// Walk `root` and record each regular file as a `/`-separated relative path.
    fn scan(root: &Path) -> Result<Files, ServeError> {
        if !root.join("index.html").is_file() {
            return Err(ServeError::NoIndex(root.to_path_buf()));
        }
        let mut allowed = BTreeSet::new();
        walk(root, "", 0, &mut allowed)?;
        Ok(Files {
            root: root.to_path_buf(),
            allowed,
        })
    }

    /// The file on disk for a request path, if that path is on the allow-list.
    fn lookup(&self, relative: &str) -> Option<PathBuf> {
        self.allowed
            .contains(relative)
            .then(|| self.root.join(relative))
    }
}

/// Add the regular files below `dir` (whose relative path is `prefix`) to `allowed`.
///
/// Symbolic links are skipped: one could point outside the directory.
fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    allowed: &mut BTreeSet<String>,
) -> Result<(), ServeError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ServeError::Io(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue; // a name that is not UTF-8 cannot be requested by URL anyway
        };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let relative = format!("{prefix}{name}");
        if kind.is_file() {
            if allowed.len() >= MAX_FILES {
                return Err(ServeError::TooManyFiles(dir.to_path_buf()));
            }
            allowed.insert(relative);
        } else if kind.is_dir() && depth < MAX_DEPTH {
            walk(&entry.path(), &format!("{relative}/"), depth + 1, allowed)?;
        }
    }
    Ok(())
}

/// What a request asked for, as far as this server cares.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    /// `GET` (`head_only` false) or `HEAD` of a decoded path without its leading `/`.
    Fetch { path: String, head_only: bool },
    /// A method other than GET and HEAD.
    OtherMethod,
    /// A request line that is not HTTP/1.x or a path that does not decode.
    Malformed,
}

/// An answer: status line, content type and body.
struct Response {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    head_only: bool,
}

impl Response {
    fn text(status: &'static str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{status}\n").into_bytes(),
            head_only: false,
        }
    }
}

/// Read one request from `stream`, answer it and close.
fn handle_connection(mut stream: TcpStream, files: &Files) -> io::Result<()> {
    // The listener is non-blocking; whether its streams inherit that differs by platform.
    stream.set_nonblocking(false)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let response = match read_head(&mut stream)? {
        Some(head) => respond(parse_request(&head), files),
        None => Response::text("431 Request Header Fields Too Large"),
    };
    write_response(&mut stream, &response)?;
    stream.flush()?;
    linger(&mut stream);
    Ok(())
}

/// Close gently: end our side, then read and drop what the client still sends, briefly.
///
/// Closing a socket with unread input makes the kernel send a reset, which can destroy the
/// response before the client reads it: a refused request (too large, a POST with a body)
/// would show up as "connection reset" instead of its status.
fn linger(stream: &mut TcpStream) {
    if stream.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut dropped = 0;
    let mut chunk = [0u8; 4096];
    while dropped < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => dropped += n,
        }
    }
}

/// Read up to the blank line that ends a request head; `None` when the head is too large.
///
/// The deadline is for the whole head, not per read, so a client trickling one byte at a
/// time is cut off as surely as a silent one.
fn read_head(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + READ_DEADLINE;
    let mut head = Vec::new();
    let mut chunk = [0u8; 2048];
    while !head_complete(&head) {
        if head.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head too slow",
            ));
        }
        stream.set_read_timeout(Some(left))?;
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed mid-request",
            ));
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(head))
}

fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

/// Parse the request line of `head`: method, target and version.
fn parse_request(head: &[u8]) -> Request {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return Request::Malformed;
    };
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Request::Malformed;
    };
    if !version.starts_with("HTTP/1.") {
        return Request::Malformed;
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Request::OtherMethod,
    };
    match request_path(target) {
        Some(path) => Request::Fetch { path, head_only },
        None => Request::Malformed,
    }
}

/// The relative file path a request target names: query and fragment cut, percent-decoded,
/// the leading `/` removed, and `/` itself meaning `index.html`. `None` if it does not decode.
///
/// Nothing here needs to reject `..` or other tricks: the result is only ever compared with
/// the allow-list, never joined onto a directory.
fn request_path(target: &str) -> Option<String> {
    let end = target.find(['?', '#']).unwrap_or(target.len());
    let raw = target[..end].strip_prefix('/')?;
    let decoded = String::from_utf8(percent_decode(raw)?).ok()?;
    Some(if decoded.is_empty() {
        "index.html".to_string()
    } else {
        decoded
    })
}

/// Decode `%XX` escapes; `None` for a `%` not followed by two hex digits.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The response to a parsed request.
fn respond(request: Request, files: &Files) -> Response {
    let (path, head_only) = match request {
        Request::Fetch { path, head_only } => (path, head_only),
        Request::OtherMethod => return Response::text("405 Method Not Allowed"),
        Request::Malformed => return Response::text("400 Bad Request"),
    };
    let Some(file) = files.lookup(&path) else {
        return Response::text("404 Not Found");
    };
    match std::fs::read(&file) {
        Ok(body) => Response {
            status: "200 OK",
            content_type: content_type(&path),
            body,
            head_only,
        },
        // Listed at start-up, gone now (a rebuild in progress): as if never there.
        Err(_) => Response::text("404 Not Found"),
    }
}

/// The Content-Type of a file, by extension. `.wasm` must be `application/wasm`: browsers
/// compile a module while it downloads (`instantiateStreaming`) only with that type.
fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, e)| e);
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "toml" => "application/toml",
        "jsonl" => "application/jsonl",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn write_response(stream: &mut TcpStream, response: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if response.status.starts_with("405") {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !response.head_only {
        stream.write_all(&response.body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_index_and_queries_are_cut() {
        assert_eq!(request_path("/").as_deref(), Some("index.html"));
        assert_eq!(
            request_path("/?scenario=x&seed=1").as_deref(),
            Some("index.html")
        );
        assert_eq!(request_path("/app.js#top").as_deref(), Some("app.js"));
    }

    #[test]
    fn escapes_decode_and_bad_ones_are_refused() {
        assert_eq!(request_path("/%2e%2e/secret").as_deref(), Some("../secret"));
        assert_eq!(request_path("/a%20b.js").as_deref(), Some("a b.js"));
        assert_eq!(request_path("/%zz"), None);
        assert_eq!(request_path("/%2"), None);
        assert_eq!(request_path("/%ff"), None, "not UTF-8");
        assert_eq!(request_path("index.html"), None, "no leading slash");
    }

    #[test]
    fn request_lines_parse() {
        assert_eq!(
            parse_request(b"HEAD /a.wasm HTTP/1.1\r\nHost: x\r\n\r\n"),
            Request::Fetch {
                path: "a.wasm".into(),
                head_only: true
            }
        );
        assert_eq!(
            parse_request(b"DELETE / HTTP/1.1\r\n\r\n"),
            Request::OtherMethod
        );
        assert_eq!(parse_request(b"GET /\r\n\r\n"), Request::Malformed);
        assert_eq!(parse_request(b"GET / SPDY/3\r\n\r\n"), Request::Malformed);
        assert_eq!(parse_request(b"\xff\xfe\r\n\r\n"), Request::Malformed);
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("kafkasim_viz_bg.wasm"), "application/wasm");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("kafkasim_viz.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("run.jsonl"), "application/jsonl");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }
}
