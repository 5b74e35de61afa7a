//! IRC message syntax (RFC 1459/2812 with IRCv3 tags): `[@tags ][:prefix ]COMMAND
//! [params] [:trailing]`, parsed into byte ranges of the line so that the decoder can
//! still change the text in place (stripping formatting codes) before it borrows it.

use std::ops::Range;

/// The most parameters a message may have (RFC 2812).
pub const MAX_PARAMS: usize = 15;

/// A parsed message: ranges into the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The tags, without the `@` (empty when there are none).
    pub tags: Range<usize>,
    /// The command word or numeric.
    pub command: Range<usize>,
    /// The parameters, the trailing one last.
    params: [Range<usize>; MAX_PARAMS],
    count: usize,
    /// The last parameter was written as `:trailing` (it may hold spaces or be empty).
    pub trailing: bool,
}

impl Message {
    /// Parses `line` (without its line ending); `None` when it holds no command.
    pub fn parse(line: &[u8]) -> Option<Message> {
        let mut at = skip_spaces(line, 0);
        let mut tags = 0..0;
        if line.get(at) == Some(&b'@') {
            let end = word_end(line, at);
            tags = at + 1..end;
            at = skip_spaces(line, end);
        }
        if line.get(at) == Some(&b':') {
            // A client's prefix means nothing to a server: skipped.
            at = skip_spaces(line, word_end(line, at));
        }
        let end = word_end(line, at);
        if end == at {
            return None;
        }
        let mut message = Message {
            tags,
            command: at..end,
            params: Default::default(),
            count: 0,
            trailing: false,
        };
        at = skip_spaces(line, end);
        while at < line.len() && message.count < MAX_PARAMS {
            let (range, next) = if line[at] == b':' || message.count == MAX_PARAMS - 1 {
                // The rest of the line, spaces included (RFC 2812 lets the fifteenth
                // parameter go without its colon).
                message.trailing = line[at] == b':';
                let start = at + usize::from(message.trailing);
                (start..line.len(), line.len())
            } else {
                let end = word_end(line, at);
                (at..end, skip_spaces(line, end))
            };
            message.params[message.count] = range;
            message.count += 1;
            at = next;
        }
        Some(message)
    }

    /// How many parameters there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The range of parameter `n`, if there is one.
    pub fn param(&self, n: usize) -> Option<Range<usize>> {
        (n < self.count).then(|| self.params[n].clone())
    }
}

fn skip_spaces(line: &[u8], mut at: usize) -> usize {
    while line.get(at) == Some(&b' ') {
        at += 1;
    }
    at
}

fn word_end(line: &[u8], at: usize) -> usize {
    line[at.min(line.len())..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(line.len(), |n| at + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(line: &str) -> Option<(String, String, Vec<String>, bool)> {
        let message = Message::parse(line.as_bytes())?;
        let text = |r: Range<usize>| line[r].to_owned();
        let params = (0..message.len())
            .map(|n| text(message.param(n).unwrap()))
            .collect();
        Some((
            text(message.tags.clone()),
            text(message.command.clone()),
            params,
            message.trailing,
        ))
    }

    #[test]
    fn command_params_and_trailing() {
        let (tags, command, params, trailing) = parts("PRIVMSG #rust :hello  there ").unwrap();
        assert_eq!((tags.as_str(), command.as_str()), ("", "PRIVMSG"));
        assert_eq!(params, ["#rust", "hello  there "]);
        assert!(trailing);
        let (_, command, params, trailing) = parts("NICK   alice").unwrap();
        assert_eq!(
            (command.as_str(), params, trailing),
            ("NICK", vec!["alice".into()], false)
        );
    }

    #[test]
    fn tags_and_prefix_are_set_apart() {
        let (tags, command, params, _) =
            parts("@time=x;+draft/reply=1 :me!u@h PRIVMSG bob :hi").unwrap();
        assert_eq!(tags, "time=x;+draft/reply=1");
        assert_eq!(command, "PRIVMSG");
        assert_eq!(params, ["bob", "hi"]);
    }

    #[test]
    fn empty_trailing_counts_and_nothing_is_no_command() {
        let (_, _, params, trailing) = parts("TOPIC #r :").unwrap();
        assert_eq!(params, ["#r", ""]);
        assert!(trailing);
        assert_eq!(parts(""), None);
        assert_eq!(parts("   "), None);
        assert_eq!(parts("@a=b"), None);
        assert_eq!(parts(":prefix"), None);
    }

    #[test]
    fn the_fifteenth_parameter_takes_the_rest() {
        let many: Vec<String> = (1..=17).map(|n| n.to_string()).collect();
        let line = format!("X {}", many.join(" "));
        let (_, _, params, _) = parts(&line).unwrap();
        assert_eq!(params.len(), MAX_PARAMS);
        assert_eq!(params[14], "15 16 17");
    }
}
