//! A real IRC client, WeeChat (`weechat-headless` from Debian's `weechat-headless`
//! package), against the gateway: it connects, joins, chats with a parley user and
//! quits. The test drives it through WeeChat's FIFO and reads what it shows from its
//! log files.
//!
//! Without `weechat-headless` on the PATH the test says so and passes, unless
//! `PARLEY_REQUIRE_REAL_CLIENTS` is set (as `.ci/run` does), when it fails.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, TIMEOUT};

/// A WeeChat running headless in a directory of its own, killed when dropped.
struct WeeChat {
    child: Child,
    dir: tempfile::TempDir,
}

impl WeeChat {
    /// Starts WeeChat connected to `port` as `nick`, joining `channel`; `None` when it
    /// is not installed.
    fn start(port: u16, nick: &str, channel: &str) -> Option<WeeChat> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let fifo = dir.path().join("fifo");
        let commands = [
            "/set logger.file.flush_delay 0".to_owned(),
            format!("/set fifo.file.path {}", fifo.display()),
            "/set fifo.file.enabled on".to_owned(),
            format!("/server add parley 127.0.0.1/{port}"),
            format!("/set irc.server.parley.nicks {nick}"),
            format!("/set irc.server.parley.autojoin {channel}"),
            "/connect parley".to_owned(),
        ];
        let child = Command::new("weechat-headless")
            .arg("--dir")
            .arg(dir.path())
            .arg("--run-command")
            .arg(commands.join(";"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let weechat = WeeChat { child, dir };
        wait_for(|| fifo.exists(), "WeeChat's FIFO");
        Some(weechat)
    }

    /// Runs `text` in WeeChat's buffer `buffer` (a command if it starts with `/`).
    fn input(&self, buffer: &str, text: &str) {
        let mut fifo = fs::OpenOptions::new()
            .write(true)
            .open(self.dir.path().join("fifo"))
            .expect("open WeeChat's FIFO");
        writeln!(fifo, "{buffer} *{text}").expect("write to WeeChat's FIFO");
    }

    /// Waits until WeeChat's log of `buffer` holds a line containing `needle`.
    fn expect_logged(&self, buffer: &str, needle: &str) {
        let log = self
            .dir
            .path()
            .join("logs")
            .join(format!("{buffer}.weechatlog"));
        wait_for(
            || fs::read_to_string(&log).is_ok_and(|text| text.contains(needle)),
            &format!("{needle:?} in {}", log.display()),
        );
    }
}

impl Drop for WeeChat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `ready` until it holds, failing the test after [`TIMEOUT`]: WeeChat writes
/// its FIFO and logs in its own time, and files have nothing to block on.
fn wait_for(mut ready: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + TIMEOUT;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn installed(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| Path::new(&dir).join(program).is_file())
    })
}

#[test]
fn weechat_joins_chats_with_a_parley_user_and_quits() {
    if !installed("weechat-headless") {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_REAL_CLIENTS").is_none(),
            "weechat-headless is not installed (Debian package weechat-headless)"
        );
        eprintln!("skipped: weechat-headless is not installed");
        return;
    }
    let server = TestServer::start(&["--irc-listen", "127.0.0.1:0"]);
    let port = server.irc_addr.expect("IRC address").port();
    let mut bob = server.login("bob");
    bob.send("/create rust");
    bob.expect_line("JOIN rust bob");
    let weechat = WeeChat::start(port, "wee", "#rust").expect("weechat-headless starts");
    bob.skip_until("JOIN rust wee");
    // WeeChat's buffer for the channel exists once it has logged its own join.
    weechat.expect_logged("irc.parley.#rust", "has joined #rust");
    weechat.input("irc.parley.#rust", "hello from WeeChat");
    bob.expect_line("MSG rust wee hello from WeeChat");
    bob.send("/say rust hi, WeeChat");
    weechat.expect_logged("irc.parley.#rust", "bob\thi, WeeChat");
    bob.send("/msg wee a private word");
    weechat.expect_logged("irc.parley.bob", "bob\ta private word");
    weechat.input("irc.server.parley", "/quit see you");
    bob.expect_line("LEAVE rust wee quit see you");
}
