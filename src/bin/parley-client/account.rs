//! The account commands (`/login`, `/register`, `/passwd`, `/unregister`): which
//! passwords to ask for when they were not typed, the line to send, what of the line
//! the history and the screen may keep, and the account to log in to again after a
//! reconnection.
//!
//! The server's grammar module does not know these commands yet, so the client
//! recognises them itself, by their first word in any case, before anything else
//! looks at a line: a password must never take the path of an ordinary line.
//!
//! History: a line whose command is one of these is added to the line editor's
//! history with its passwords removed ([`redacted`]): `/login alice secret` is kept
//! as `/login alice`, `/register`, `/passwd` and `/unregister` as the command word
//! alone (`/register bob pw` as `/register bob`). Recalling one asks for the
//! passwords again.

use crate::password::{quoted_len, split_words, Secret};
use crate::protocol::ServerLine;

/// One of the account commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `/login <name> <password>`.
    Login,
    /// `/register <password>` (named) or `/register <name> <password>`.
    Register,
    /// `/passwd <old> <new>`.
    Passwd,
    /// `/unregister <password>`.
    Unregister,
}

impl Kind {
    /// The command word.
    fn word(self) -> &'static str {
        match self {
            Kind::Login => "/login",
            Kind::Register => "/register",
            Kind::Passwd => "/passwd",
            Kind::Unregister => "/unregister",
        }
    }

    /// The command a first word names, in any case.
    fn from_word(word: &str) -> Option<Kind> {
        [Kind::Login, Kind::Register, Kind::Passwd, Kind::Unregister]
            .into_iter()
            .find(|kind| kind.word().eq_ignore_ascii_case(word))
    }
}

/// A typed account command.
#[derive(Debug)]
pub struct Typed {
    /// Which command.
    pub kind: Kind,
    /// The command word as typed (its case kept, for the redacted line).
    word: String,
    /// The arguments, or `None` when their quoting is broken (the server then
    /// answers `bad-args`, and none of them can be told apart as a password).
    args: Option<Vec<Secret>>,
}

/// Recognises an account command; `None` for any other line.
pub fn parse(line: &str) -> Option<Typed> {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let kind = Kind::from_word(word)?;
    Some(Typed {
        kind,
        word: word.to_owned(),
        args: split_words(rest),
    })
}

/// A password the client asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// The account's password (`/login`, `/unregister`).
    Password,
    /// The current password (`/passwd`).
    Old,
    /// A new password: asked twice in a terminal, to catch a typing mistake.
    New,
}

/// What to ask for before `typed` can be sent (nothing: send it as typed), or why it
/// cannot be completed by asking (a usage text). `named`: whether we have a name,
/// which tells the two forms of `/register` apart.
pub fn asks(typed: &Typed, named: bool) -> Result<Vec<Ask>, &'static str> {
    // Broken quoting, or more arguments than asked for: as typed.
    let Some(args) = &typed.args else {
        return Ok(Vec::new());
    };
    Ok(match (typed.kind, args.len(), named) {
        (Kind::Login, 0, _) => {
            return Err("/login <name>: give the account's name; the password is asked for")
        }
        (Kind::Login, 1, _) => vec![Ask::Password],
        (Kind::Register, 0, true) => vec![Ask::New],
        (Kind::Register, 0, false) => {
            return Err("/register <name>: give the name to register; the password is asked for")
        }
        (Kind::Register, 1, false) => vec![Ask::New],
        (Kind::Passwd, 0, _) => vec![Ask::Old, Ask::New],
        (Kind::Passwd, 1, _) => vec![Ask::New],
        (Kind::Unregister, 0, _) => vec![Ask::Password],
        _ => Vec::new(),
    })
}

/// An account command ready to send.
#[derive(Debug)]
pub struct Prepared {
    /// The line to send.
    pub line: Secret,
    /// What its success will change in the remembered account.
    pub pending: Pending,
}

/// Completes `typed` (the whole `line`) with the passwords asked for, in the order
/// [`asks`] gave. Without answers the line goes as typed.
pub fn prepare(typed: &Typed, line: &str, answers: Vec<Secret>, named: bool) -> Prepared {
    let typed_args = typed.args.as_deref().unwrap_or_default();
    let line = if answers.is_empty() {
        let mut same = Secret::with_capacity(line.len());
        same.push_str(line);
        same
    } else {
        let words = typed_args.iter().chain(&answers);
        let capacity = typed.kind.word().len()
            + words
                .clone()
                .map(|w| 1 + quoted_len(w.expose()))
                .sum::<usize>();
        let mut built = Secret::with_capacity(capacity);
        built.push_str(typed.kind.word());
        for word in words {
            built.push_str(" ");
            built.push_word(word.expose());
        }
        built
    };
    let mut all: Vec<Secret> = typed_args.to_vec();
    all.extend(answers);
    let well_formed = typed.args.is_some();
    // The password that logs in to the account once the command succeeds.
    let password =
        |count: usize| (well_formed && all.len() == count).then(|| all[count - 1].clone());
    let pending = match (typed.kind, named) {
        (Kind::Login, _) => Pending::new(Change::LoggedIn, password(2)),
        (Kind::Register, false) => Pending::new(Change::LoggedIn, password(2)),
        (Kind::Register, true) => Pending::new(Change::Registered, password(1)),
        (Kind::Passwd, _) => Pending::new(Change::Registered, password(2)),
        (Kind::Unregister, _) => Pending::new(Change::Unregistered, None),
    };
    Prepared { line, pending }
}

/// `/login <name> <password>`, for a name and password given on the command line.
pub fn login_line(name: &str, password: &Secret) -> Secret {
    let mut line = Secret::with_capacity(
        Kind::Login.word().len() + 2 + quoted_len(name) + quoted_len(password.expose()),
    );
    line.push_str(Kind::Login.word());
    line.push_str(" ");
    line.push_word(name);
    line.push_str(" ");
    line.push_word(password.expose());
    line
}

/// `line` without its passwords if it is an account command (see the module docs),
/// for the history and the screen; `None` for any other line.
pub fn redacted(line: &str) -> Option<String> {
    let typed = parse(line)?;
    let mut kept = typed.word.clone();
    let name = match (&typed.args, typed.kind) {
        (Some(args), Kind::Login) => args.first(),
        (Some(args), Kind::Register) if args.len() >= 2 => args.first(),
        _ => None,
    };
    if let Some(name) = name {
        kept.push(' ');
        crate::password::quote_into(&mut kept, name.expose());
    }
    Some(kept)
}

/// What a successful claim or account command changes in the remembered account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// `/name`: a guest from now on; no password to log in again with.
    Guest,
    /// `/login`, or `/register` before naming: on `WELCOME`, logged in to the account.
    LoggedIn,
    /// `/register` when named, or `/passwd`: on `REGISTERED`, this is the password.
    Registered,
    /// `/unregister`: on `UNREGISTERED`, a guest again.
    Unregistered,
}

/// An account change waiting for the server's answer.
#[derive(Debug)]
pub struct Pending {
    /// What success means.
    change: Change,
    /// The password success makes the account's (when there is one).
    password: Option<Secret>,
}

impl Pending {
    /// A change with its password.
    pub fn new(change: Change, password: Option<Secret>) -> Pending {
        Pending { change, password }
    }

    /// `/name`: from now on a guest.
    pub fn guest() -> Pending {
        Pending::new(Change::Guest, None)
    }
}

/// The account the client is logged in to, remembered (with its password, wiped when
/// dropped) to log in again after a reconnection, and the change waiting for an
/// answer. Updated from the server's own lines, so it holds whatever the server
/// decided, whenever the answer comes.
#[derive(Default)]
pub struct Credentials {
    /// The account's name and password, while logged in to one.
    account: Option<(String, Secret)>,
    /// The last account command or claim sent, until its success.
    pending: Option<Pending>,
}

impl Credentials {
    /// Notes a claim or account command about to be sent.
    pub fn expect(&mut self, pending: Pending) {
        self.pending = Some(pending);
    }

    /// A pending change will not be answered on a new connection.
    pub fn connection_lost(&mut self) {
        self.pending = None;
    }

    /// Whether we are logged in to an account (and know its password).
    #[cfg(test)]
    pub fn logged_in(&self) -> bool {
        self.account.is_some()
    }

    /// Takes the server's answers into account.
    pub fn on_line(&mut self, line: &ServerLine) {
        let committed = |pending: Option<Pending>, change: Change| {
            pending.filter(|p| p.change == change).map(|p| p.password)
        };
        match line {
            ServerLine::Welcome { name, .. } => match self.pending.take() {
                Some(Pending {
                    change: Change::Guest,
                    ..
                }) => self.account = None,
                pending => {
                    if let Some(password) = committed(pending, Change::LoggedIn) {
                        self.account = password.map(|p| (name.clone(), p));
                    }
                    // No pending claim: the reconnection's own, which keeps the account.
                }
            },
            ServerLine::Registered { name } => {
                if let Some(Some(password)) = committed(self.pending.take(), Change::Registered) {
                    self.account = Some((name.clone(), password));
                }
            }
            ServerLine::Unregistered { .. } => {
                self.pending = None;
                self.account = None;
            }
            _ => {}
        }
    }

    /// The line that takes `me` back after a reconnection: `/login` with the
    /// remembered password when we were logged in to that account, else `/name`.
    pub fn relogin_line(&self, me: &str) -> Secret {
        match &self.account {
            Some((name, password)) if name.eq_ignore_ascii_case(me) => login_line(name, password),
            _ => {
                let mut line = Secret::with_capacity(6 + quoted_len(me));
                line.push_str("/name ");
                line.push_word(me);
                line
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> Secret {
        Secret::new(text.to_owned())
    }

    fn typed(line: &str) -> Typed {
        parse(line).expect("an account command")
    }

    /// The line sent for `line` with `answers`, and the password its success keeps.
    fn sent(line: &str, answers: &[&str], named: bool) -> (String, Option<String>) {
        let prepared = prepare(
            &typed(line),
            line,
            answers.iter().map(|a| secret(a)).collect(),
            named,
        );
        (
            prepared.line.expose().to_owned(),
            prepared.pending.password.map(|p| p.expose().to_owned()),
        )
    }

    #[test]
    fn account_commands_are_recognised_in_any_case() {
        assert_eq!(typed("/login alice").kind, Kind::Login);
        assert_eq!(typed("/LOGIN").kind, Kind::Login);
        assert_eq!(typed("/Register pw").kind, Kind::Register);
        assert_eq!(typed("/passwd a b").kind, Kind::Passwd);
        assert_eq!(typed("/unregister").kind, Kind::Unregister);
        for other in [
            "/log alice",
            "//login alice",
            "login alice",
            "/loginx",
            " /login a",
        ] {
            assert!(parse(other).is_none(), "{other}");
        }
    }

    #[test]
    fn missing_passwords_are_asked_for() {
        let asked = |line: &str, named| asks(&typed(line), named);
        assert!(asked("/login", false).is_err());
        assert_eq!(asked("/login alice", false), Ok(vec![Ask::Password]));
        assert_eq!(asked("/login alice pw", false), Ok(vec![]));
        assert_eq!(asked("/login alice pw extra", false), Ok(vec![]));
        assert_eq!(asked("/register", true), Ok(vec![Ask::New]));
        assert_eq!(asked("/register pw", true), Ok(vec![]));
        assert!(asked("/register", false).is_err());
        assert_eq!(asked("/register bob", false), Ok(vec![Ask::New]));
        assert_eq!(asked("/register bob pw", false), Ok(vec![]));
        assert_eq!(asked("/passwd", true), Ok(vec![Ask::Old, Ask::New]));
        assert_eq!(asked("/passwd old", true), Ok(vec![Ask::New]));
        assert_eq!(asked("/passwd old new", true), Ok(vec![]));
        assert_eq!(asked("/unregister", true), Ok(vec![Ask::Password]));
        assert_eq!(asked("/unregister pw", true), Ok(vec![]));
        // Broken quoting goes as typed: the server says what is wrong.
        assert_eq!(asked("/login \"alice", false), Ok(vec![]));
    }

    #[test]
    fn lines_are_built_with_quoted_passwords() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            sent("/login alice", &["pass word"], false),
            ("/login alice \"pass word\"".into(), some("pass word"))
        );
        assert_eq!(
            sent("/LOGIN  \"alice\" ", &["a\"b\\c"], false),
            ("/login alice \"a\\\"b\\\\c\"".into(), some("a\"b\\c"))
        );
        // Typed inline: sent exactly as typed, the password remembered unquoted.
        assert_eq!(
            sent("/login alice  \"pass word\"", &[], false),
            ("/login alice  \"pass word\"".into(), some("pass word"))
        );
        assert_eq!(
            sent("/register", &["secret12"], true),
            ("/register secret12".into(), some("secret12"))
        );
        assert_eq!(
            sent("/register bob", &["secret12"], false),
            ("/register bob secret12".into(), some("secret12"))
        );
        assert_eq!(
            sent("/passwd", &["old one", "new one"], true),
            ("/passwd \"old one\" \"new one\"".into(), some("new one"))
        );
        assert_eq!(
            sent("/passwd old", &["new"], true),
            ("/passwd old new".into(), some("new"))
        );
        assert_eq!(
            sent("/unregister", &[""], true),
            ("/unregister \"\"".into(), None)
        );
        // A line the server will refuse keeps no password.
        assert_eq!(sent("/login a b c", &[], false).1, None);
        assert_eq!(sent("/login \"a b", &[], false).1, None);
        assert_eq!(
            login_line("alice", &secret("")).expose(),
            "/login alice \"\""
        );
    }

    #[test]
    fn history_keeps_no_password() {
        let r = |line: &str| redacted(line);
        assert_eq!(r("/login alice secret").as_deref(), Some("/login alice"));
        assert_eq!(r("/login alice").as_deref(), Some("/login alice"));
        assert_eq!(
            r("/Login \"al ice\" \"pass word\"").as_deref(),
            Some("/Login \"al ice\"")
        );
        assert_eq!(r("/login").as_deref(), Some("/login"));
        assert_eq!(r("/register secret").as_deref(), Some("/register"));
        assert_eq!(r("/register bob secret").as_deref(), Some("/register bob"));
        assert_eq!(r("/passwd old new").as_deref(), Some("/passwd"));
        assert_eq!(r("/unregister secret").as_deref(), Some("/unregister"));
        assert_eq!(
            r("/login alice \"unterminated secret").as_deref(),
            Some("/login")
        );
        assert_eq!(r("hello"), None);
        assert_eq!(r("/join rust"), None);
        for line in [
            "/login alice hunter2",
            "/passwd hunter2 x",
            "/unregister hunter2",
        ] {
            assert!(!r(line).expect("account").contains("hunter2"), "{line}");
        }
    }

    fn welcome(name: &str) -> ServerLine {
        ServerLine::parse(&format!("WELCOME {name} hi"))
    }

    #[test]
    fn the_account_follows_the_servers_answers() {
        let mut creds = Credentials::default();
        assert_eq!(creds.relogin_line("alice").expose(), "/name alice");
        // A login is remembered once welcomed, not before.
        creds.expect(Pending::new(Change::LoggedIn, Some(secret("pass word"))));
        assert_eq!(creds.relogin_line("alice").expose(), "/name alice");
        creds.on_line(&welcome("Alice"));
        assert!(creds.logged_in());
        assert_eq!(
            creds.relogin_line("alice").expose(),
            "/login Alice \"pass word\""
        );
        // The reconnection's own WELCOME keeps it.
        creds.on_line(&welcome("Alice"));
        assert!(creds.logged_in());
        // A new password counts once REGISTERED; a refused one never.
        creds.expect(Pending::new(Change::Registered, Some(secret("refused"))));
        creds.on_line(&ServerLine::parse("ERR bad-login no"));
        creds.connection_lost();
        creds.on_line(&ServerLine::parse("REGISTERED Alice"));
        assert_eq!(
            creds.relogin_line("alice").expose(),
            "/login Alice \"pass word\""
        );
        creds.expect(Pending::new(Change::Registered, Some(secret("newpass"))));
        creds.on_line(&ServerLine::parse("REGISTERED Alice"));
        assert_eq!(creds.relogin_line("alice").expose(), "/login Alice newpass");
        // Another name than the account's (after a rename) logs in as a guest.
        assert_eq!(creds.relogin_line("bob").expose(), "/name bob");
        creds.on_line(&ServerLine::parse("UNREGISTERED Alice"));
        assert!(!creds.logged_in());
        // Registering while named.
        creds.expect(Pending::new(Change::Registered, Some(secret("pw12345678"))));
        creds.on_line(&ServerLine::parse("REGISTERED bob"));
        assert_eq!(creds.relogin_line("bob").expose(), "/login bob pw12345678");
        // Taking a name as a guest forgets the account.
        creds.expect(Pending::guest());
        creds.on_line(&welcome("carol"));
        assert!(!creds.logged_in());
    }
}
