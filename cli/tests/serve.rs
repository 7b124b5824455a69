//! The visualizer's static server (`kafkasim viz`): it answers on 127.0.0.1 only, serves the
//! files of its directory with the types browsers need, and nothing outside that directory
//! however the path is spelled. Every server started here stops by itself.
#![allow(clippy::disallowed_methods)] // std::thread::spawn: a test client beside the server

use kafkasim_cli::serve::Server;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A fresh directory `<tmp>/kafkasim-serve-<pid>-<name>/` holding `dist/` (index.html,
/// app.js, a.wasm, sub/data.json) and, beside `dist/`, a file `secret` that must never be
/// served.
fn site(name: &str) -> PathBuf {
    let base = std::env::temp_dir().join(format!("kafkasim-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let dist = base.join("dist");
    std::fs::create_dir_all(dist.join("sub")).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    std::fs::write(dist.join("app.js"), "export default 1;").unwrap();
    std::fs::write(dist.join("a.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dist.join("sub").join("data.json"), "{}").unwrap();
    std::fs::write(base.join("secret"), "TOP SECRET").unwrap();
    dist
}

/// Bind a server of `dist` on a free port and run it for a few seconds on its own thread.
fn start(dist: &std::path::Path) -> SocketAddr {
    let server = Server::bind(dist, 0).expect("binds");
    let addr = server.local_addr().unwrap();
    std::thread::spawn(move || server.run_for(Duration::from_secs(20)));
    addr
}

/// Send `request` verbatim and return the whole response (the server closes after one).
fn send(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn get(addr: SocketAddr, target: &str) -> String {
    send(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    )
}

fn status(response: &str) -> &str {
    response.lines().next().unwrap_or_default()
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[test]
fn listens_on_localhost_only() {
    let server = Server::bind(&site("localhost"), 0).unwrap();
    let addr = server.local_addr().unwrap();
    assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
    assert_ne!(addr.port(), 0);
}

#[test]
fn serves_the_index_at_the_root_with_or_without_a_query() {
    let addr = start(&site("root"));
    for target in [
        "/",
        "/index.html",
        "/?scenario=leader-failover&seed=1&at=12",
    ] {
        let r = get(addr, target);
        assert_eq!(status(&r), "HTTP/1.1 200 OK", "{target}: {r}");
        assert_eq!(header(&r, "content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(header(&r, "cache-control"), Some("no-cache"));
        assert!(r.ends_with("<!doctype html><title>t</title>"), "{r}");
    }
}

#[test]
fn serves_wasm_and_javascript_with_their_types() {
    let addr = start(&site("types"));
    let wasm = get(addr, "/a.wasm");
    assert_eq!(status(&wasm), "HTTP/1.1 200 OK");
    assert_eq!(header(&wasm, "content-type"), Some("application/wasm"));
    assert_eq!(header(&wasm, "content-length"), Some("8"));
    let js = get(addr, "/app.js");
    assert_eq!(
        header(&js, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let json = get(addr, "/sub/data.json");
    assert_eq!(
        status(&json),
        "HTTP/1.1 200 OK",
        "files in subdirectories are served"
    );
    assert_eq!(header(&json, "content-type"), Some("application/json"));
}

#[test]
fn nothing_outside_the_directory_whatever_the_spelling() {
    let addr = start(&site("escape"));
    for target in [
        "/../secret",
        "/%2e%2e/secret",
        "/..%2fsecret",
        "/%2E%2E%2Fsecret",
        "//etc/passwd",
        "/\\..\\secret",
        "/sub/../../secret",
        "/./index.html",
        "/secret",
        "/sub",
        "/nope.js",
    ] {
        let r = get(addr, target);
        assert_eq!(status(&r), "HTTP/1.1 404 Not Found", "{target}: {r}");
        assert!(!r.contains("TOP SECRET"), "{target}");
    }
    let absolute = get(addr, "http://localhost/../secret");
    assert!(!absolute.contains("TOP SECRET"));
    assert_eq!(status(&get(addr, "/%zz")), "HTTP/1.1 400 Bad Request");
}

#[test]
fn only_get_and_head() {
    let addr = start(&site("methods"));
    let post = send(
        addr,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status(&post), "HTTP/1.1 405 Method Not Allowed", "{post}");
    assert_eq!(header(&post, "allow"), Some("GET, HEAD"));
    let head = send(addr, "HEAD /a.wasm HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status(&head), "HTTP/1.1 200 OK");
    assert_eq!(header(&head, "content-length"), Some("8"));
    assert!(head.ends_with("\r\n\r\n"), "HEAD has no body: {head:?}");
}

#[test]
fn a_silent_client_does_not_block_others() {
    let addr = start(&site("slow"));
    // Connected, says nothing: its thread waits on it; the next client is still answered.
    let _silent = TcpStream::connect(addr).unwrap();
    let mut partial = TcpStream::connect(addr).unwrap();
    partial.write_all(b"GET / HT").unwrap();
    assert_eq!(status(&get(addr, "/")), "HTTP/1.1 200 OK");
}

#[test]
fn an_oversized_request_head_is_refused() {
    let addr = start(&site("oversized"));
    let huge = format!("GET / HTTP/1.1\r\nX-Filler: {}\r\n\r\n", "a".repeat(40_000));
    let r = send(addr, &huge);
    assert_eq!(
        status(&r),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "{r}"
    );
}

#[test]
fn handle_one_answers_a_single_connection() {
    let server = Server::bind(&site("one"), 0).unwrap();
    let addr = server.local_addr().unwrap();
    let client = std::thread::spawn(move || get(addr, "/app.js"));
    server.handle_one().unwrap();
    assert_eq!(status(&client.join().unwrap()), "HTTP/1.1 200 OK");
}

#[test]
fn the_allow_list_is_the_directory_at_start_up() {
    let dist = site("list");
    let server = Server::bind(&dist, 0).unwrap();
    let files: Vec<&str> = server.files().collect();
    assert_eq!(files, ["a.wasm", "app.js", "index.html", "sub/data.json"]);
}

fn kafkasim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .output()
        .expect("kafkasim runs")
}

#[test]
fn a_directory_without_index_html_asks_for_the_build() {
    let empty = site("noindex").join("sub");
    let o = kafkasim(&["viz", "--port", "0", "--dir", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.starts_with("error: "), "{e}");
    assert!(e.contains("has no index.html"), "{e}");
    assert!(e.contains("./scripts/viz"), "{e}");
}

#[test]
fn a_taken_port_is_reported_with_the_way_out() {
    let dist = site("taken");
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let o = kafkasim(&["viz", "--port", &port, "--dir", dist.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(&format!("port {port}")) && e.contains("already in use"),
        "{e}"
    );
    assert!(e.contains("--port"), "{e}");
}

#[test]
fn the_command_prints_its_url_and_stops_after_exit_after() {
    let dist = site("command");
    let o = kafkasim(&[
        "viz",
        "--port",
        "0",
        "--dir",
        dist.to_str().unwrap(),
        "--exit-after",
        "1",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("kafkasim visualizer: http://127.0.0.1:"),
        "{out}"
    );
    assert!(out.contains("/?scenario=leader-failover&seed=1"), "{out}");
}
