//! Texts of `/help`.

use super::grammar::aliases_of;
use crate::hub::Verb;

/// Usage and purpose of a command, one line.
pub fn usage(verb: Verb) -> &'static str {
    match verb {
        Verb::Name => "/name <name> - choose your name (1 to 32 of A-Z a-z 0-9 _ -)",
        Verb::Users => "/users [room|*] - who is in a room (default: current), or * for everyone",
        Verb::Msg => "/msg <user> <text...> - a private message",
        Verb::Broadcast => "/broadcast <text...> - a message to every user",
        Verb::Rooms => "/rooms - every room with its member count",
        Verb::Create => "/create <room> - create a room and join it",
        Verb::Join => "/join <room> - join a room; it becomes your current room",
        Verb::Leave => "/leave [room] - leave a room (default: current)",
        Verb::Say => "/say <room> <text...> - a message to a room you are in",
        Verb::Post => {
            "/post <room> <subject> <body...> - post to a room's board (quote a subject with spaces)"
        }
        Verb::List => "/list [room] - the board's posts you can see (default: current room)",
        Verb::Read => "/read <room> <id> - read a post",
        Verb::History => "/history [room [count]] - a room's last messages (default: current room, 50)",
        Verb::Help => "/help [command] - this help, or help on one command",
        Verb::Ping => "/ping [token] - the server answers PONG <token>",
        Verb::Pong => "/pong <token> - answer to the server's PING",
        Verb::Quit => "/quit [message...] - leave the server, telling your rooms why",
        Verb::Login => "/login <name> <password> - log in to your account",
        Verb::Register => {
            "/register [name] <password> - make your name an account (give the name before naming)"
        }
        Verb::Passwd => "/passwd <old> <new> - change your account's password",
        Verb::Unregister => "/unregister <password> - delete your account; you stay as a guest",
        Verb::Nick => "/nick <name> - change your name (guests only)",
    }
}

/// The lines of `/help <command>`: usage, then the aliases if any.
pub fn topic_lines(verb: Verb) -> impl Iterator<Item = String> {
    let aliases = aliases_of(verb);
    let alias_line = (!aliases.is_empty()).then(|| format!("aliases: {}", aliases.join(", ")));
    std::iter::once(usage(verb).to_owned()).chain(alias_line)
}

/// How a command is written, without its explanation: `/msg <user> <text...>`.
pub fn synopsis(verb: Verb) -> &'static str {
    let usage = usage(verb);
    usage
        .split_once(" - ")
        .map_or(usage, |(synopsis, _)| synopsis)
}
